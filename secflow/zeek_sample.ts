/**
 * The `.sf` bytes of a Zeek analysis, streamed: the same naming (section 4) and ordering as
 * {@link buildSample} and byte for byte the text {@link formatSample} writes, but produced into a
 * reused byte buffer, so a million flashes cost neither a million objects nor one huge string.
 * Pure: no I/O.
 * @module
 */
import { PairMap } from "./_pair_map.ts";
import { pyFloat, round6 } from "./format.ts";
import { type NameSources, PassiveNames } from "./naming.ts";
import { isLocal } from "./net.ts";
import { formatSample, newSampleHash } from "./sample.ts";
import { C_DBYTES, C_DPKTS, C_SBYTES, C_SPKTS, F_ICMP, type ZeekAnalysis } from "./zeek.ts";

/** Options of {@link zeekSampleText}. */
export interface ZeekTextOptions extends NameSources {
  fileName: string;
  hash?: string;
  /** Bytes per chunk handed out (default 1 MiB). */
  chunkBytes?: number;
}

/** The streamed `.sf` of an analysis. */
export interface ZeekSampleText {
  /** Number of flashes (0: nothing to write). */
  flashes: number;
  /** What the persistent cache learns. */
  cacheUpdates: Map<number, string>;
  /** The bytes, chunk by chunk; a chunk is valid until the next one is requested. */
  chunks(): Generator<Uint8Array>;
  /** The whole text (for small samples and tests). */
  text(): string;
}

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s);

const SRC0 = bytes('{"src": "');
const SRC = bytes(', {"src": "');
const DST = bytes('", "dst": "');
const NSRC = bytes('", "destinationNameSource": "');
const SPKTS = bytes('", "srcPkts": ');
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

/**
 * Streams the `.sf` text of a Zeek analysis. Concatenated, the chunks equal
 * `formatSample(buildSample(...).sample)` for the same sessions, names, hash and file name.
 */
