/**
 * An open-addressing hash map from a pair of 32-bit integers to a non-negative integer, in typed
 * arrays: no per-key allocation, which a `Map` keyed by 48- or 64-bit numbers cannot avoid (such
 * keys are heap-allocated doubles in V8).
 * @module
 */

const EMPTY = -1;

/** Map of `(a, b)` int32 pairs to values >= 0; {@link get} returns -1 when absent. */
export class PairMap {
  #mask: number;
  #a: Int32Array;
  #b: Int32Array;
  #v: Int32Array;
  #size = 0;

  constructor(capacityPow2 = 1 << 12) {
    this.#mask = capacityPow2 - 1;
    this.#a = new Int32Array(capacityPow2);
    this.#b = new Int32Array(capacityPow2);
    this.#v = new Int32Array(capacityPow2).fill(EMPTY);
  }

  /** Number of pairs stored. */
  get size(): number {
    return this.#size;
  }

  /** The value of `(a, b)`, or -1. Pass int32s (`x | 0`). */
  get(a: number, b: number): number {
    const mask = this.#mask;
    const ka = this.#a, kb = this.#b, v = this.#v;
    let h = hash(a, b) & mask;
    while (true) {
      const value = v[h];
      if (value === EMPTY) return EMPTY;
      if (ka[h] === a && kb[h] === b) return value;
      h = (h + 1) & mask;
    }
  }

  /** Stores `value` (>= 0) under `(a, b)`, replacing any older value. */
  set(a: number, b: number, value: number): void {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    const mask = this.#mask;
    let h = hash(a, b) & mask;
    while (true) {
      const old = this.#v[h];
      if (old === EMPTY) {
        this.#a[h] = a;
        this.#b[h] = b;
        this.#v[h] = value;
        this.#size++;
        return;
      }
      if (this.#a[h] === a && this.#b[h] === b) {
        this.#v[h] = value;
        return;
      }
      h = (h + 1) & mask;
    }
  }

  /** Calls `fn` for every stored pair (in table order, not insertion order). */
  forEach(fn: (a: number, b: number, value: number) => void): void {
    for (let i = 0; i <= this.#mask; i++) {
      if (this.#v[i] !== EMPTY) fn(this.#a[i], this.#b[i], this.#v[i]);
    }
  }

  #grow(): void {
    const [oa, ob, ov] = [this.#a, this.#b, this.#v];
    const capacity = (this.#mask + 1) * 2;
    this.#mask = capacity - 1;
    this.#a = new Int32Array(capacity);
    this.#b = new Int32Array(capacity);
    this.#v = new Int32Array(capacity).fill(EMPTY);
    this.#size = 0;
    for (let i = 0; i < ov.length; i++) if (ov[i] !== EMPTY) this.set(oa[i], ob[i], ov[i]);
  }
}

function hash(a: number, b: number): number {
  let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
