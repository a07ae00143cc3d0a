/**
 * The names a Zeek dns.log yields (SECFLOW.md section 5, "Names"), kept compact: every harvested
 * `(address, time, name)` in typed arrays and every distinct query name once, as its bytes in one
 * pool (found again through a typed-array hash of the bytes). A dns.log of 100k records costs a
 * few MB and no object per record; the `Map<address, HarvestedName[]>` the rest of the library
 * uses is built only when asked for.
 * @module
 */
import type { HarvestedName } from "../dns.ts";
import { isUsableName } from "../dns.ts";
import { grown } from "../_int_table.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Harvested names of a dns.log, in harvest order. */
export class ZeekNames {
  /** Number of harvested entries. */
  count: number = 0;
  /** Answer address of entry i (as int32: `ip | 0`). */
  ip: Int32Array<ArrayBuffer> = new Int32Array(1 << 12);
  /** Time of entry i (seconds). */
  time: Float64Array<ArrayBuffer> = new Float64Array(1 << 12);
  /** Name id of entry i. */
  name: Int32Array<ArrayBuffer> = new Int32Array(1 << 12);

  /** Name bytes (UTF-8 as in the log), name id → `pool[nameStart, nameEnd)`. */
  pool: Uint8Array<ArrayBuffer> = new Uint8Array(1 << 16);
  nameStart: Int32Array<ArrayBuffer> = new Int32Array(1 << 10);
  nameEnd: Int32Array<ArrayBuffer> = new Int32Array(1 << 10);
  names: number = 0;
  #poolUsed = 0;
  #hashOf = new Int32Array(1 << 10);
  /** Per name id: 0 not judged yet, 1 usable, 2 not (see {@link ZeekNames.add}). */
  #verdict = new Uint8Array(1 << 10);
  #slots = new Int32Array(1 << 11); // name id + 1
  #mask = (1 << 11) - 1;
  #text: (string | undefined)[] = [];
  #map: Map<number, HarvestedName[]> | undefined;

  /** The id of the name `b[s, e)` (interned). */
  nameId(b: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
    h ^= h >>> 15;
    const slots = this.#slots, mask = this.#mask, pool = this.pool, len = e - s;
    let k = h & mask;
    while (true) {
      const v = slots[k];
      if (v === 0) break;
      const id = v - 1;
      if (this.#hashOf[id] === h && this.nameEnd[id] - this.nameStart[id] === len) {
        let same = true;
        const o = this.nameStart[id] - s;
        for (let i = s; i < e; i++) {
          if (pool[i + o] !== b[i]) {
            same = false;
            break;
          }
        }
        if (same) return id;
      }
      k = (k + 1) & mask;
    }
    const id = this.names++;
    if (id >= this.nameStart.length) {
      this.nameStart = grown(this.nameStart, id + 1);
      this.nameEnd = grown(this.nameEnd, id + 1);
      this.#hashOf = grown(this.#hashOf, id + 1);
      this.#verdict = grown(this.#verdict, this.nameStart.length);
    }
    if (this.#poolUsed + len > this.pool.length) {
      this.pool = grown(this.pool, this.#poolUsed + len);
    }
    this.pool.set(b.subarray(s, e), this.#poolUsed);
    this.nameStart[id] = this.#poolUsed;
    this.#poolUsed += len;
    this.nameEnd[id] = this.#poolUsed;
    this.#hashOf[id] = h;
    slots[k] = id + 1;
    if (this.names * 2 > mask) this.#rehash();
    return id;
  }

  /** The id of a name given as text. */
  nameIdOfText(text: string): number {
    const b = encoder.encode(text);
    const id = this.nameId(b, 0, b.length);
    // The text as given (a lone surrogate would not survive the bytes).
    if (this.#text[id] === undefined) this.#text[id] = text;
    return id;
  }

  /** The text of name `id`. */
  text(id: number): string {
    let t = this.#text[id];
    if (t === undefined) {
      t = decoder.decode(this.pool.subarray(this.nameStart[id], this.nameEnd[id]));
      this.#text[id] = t;
    }
    return t;
  }

  /** Answers skipped: their name is not one a resolver accepts (see dns.ts `isUsableName`). */
  rejected = 0;

  /** Records one harvested answer. `ip` unsigned or int32. */
  add(ip: number, time: number, nameId: number): void {
    // A name is judged once, not once per answer (a busy resolver repeats a few thousand names).
    let verdict = this.#verdict[nameId];
    if (verdict === 0) verdict = this.#verdict[nameId] = isUsableName(this.text(nameId)) ? 1 : 2;
    if (verdict === 2) {
      this.rejected++;
      return;
    }
    const i = this.count++;
    if (i >= this.ip.length) {
      this.ip = grown(this.ip, i + 1);
      this.name = grown(this.name, i + 1);
      this.time = grown(this.time, i + 1);
    }
    this.ip[i] = ip | 0;
    this.time[i] = time;
    this.name[i] = nameId;
    this.#map = undefined;
  }

  /** Address (unsigned) → names in harvest order, as {@link DnsHarvest.byAddress} has them. */
  toMap(): Map<number, HarvestedName[]> {
    if (this.#map) return this.#map;
    const map = new Map<number, HarvestedName[]>();
    for (let i = 0; i < this.count; i++) {
      const ip = this.ip[i] >>> 0;
      const entry = { name: this.text(this.name[i]), time: this.time[i] };
      const list = map.get(ip);
      if (list) list.push(entry);
      else map.set(ip, [entry]);
    }
    this.#map = map;
    return map;
  }

  /** The entries of a `Map<address, HarvestedName[]>` (per address in list order). */
  static fromMap(map: ReadonlyMap<number, readonly HarvestedName[]>): ZeekNames {
    const out = new ZeekNames();
    for (const [ip, list] of map) {
      for (const h of list) out.add(ip, h.time, out.nameIdOfText(h.name));
    }
    return out;
  }

  #rehash(): void {
    const size = (this.#mask + 1) * 2;
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let id = 0; id < this.names; id++) {
      let k = this.#hashOf[id] & mask;
      while (slots[k] !== 0) k = (k + 1) & mask;
      slots[k] = id + 1;
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}
