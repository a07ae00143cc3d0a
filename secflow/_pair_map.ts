/**
 * An open-addressing hash map from a pair of 32-bit integers to a non-negative integer, in one
 * typed array: no per-key allocation, which a `Map` keyed by 48- or 64-bit numbers cannot avoid
 * (such keys are heap-allocated doubles in V8). Each slot holds `[a, b, value + 1, -]` side by
 * side, so a probe touches one cache line, not three arrays, and a fresh (zeroed) array is an
 * empty table with no initialisation pass.
 * @module
 */

const EMPTY = 0;
const SLOT = 4;

/** Map of `(a, b)` int32 pairs to values from 0 to 2^31 - 2; {@link get} returns -1 when absent. */
export class PairMap {
  #mask: number;
  #slots: Int32Array;
  #size = 0;

  constructor(capacityPow2 = 1 << 12) {
    this.#mask = capacityPow2 - 1;
    this.#slots = new Int32Array(capacityPow2 * SLOT);
  }

  /** Number of pairs stored. */
  get size(): number {
    return this.#size;
  }

  /** The value of `(a, b)`, or -1. Pass int32s (`x | 0`). */
  get(a: number, b: number): number {
    const mask = this.#mask;
    const slots = this.#slots;
    let h = hash(a, b) & mask;
    while (true) {
      const at = h * SLOT;
      const stored = slots[at + 2];
      if (stored === EMPTY) return -1;
      if (slots[at] === a && slots[at + 1] === b) return stored - 1;
      h = (h + 1) & mask;
    }
  }

  /** Stores `value` (>= 0) under `(a, b)`, replacing any older value. */
  set(a: number, b: number, value: number): void {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    const mask = this.#mask;
    const slots = this.#slots;
    let h = hash(a, b) & mask;
    while (true) {
      const at = h * SLOT;
      if (slots[at + 2] === EMPTY) {
        slots[at] = a;
        slots[at + 1] = b;
        slots[at + 2] = value + 1;
        this.#size++;
        return;
      }
      if (slots[at] === a && slots[at + 1] === b) {
        slots[at + 2] = value + 1;
        return;
      }
      h = (h + 1) & mask;
    }
  }

  /** Calls `fn` for every stored pair (in table order, not insertion order). */
  forEach(fn: (a: number, b: number, value: number) => void): void {
    const slots = this.#slots;
    for (let at = 0; at < slots.length; at += SLOT) {
      if (slots[at + 2] !== EMPTY) fn(slots[at], slots[at + 1], slots[at + 2] - 1);
    }
  }

  #grow(): void {
    const old = this.#slots;
    const capacity = (this.#mask + 1) * 2;
    const mask = capacity - 1;
    const slots = new Int32Array(capacity * SLOT);
    // Keys are distinct: each goes to the first free slot of its probe, no comparison, no call
    // (a loop calling set() made the largest optimizing compilation of a conversion).
    for (let from = 0; from < old.length; from += SLOT) {
      if (old[from + 2] === EMPTY) continue;
      const a = old[from], b = old[from + 1];
      let h = hash(a, b) & mask;
      while (slots[h * SLOT + 2] !== EMPTY) h = (h + 1) & mask;
      const at = h * SLOT;
      slots[at] = a;
      slots[at + 1] = b;
      slots[at + 2] = old[from + 2];
    }
    this.#mask = mask;
    this.#slots = slots;
  }
}

function hash(a: number, b: number): number {
  let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
