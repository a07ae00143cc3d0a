/**
 * Sessions to a Secflow sample: every session named (DNS answers, then the name sources given)
 * and the flashes ordered by `relativeStart`. The text of a sample is `sample_format.ts`'s job.
 * @module
 */
import { pyFloat, round6 } from "./format.ts";
import { ipToString } from "./net.ts";
import type { HarvestedName } from "./dns.ts";
import { type NameSources, PassiveNames } from "./naming.ts";
import type { SessionRecord } from "./session.ts";
import type { Flash, Sample } from "./types.ts";

/** What naming and sample building need from a converted input. */
export interface SampleInput {
  /** Sessions in creation order. */
  sessions: readonly SessionRecord[];
  /** The start time (trafficDate) in seconds; undefined when nothing qualified. */
  startTime: number | undefined;
  /** External addresses of the kept traffic (only they receive passive names). */
  active: ReadonlySet<number>;
  /** Harvested A answers by address. */
  names: ReadonlyMap<number, HarvestedName[]>;
}

/** Options of {@link buildSample}. */
export interface BuildOptions extends NameSources {
  /** The `fileName` written into the sample. */
  fileName: string;
  /** The sample hash (default: a new random UUIDv4 without dashes). */
  hash?: string;
}

/** A built sample and what the persistent cache learns from it. */
export interface BuiltSample {
  /** null when there are no sessions. */
  sample: Sample | null;
  /** Addresses whose names in this input are all one name: write them to the cache. */
  cacheUpdates: Map<number, string>;
}

/**
 * Names every session and assembles the sample: flashes ordered by `relativeStart`, ties in
 * creation order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildSample } from "./sample_build.ts";
 * const { sample } = buildSample(
 *   { sessions: [], startTime: undefined, active: new Set(), names: new Map() },
 *   { fileName: "x.sf" },
 * );
 * assert.equal(sample, null);
 * ```
 */
export function buildSample(input: SampleInput, options: BuildOptions): BuiltSample {
  const passive = new PassiveNames(input.names, input.active);
  let updates: Map<number, string> | undefined;
  const withUpdates = (sample: Sample | null): BuiltSample => ({
    sample,
    get cacheUpdates() {
      return updates ??= passive.unambiguous();
    },
  });
  if (input.sessions.length === 0 || input.startTime === undefined) {
    return withUpdates(null);
  }
  const start = input.startTime;
  const flashes: Flash[] = input.sessions.map((s) => {
    const chosen = passive.choose(s.dstIp, s.first, options);
    const src = ipToString(s.srcIp);
    return {
      src: s.icmp ? src : `${src}:${s.srcPort}`,
      dst: s.icmp ? chosen.name : `${chosen.name}:${s.dstPort}`,
      destinationNameSource: chosen.source,
      srcPkts: s.srcPkts,
      srcBytes: s.srcBytes,
      dstPkts: s.dstPkts,
      dstBytes: s.dstBytes,
      relativeStart: round6(s.first - start),
      protocolInformation: s.icmp ? "ICMP" : "",
      duration: round6(s.last - s.first),
    };
  });
  // Array.prototype.sort is stable: ties keep creation order.
  flashes.sort((a, b) => a.relativeStart - b.relativeStart);
  return withUpdates({
    hash: options.hash ?? newSampleHash(),
    trafficDate: pyFloat(start),
    fileName: options.fileName,
    flashes,
  });
}

/** A new sample hash: a random UUIDv4 without dashes. */
export function newSampleHash(): string {
  return crypto.randomUUID().replaceAll("-", "");
}
