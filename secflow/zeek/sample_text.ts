/**
 * The `.sf` bytes of a Zeek analysis, streamed: the same naming (section 4) and ordering as
 * {@link buildSample} and byte for byte the text {@link formatSample} writes, but produced into a
 * reused byte buffer, so a million flashes cost neither a million objects nor one huge string.
 * Pure: no I/O.
 * @module
 */
import { pyFloat, round6 } from "../format.ts";
import type { NameSources } from "../naming.ts";
import { formatSample, newSampleHash } from "../sample.ts";
import { ZeekNames } from "./names.ts";
import { C_DBYTES, C_DPKTS, C_SBYTES, C_SPKTS, F_ICMP, type RowStore } from "./_conn_row.ts";
import { NameChooser, SOURCE_NAMES } from "./_name_chooser.ts";
import type { ZeekAnalysis } from "./mod.ts";

/** Options of {@link zeekSampleText}. */
export interface ZeekTextOptions extends NameSources {
  fileName: string;
  hash?: string;
  /** Bytes per chunk handed out (default 1 MiB). */
  chunkBytes?: number;
  /**
   * Buffers the chunks rotate through (default 1): a chunk stays valid until this many more have
   * been requested, so a consumer can write one while the next is made.
   */
  buffers?: number;
}

/** The streamed `.sf` of an analysis. */
export interface ZeekSampleText {
  /** Number of flashes (0: nothing to write). */
  flashes: number;
  /** What the persistent cache learns. */
  cacheUpdates: Map<number, string>;
  /** Flashes written per name source (passive, cache, original, session), once written. */
  sourceCounts: number[];
  /**
   * The bytes, chunk by chunk; a chunk is valid until `buffers` (default: the option, else 1)
   * more have been requested.
   */
  chunks(buffers?: number): Generator<Uint8Array>;
  /** The whole text (for small samples and tests). */
  text(): string;
}

/**
 * A constant piece of the text as 8-byte words, written with one unaligned 8-byte store a word
 * (a third of the time of a byte loop, half that of `Uint8Array.set` for these short pieces).
 * The last word runs past the piece: the bytes after it are scratch that the next write covers
 * (every write starts where the one before ended, and only bytes before the position are handed
 * out). ASCII bytes never make a NaN, so a word's bits go through the double unchanged.
 */
class Piece {
  readonly length: number;
  readonly words: Float64Array;
  constructor(text: string) {
    this.length = text.length;
    this.words = new Float64Array(Math.ceil(text.length / 8));
    const bytes = new Uint8Array(this.words.buffer);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  }
}

/** Bytes a write may run past its end (see {@link Piece}). */
const SCRATCH = 8;

const SRC0 = new Piece('{"src": "');
const SRC = new Piece(', {"src": "');
const DST = new Piece('", "dst": "');
const SBYTES = new Piece(', "srcBytes": ');
const DPKTS = new Piece(', "dstPkts": ');
const DBYTES = new Piece(', "dstBytes": ');
const REL = new Piece(', "relativeStart": ');
const PROTO_ICMP = new Piece(', "protocolInformation": "ICMP", "duration": ');
const PROTO = new Piece(', "protocolInformation": "", "duration": ');
/** `<source>", "srcPkts": ` by source code. */
const SOURCE_THEN_SPKTS = SOURCE_NAMES.map((k) =>
  new Piece(`", "destinationNameSource": "${k}", "srcPkts": `)
);

/**
 * Streams the `.sf` text of a Zeek analysis. Concatenated, the chunks equal
 * `formatSample(buildSample(...).sample)` for the same sessions, names, hash and file name.
 */
