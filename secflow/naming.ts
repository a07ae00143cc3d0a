/**
 * Naming destinations (SECFLOW.md section 4) and the persistent name cache's updates.
 * @module
 */
import type { HarvestedName } from "./dns.ts";
import { ipToString, isLocal } from "./net.ts";
import type { NameSource } from "./types.ts";

/** Where names come from, besides the input's own DNS. */
export interface NameSources {
  /** Persistent name cache: address → name (rule 2). */
  cache?: ReadonlyMap<number, string>;
  /**
   * Names learned before this input (the live collector's short-term memory), consulted after
   * this input's own earlier names and before the cache; reported as "passive".
   */
  recent?: ReadonlyMap<number, string>;
}

/** A chosen destination name. */
export interface ChosenName {
  name: string;
  source: NameSource;
}

/**
 * Passive names per active address, each list sorted by time (stable), built once per input.
 */
export class PassiveNames {
  #sorted = new Map<number, HarvestedName[]>();

  /**
   * @param harvested every harvested A answer, by address
   * @param active the external addresses of the kept traffic: only these get passive names
   */
  constructor(harvested: ReadonlyMap<number, HarvestedName[]>, active: ReadonlySet<number>) {
    for (const ip of active) {
      const list = harvested.get(ip);
      if (list && list.length > 0) {
        // Array.prototype.sort is stable: equal times keep harvest order.
        this.#sorted.set(ip, list.length > 1 ? [...list].sort((a, b) => a.time - b.time) : list);
      }
    }
  }

  /** The sorted names of `ip`, or undefined. */
  get(ip: number): readonly HarvestedName[] | undefined {
    return this.#sorted.get(ip);
  }

  /** Addresses whose names in this input are all one single name, with that name. */
  unambiguous(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [ip, list] of this.#sorted) {
      const name = list[0].name;
      let single = true;
      for (let i = 1; i < list.length && single; i++) single = list[i].name === name;
      if (single) out.set(ip, name);
    }
    return out;
  }

  /**
   * Names destination `ip` of a session that started at `time` (seconds), by the rules of
   * section 4.
   */
  choose(ip: number, time: number, sources: NameSources = {}): ChosenName {
    const list = this.#sorted.get(ip);
    if (list) {
      let latest = -1;
      for (let i = 0; i < list.length && list[i].time <= time; i++) latest = i;
      if (latest >= 0) return { name: list[latest].name, source: "passive" };
    }
    const recent = sources.recent?.get(ip);
    if (recent !== undefined) return { name: recent, source: "passive" };
    const cached = sources.cache?.get(ip);
    if (cached !== undefined) return { name: cached, source: "cache" };
    if (isLocal(ip) || !list) return { name: ipToString(ip), source: "original" };
    return { name: list[0].name, source: "passive" };
  }
}