export function zeekSampleText(analysis: ZeekAnalysis, options: ZeekTextOptions): ZeekSampleText {
  const sessions = analysis.sessions;
  const passive = new PassiveNames(analysis.names, sessions.active());
  const cacheUpdates = passive.unambiguous();
  const n = analysis.startTime === undefined ? 0 : sessions.length;
  const chunks = function* (): Generator<Uint8Array> {
    if (n === 0) return;
    const start = analysis.startTime!;
    const R = sessions.rows;
    const holder = sessions.holder;
    // relativeStart in whole microseconds (round6 results are exact 6-decimal values): a stable
    // radix sort on them keeps ties in creation order, as buildSample's stable sort does.
    const micros = new Float64Array(n);
    for (let i = 0; i < n; i++) micros[i] = Math.round(round6(R.ts[holder[i]] - start) * 1e6);
    const order = radixOrder(micros);
    const hash = options.hash ?? newSampleHash();
    const head = formatSample({
      hash,
      trafficDate: pyFloat(start),
      fileName: options.fileName,
      flashes: [],
    });
    const names = new NameChooser(passive, options);
    const w = new ByteWriter(Math.max(options.chunkBytes ?? 1 << 20, 4096));
    w.ascii(head.slice(0, -2)); // without the closing "]}"
    // The loop runs in a plain function: V8 optimises those, not long loops inside generators.
    const fill = (from: number): number => {
      let j = from;
      for (; j < n && w.room(); j++) {
        const i = order[j];
        const r = holder[i];
        const icmp = (R.flags[r] & F_ICMP) !== 0;
        const first = R.ts[r];
        names.choose(R.dIp[r], first);
        w.put(j === 0 ? SRC0 : SRC);
        w.ip(R.sIp[r]);
        if (!icmp) w.port(R.sPort[r]);
        w.put(DST);
        if (names.nameStart < 0) w.ip(R.dIp[r]);
        else w.range(names.pool, names.nameStart, names.nameEnd);
        if (!icmp) w.port(R.dPort[r]);
        w.put(NSRC);
        w.put(SOURCES[names.source]);
        w.put(SPKTS);
        w.int(R.get(R.sPkts, C_SPKTS, r));
        w.put(SBYTES);
        w.int(R.get(R.sBytes, C_SBYTES, r));
        w.put(DPKTS);
        w.int(R.get(R.dPkts, C_DPKTS, r));
        w.put(DBYTES);
        w.int(R.get(R.dBytes, C_DBYTES, r));
        w.put(REL);
        w.micros(micros[i]);
        w.put(icmp ? PROTO_ICMP : PROTO);
        w.micros(Math.round(round6(R.end[r] - first) * 1e6));
        w.byte(125); // }
      }
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
    cacheUpdates,
    chunks,
    text() {
      const decoder = new TextDecoder();
      let out = "";
      for (const chunk of chunks()) out += decoder.decode(chunk, { stream: true });
      return out + decoder.decode();
    },
  };
}

/** Bytes appended to a reused buffer; {@link room} says when a flash may no longer fit. */
class ByteWriter {
  buf: Uint8Array;
  pos = 0;
  #limit: number;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.#limit = size - 2048;
  }

  room(): boolean {
    return this.pos < this.#limit;
  }

  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.pos = 0;
    return out;
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

  /** A non-negative integer below 2^53, as decimal digits. */
  int(v: number): void {
    const buf = this.buf;
    if (v < 10) {
      buf[this.pos++] = 48 + v;
      return;
    }
    if (v > 2147483647) {
      this.ascii(String(v));
      return;
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
    let p = this.pos + digits;
    this.pos = p;
    while (x >= 10) {
      const q = (x / 10) | 0;
      buf[--p] = 48 + x - q * 10;
      x = q;
    }
    buf[--p] = 48 + x;
  }

  ip(ip: number): void {
    this.int(ip >>> 24);
    this.buf[this.pos++] = 46;
    this.int((ip >>> 16) & 255);
    this.buf[this.pos++] = 46;
    this.int((ip >>> 8) & 255);
    this.buf[this.pos++] = 46;
    this.int(ip & 255);
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
  const w = new ByteWriter(4096);
  w.micros(k);
  return new TextDecoder().decode(w.take());
}

/**
 * Section 4's choice as {@link PassiveNames.choose} makes it (the same sorted lists, the same rule
 * order), for a million lookups: per address its list is found once through a typed-array hash
 * and copied into flat arrays, the time is found by binary search, and names are escaped once
 * into one byte pool. The result is left in `nameStart`/`nameEnd` (a range of `pool`; -1 for
 * "write the address itself") and `source`: no object per call.
 */
export class NameChooser {
  source: keyof typeof SOURCES = "original";
  nameStart = -1;
  nameEnd = -1;
  pool = new Uint8Array(1 << 16);
  #poolUsed = 0;
  #slots = new PairMap(1 << 12);
  #slotStart: number[] = [];
  #slotLen: number[] = [];
  #times: number[] = [];
  #ids: number[] = [];
  #idOf = new Map<string, number>();
  #start: number[] = [];
  #end: number[] = [];

  constructor(private readonly passive: PassiveNames, private readonly sources: NameSources) {}

  #id(text: string): number {
    let id = this.#idOf.get(text);
    if (id !== undefined) return id;
    const b = bytes(escapeLike(text));
    if (this.#poolUsed + b.length > this.pool.length) {
      const bigger = new Uint8Array(Math.max(this.pool.length * 2, this.#poolUsed + b.length));
      bigger.set(this.pool.subarray(0, this.#poolUsed));
      this.pool = bigger;
    }
    this.pool.set(b, this.#poolUsed);
    id = this.#start.length;
    this.#start.push(this.#poolUsed);
    this.#poolUsed += b.length;
    this.#end.push(this.#poolUsed);
    this.#idOf.set(text, id);
    return id;
  }

  #slot(ip: number): number {
    let k = this.#slots.get(ip | 0, 0);
    if (k >= 0) return k;
    k = this.#slotStart.length;
    const list = this.passive.get(ip);
    this.#slotStart.push(this.#times.length);
    this.#slotLen.push(list ? list.length : 0);
    if (list) {
      for (const h of list) {
        this.#times.push(h.time);
        this.#ids.push(this.#id(h.name));
      }
    }
    this.#slots.set(ip | 0, 0, k);
    return k;
  }

  #use(id: number, source: keyof typeof SOURCES): void {
    this.nameStart = this.#start[id];
    this.nameEnd = this.#end[id];
    this.source = source;
  }

  choose(ip: number, time: number): void {
    const k = this.#slot(ip);
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
    if (lo > base) return this.#use(this.#ids[lo - 1], "passive");
    const recent = this.sources.recent?.get(ip);
    if (recent !== undefined) return this.#use(this.#id(recent), "passive");
    const cached = this.sources.cache?.get(ip);
    if (cached !== undefined) return this.#use(this.#id(cached), "cache");
    if (isLocal(ip) || len === 0) {
      this.nameStart = this.nameEnd = -1;
      this.source = "original";
      return;
    }
    this.#use(this.#ids[base], "passive");
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