export function zeekSampleText(analysis: ZeekAnalysis, options: ZeekTextOptions): ZeekSampleText {
  const sessions = analysis.sessions;
  const harvest = analysis.harvest ?? ZeekNames.fromMap(analysis.names);
  let chooser: NameChooser | undefined;
  const nameChooser = () => chooser ??= new NameChooser(harvest, options);
  let cacheUpdates: Map<number, string> | undefined;
  const n = analysis.startTime === undefined ? 0 : sessions.length;
  const sourceCounts = [0, 0, 0, 0];
  const chunks = function* (buffers = options.buffers ?? 1): Generator<Uint8Array> {
    if (n === 0) return;
    const start = analysis.startTime!;
    const R = sessions.rows;
    const holder = sessions.holder;
    // relativeStart in whole microseconds (round6 results are exact 6-decimal values): a stable
    // radix sort on them keeps ties in creation order, as buildSample's stable sort does.
    // Below 2^32 (71 minutes) they are sorted in three borrowed u32 columns.
    const [keys32, order32, tmp32] = sessions.scratch();
    let micros: Float64Array | Uint32Array = keys32;
    for (let i = 0; i < n; i++) {
      const k = micros6(R.ts[holder[i]] - start);
      if (k > 0xffffffff) {
        micros = new Float64Array(n);
        for (let j = 0; j < n; j++) micros[j] = micros6(R.ts[holder[j]] - start);
        break;
      }
      keys32[i] = k;
    }
    const order = micros === keys32
      ? radixOrder32(keys32, order32, tmp32)
      : radixOrder(micros as Float64Array);
    const hash = options.hash ?? newSampleHash();
    const head = formatSample({
      hash,
      trafficDate: pyFloat(start),
      fileName: options.fileName,
      flashes: [],
    });
    const w = new ByteWriter(Math.max(options.chunkBytes ?? 1 << 20, 4096), buffers);
    w.ascii(head.slice(0, -2)); // without the closing "]}"
    const names = nameChooser();
    // The name of every session first, into a column nothing reads any more (the radix sort's
    // work space, when it was used): naming in one pass keeps the naming tables in cache, while
    // interleaved with the writing each pushed the other out and naming took twice as long.
    const nameOf = micros === keys32 ? tmp32 : new Uint32Array(n);
    nameSessions(names, R, holder, nameOf);
    const flashes = new FlashWriter(R, holder, order, micros, names, nameOf, sourceCounts);
    let j = 0;
    while (j < n) {
      j = flashes.fill(w, j, n);
      if (j < n) yield w.take();
    }
    w.ascii("]}");
    yield w.take();
  };
  return {
    flashes: n,
    sourceCounts,
    get cacheUpdates() {
      if (!cacheUpdates) {
        const R = sessions.rows, holder = sessions.holder;
        cacheUpdates = nameChooser().unambiguous(
          (function* () {
            for (let i = 0; i < holder.length; i++) yield R.dIp[holder[i]];
          })(),
        );
      }
      return cacheUpdates;
    },
    chunks,
    text() {
      const decoder = new TextDecoder();
      let out = "";
      for (const chunk of chunks()) out += decoder.decode(chunk, { stream: true });
      return out + decoder.decode();
    },
  };
}

/**
 * The name of session i into `nameOf[i]`: `(name + 1) * 4 + source`, `name` an index of the
 * chooser's escaped names, -1 for the address itself. Sessions are taken in creation order
 * (their rows in the order they were stored: memory read in sequence); that is nearly time
 * order, which is what the chooser's per-address cache serves best.
 */
function nameSessions(
  names: NameChooser,
  R: RowStore,
  holder: Int32Array,
  nameOf: Uint32Array,
): void {
  const tsCol = R.ts, dIpCol = R.dIp;
  for (let i = 0; i < nameOf.length; i++) {
    const r = holder[i];
    names.choose(dIpCol[r], tsCol[r]);
    nameOf[i] = (names.name + 1) * 4 + names.sourceCode;
  }
}

/**
 * Writes flashes (sessions in the order of `order`) into a {@link ByteWriter}. A class with its
 * columns in fields: V8 optimises its loop as one function (a loop inside the generator, or in a
 * closure storing into the generator's locals, is left to slower code).
 */
class FlashWriter {
  readonly #sPkts: Uint32Array;
  readonly #dPkts: Uint32Array;
  readonly #sBytes: Uint32Array;
  readonly #dBytes: Uint32Array;
  readonly #flags: Uint16Array;
  readonly #ts: Float64Array;
  readonly #end: Float64Array;
  readonly #sIp: Uint32Array;
  readonly #dIp: Uint32Array;
  readonly #sPort: Uint16Array;
  readonly #dPort: Uint16Array;

