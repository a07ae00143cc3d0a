/**
 * An open-addressing hash index from fixed-width keys of int32 words to small non-negative
 * integers, in one typed array (linear probing; removal by backward shift, so no tombstones and
 * probes stay short after many flows came and went). The caller writes the key into
 * {@link KeyTable.key} and calls {@link KeyTable.find} or {@link KeyTable.insert}: no key object,
 * no string, no heap number per packet.
 * @module
 */

/**
 * Index of `width`-word keys. Slots are `[value + 1, hash, key...]`; 0 in the first word means
 * empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyTable } from "./_key_table.ts";
 * const t = new KeyTable(3);
 * t.key.set([1, 2, 3]);
 * assert.equal(t.find(), -1);
 * t.insert(7);
 * assert.equal(t.find(), 7);
 * t.remove();
 * assert.equal(t.find(), -1);
 * ```
 */
export class KeyTable {
  /** The key to look up, insert or remove: write it here first. */
  readonly key: Int32Array;
  #width: number;
  #stride: number;
  #mask: number;
  #slots: Int32Array;
  #size = 0;

  constructor(width: number, capacityPow2 = 1 << 12) {
    this.key = new Int32Array(width);
    this.#width = width;
    this.#stride = width + 2;
    this.#mask = capacityPow2 - 1;
    this.#slots = new Int32Array(capacityPow2 * this.#stride);
  }

  /** Keys stored. */
  get size(): number {
    return this.#size;
  }

  /** Bytes the index holds. */
  get byteLength(): number {
    return this.#slots.byteLength;
  }

  #hash(): number {
    const k = this.key;
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < this.#width; i++) {
      h = Math.imul(h ^ k[i], 0x01000193);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h ^= h >>> 13;
    return h === 0 ? 1 : h; // never 0 (and every low bit used: homes are h & mask)
  }

  /** Slot offset of {@link key}, or -1. */
  #slot(h: number): number {
    const s = this.#slots;
    const stride = this.#stride;
    const width = this.#width;
    const k = this.key;
    let i = h & this.#mask;
    while (true) {
      const at = i * stride;
      if (s[at] === 0) return -1 - at;
      if (s[at + 1] === h) {
        let same = true;
        for (let w = 0; w < width; w++) {
          if (s[at + 2 + w] !== k[w]) {
            same = false;
            break;
          }
        }
        if (same) return at;
      }
      i = (i + 1) & this.#mask;
    }
  }

  /** The value stored under {@link key}, or -1. */
  find(): number {
    const at = this.#slot(this.#hash());
    return at >= 0 ? this.#slots[at] - 1 : -1;
  }

  /** Stores `value` (0 to 2^31 - 2) under {@link key}, which must not be present. */
  insert(value: number): void {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    const h = this.#hash();
    const at = -1 - this.#slot(h);
    const s = this.#slots;
    s[at] = value + 1;
    s[at + 1] = h;
    s.set(this.key, at + 2);
    this.#size++;
  }

  /** Removes {@link key} if present. */
  remove(): void {
    const at = this.#slot(this.#hash());
    if (at < 0) return;
    const s = this.#slots;
    const stride = this.#stride;
    const mask = this.#mask;
    let hole = at / stride;
    let i = hole;
    // Backward shift: move later members of the run into the hole when their home allows.
    while (true) {
      i = (i + 1) & mask;
      const o = i * stride;
      if (s[o] === 0) break;
      const home = s[o + 1] & mask;
      const between = hole <= i ? home > hole && home <= i : home > hole || home <= i;
      if (between) continue;
      s.copyWithin(hole * stride, o, o + stride);
      hole = i;
    }
    s.fill(0, hole * stride, hole * stride + stride);
    this.#size--;
  }

  /** Empties the index. */
  clear(): void {
    this.#slots.fill(0);
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#slots;
    const stride = this.#stride;
    const capacity = (this.#mask + 1) * 2;
    this.#mask = capacity - 1;
    const s = new Int32Array(capacity * stride);
    for (let at = 0; at < old.length; at += stride) {
      if (old[at] === 0) continue;
      let i = old[at + 1] & this.#mask;
      while (s[i * stride] !== 0) i = (i + 1) & this.#mask;
      s.set(old.subarray(at, at + stride), i * stride);
    }
    this.#slots = s;
  }
}
