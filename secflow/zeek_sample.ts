/**
 * The `.sf` bytes of a Zeek analysis, streamed: the same naming (section 4) and ordering as
 * {@link buildSample} and byte for byte the text {@link formatSample} writes, but produced into a
 * reused byte buffer, so a million flashes cost neither a million objects nor one huge string.
 * Pure: no I/O.
 * @module
 */
import { pyFloat, round6 } from "./format.ts";
import type { NameSources } from "./naming.ts";
import { isLocal } from "./net.ts";
import { formatSample, newSampleHash } from "./sample.ts";
import { ZeekNames } from "./zeek_names.ts";
import { C_DBYTES, C_DPKTS, C_SBYTES, C_SPKTS, F_ICMP, type ZeekAnalysis } from "./zeek.ts";

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
const SOURCES = {
  passive: bytes("passive"),
  cache: bytes("cache"),
  original: bytes("original"),
  session: bytes("session"),
};
const SOURCE_NAMES = ["passive", "cache", "original", "session"] as const;
/** `<source>", "srcPkts": ` by source code. */
const SOURCE_THEN_SPKTS = (["passive", "cache", "original", "session"] as const).map((k) =>
  bytes(`${DST_END}${k}", "srcPkts": `)
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

/** Bytes appended to a reused buffer; {@link room} says when a flash may no longer fit. */
class ByteWriter {
  buf: Uint8Array;
  pos = 0;
  #limit: number;

  #buffers: (Uint8Array | undefined)[];
  #current = 0;

  constructor(size: number, buffers = 1) {
    this.buf = new Uint8Array(size);
    this.#limit = size - 2048;
    this.#buffers = new Array(Math.max(1, buffers)).fill(undefined);
    this.#buffers[0] = this.buf;
  }

  room(): boolean {
    return this.pos < this.#limit;
  }

  /** The bytes so far; the writer moves on to the next buffer of its rotation. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.pos = 0;
    if (this.#buffers.length > 1) {
      this.#buffers[this.#current] = this.buf;
      this.#current = (this.#current + 1) % this.#buffers.length;
      this.buf = this.#buffers[this.#current] ??= new Uint8Array(this.buf.length);
      this.#limit = this.buf.length - 2048;
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
    this.#limit = b.length - 2048;
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  put(b: Uint8Array): void {
    const n = b.length;
    if (n > 512) this.#ensure(n + 1024);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = b[i];
    this.pos = p;
  }

  range(b: Uint8Array, s: number, e: number): void {
    if (e - s > 512) this.#ensure(e - s + 1024);
    const buf = this.buf;
    let p = this.pos;
    for (let i = s; i < e; i++) buf[p++] = b[i];
    this.pos = p;
  }

  /** ASCII text (the caller guarantees it). */
  ascii(s: string): void {
    this.#ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  /** A non-negative integer below 2^53, as decimal digits (within the reserved room). */
  int(v: number): void {
    this.pos = putCount(this.buf, this.pos, v);
  }

  /** A dotted-quad address (within the reserved room). */
  ip(ip: number): void {
    this.pos = putIp(this.buf, this.pos, ip);
  }

  port(p: number): void {
    this.buf[this.pos++] = 58;
    this.int(p);
  }

  /** `pyFloat(k / 1e6)` for whole microseconds `k >= 0` (see {@link microsText}). */
  micros(k: number): void {
    if (k < 100 || k >= 1e14) {
      this.ascii(pyFloat(k / 1e6));
      return;
    }
    const whole = Math.floor(k / 1e6);
    let frac = k - whole * 1e6;
    this.int(whole);
    this.buf[this.pos++] = 46;
    if (frac === 0) {
      this.buf[this.pos++] = 48;
      return;
    }
    let digits = 6;
    while (frac % 10 === 0) {
      frac /= 10;
      digits--;
    }
    // Leading zeros of the fraction, then its significant digits.
    const width = frac < 10
      ? 1
      : frac < 100
      ? 2
      : frac < 1000
      ? 3
      : frac < 10000
      ? 4
      : frac < 100000
      ? 5
      : 6;
    for (let z = width; z < digits; z++) this.buf[this.pos++] = 48;
    this.int(frac);
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
 * Section 4's choice as {@link PassiveNames.choose} makes it (the same lists sorted by time, the
 * same rule order), for a million lookups: the harvested names are bucketed per address once
 * (typed arrays, a typed-array hash from address to bucket), the time is found by binary search,
 * and names are escaped once into one byte pool. Only external addresses have passive names
 * (every destination asked about is a session's destination, so the external ones are exactly
 * the active addresses). The result is left in `nameStart`/`nameEnd` (a range of `pool`; -1 for
 * "write the address itself") and `source`: no object per call.
 */
export class NameChooser {
  source: keyof typeof SOURCES = "original";
  /** {@link source} as a number (0 passive, 1 cache, 2 original, 3 session). */
  sourceCode = 2;
  nameStart = -1;
  nameEnd = -1;
  pool = new Uint8Array(1 << 16);
  #poolUsed = 0;
  #slots: IpTable;
  #slotStart: Int32Array;
  #slotLen: Int32Array;
  #times: Float64Array;
  #ids: Int32Array;
  /** Name id + 1 → escaped id + 1. */
  #escaped: Int32Array;
  #idOf = new Map<string, number>();
  #start: number[] = [];
  #end: number[] = [];

  constructor(private readonly names: ZeekNames, private readonly sources: NameSources) {
    const n = names.count;
    const slots = new IpTable(n);
    const slotOf = new Int32Array(n);
    let count = new Int32Array(1 << 12);
    let slotCount = 0;
    for (let i = 0; i < n; i++) {
      const ip = names.ip[i];
      let k = slots.get(ip);
      if (k < 0) {
        k = slotCount++;
        slots.set(ip, k);
        if (k >= count.length) {
          const c = new Int32Array(count.length * 2);
          c.set(count);
          count = c;
        }
      }
      slotOf[i] = k;
      count[k]++;
    }
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
    if (this.#poolUsed + b.length > this.pool.length) {
      const bigger = new Uint8Array(Math.max(this.pool.length * 2, this.#poolUsed + b.length));
      bigger.set(this.pool.subarray(0, this.#poolUsed));
      this.pool = bigger;
    }
    this.pool.set(b, this.#poolUsed);
    const id = this.#start.length;
    this.#start.push(this.#poolUsed);
    this.#poolUsed += b.length;
    this.#end.push(this.#poolUsed);
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
    this.nameStart = this.#start[id];
    this.nameEnd = this.#end[id];
    this.sourceCode = code;
    this.source = SOURCE_NAMES[code];
  }

  /** The bucket of `ip` (external addresses only), or -1. */
  #slot(ip: number): number {
    return isLocal(ip) ? -1 : this.#slots.get(ip | 0);
  }

  choose(ip: number, time: number): void {
    const k = this.#slot(ip);
    if (k < 0) return this.#chooseUnnamed(ip);
    const cacheT = this.#cacheT, answer = this.#cacheAnswer;
    if (time >= cacheT[2 * k] && time < cacheT[2 * k + 1]) {
      this.nameStart = answer[4 * k];
      this.nameEnd = answer[4 * k + 1];
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
    cacheT[2 * k] = lo > base ? times[lo - 1] : -Infinity;
    cacheT[2 * k + 1] = lo < base + len ? times[lo] : Infinity;
    answer[4 * k] = this.nameStart;
    answer[4 * k + 1] = this.nameEnd;
    answer[4 * k + 2] = this.sourceCode;
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
    this.nameStart = this.nameEnd = -1;
    this.source = "original";
    this.sourceCode = 2;
  }

  /**
   * What the persistent cache learns ({@link PassiveNames.unambiguous}): for the given
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
 * A fixed-size open-addressing map from an IPv4 address (int32) to a value >= 0, key and value
 * side by side so that a lookup touches one cache line.
 */
class IpTable {
  #t: Int32Array;
  #mask: number;
  #size = 0;

  /** Sized for `maxKeys` keys (it grows beyond). */
  constructor(maxKeys: number) {
    let size = 1024;
    while (size < maxKeys * 2) size *= 2;
    this.#t = new Int32Array(2 * size);
    this.#mask = size - 1;
  }

  /** The value of `ip`, or -1. */
  get(ip: number): number {
    const t = this.#t, mask = this.#mask;
    let h = Math.imul(ip, 0x9e3779b1);
    h = (h ^ (h >>> 15)) & mask;
    while (true) {
      const v = t[2 * h + 1];
      if (v === 0) return -1;
      if (t[2 * h] === ip) return v - 1;
      h = (h + 1) & mask;
    }
  }

  /** Stores `value` for a new `ip`. */
  set(ip: number, value: number): void {
    if (++this.#size * 2 > this.#mask) this.#grow();
    this.#put(this.#t, this.#mask, ip, value + 1);
  }

  #put(t: Int32Array, mask: number, ip: number, v: number): void {
    let h = Math.imul(ip, 0x9e3779b1);
    h = (h ^ (h >>> 15)) & mask;
    while (t[2 * h + 1] !== 0) h = (h + 1) & mask;
    t[2 * h] = ip;
    t[2 * h + 1] = v;
  }

  #grow(): void {
    const old = this.#t;
    const size = (this.#mask + 1) * 2;
    const t = new Int32Array(2 * size);
    for (let h = 0; h < old.length; h += 2) {
      if (old[h + 1] !== 0) this.#put(t, size - 1, old[h], old[h + 1]);
    }
    this.#t = t;
    this.#mask = size - 1;
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
