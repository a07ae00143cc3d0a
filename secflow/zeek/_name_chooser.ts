/**
 * Section 4's naming for a million sessions of a Zeek log, with the results of
 * `PassiveNames.choose` (naming.ts) but no object per call: names bucketed per address once, the time
 * found by binary search, the answer per bucket cached, names escaped once into one byte pool.
 * @module
 */
import { grown, IntPairTable } from "../_int_table.ts";
import type { NameSources } from "../naming.ts";
import { isLocal } from "../net.ts";
import { formatSample } from "../sample.ts";
import type { NameSource } from "../types.ts";
import type { ZeekNames } from "./names.ts";

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s);

/** Sources by code (the order of {@link NameChooser.sourceCode}). */
export const SOURCE_NAMES = ["passive", "cache", "original", "session"] as const;

/**
 * Section 4's choice as `PassiveNames.choose` makes it (the same lists sorted by time, the
 * same rule order), for a million lookups: the harvested names are bucketed per address once
 * (typed arrays, a typed-array hash from address to bucket), the time is found by binary search,
 * and names are escaped once into one byte pool. Only external addresses have passive names
 * (every destination asked about is a session's destination, so the external ones are exactly
 * the active addresses). The result is left in `nameStart`/`nameEnd` (a range of `pool`; -1 for
 * "write the address itself") and `source`: no object per call.
 */
export class NameChooser {
  /** The chosen name's source. */
  source: NameSource = "original";
  /** {@link source} as a number (0 passive, 1 cache, 2 original, 3 session). */
  sourceCode = 2;
  nameStart = -1;
  nameEnd = -1;
  /** The chosen name as an index of {@link starts} and {@link ends}; -1 for the address itself. */
  name = -1;
  /** Escaped name i is `pool[starts[i], ends[i])`. */
  starts = new Int32Array(1024);
  ends = new Int32Array(1024);
  #names = 0;
  pool = new Uint8Array(1 << 16);
  /**
   * {@link pool} as a DataView, for copying a name 8 bytes at a time: the pool is ASCII (names
   * escaped as JSON) and keeps at least 8 bytes after the last name.
   */
  poolView = new DataView(this.pool.buffer);
  #poolUsed = 0;
  /** External address (as `(ip, 0)`) → its bucket. */
  #slots: IntPairTable;
  #slotStart: Int32Array;
  #slotLen: Int32Array;
  #times: Float64Array;
  #ids: Int32Array;
  /**
   * Per entry, the last entry of its bucket from which on the names are all its name: the
   * answer found at an entry holds until the time of the entry after that one, not merely the
   * next entry's (a server looked up again and again under one name is one cached answer).
   */
  #runEnd: Int32Array;
  /** Name id + 1 → escaped id + 1. */
  #escaped: Int32Array;
  #idOf = new Map<string, number>();

  constructor(private readonly names: ZeekNames, private readonly sources: NameSources) {
    const n = names.count;
    const slots = new IntPairTable(n);
    const slotOf = new Int32Array(n);
    let count = new Int32Array(1 << 12);
    for (let i = 0; i < n; i++) {
      const k = slots.findOrAdd(names.ip[i], 0); // buckets are numbered in order of appearance
      if (k >= count.length) count = grown(count, k + 1);
      slotOf[i] = k;
      count[k]++;
    }
    const slotCount = slots.size;
    const start = new Int32Array(slotCount + 1);
    for (let k = 0; k < slotCount; k++) start[k + 1] = start[k] + count[k];
    const times = new Float64Array(n), ids = new Int32Array(n);
    const fill = start.slice(0, slotCount);
    for (let i = 0; i < n; i++) {
      const p = fill[slotOf[i]]++;
      times[p] = names.time[i];
      ids[p] = names.name[i];
    }
    // Each bucket by time, stable (insertion sort: buckets are short and mostly in order).
    for (let k = 0; k < slotCount; k++) {
      const lo = start[k], hi = start[k + 1];
      for (let i = lo + 1; i < hi; i++) {
        const t = times[i];
        if (t >= times[i - 1]) continue;
        const id = ids[i];
        let j = i - 1;
        while (j >= lo && times[j] > t) {
          times[j + 1] = times[j];
          ids[j + 1] = ids[j];
          j--;
        }
        times[j + 1] = t;
        ids[j + 1] = id;
      }
    }
    this.#slots = slots;
    this.#slotStart = start;
    this.#slotLen = new Int32Array(slotCount);
    for (let k = 0; k < slotCount; k++) this.#slotLen[k] = start[k + 1] - start[k];
    this.#times = times;
    this.#ids = ids;
    // Within a bucket, the last index of each run of one name (read backwards).
    const runEnd = new Int32Array(n);
    for (let k = 0; k < slotCount; k++) {
      const lo = start[k], hi = start[k + 1];
      for (let i = hi - 1; i >= lo; i--) {
        runEnd[i] = i + 1 < hi && ids[i + 1] === ids[i] ? runEnd[i + 1] : i;
      }
    }
    this.#runEnd = runEnd;
    this.#escaped = new Int32Array(names.names + 1);
    this.#cacheT = new Float64Array(2 * slotCount).fill(Infinity);
    this.#cacheAnswer = new Int32Array(4 * slotCount);
  }

  /**
   * Per bucket, the last answer and the times it holds for, `[cacheT[2k], cacheT[2k + 1])`
   * (between two of the bucket's name times the answer cannot change): sessions come in time
   * order, so most lookups end here.
   */
  #cacheT: Float64Array;
  #cacheAnswer: Int32Array;

