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
import { C_DBYTES, C_DPKTS, C_SBYTES, C_SPKTS, F_ICMP } from "./_conn_row.ts";
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

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s);

const SRC0 = bytes('{"src": "');
const SRC = bytes(', {"src": "');
const DST = bytes('", "dst": "');
const DST_END = '", "destinationNameSource": "';
const SBYTES = bytes(', "srcBytes": ');
const DPKTS = bytes(', "dstPkts": ');
const DBYTES = bytes(', "dstBytes": ');
const REL = bytes(', "relativeStart": ');
const PROTO_ICMP = bytes(', "protocolInformation": "ICMP", "duration": ');
const PROTO = bytes(', "protocolInformation": "", "duration": ');
/** `<source>", "srcPkts": ` by source code. */
const SOURCE_THEN_SPKTS = SOURCE_NAMES.map((k) => bytes(`${DST_END}${k}", "srcPkts": `));

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
    const names = nameChooser();
    const w = new ByteWriter(Math.max(options.chunkBytes ?? 1 << 20, 4096), buffers);
    w.ascii(head.slice(0, -2)); // without the closing "]}"
    const sPktsCol = R.sPkts, dPktsCol = R.dPkts, sBytesCol = R.sBytes, dBytesCol = R.dBytes;
    const flagsCol = R.flags, tsCol = R.ts, endCol = R.end;
    const sIpCol = R.sIp, dIpCol = R.dIp, sPortCol = R.sPort, dPortCol = R.dPort;
    const count = (col: Uint32Array, column: number, r: number) => {
      const v = col[r];
      return v === 0xffffffff ? R.get(col, column, r) : v;
    };
    // The loop runs in a plain function: V8 optimises those, not long loops inside generators.
    // The position is a local; the helpers take and return it.
    const fill = (from: number): number => {
      let j = from;
      let buf = w.buf;
      let p = w.pos;
      let limit = buf.length - 1024;
      for (; j < n && p < limit; j++) {
        const i = order[j];
        const r = holder[i];
        const icmp = (flagsCol[r] & F_ICMP) !== 0;
        const first = tsCol[r];
        const dIp = dIpCol[r];
        names.choose(dIp, first);
        const nameStart = names.nameStart, nameEnd = names.nameEnd;
        if (nameEnd - nameStart > 256) {
          // A long escaped name: make sure it fits.
          w.pos = p;
          w.reserve(nameEnd - nameStart + 1024);
          buf = w.buf;
          limit = buf.length - 1024;
        }
        p = putBytes(buf, p, j === 0 ? SRC0 : SRC);
        p = putIp(buf, p, sIpCol[r]);
        if (!icmp) {
          buf[p++] = 58;
          p = putInt(buf, p, sPortCol[r]);
        }
        p = putBytes(buf, p, DST);
        if (nameStart < 0) p = putIp(buf, p, dIp);
        else {
          const pool = names.pool;
          for (let k = nameStart; k < nameEnd; k++) buf[p++] = pool[k];
        }
        if (!icmp) {
          buf[p++] = 58;
          p = putInt(buf, p, dPortCol[r]);
        }
        p = putBytes(buf, p, SOURCE_THEN_SPKTS[names.sourceCode]);
        sourceCounts[names.sourceCode]++;
        p = putCount(buf, p, count(sPktsCol, C_SPKTS, r));
        p = putBytes(buf, p, SBYTES);
        p = putCount(buf, p, count(sBytesCol, C_SBYTES, r));
        p = putBytes(buf, p, DPKTS);
        p = putCount(buf, p, count(dPktsCol, C_DPKTS, r));
        p = putBytes(buf, p, DBYTES);
        p = putCount(buf, p, count(dBytesCol, C_DBYTES, r));
        p = putBytes(buf, p, REL);
        p = putMicros(buf, p, micros[i]);
        p = putBytes(buf, p, icmp ? PROTO_ICMP : PROTO);
        p = putMicros(buf, p, micros6(endCol[r] - first));
        buf[p++] = 125; // }
      }
      w.pos = p;
      return j;
    };
    let j = 0;
    while (j < n) {
      j = fill(j);
      if (j < n) {
        yield w.take();
      }
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

/** Copies `src` to `buf` at `p`; the position after it. */
function putBytes(buf: Uint8Array, p: number, src: Uint8Array): number {
  const n = src.length;
  if (n > 24) {
    buf.set(src, p);
    return p + n;
  }
  for (let i = 0; i < n; i++) buf[p + i] = src[i];
  return p + n;
}

/** ASCII text at `p`; the position after it. */
function putAscii(buf: Uint8Array, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[p++] = text.charCodeAt(i);
  return p;
}

/** A non-negative int32 as decimal digits at `p`; the position after it. */
function putInt(buf: Uint8Array, p: number, v: number): number {
  if (v < 10) {
    buf[p] = 48 + v;
    return p + 1;
  }
  let x = v | 0;
  const digits = x < 100
    ? 2
    : x < 1000
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
    : 10;
  const end = p + digits;
  let q = end;
  while (x >= 10) {
    const d = (x / 10) | 0;
    buf[--q] = 48 + x - d * 10;
    x = d;
  }
  buf[--q] = 48 + x;
  return end;
}

/** A non-negative integer below 2^53 as decimal digits at `p`; the position after it. */
function putCount(buf: Uint8Array, p: number, v: number): number {
  return v > 2147483647 ? putAscii(buf, p, String(v)) : putInt(buf, p, v);
}

/** A dotted-quad address at `p`; the position after it. */
function putIp(buf: Uint8Array, p: number, ip: number): number {
  p = putInt(buf, p, ip >>> 24);
  buf[p++] = 46;
  p = putInt(buf, p, (ip >>> 16) & 255);
  buf[p++] = 46;
  p = putInt(buf, p, (ip >>> 8) & 255);
  buf[p++] = 46;
  return putInt(buf, p, ip & 255);
}

/** `pyFloat(k / 1e6)` for whole microseconds `k >= 0` at `p` (see {@link microsText}). */
function putMicros(buf: Uint8Array, p: number, k: number): number {
  if (k < 100 || k >= 1e14) return putAscii(buf, p, pyFloat(k / 1e6));
  const whole = Math.floor(k / 1e6);
  let frac = (k - whole * 1e6) | 0;
  p = whole > 2147483647 ? putAscii(buf, p, String(whole)) : putInt(buf, p, whole);
  buf[p++] = 46;
  if (frac === 0) {
    buf[p] = 48;
    return p + 1;
  }
  // Six digits, then the trailing zeros dropped.
  let end = p + 6;
  for (let q = end - 1; q >= p; q--) {
    const d = (frac / 10) | 0;
    buf[q] = 48 + frac - d * 10;
    frac = d;
  }
  while (buf[end - 1] === 48) end--;
  return end;
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
  pos = 0;

  #buffers: (Uint8Array | undefined)[];
  #current = 0;

  constructor(size: number, buffers = 1) {
    this.buf = new Uint8Array(size);
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
    }
    return out;
  }

  /** Room for `n` more bytes. */
  reserve(n: number): void {
    this.#ensure(n);
  }

  #ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
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
  return new TextDecoder().decode(buf.subarray(0, putMicros(buf, 0, k)));
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
