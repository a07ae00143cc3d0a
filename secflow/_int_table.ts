/**
 * The core's two storage helpers for hot paths: {@link IntPairTable}, an open-addressing hash
 * table from a pair of int32s to a dense id (0, 1, 2, ... in insertion order), and
 * {@link grown}, the one way a typed-array column grows. A dense id indexes any number of plain
 * typed-array columns the caller keeps beside the table, so the table holds keys only and a
 * value of any type costs one column, not a second table.
 *
 * The one idea: a slot is one int32 holding `id + 1` in its low bits and a fingerprint of the
 * key's hash in the bits above, so a probe compares keys only when the fingerprints agree, and
 * growing the entries (which widens the id bits) is a rebuild of the slots, never of the keys.
 * @module
 */

/** Any typed array {@link grown} can grow. */
export type GrowableArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

/**
 * A copy of `column` at least `minLength` long (at least twice as long as before), with the old
 * values in front and zeros after; `column` itself when it is long enough already.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grown } from "./_int_table.ts";
 * const a = grown(new Uint16Array([1, 2]), 3);
 * assert.deepEqual([...a], [1, 2, 0, 0]);
 * ```
 */
export function grown<T extends GrowableArray>(column: T, minLength: number): T {
  if (column.length >= minLength) return column;
  const out = new (column.constructor as new (n: number) => T)(
    Math.max(minLength, column.length * 2),
  );
  out.set(column as never);
  return out;
}

/**
 * Map from a pair of int32s (an IPv4 address and a port, two addresses, or an address and 0) to
 * a dense id. Keys are kept interleaved in one column; ids are assigned in insertion order and
 * never change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IntPairTable } from "./_int_table.ts";
 * const t = new IntPairTable();
 * assert.equal(t.findOrAdd(0x0a000001, 443), 0);
 * assert.equal(t.findOrAdd(0x0a000002, 443), 1);
 * assert.equal(t.find(0x0a000001, 443), 0);
 * assert.equal(t.find(0x0a000001, 80), -1);
 * assert.equal(t.size, 2);
 * ```
 */
export class IntPairTable {
  #slots: Int32Array;
  #mask: number;
  /** Mask of the slot bits that hold id + 1; the bits above hold the key's fingerprint. */
  #idMask = 0;
  /** Keys, interleaved: entry k is `(keys[2k], keys[2k + 1])`. */
  #keys: Int32Array;
  /** Number of entries. */
  size = 0;

  /**
   * A table planned for `entries` keys (it grows beyond), starting with `slots` slots (a power of
   * two; the table doubles them whenever it is half full).
   */
  constructor(entries = 1024, slots = 1 << 16) {
    if (!(slots >= 2 && (slots & (slots - 1)) === 0)) {
      throw new RangeError(`IntPairTable: slots must be a power of two, not ${slots}`);
    }
    this.#slots = new Int32Array(slots);
    this.#mask = slots - 1;
    const n = Math.max(entries, 1024);
    this.#keys = new Int32Array(2 * n);
    this.#setIdMask(n);
  }

  /** First int of entry `id`'s key. */
  keyX(id: number): number {
    return this.#keys[2 * id];
  }

  /** Second int of entry `id`'s key. */
  keyY(id: number): number {
    return this.#keys[2 * id + 1];
  }

  /** The id of `(x, y)` (int32s: pass `ip | 0`), or -1. */
  find(x: number, y: number): number {
    const slots = this.#slots, mask = this.#mask, keys = this.#keys, idMask = this.#idMask;
    const hash = pairHash(x, y);
    const tag = hash & ~idMask;
    let h = hash & mask;
    while (true) {
      const v = slots[h];
      if (v === 0) return -1;
      if ((v & ~idMask) === tag) {
        const k = (v & idMask) - 1;
        if (keys[2 * k] === x && keys[2 * k + 1] === y) return k;
      }
      h = (h + 1) & mask;
    }
  }

  /**
   * Loads the first slot of each key's probe sequence (hashes from {@link hashOf}) without
   * using them: issued back to back, the cache misses overlap, and the {@link findOrAdd} calls
   * that follow find the slots in cache.
   */
  touch(hashes: Int32Array, n: number): number {
    const slots = this.#slots, mask = this.#mask;
    let any = 0;
    for (let i = 0; i < n; i++) any |= slots[hashes[i] & mask];
    return any;
  }

  /** The id of `(x, y)` (int32s), added when absent (one probe sequence for both). */
  findOrAdd(x: number, y: number): number {
    return this.findOrAddHashed(x, y, pairHash(x, y));
  }

  /** {@link findOrAdd} with the key's {@link hashOf hash} already known. */
  findOrAddHashed(x: number, y: number, hash: number): number {
    const slots = this.#slots, mask = this.#mask, keys = this.#keys, idMask = this.#idMask;
    const tag = hash & ~idMask;
    let h = hash & mask;
    while (true) {
      const v = slots[h];
      if (v === 0) break;
      if ((v & ~idMask) === tag) {
        const k = (v & idMask) - 1;
        if (keys[2 * k] === x && keys[2 * k + 1] === y) return k;
      }
      h = (h + 1) & mask;
    }
    const k = this.size++;
    if (2 * k + 2 > keys.length) {
      // More entries than planned: wider ids, so every slot is rebuilt.
      this.#keys = grown(keys, 2 * k + 2);
      this.#keys[2 * k] = x;
      this.#keys[2 * k + 1] = y;
      this.#setIdMask(this.#keys.length / 2);
      this.#rehash(mask + 1);
    } else {
      keys[2 * k] = x;
      keys[2 * k + 1] = y;
      slots[h] = tag | (k + 1);
    }
    if (this.size * 2 > this.#mask) this.#rehash((this.#mask + 1) * 2);
    return k;
  }

  /** Makes room for `n` keys without rebuilding the slots. */
  reserve(n: number): void {
    let capacity = this.#mask + 1;
    while (capacity < n * 2 + 2 && capacity < 1 << 28) capacity *= 2;
    if (capacity > this.#mask + 1) this.#rehash(capacity);
  }

  #setIdMask(entries: number): void {
    let bits = 1;
    while ((1 << bits) <= entries + 1) bits++;
    this.#idMask = bits >= 31 ? 0x7fffffff : (1 << bits) - 1;
  }

  #rehash(capacity: number): void {
    const slots = new Int32Array(capacity), mask = capacity - 1, keys = this.#keys;
    const idMask = this.#idMask;
    for (let k = 0; k < this.size; k++) {
      const hash = pairHash(keys[2 * k], keys[2 * k + 1]);
      let h = hash & mask;
      while (slots[h] !== 0) h = (h + 1) & mask;
      slots[h] = (hash & ~idMask) | (k + 1);
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}

/** The hash {@link IntPairTable} files `(x, y)` under. */
export function hashOf(x: number, y: number): number {
  return pairHash(x, y);
}

/** A 32-bit mix of two int32s (murmur3's finaliser over a multiplicative combination). */
function pairHash(x: number, y: number): number {
  let h = Math.imul(x ^ Math.imul(y + 1, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
