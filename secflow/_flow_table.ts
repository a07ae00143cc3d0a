/**
 * Directed flows: a small open-addressing index (16-byte slots `[a, b, c, flow + 1]`, zero
 * meaning empty) over dense 64-byte flow records numbered in creation order. A packet costs one
 * probe in the index and one record line; records of the flows active at a time were created at
 * nearby times, so they sit close together and mostly stay in cache (a table holding the records
 * in its own slots spreads them over four times the memory and measured slower). Record layout,
 * as int32 indexes from the record's offset: `[src, dst, ports, tag, srcEndpoint, dstEndpoint,
 * srcEvents, dstEvents]`, then float64 indexes from `offset / 2`: `[4] pkts, [5] bytes,
 * [6] last`, then int32 `[14] nextOfSrc, [15] nextOfDst` (the caller's lists of flows by
 * endpoint). `tag` is the caller's nonzero flow tag.
 * @module
 */

/** int32s per record. */
export const SLOT_I32 = 16;
/** int32 fields of a record (add to the record offset). */
export const FT_TAG = 3,
  FT_SRC_ENDPOINT = 4,
  FT_DST_ENDPOINT = 5,
  FT_SRC_EVENTS = 6,
  FT_DST_EVENTS = 7,
  FT_NEXT_OF_SRC = 14,
  FT_NEXT_OF_DST = 15;
/** float64 fields of a record (add to offset / 2). */
export const FT_PKTS = 4, FT_BYTES = 5, FT_LAST = 6;
const KEY = 4;

/** The flows of one protocol. Record offsets stay valid; the arrays may be replaced on insert. */
export class FlowTable {
  #mask: number;
  #index: Int32Array;
  /** Flow records as int32 and as float64 (one buffer). */
  i32: Int32Array;
  f64: Float64Array;
  #count = 0;

  constructor(capacityPow2 = 1 << 12) {
    this.#mask = capacityPow2 - 1;
    this.#index = new Int32Array(capacityPow2 * KEY);
    this.i32 = new Int32Array((capacityPow2 >> 1) * SLOT_I32);
    this.f64 = new Float64Array(this.i32.buffer);
  }

  /** Number of flows stored. */
  get size(): number {
    return this.#count;
  }

  /** The int32 offset of the record of `(a, b, c)`, or -1. Pass int32s. */
  find(a: number, b: number, c: number): number {
    const mask = this.#mask;
    const s = this.#index;
    let h = hash3(a, b, c) & mask;
    while (true) {
      const at = h * KEY;
      const v = s[at + 3];
      if (v === 0) return -1;
      if (s[at] === a && s[at + 1] === b && s[at + 2] === c) return (v - 1) * SLOT_I32;
      h = (h + 1) & mask;
    }
  }

  /** Adds `(a, b, c)`, which must be absent, with `tag` (nonzero); returns its record's offset. */
  insert(a: number, b: number, c: number, tag: number): number {
    if ((this.#count + 1) * 2 > this.#mask + 1) this.#grow();
    const flow = this.#count++;
    this.#place(a, b, c, flow);
    const at = flow * SLOT_I32;
    const r = this.i32;
    r[at] = a;
    r[at + 1] = b;
    r[at + 2] = c;
    r[at + FT_TAG] = tag;
    return at;
  }

  #place(a: number, b: number, c: number, flow: number): void {
    const mask = this.#mask;
    const s = this.#index;
    let h = hash3(a, b, c) & mask;
    while (s[h * KEY + 3] !== 0) h = (h + 1) & mask;
    const at = h * KEY;
    s[at] = a;
    s[at + 1] = b;
    s[at + 2] = c;
    s[at + 3] = flow + 1;
  }

  #grow(): void {
    const capacity = (this.#mask + 1) * 2;
    this.#mask = capacity - 1;
    this.#index = new Int32Array(capacity * KEY);
    const records = new Int32Array((capacity >> 1) * SLOT_I32);
    records.set(this.i32);
    this.i32 = records;
    this.f64 = new Float64Array(records.buffer);
    for (let f = 0; f < this.#count; f++) {
      const at = f * SLOT_I32;
      this.#place(records[at], records[at + 1], records[at + 2], f);
    }
  }
}

function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x7feb352d), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