  #id(text: string): number {
    let id = this.#idOf.get(text);
    if (id !== undefined) return id;
    id = this.#add(bytes(escapeLike(text)));
    this.#idOf.set(text, id);
    return id;
  }

  #add(b: Uint8Array): number {
    if (this.#poolUsed + b.length + 8 > this.pool.length) {
      this.pool = grown(this.pool, this.#poolUsed + b.length + 8);
      this.poolView = new DataView(this.pool.buffer);
    }
    this.pool.set(b, this.#poolUsed);
    const id = this.#names++;
    if (id >= this.starts.length) {
      this.starts = grown(this.starts, id + 1);
      this.ends = grown(this.ends, id + 1);
    }
    this.starts[id] = this.#poolUsed;
    this.#poolUsed += b.length;
    this.ends[id] = this.#poolUsed;
    return id;
  }

  /** The escaped id of harvested name `nameId`. */
  #nameId(nameId: number): number {
    const e = this.#escaped[nameId];
    if (e > 0) return e - 1;
    const names = this.names;
    const s = names.nameStart[nameId], end = names.nameEnd[nameId], pool = names.pool;
    let plain = true;
    for (let i = s; i < end; i++) {
      const c = pool[i];
      if (c < 32 || c > 126 || c === 34 || c === 92) {
        plain = false;
        break;
      }
    }
    const id = plain ? this.#add(pool.subarray(s, end)) : this.#id(names.text(nameId));
    this.#escaped[nameId] = id + 1;
    return id;
  }

  #use(id: number, code: number): void {
    this.name = id;
    this.nameStart = this.starts[id];
    this.nameEnd = this.ends[id];
    this.sourceCode = code;
    this.source = SOURCE_NAMES[code];
  }

  /** The bucket of `ip` (external addresses only), or -1. */
  #slot(ip: number): number {
    return isLocal(ip) ? -1 : this.#slots.find(ip | 0, 0);
  }

  choose(ip: number, time: number): void {
    const k = this.#slot(ip);
    if (k < 0) return this.#chooseUnnamed(ip);
    const cacheT = this.#cacheT, answer = this.#cacheAnswer;
    if (time >= cacheT[2 * k] && time < cacheT[2 * k + 1]) {
      this.nameStart = answer[4 * k];
      this.nameEnd = answer[4 * k + 1];
      this.name = answer[4 * k + 3];
      const code = answer[4 * k + 2];
      this.sourceCode = code;
      this.source = SOURCE_NAMES[code];
      return;
    }
    const base = this.#slotStart[k];
    const len = this.#slotLen[k];
    const times = this.#times;
    // Rule 1: the latest name at or before `time` (the last index with times[i] <= time).
    let lo = base, hi = base + len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid] <= time) lo = mid + 1;
      else hi = mid;
    }
    if (lo > base) this.#use(this.#nameId(this.#ids[lo - 1]), 0);
    else this.#chooseEarly(ip, base);
    // Rule 1's answer holds from the entry found until the next entry with another name.
    const next = lo > base ? this.#runEnd[lo - 1] + 1 : lo;
    cacheT[2 * k] = lo > base ? times[lo - 1] : -Infinity;
    cacheT[2 * k + 1] = next < base + len ? times[next] : Infinity;
    answer[4 * k] = this.nameStart;
    answer[4 * k + 1] = this.nameEnd;
    answer[4 * k + 2] = this.sourceCode;
    answer[4 * k + 3] = this.name;
  }

  /** Rules 2-4 for an address with passive names, all later than the time. */
  #chooseEarly(ip: number, base: number): void {
    const recent = this.sources.recent?.get(ip);
    if (recent !== undefined) return this.#use(this.#id(recent), 0);
    const cached = this.sources.cache?.get(ip);
    if (cached !== undefined) return this.#use(this.#id(cached), 1);
    this.#use(this.#nameId(this.#ids[base]), 0);
  }

  /** Rules 2-5 for an address without passive names. */
  #chooseUnnamed(ip: number): void {
    const recent = this.sources.recent?.get(ip);
    if (recent !== undefined) return this.#use(this.#id(recent), 0);
    const cached = this.sources.cache?.get(ip);
    if (cached !== undefined) return this.#use(this.#id(cached), 1);
    this.nameStart = this.nameEnd = this.name = -1;
    this.source = "original";
    this.sourceCode = 2;
  }

  /**
   * What the persistent cache learns (`PassiveNames.unambiguous`): for the given
   * destinations in order, each external one whose names are all one single name.
   */
  unambiguous(destinations: Iterable<number>): Map<number, string> {
    const out = new Map<number, string>();
    const seen = new Uint8Array(this.#slotLen.length);
    for (const ip of destinations) {
      const k = this.#slot(ip);
      if (k < 0 || seen[k]) continue;
      seen[k] = 1;
      const base = this.#slotStart[k], len = this.#slotLen[k];
      const id = this.#ids[base];
      let single = true;
      for (let i = 1; i < len && single; i++) single = this.#ids[base + i] === id;
      if (single) out.set(ip >>> 0, this.names.text(id));
    }
    return out;
  }
}

/**
 * The inside of the JSON string formatSample writes for `text` (Python's ASCII escaping), taken
 * from formatSample itself so the two can never disagree.
 */
function escapeLike(text: string): string {
  const empty = formatSample({ hash: "", trafficDate: "", fileName: "", flashes: [] });
  const full = formatSample({ hash: "", trafficDate: "", fileName: text, flashes: [] });
  const before = empty.indexOf('"fileName": "') + 13;
  const after = empty.length - before; // from the closing quote of fileName to the end
  return full.slice(before, full.length - after);
}