  constructor(
    private readonly R: RowStore,
    private readonly holder: Int32Array,
    private readonly order: Uint32Array,
    private readonly micros: Float64Array | Uint32Array,
    private readonly names: NameChooser,
    private readonly nameOf: Uint32Array,
    private readonly sourceCounts: number[],
  ) {
    this.#sPkts = R.sPkts;
    this.#dPkts = R.dPkts;
    this.#sBytes = R.sBytes;
    this.#dBytes = R.dBytes;
    this.#flags = R.flags;
    this.#ts = R.ts;
    this.#end = R.end;
    this.#sIp = R.sIp;
    this.#dIp = R.dIp;
    this.#sPort = R.sPort;
    this.#dPort = R.dPort;
  }

  /** A count column's value (spilled values included). */
  #count(col: Uint32Array, column: number, r: number): number {
    const v = col[r];
    return v === 0xffffffff ? this.R.get(col, column, r) : v;
  }

  /** Flashes `j`, `j + 1`, ... until `n` or the buffer is nearly full; the next `j`. */
  fill(w: ByteWriter, j: number, n: number): number {
    const order = this.order, holder = this.holder, micros = this.micros, names = this.names;
    const nameOf = this.nameOf, starts = names.starts, ends = names.ends, pool = names.poolView;
    const flagsCol = this.#flags, tsCol = this.#ts, endCol = this.#end;
    const sIpCol = this.#sIp, dIpCol = this.#dIp, sPortCol = this.#sPort, dPortCol = this.#dPort;
    let dv = w.view;
    let p = w.pos;
    let limit = w.buf.length - 1024;
    for (; j < n && p < limit; j++) {
      const i = order[j];
      const r = holder[i];
      const icmp = (flagsCol[r] & F_ICMP) !== 0;
      const first = tsCol[r];
      const dIp = dIpCol[r];
      const named = nameOf[i], name = (named >>> 2) - 1, sourceCode = named & 3;
      const nameStart = name < 0 ? -1 : starts[name], nameEnd = name < 0 ? -1 : ends[name];
      if (nameEnd - nameStart > 256) {
        // A long escaped name: make sure it fits.
        w.pos = p;
        w.reserve(nameEnd - nameStart + 1024);
        dv = w.view;
        limit = w.buf.length - 1024;
      }
      p = putPiece(dv, p, j === 0 ? SRC0 : SRC);
      p = putIp(dv, p, sIpCol[r]);
      if (!icmp) {
        dv.setUint8(p++, 58); // :
        p = putInt(dv, p, sPortCol[r]);
      }
      p = putPiece(dv, p, DST);
      if (nameStart < 0) p = putIp(dv, p, dIp);
      else p = putRange(dv, p, pool, nameStart, nameEnd);
      if (!icmp) {
        dv.setUint8(p++, 58);
        p = putInt(dv, p, dPortCol[r]);
      }
      p = putPiece(dv, p, SOURCE_THEN_SPKTS[sourceCode]);
      this.sourceCounts[sourceCode]++;
      p = putCount(dv, p, this.#count(this.#sPkts, C_SPKTS, r));
      p = putPiece(dv, p, SBYTES);
      p = putCount(dv, p, this.#count(this.#sBytes, C_SBYTES, r));
      p = putPiece(dv, p, DPKTS);
      p = putCount(dv, p, this.#count(this.#dPkts, C_DPKTS, r));
      p = putPiece(dv, p, DBYTES);
      p = putCount(dv, p, this.#count(this.#dBytes, C_DBYTES, r));
      p = putPiece(dv, p, REL);
      p = putMicros(dv, p, micros[i]);
      p = putPiece(dv, p, icmp ? PROTO_ICMP : PROTO);
      p = putMicros(dv, p, micros6(endCol[r] - first));
      dv.setUint8(p++, 125); // }
      // Stored as it goes: V8 compiles this loop while it runs (on-stack replacement), before the
      // code after it has ever run, and a store after the loop would then throw the compiled
      // code away at the end of every chunk.
      w.pos = p;
    }
    return j;
  }
}

/** `piece` at `p`; the position after it. */
function putPiece(dv: DataView, p: number, piece: Piece): number {
  const words = piece.words;
  for (let i = 0; i < words.length; i++) dv.setFloat64(p + 8 * i, words[i], true);
  return p + piece.length;
}

/**
 * Bytes `[s, e)` of `src` at `p`, 8 at a time; the position after them. `src` must hold ASCII
 * (so no word is a NaN) and at least 8 bytes after `e` (they are read, and written as scratch).
 */
function putRange(dv: DataView, p: number, src: DataView, s: number, e: number): number {
  for (let k = s; k < e; k += 8) dv.setFloat64(p + k - s, src.getFloat64(k, true), true);
  return p + e - s;
}

/** `"00"` .. `"99"` as little-endian pairs of digit bytes. */
const PAIRS = new Uint16Array(100);
for (let i = 0; i < 100; i++) PAIRS[i] = (48 + ((i / 10) | 0)) | ((48 + (i % 10)) << 8);

/** An octet and its dot (`"7."`, `"42."`, `"255."`) as little-endian bytes, and their count. */
const OCTETS = new Int32Array(256);
const OCTET_LENGTH = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  const text = `${i}.`;
  let v = 0;
  for (let k = text.length - 1; k >= 0; k--) v = (v << 8) | text.charCodeAt(k);
  OCTETS[i] = v;
  OCTET_LENGTH[i] = text.length;
}

/** A non-negative int32 as decimal digits at `p`, two at a time; the position after it. */
function putInt(dv: DataView, p: number, v: number): number {
  if (v < 100) {
    if (v < 10) {
      dv.setUint8(p, 48 + v);
      return p + 1;
    }
    dv.setUint16(p, PAIRS[v], true);
    return p + 2;
  }
  let x = v | 0;
  const end = p +
    (x < 1000
      ? 3
      : x < 10000
      ? 4
      : x < 100000
      ? 5
      : x < 1000000
      ? 6
      : x < 10000000
      ? 7
      : x < 100000000
      ? 8
      : x < 1000000000
      ? 9
      : 10);
  let q = end;
  while (x >= 100) {
    const d = (x / 100) | 0;
    q -= 2;
    dv.setUint16(q, PAIRS[x - d * 100], true);
    x = d;
  }
  if (x >= 10) dv.setUint16(q - 2, PAIRS[x], true);
  else dv.setUint8(q - 1, 48 + x);
  return end;
}

/** ASCII text at `p`; the position after it. */
function putAscii(dv: DataView, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) dv.setUint8(p++, text.charCodeAt(i));
  return p;
}

/** A non-negative integer below 2^53 as decimal digits at `p`; the position after it. */
function putCount(dv: DataView, p: number, v: number): number {
  return v > 2147483647 ? putAscii(dv, p, String(v)) : putInt(dv, p, v);
}

/** A dotted-quad address at `p`, an octet and its dot a store; the position after it. */
function putIp(dv: DataView, p: number, ip: number): number {
  let o = ip >>> 24;
  dv.setInt32(p, OCTETS[o], true);
  p += OCTET_LENGTH[o];
  o = (ip >>> 16) & 255;
  dv.setInt32(p, OCTETS[o], true);
  p += OCTET_LENGTH[o];
  o = (ip >>> 8) & 255;
  dv.setInt32(p, OCTETS[o], true);
  p += OCTET_LENGTH[o];
  o = ip & 255;
  dv.setInt32(p, OCTETS[o], true);
  return p + OCTET_LENGTH[o] - 1; // the last dot is scratch
}

/** `pyFloat(k / 1e6)` for whole microseconds `k >= 0` at `p` (see {@link microsText}). */
function putMicros(dv: DataView, p: number, k: number): number {
  if (k < 100 || k >= 1e14) return putAscii(dv, p, pyFloat(k / 1e6));
  const whole = Math.floor(k / 1e6);
  const frac = (k - whole * 1e6) | 0;
  p = whole > 2147483647 ? putAscii(dv, p, String(whole)) : putInt(dv, p, whole);
  dv.setUint8(p++, 46); // .
  if (frac === 0) {
    dv.setUint8(p, 48);
    return p + 1;
  }
  // Six digits as three pairs, then the trailing zeros dropped.
  const hi = (frac / 10000) | 0, rest = frac - hi * 10000;
  const mid = (rest / 100) | 0, lo = rest - mid * 100;
  dv.setUint16(p, PAIRS[hi], true);
  dv.setUint16(p + 2, PAIRS[mid], true);
  dv.setUint16(p + 4, PAIRS[lo], true);
  if (lo !== 0) return p + (lo % 10 === 0 ? 5 : 6);
  if (mid !== 0) return p + (mid % 10 === 0 ? 3 : 4);
  return p + (hi % 10 === 0 ? 1 : 2);
}

/** Whole microseconds of `round6(x)` (the same integer `Math.round(round6(x) * 1e6)` gives). */
export function micros6(x: number): number {
  const scaled = x * 1e6;
  if (scaled >= 0 && scaled < 1e12) {
    const frac = scaled - Math.floor(scaled);
    if (Math.abs(frac - 0.5) > 1e-3) return Math.round(scaled);
  }
  return Math.round(round6(x) * 1e6);
}

/** Bytes appended to reused buffers, handed out chunk by chunk. */
class ByteWriter {
  buf: Uint8Array;
  /** {@link buf} as a DataView (for the multi-byte stores). */
  view: DataView;
  pos = 0;

  #buffers: (Uint8Array | undefined)[];
  #current = 0;

  constructor(size: number, buffers = 1) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    this.#buffers = new Array(Math.max(1, buffers)).fill(undefined);
    this.#buffers[0] = this.buf;
  }

  /** The bytes so far; the writer moves on to the next buffer of its rotation. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.pos = 0;
    if (this.#buffers.length > 1) {
      this.#buffers[this.#current] = this.buf;
      this.#current = (this.#current + 1) % this.#buffers.length;
      this.buf = this.#buffers[this.#current] ??= new Uint8Array(this.buf.length);
      this.view = new DataView(this.buf.buffer);
    }
    return out;
  }

  /** Room for `n` more bytes. */
  reserve(n: number): void {
    this.#ensure(n);
  }

  #ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n + SCRATCH));
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  /** ASCII text (the caller guarantees it). */
  ascii(s: string): void {
    this.#ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }
}

/**
 * `pyFloat(k / 1e6)` for a whole number of microseconds `k >= 0`, without the general
 * shortest-digits conversion: a value with six decimals and at most 15 significant digits is
 * written by Python as those decimals, trailing zeros dropped. Tiny values (exponent form) and
 * huge ones go through pyFloat.
 */
export function microsText(k: number): string {
  const buf = new Uint8Array(64);
  return new TextDecoder().decode(buf.subarray(0, putMicros(new DataView(buf.buffer), 0, k)));
}

/**
 * Indexes 0..n-1 ordered by `keys` (u32), ties in index order, in `order` (`tmp`: work space of
 * the same length): two stable 16-bit counting passes, or none when the keys are in order.
 */
export function radixOrder32(keys: Uint32Array, order: Uint32Array, tmp: Uint32Array): Uint32Array {
  const n = keys.length;
  let sorted = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    if (i > 0 && keys[i] < keys[i - 1]) sorted = false;
  }
  if (sorted || n < 2) return order;
  const lo = new Uint32Array(65536), hi = new Uint32Array(65536);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    lo[k & 0xffff]++;
    hi[k >>> 16]++;
  }
  let a = 0, b = 0;
  for (let d = 0; d < 65536; d++) {
    const x = lo[d], y = hi[d];
    lo[d] = a;
    hi[d] = b;
    a += x;
    b += y;
  }
  for (let i = 0; i < n; i++) tmp[lo[keys[i] & 0xffff]++] = i;
  for (let i = 0; i < n; i++) {
    const x = tmp[i];
    order[hi[keys[x] >>> 16]++] = x;
  }
  return order;
}

/**
 * Indexes 0..n-1 ordered by `keys` (non-negative integers below 2^53), ties in index order: an
 * LSD radix sort, 16 bits a pass, only as many passes as the largest key needs.
 */
export function radixOrder(keys: Float64Array): Uint32Array {
  const n = keys.length;
  let order = new Uint32Array(n);
  let sorted = true;
  let max = 0;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    const k = keys[i];
    if (k > max) max = k;
    if (i > 0 && k < keys[i - 1]) sorted = false;
  }
  if (sorted || n < 2) return order;
  let tmp = new Uint32Array(n);
  const count = new Uint32Array(65536);
  for (let shift = 1; max / shift >= 1; shift *= 65536) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[Math.floor(keys[i] / shift) % 65536]++;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const x = order[i];
      tmp[count[Math.floor(keys[x] / shift) % 65536]++] = x;
    }
    const t = order;
    order = tmp;
    tmp = t;
  }
  return order;
}
