/**
 * One live window: an arrival-order {@link FlowEngine}, then naming with the window's names, the
 * short-term memory of earlier windows and the persistent cache (SECFLOW.md sections 4 and 6),
 * then the sample. Runs inside the capture worker; pure (no file, network or clock access).
 * @module
 */
import type { FlowEngine } from "../secflow/engine.ts";
import { buildSample } from "../secflow/sample.ts";
import type { Sample } from "../secflow/types.ts";
import { sampleName } from "./_protocol.ts";

export { sampleName };

/** Seconds a name learned in a window stays in the short-term memory. */
export const SHORT_TERM_SECONDS = 300;

/** Names that outlive one window: short-term memory and the persistent cache. */
export class NameMemory {
  /** Address → latest name learned in recent windows (short-term memory). */
  readonly recent = new Map<number, string>();
  /** Address → packet time (seconds) of that name. */
  readonly #learned = new Map<number, number>();
  /** Address → name from the persistent cache file. */
  readonly cache: Map<number, string>;

  constructor(cache: Map<number, string> = new Map()) {
    this.cache = cache;
  }

  /** Remembers `name` for `ip`, learned at `time` (seconds). */
  learn(ip: number, name: string, time: number): void {
    this.recent.set(ip, name);
    this.#learned.set(ip, time);
  }

  /** Forgets short-term names older than {@link SHORT_TERM_SECONDS} before `now` (seconds). */
  expire(now: number): void {
    for (const [ip, time] of this.#learned) {
      if (time < now - SHORT_TERM_SECONDS) {
        this.#learned.delete(ip);
        this.recent.delete(ip);
      }
    }
  }
}

/** What closing a window gives. */
export interface WindowResult {
  /** The sample, or null when the window has no Secflows. */
  sample: Sample | null;
  /** trafficDate in seconds (undefined when no packet qualified). */
  startTime: number | undefined;
  /** Persistent cache entries that changed (`ip` → name). */
  cacheUpdates: [number, string][];
  /** Packets the engine saw. */
  packets: number;
}

/**
 * Closes a window: names the engine's sessions (this window's names, then the short-term memory,
 * then the cache) and builds the sample. Afterwards `memory` holds this window's names too, and
 * the cache the addresses this window named with exactly one name.
 */
export function closeWindow(
  engine: FlowEngine,
  memory: NameMemory,
  platform: string,
  windowEndSeconds: number,
): WindowResult {
  const { sessions, startTime, active, harvest, stats } = engine.finish();
  memory.expire(windowEndSeconds);
  const { sample, cacheUpdates } = buildSample(
    { sessions, startTime, active, names: harvest.byAddress },
    {
      fileName: startTime === undefined ? "" : sampleName(platform, startTime),
      cache: memory.cache,
      recent: memory.recent,
    },
  );
  // Short-term memory: every name harvested in this window, the latest per address.
  for (const [ip, names] of harvest.byAddress) {
    let latest = names[0];
    for (const n of names) if (n.time >= latest.time) latest = n;
    memory.learn(ip, latest.name, latest.time);
  }
  const changed: [number, string][] = [];
  for (const [ip, name] of cacheUpdates) {
    if (memory.cache.get(ip) !== name) {
      memory.cache.set(ip, name);
      changed.push([ip, name]);
    }
  }
  return { sample, startTime, cacheUpdates: changed, packets: stats.packets };
}
