/**
 * Zeek `conn.log` (+ optional `dns.log`) to Secflows, exactly as SECFLOW.md section 5 describes
 * the platform's converter, in any shape Zeek writes (TSV with or without `#fields`, JSON lines,
 * JSON arrays, flat or nested `id` keys, epoch or ISO-8601 `ts`). Pure: chunks in, sessions and
 * samples out, no I/O.
 *
 * The hot path allocates nothing per row: TSV fields are read by column index straight from the
 * bytes, rows live in typed-array columns, groups and sessions are found through a typed-array
 * hash keyed by (address, port), and a session is stored in the row slot of the row that created
 * it (that row's own values are consumed at that moment).
 * @module
 */
import type { HarvestedName } from "../dns.ts";
import { InputError } from "../errors.ts";
import { gunzipIfNeeded } from "../gzip.ts";
import { isLocal } from "../net.ts";
import { ZeekNames } from "./names.ts";
import { type BuildOptions, buildSample, type BuiltSample } from "../sample.ts";
import type { SessionRecord } from "../session.ts";
import {
  CONN_FIELDS,
  DNS_FIELDS,
  IPV6,
  JsonArraySplitter,
  jsonField,
  kindOfFields,
  latin1,
  LineSplitter,
  parseAddress,
  parseAddressText,
  parseCount,
  parseDecimal,
  parseTime,
  POW10,
  sniffText,
  TsvHeader,
  TWO53,
  type ZeekKind,
  type ZeekShape,
} from "./_text.ts";

const textDecoder = new TextDecoder();
const REQUIRED = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"];

/** Warnings about single malformed lines, per log, before they are only counted. */
export const MAX_LINE_WARNINGS = 20;

// Row flags (after the flip: "s" is the session's source side, "d" its destination side).
/** Row flag: ICMP. */
export const F_ICMP = 1;
const F_FLIPPED = 2;
const F_SERVICE = 4;
const F_SBYTES = 8; // src payload byte count present (not "-")
const F_DBYTES = 16;
const F_EXACT_S = 32; // history is exactly "S"
const F_NS_SRC = 64; // history has "d" or "t"
const F_NS_DST = 128; // history has "D" or "t"
// Session flag, set on the creating row once a group finished with it current.
const S_FINAL = 256;
// The first row of its group.
const F_HEAD = 512;

// History letters, before the flip.
const H_S = 1, H_LOWER_S = 2, H_d = 4, H_D = 8, H_t = 16, H_T = 32;

/** Values at or above this are kept in an overflow map (u32 columns). */
const BIG = 0xffffffff;

/** Counters of one conn.log. */
export interface ZeekStats {
  /** Data lines (or JSON records) read. */
  records: number;
  /** Rows kept (IPv4, not both addresses local). */
  rows: number;
  /** Rows whose two addresses are both local. */
  local: number;
  /** IPv6 rows (not converted). */
  ipv6: number;
  /** Malformed rows skipped. */
  skipped: number;
}

/** Options of the readers. */
export interface ZeekReaderOptions {
  /** Called for every warning (they are also collected). */
  onWarning?: (message: string) => void;
  /** Expected number of rows (sizes the tables up front; they grow when needed). */
  rowsHint?: number;
  /**
   * Size of the log in bytes (decompressed, when known): once the first lines show the average
   * line length, the key table is sized for the whole log at once.
   */
  bytesHint?: number;
  /**
   * TSV lines in the usual shape are read in one pass (default true); false sends every line
   * through the general path (tests compare the two).
   */
  fastPath?: boolean;
}

/** Shared warning bookkeeping: at most {@link MAX_LINE_WARNINGS} line warnings, then a count. */
class Warnings {
  readonly list: string[] = [];
  #lineWarnings = 0;
  constructor(private readonly onWarning?: (message: string) => void) {}

  add(message: string): void {
    this.list.push(message);
    this.onWarning?.(message);
  }

  line(name: string, line: number, reason: string): void {
    if (++this.#lineWarnings <= MAX_LINE_WARNINGS) {
      this.add(`${name}: line ${line}: skipped: ${reason}`);
    }
  }

  finish(name: string): void {
    const more = this.#lineWarnings - MAX_LINE_WARNINGS;
    if (more > 0) this.add(`${name}: ${more} more malformed lines skipped`);
  }
}

/** Decides the shape from the first non-blank bytes, then feeds lines or array elements. */
export abstract class ZeekLogReader {
  #shape: ZeekShape | undefined;
  #pending: Uint8Array[] = [];
  #lines: LineSplitter | undefined;
  #array: JsonArraySplitter | undefined;
  protected readonly header: TsvHeader;
  protected readonly warn: Warnings;

  constructor(
    readonly name: string,
    readonly kind: "conn" | "dns",
    options: ZeekReaderOptions,
    warnings?: Warnings,
  ) {
    this.header = new TsvHeader(kind === "conn" ? CONN_FIELDS : DNS_FIELDS);
    this.warn = warnings ?? new Warnings(options.onWarning);
  }

  /** The shape seen, once known. */
  get shape(): ZeekShape | undefined {
    return this.#shape;
  }

  push(chunk: Uint8Array): void {
    if (this.#shape === undefined) {
      if (
        this.#pending.length === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf
      ) {
        chunk = chunk.subarray(3); // a UTF-8 byte order mark
      }
      let i = 0;
      while (
        i < chunk.length &&
        (chunk[i] <= 32 || chunk[i] === 0xef || chunk[i] === 0xbb || chunk[i] === 0xbf)
      ) i++;
      if (i === chunk.length) {
        this.#pending.push(chunk.slice());
        return;
      }
      this.#start(chunk[i]);
      const pending = this.#pending;
      this.#pending = [];
      for (const p of pending) this.#feed(p);
    }
    this.#feed(chunk);
  }

  end(): void {
    this.#lines?.end();
    this.#array?.end();
    this.warn.finish(this.name);
  }

  #start(first: number): void {
    if (first === 91) {
      this.#shape = "json-array";
      this.#array = new JsonArraySplitter(
        (text, line) => this.#jsonText(text, line),
        (line) => this.warn.line(this.name, line, "not a JSON object"),
      );
    } else if (first === 123) {
      this.#shape = "json";
      this.#lines = new LineSplitter((b, s, e, line) => {
        if (isBlank(b, s, e)) return;
        this.#jsonText(textDecoder.decode(b.subarray(s, e)), line);
      });
    } else {
      this.#shape = "tsv";
      this.#lines = new LineSplitter((b, s, e, line) => {
        if (s === e) return;
        if (b[s] === 35) {
          this.header.read(textDecoder.decode(b.subarray(s, e)));
          this.headerChanged(line);
          return;
        }
        this.tsvLine(b, s, e, line);
      });
    }
  }

  #feed(chunk: Uint8Array): void {
    if (this.#array) this.#array.push(chunk);
    else this.#lines!.push(chunk);
  }

  #jsonText(text: string, line: number): void {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch {
      this.warn.line(this.name, line, "not valid JSON");
      return;
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) {
      this.warn.line(this.name, line, "not a JSON object");
      return;
    }
    this.jsonRecord(o as Record<string, unknown>, line);
  }

  protected abstract headerChanged(line: number): void;
  protected abstract tsvLine(b: Uint8Array, s: number, e: number, line: number): void;
  protected abstract jsonRecord(o: Record<string, unknown>, line: number): void;

  /** Throws when the fields show the other log. */
  protected checkKind(fields: readonly string[]): void {
    const kind = kindOfFields(fields);
    if (kind !== "unknown" && kind !== this.kind) throw wrongLog(this.name, kind, this.kind);
  }
}

function wrongLog(name: string, is: ZeekKind, wanted: "conn" | "dns"): InputError {
  return wanted === "conn"
    ? new InputError(
      `${name}: this is a Zeek ${is}.log, not a conn.log; give the conn.log as INPUT and the dns.log with --dns`,
    )
    : new InputError(
      `${name}: this is a Zeek ${is}.log, not a dns.log; --dns takes the dns.log that goes with the conn.log`,
    );
}

function isBlank(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] > 32) return false;
  return true;
}

function isUnset(b: Uint8Array, s: number, e: number): boolean {
  return e === s || (e === s + 1 && b[s] === 45);
}

function historyBitsOf(b: Uint8Array, s: number, e: number): number {
  if (e === s + 1 && b[s] === 83) return H_S;
  if (e === s + 1 && b[s] === 115) return H_LOWER_S;
  let bits = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c === 100) bits |= H_d;
    else if (c === 68) bits |= H_D;
    else if (c === 116) bits |= H_t;
    else if (c === 84) bits |= H_T;
  }
  return bits;
}

function historyBitsOfText(h: string): number {
  if (h === "S") return H_S;
  if (h === "s") return H_LOWER_S;
  let bits = 0;
  if (h.includes("d")) bits |= H_d;
  if (h.includes("D")) bits |= H_D;
  if (h.includes("t")) bits |= H_t;
  if (h.includes("T")) bits |= H_T;
  return bits;
}

/** Growable typed-array columns of conn rows (after the flip: s = source side, d = destination). */
export class RowStore {
  capacity: number;
  size = 0;
  ts: Float64Array;
  end: Float64Array;
  sIp: Uint32Array;
  dIp: Uint32Array;
  sPort: Uint16Array;
  dPort: Uint16Array;
  flags: Uint16Array;
  sPkts: Uint32Array;
  dPkts: Uint32Array;
  sBytes: Uint32Array;
  dBytes: Uint32Array;
  sIpBytes: Uint32Array;
  dIpBytes: Uint32Array;
  next: Int32Array;
  /** Values >= 2^32-1, by `row * 8 + column` (columns: 0 sPkts .. 5 dIpBytes). */
  big: Map<number, number> = new Map();

  constructor(capacity: number) {
    this.capacity = capacity;
    this.ts = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
    this.sIp = new Uint32Array(capacity);
    this.dIp = new Uint32Array(capacity);
    this.sPort = new Uint16Array(capacity);
    this.dPort = new Uint16Array(capacity);
    this.flags = new Uint16Array(capacity);
    this.sPkts = new Uint32Array(capacity);
    this.dPkts = new Uint32Array(capacity);
    this.sBytes = new Uint32Array(capacity);
    this.dBytes = new Uint32Array(capacity);
    this.sIpBytes = new Uint32Array(capacity);
    this.dIpBytes = new Uint32Array(capacity);
    this.next = new Int32Array(capacity);
  }

  grow(): void {
    const c = this.capacity * 2;
    const grow = <T extends Float64Array | Uint32Array | Uint16Array | Int32Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(c);
      b.set(a as never);
      return b;
    };
    this.ts = grow(this.ts, (n) => new Float64Array(n));
    this.end = grow(this.end, (n) => new Float64Array(n));
    this.sIp = grow(this.sIp, (n) => new Uint32Array(n));
    this.dIp = grow(this.dIp, (n) => new Uint32Array(n));
    this.sPort = grow(this.sPort, (n) => new Uint16Array(n));
    this.dPort = grow(this.dPort, (n) => new Uint16Array(n));
    this.flags = grow(this.flags, (n) => new Uint16Array(n));
    this.sPkts = grow(this.sPkts, (n) => new Uint32Array(n));
    this.dPkts = grow(this.dPkts, (n) => new Uint32Array(n));
    this.sBytes = grow(this.sBytes, (n) => new Uint32Array(n));
    this.dBytes = grow(this.dBytes, (n) => new Uint32Array(n));
    this.sIpBytes = grow(this.sIpBytes, (n) => new Uint32Array(n));
    this.dIpBytes = grow(this.dIpBytes, (n) => new Uint32Array(n));
    this.next = grow(this.next, (n) => new Int32Array(n));
    this.capacity = c;
  }

  /** Stores a count into a u32 column, spilling large values. */
  put(col: Uint32Array, column: number, row: number, v: number): void {
    if (v >= BIG) {
      col[row] = BIG;
      this.big.set(row * 8 + column, v);
    } else col[row] = v;
  }

  get(col: Uint32Array, column: number, row: number): number {
    const v = col[row];
    return v === BIG ? this.big.get(row * 8 + column)! : v;
  }
}

/**
 * Open-addressing map from a pair of int32s (an (IPv4 address, port) endpoint, or the two
 * addresses of an ICMP key) to a dense entry id, 4 bytes a slot (the slot holds id + 1). Each
 * entry carries the key, the first row of its group + 1 and its session's position + 1 (0:
 * none). The entry columns are sized up front as address space: pages are touched only as
 * entries are added, and nothing is copied while the map fills.
 */
export class KeyTable {
  #slots = new Int32Array(1 << 16);
  #mask = (1 << 16) - 1;
  /** Bits of a slot holding id + 1; the bits above hold a fingerprint of the key's hash. */
  #idBits = 0;
  #idMask = 0;
  /** Keys, interleaved: entry k is `(ab[2k], ab[2k + 1])`. */
  ab: Int32Array;
  /** First row of the group keyed by the entry, + 1 (0: no group). */
  group: Int32Array;
  /** Session position of the entry's key, + 1 (0: no session). */
  session: Int32Array;
  size = 0;

  constructor(entries: number) {
    const n = Math.max(entries, 1024);
    this.ab = new Int32Array(2 * n);
    this.group = new Int32Array(n);
    this.session = new Int32Array(n);
    this.#setIdBits(n);
  }

  #setIdBits(n: number): void {
    let bits = 1;
    while ((1 << bits) <= n + 1) bits++;
    this.#idBits = bits;
    this.#idMask = bits >= 31 ? 0x7fffffff : (1 << bits) - 1;
  }

  /** The entry of `(x, y)` (int32s), or -1. */
  find(x: number, y: number): number {
    const slots = this.#slots, mask = this.#mask, ab = this.ab, idMask = this.#idMask;
    const hash = endpointHash(x, y);
    const tag = hash & ~idMask;
    let h = hash & mask;
    while (true) {
      const v = slots[h];
      if (v === 0) return -1;
      if ((v & ~idMask) === tag) {
        const k = (v & idMask) - 1;
        if (ab[2 * k] === x && ab[2 * k + 1] === y) return k;
      }
      h = (h + 1) & mask;
    }
  }

  /** The entry of `(x, y)` (int32s), added when absent (one probe sequence for both). */
  findOrAdd(x: number, y: number): number {
    const slots = this.#slots, mask = this.#mask, ab = this.ab, idMask = this.#idMask;
    const hash = endpointHash(x, y);
    const tag = hash & ~idMask;
    let h = hash & mask;
    while (true) {
      const v = slots[h];
      if (v === 0) break;
      if ((v & ~idMask) === tag) {
        const k = (v & idMask) - 1;
        if (ab[2 * k] === x && ab[2 * k + 1] === y) return k;
      }
      h = (h + 1) & mask;
    }
    const k = this.size++;
    if (k + 1 >= this.group.length) {
      // More entries than planned: wider ids, so every slot is rebuilt.
      this.#growEntries();
      this.ab[2 * k] = x;
      this.ab[2 * k + 1] = y;
      this.#rehash(mask + 1);
    } else {
      ab[2 * k] = x;
      ab[2 * k + 1] = y;
      slots[h] = tag | (k + 1);
    }
    if (this.size * 2 > this.#mask) this.#rehash((this.#mask + 1) * 2);
    return k;
  }

  #insert(k: number): void {
    const slots = this.#slots, mask = this.#mask;
    const hash = endpointHash(this.ab[2 * k], this.ab[2 * k + 1]);
    let h = hash & mask;
    while (slots[h] !== 0) h = (h + 1) & mask;
    slots[h] = (hash & ~this.#idMask) | (k + 1);
  }

  #growEntries(): void {
    const n = this.group.length * 2;
    const grow = (x: Int32Array, m: number) => {
      const y = new Int32Array(m);
      y.set(x);
      return y;
    };
    this.ab = grow(this.ab, 2 * n);
    this.group = grow(this.group, n);
    this.session = grow(this.session, n);
    this.#setIdBits(n);
  }

  /** Makes room for `n` keys without further growth. */
  reserve(n: number): void {
    let capacity = this.#mask + 1;
    while (capacity < n * 2 + 2 && capacity < 1 << 28) capacity *= 2;
    if (capacity > this.#mask + 1) this.#rehash(capacity);
  }

  #rehash(capacity: number): void {
    this.#slots = new Int32Array(capacity);
    this.#mask = capacity - 1;
    for (let k = 0; k < this.size; k++) this.#insert(k);
  }
}

function endpointHash(ip: number, port: number): number {
  let h = Math.imul(ip ^ Math.imul(port + 1, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Column numbers of {@link RowStore.get}. */
export const C_SPKTS = 0, C_DPKTS = 1, C_SBYTES = 2, C_DBYTES = 3, C_SIPB = 4, C_DIPB = 5;

/**
 * Reads a Zeek conn.log pushed in chunks (TSV, JSON lines or JSON array) into grouped rows; then
 * {@link ZeekConnReader.sessions} applies section 5.
 */
export class ZeekConnReader extends ZeekLogReader {
  readonly stats: ZeekStats = { records: 0, rows: 0, local: 0, ipv6: 0, skipped: 0 };
  /** Earliest ts of a kept row. */
  startTime: number | undefined;
  readonly rows: RowStore;
  /** (address, port) → group and session of that key. */
  readonly keys: KeyTable;
  /** ICMP (orig address, resp address) → group and session of that key. */
  readonly icmpKeys: KeyTable;

  // TSV column indexes for the current #fields.
  #col = new Int32Array(16);
  #maxCol = 0;
  #fs = new Int32Array(64);
  #fe = new Int32Array(64);

  constructor(name: string, options: ZeekReaderOptions = {}) {
    super(name, "conn", options);
    const cap = Math.max(1024, Math.min(options.rowsHint ?? 1 << 16, 1 << 26));
    this.rows = new RowStore(cap);
    this.keys = new KeyTable(cap);
    this.#bytesHint = options.bytesHint;
    this.#fastAllowed = options.fastPath !== false;
    this.icmpKeys = new KeyTable(1024);
    this.#mapColumns();
  }

  /** Warnings so far (one line each). */
  get warnings(): string[] {
    return this.warn.list;
  }

  protected headerChanged(_line: number): void {
    this.#mapColumns();
  }

  #mapColumns(): void {
    const h = this.header;
    if (h.version > 0) {
      this.checkKind(h.fields);
      for (const f of ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]) {
        if (h.column(f) < 0) {
          throw new InputError(
            `${this.name}: its #fields header has no ${f} column, so it is no Zeek conn.log`,
          );
        }
      }
    }
    const names = [
      "ts",
      "uid",
      "id.orig_h",
      "id.orig_p",
      "id.resp_h",
      "id.resp_p",
      "proto",
      "service",
      "duration",
      "orig_bytes",
      "resp_bytes",
      "history",
      "orig_pkts",
      "orig_ip_bytes",
      "resp_pkts",
      "resp_ip_bytes",
    ];
    let max = 0;
    names.forEach((n, i) => {
      const c = h.column(n);
      this.#col[i] = c;
      if (c > max) max = c;
    });
    this.#maxCol = max;
    // The fast path reads lines with all sixteen columns present, by role per column.
    this.#roles = new Uint8Array(max + 1);
    let all = true;
    for (let i = 0; i < names.length; i++) {
      const c = this.#col[i];
      if (c < 0 || this.#roles[c] !== 0) all = false;
      else this.#roles[c] = i + 1;
    }
    this.#fast = all && this.#fastAllowed;
    if (this.#fs.length <= max + 1) {
      this.#fs = new Int32Array(max + 2);
      this.#fe = new Int32Array(max + 2);
    }
  }

  #roles = new Uint8Array(0);
  #fast = false;
  #fastAllowed = true;

  #bytesHint: number | undefined;
  #sampleBytes = 0;

  protected tsvLine(b: Uint8Array, s: number, e: number, line: number): void {
    if (this.#bytesHint !== undefined) {
      this.#sampleBytes += e - s + 1;
      if (line >= 4096) {
        // Size the key table for the whole log from the average line so far.
        this.keys.reserve(Math.min(this.#bytesHint / (this.#sampleBytes / line), 1 << 26));
        this.#bytesHint = undefined;
      }
    }
    if (this.#fast && this.header.separator === 9 && this.#fastLine(b, s, e)) {
      this.stats.records++;
      return;
    }
    this.#slowLine(b, s, e, line);
  }

  /**
   * One pass over a line in the usual shape: every value read while its field is scanned, into
   * locals, then {@link add}. Anything unusual (an unset required field, IPv6, a number that is
   * not plain digits, a short line) returns false before anything is stored, and the line takes
   * the general path, which gives the same values for the usual shapes.
   */
  #fastLine(b: Uint8Array, s: number, e: number): boolean {
    const roles = this.#roles, maxCol = this.#maxCol, sep = 9;
    let ts = 0, dur = NaN, oIp = 0, rIp = 0, oPort = 0, rPort = 0;
    let icmp = false, service = false, hist = 0;
    let oBytes = -1, rBytes = -1, oPkts = 0, oIpB = 0, rPkts = 0, rIpB = 0;
    let p = s;
    for (let c = 0; c <= maxCol; c++) {
      if (p > e) return false; // fewer fields than columns
      const role = roles[c];
      const f = p;
      if (role === 0) {
        while (p < e && b[p] !== sep) p++;
        p++;
        continue;
      }
      if (role === 1 || role === 9) {
        // ts, duration: digits[.digits], the value parseDecimal gives.
        if (role === 9 && b[p] === 45 && (p + 1 === e || b[p + 1] === sep)) {
          p += 2;
          continue;
        }
        let whole = 0;
        while (p < e) {
          const d = b[p] - 48;
          if (d < 0 || d > 9) break;
          whole = whole * 10 + d;
          p++;
        }
        const wd = p - f;
        if (wd === 0 || wd > 15) return false;
        let v = whole;
        if (p < e && b[p] === 46) {
          const dot = ++p;
          let frac = 0;
          while (p < e) {
            const d = b[p] - 48;
            if (d < 0 || d > 9) break;
            frac = frac * 10 + d;
            p++;
          }
          const k = p - dot;
          if (k === 0 || k > 9) return false;
          const m = whole * POW10[k] + frac;
          if (m >= TWO53) return false;
          v = m / POW10[k];
        }
        if (p < e && b[p] !== sep) return false;
        p++;
        if (role === 1) ts = v;
        else dur = v;
        continue;
      }
      if (role === 3 || role === 5) {
        // An IPv4 address.
        let ip = 0, octet = 0, digits = 0, dots = 0;
        while (p < e) {
          const ch = b[p];
          if (ch >= 48 && ch <= 57) {
            octet = octet * 10 + (ch - 48);
            if (++digits > 3 || octet > 255) return false;
          } else if (ch === 46) {
            if (digits === 0 || ++dots > 3) return false;
            ip = ip * 256 + octet;
            octet = 0;
            digits = 0;
          } else break;
          p++;
        }
        if (dots !== 3 || digits === 0 || (p < e && b[p] !== sep)) return false;
        p++;
        if (role === 3) oIp = ip * 256 + octet;
        else rIp = ip * 256 + octet;
        continue;
      }
      if (role >= 10 || role === 4 || role === 6) {
        if (role === 12) {
          // history
          while (p < e && b[p] !== sep) p++;
          if (!isUnset(b, f, p)) hist = historyBitsOf(b, f, p);
          p++;
          continue;
        }
        // A count: digits, or unset ("-" or empty) except for ports.
        let v = 0;
        while (p < e) {
          const d = b[p] - 48;
          if (d < 0 || d > 9) break;
          v = v * 10 + d;
          p++;
        }
        if (p === f) {
          if (role === 4 || role === 6) return false;
          if (p < e && b[p] === 45) p++;
          if (p < e && b[p] !== sep) return false;
          p++;
          continue; // unset: the defaults stand
        }
        if (p - f > 15 || (p < e && b[p] !== sep)) return false;
        p++;
        switch (role) {
          case 4:
            if (v > 65535) return false;
            oPort = v;
            break;
          case 6:
            if (v > 65535) return false;
            rPort = v;
            break;
          case 10:
            oBytes = v;
            break;
          case 11:
            rBytes = v;
            break;
          case 13:
            oPkts = v;
            break;
          case 14:
            oIpB = v;
            break;
          case 15:
            rPkts = v;
            break;
          default:
            rIpB = v;
        }
        continue;
      }
      // uid, proto, service: text.
      while (p < e && b[p] !== sep) p++;
      const n = p - f;
      if (role === 2) {
        if (n === 0 || (n === 1 && b[f] === 45)) return false;
      } else if (role === 7) {
        icmp = n === 4 && b[f] === 105 && b[f + 1] === 99 && b[f + 2] === 109 && b[f + 3] === 112;
      } else {
        service = n > 0 && !(n === 1 && b[f] === 45);
      }
      p++;
    }
    this.add(
      ts,
      dur === dur ? ts + dur : NaN,
      oIp,
      oPort,
      rIp,
      rPort,
      icmp,
      service,
      oBytes,
      rBytes,
      hist,
      oPkts,
      rPkts,
      oIpB,
      rIpB,
    );
    return true;
  }

  #slowLine(b: Uint8Array, s: number, e: number, line: number): void {
    this.stats.records++;
    const fs = this.#fs, fe = this.#fe, maxCol = this.#maxCol;
    const sep = this.header.separator;
    let f = 0;
    let start = s;
    for (let i = s; i < e; i++) {
      if (b[i] === sep) {
        fs[f] = start;
        fe[f] = i;
        start = i + 1;
        if (++f > maxCol) break;
      }
    }
    if (f <= maxCol) {
      fs[f] = start;
      fe[f] = e;
      f++;
      for (let k = f; k <= maxCol; k++) {
        fs[k] = 0;
        fe[k] = 0; // a missing column reads as unset
      }
    }
    const col = this.#col;
    // Required: ts, uid, and the four id fields.
    const cTs = col[0], cUid = col[1], cOh = col[2], cOp = col[3], cRh = col[4], cRp = col[5];
    if (
      cTs < 0 || isUnset(b, fs[cTs], fe[cTs]) || cUid < 0 || isUnset(b, fs[cUid], fe[cUid]) ||
      isUnset(b, fs[cOh], fe[cOh]) || isUnset(b, fs[cOp], fe[cOp]) ||
      isUnset(b, fs[cRh], fe[cRh]) ||
      isUnset(b, fs[cRp], fe[cRp])
    ) {
      return this.#bad(line, `no ${missingName(b, fs, fe, col)}`);
    }
    const ts = parseDecimal(b, fs[cTs], fe[cTs]);
    const time = ts === ts ? ts : parseTime(latin1(b, fs[cTs], fe[cTs]));
    if (time !== time) {
      return this.#bad(line, `ts is not a time: "${latin1(b, fs[cTs], fe[cTs]).slice(0, 40)}"`);
    }
    const oIp = parseAddress(b, fs[cOh], fe[cOh]);
    const rIp = parseAddress(b, fs[cRh], fe[cRh]);
    if (oIp === IPV6 || rIp === IPV6) {
      this.stats.ipv6++;
      return;
    }
    if (oIp < 0 || rIp < 0) return this.#bad(line, "an id address is not an IP address");
    const oPort = parseCount(b, fs[cOp], fe[cOp]);
    const rPort = parseCount(b, fs[cRp], fe[cRp]);
    if (!(oPort <= 65535) || !(rPort <= 65535)) {
      return this.#bad(line, "a port is not a number 0-65535");
    }
    const cProto = col[6];
    const icmp = cProto >= 0 && fe[cProto] - fs[cProto] === 4 && b[fs[cProto]] === 105 &&
      b[fs[cProto] + 1] === 99 && b[fs[cProto] + 2] === 109 && b[fs[cProto] + 3] === 112;
    const cSv = col[7];
    const service = cSv >= 0 && !isUnset(b, fs[cSv], fe[cSv]) &&
      !(fe[cSv] - fs[cSv] === 1 && b[fs[cSv]] === 45);
    const cDur = col[8];
    let end = NaN;
    if (cDur >= 0 && !isUnset(b, fs[cDur], fe[cDur])) {
      const d = parseDecimal(b, fs[cDur], fe[cDur]);
      if (d !== d) return this.#bad(line, "duration is not a number");
      end = time + d;
    }
    const oBytes = this.#count(b, fs, fe, col[9], -1);
    const rBytes = this.#count(b, fs, fe, col[10], -1);
    const cHist = col[11];
    const hist = cHist >= 0 && !isUnset(b, fs[cHist], fe[cHist])
      ? historyBitsOf(b, fs[cHist], fe[cHist])
      : 0;
    const oPkts = this.#count(b, fs, fe, col[12], 0);
    const oIpB = this.#count(b, fs, fe, col[13], 0);
    const rPkts = this.#count(b, fs, fe, col[14], 0);
    const rIpB = this.#count(b, fs, fe, col[15], 0);
    if (
      (oBytes + rBytes + oPkts + oIpB + rPkts + rIpB) !==
        (oBytes + rBytes + oPkts + oIpB + rPkts + rIpB)
    ) {
      return this.#bad(line, "a byte or packet count is not a whole number");
    }
    this.add(
      time,
      end,
      oIp,
      oPort,
      rIp,
      rPort,
      icmp,
      service,
      oBytes,
      rBytes,
      hist,
      oPkts,
      rPkts,
      oIpB,
      rIpB,
    );
  }

  /** A count column; `unset` for "-" or a missing column, NaN when malformed. */
  #count(b: Uint8Array, fs: Int32Array, fe: Int32Array, c: number, unset: number): number {
    if (c < 0) return unset;
    const s = fs[c], e = fe[c];
    if (isUnset(b, s, e)) return unset;
    return parseCount(b, s, e);
  }

  #bad(line: number, reason: string): void {
    this.stats.skipped++;
    this.warn.line(this.name, line, reason);
  }

  protected jsonRecord(o: Record<string, unknown>, line: number): void {
    this.stats.records++;
    if (this.stats.records === 1) this.checkKind(flatKeys(o));
    for (const f of ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]) {
      const v = jsonField(o, f);
      if (v === undefined || v === null || v === "-" || v === "") return this.#bad(line, `no ${f}`);
    }
    const time = parseTime(jsonField(o, "ts"));
    if (time !== time) {
      return this.#bad(
        line,
        `ts is not a time: ${JSON.stringify(jsonField(o, "ts")).slice(0, 40)}`,
      );
    }
    const oh = jsonField(o, "id.orig_h"), rh = jsonField(o, "id.resp_h");
    if (typeof oh !== "string" || typeof rh !== "string") {
      return this.#bad(line, "an id address is not an IP address");
    }
    const oIp = parseAddressText(oh), rIp = parseAddressText(rh);
    if (oIp === IPV6 || rIp === IPV6) {
      this.stats.ipv6++;
      return;
    }
    if (oIp < 0 || rIp < 0) return this.#bad(line, "an id address is not an IP address");
    const oPort = jsonCount(jsonField(o, "id.orig_p"), NaN);
    const rPort = jsonCount(jsonField(o, "id.resp_p"), NaN);
    if (!(oPort <= 65535) || !(rPort <= 65535)) {
      return this.#bad(line, "a port is not a number 0-65535");
    }
    const icmp = jsonField(o, "proto") === "icmp";
    const sv = jsonField(o, "service");
    const service = sv !== undefined && sv !== null && sv !== "-";
    const dv = jsonField(o, "duration");
    let end = NaN;
    if (dv !== undefined && dv !== null && dv !== "-") {
      const d = typeof dv === "number" ? dv : typeof dv === "string" ? parseTimeNumber(dv) : NaN;
      if (d !== d) return this.#bad(line, "duration is not a number");
      end = time + d;
    }
    const oBytes = jsonCount(jsonField(o, "orig_bytes"), -1);
    const rBytes = jsonCount(jsonField(o, "resp_bytes"), -1);
    const hv = jsonField(o, "history");
    const hist = typeof hv === "string" && hv !== "-" ? historyBitsOfText(hv) : 0;
    const oPkts = jsonCount(jsonField(o, "orig_pkts"), 0);
    const oIpB = jsonCount(jsonField(o, "orig_ip_bytes"), 0);
    const rPkts = jsonCount(jsonField(o, "resp_pkts"), 0);
    const rIpB = jsonCount(jsonField(o, "resp_ip_bytes"), 0);
    if (
      (oBytes + rBytes + oPkts + oIpB + rPkts + rIpB) !==
        (oBytes + rBytes + oPkts + oIpB + rPkts + rIpB)
    ) {
      return this.#bad(line, "a byte or packet count is not a whole number");
    }
    this.add(
      time,
      end,
      oIp,
      oPort,
      rIp,
      rPort,
      icmp,
      service,
      oBytes,
      rBytes,
      hist,
      oPkts,
      rPkts,
      oIpB,
      rIpB,
    );
  }

  /**
   * Adds one row (counts: -1 for an unset byte count). Drops rows between two local addresses;
   * flips rows from an external to a local address (section 5, rule 1) as they are stored.
   */
  add(
    ts: number,
    end: number,
    oIp: number,
    oPort: number,
    rIp: number,
    rPort: number,
    icmp: boolean,
    service: boolean,
    oBytes: number,
    rBytes: number,
    hist: number,
    oPkts: number,
    rPkts: number,
    oIpB: number,
    rIpB: number,
  ): void {
    const oLocal = isLocal(oIp), rLocal = isLocal(rIp);
    if (oLocal && rLocal) {
      this.stats.local++;
      return;
    }
    this.stats.rows++;
    if (this.startTime === undefined || ts < this.startTime) this.startTime = ts;
    const R = this.rows;
    if (R.size === R.capacity) R.grow();
    const r = R.size++;
    let flags = (icmp ? F_ICMP : 0) | (service ? F_SERVICE : 0);
    R.ts[r] = ts;
    R.end[r] = end;
    if (rLocal && !oLocal) {
      // Flip: swap addresses, ports, counts; swap the case of the history letters.
      flags |= F_FLIPPED;
      R.sIp[r] = rIp;
      R.dIp[r] = oIp;
      R.sPort[r] = rPort;
      R.dPort[r] = oPort;
      if (rBytes >= 0) flags |= F_SBYTES;
      if (oBytes >= 0) flags |= F_DBYTES;
      if (hist & H_LOWER_S) flags |= F_EXACT_S;
      if (hist & (H_D | H_T)) flags |= F_NS_SRC;
      if (hist & (H_d | H_T)) flags |= F_NS_DST;
      R.put(R.sPkts, C_SPKTS, r, rPkts);
      R.put(R.dPkts, C_DPKTS, r, oPkts);
      R.put(R.sBytes, C_SBYTES, r, rBytes < 0 ? 0 : rBytes);
      R.put(R.dBytes, C_DBYTES, r, oBytes < 0 ? 0 : oBytes);
      R.put(R.sIpBytes, C_SIPB, r, rIpB);
      R.put(R.dIpBytes, C_DIPB, r, oIpB);
    } else {
      R.sIp[r] = oIp;
      R.dIp[r] = rIp;
      R.sPort[r] = oPort;
      R.dPort[r] = rPort;
      if (oBytes >= 0) flags |= F_SBYTES;
      if (rBytes >= 0) flags |= F_DBYTES;
      if (hist & H_S) flags |= F_EXACT_S;
      if (hist & (H_d | H_t)) flags |= F_NS_SRC;
      if (hist & (H_D | H_t)) flags |= F_NS_DST;
      R.put(R.sPkts, C_SPKTS, r, oPkts);
      R.put(R.dPkts, C_DPKTS, r, rPkts);
      R.put(R.sBytes, C_SBYTES, r, oBytes < 0 ? 0 : oBytes);
      R.put(R.dBytes, C_DBYTES, r, rBytes < 0 ? 0 : rBytes);
      R.put(R.sIpBytes, C_SIPB, r, oIpB);
      R.put(R.dIpBytes, C_DIPB, r, rIpB);
    }
    R.flags[r] = flags;
    this.groupRow(r);
  }

  /**
   * Puts stored row `r` into its group (key orig_h:orig_p, or orig_h:ICMP-resp_h:ICMP, read
   * back from the row: after a flip the orig side is the destination). Rows are grouped in
   * order. A group is found through its first row (flag F_HEAD), whose `next` holds the group's
   * last row; every later row's `next` holds the row before it.
   */
  groupRow(r: number): void {
    const R = this.rows;
    let flags = R.flags[r];
    const flipped = (flags & F_FLIPPED) !== 0;
    let key: number, table: KeyTable;
    if (flags & F_ICMP) {
      table = this.icmpKeys;
      key = flipped
        ? table.findOrAdd(R.dIp[r] | 0, R.sIp[r] | 0)
        : table.findOrAdd(R.sIp[r] | 0, R.dIp[r] | 0);
    } else {
      table = this.keys;
      key = flipped
        ? table.findOrAdd(R.dIp[r] | 0, R.dPort[r])
        : table.findOrAdd(R.sIp[r] | 0, R.sPort[r]);
    }
    const next = R.next;
    const h = table.group[key] - 1;
    if (h < 0) {
      table.group[key] = r + 1;
      flags |= F_HEAD;
      next[r] = r;
      R.flags[r] = flags;
    } else {
      next[r] = next[h];
      next[h] = r;
    }
  }

  /**
   * Section 5: every group in order of first appearance, its rows by ts, flips, the NS and SV
   * byte counters. Call once, after {@link end}.
   */
  sessions(): ZeekSessions {
    const R = this.rows;
    const size = R.size;
    const keys = this.keys, icmpKeys = this.icmpKeys;
    const flagsOf = R.flags, next = R.next;
    // Session position → the row that holds it.
    const holder = new Int32Array(Math.max(size, 1));
    let count = 0;
    let order: number[] = [];
    let tcpGroups = 0;
    for (let head = 0; head < size; head++) {
      const headFlags = flagsOf[head];
      if ((headFlags & F_HEAD) === 0) continue;
      let r = head;
      let rowsOfGroup: number[] | null = null;
      const last = next[head];
      if (last !== head) {
        // More than one row: in row order, then by ts (stable) unless already in order.
        order.length = 0;
        for (let x = last; x !== head; x = next[x]) order.push(x);
        order.push(head);
        order.reverse();
        let sorted = true;
        for (let i = 1; i < order.length && sorted; i++) {
          if (R.ts[order[i]] < R.ts[order[i - 1]]) sorted = false;
        }
        if (!sorted) order.sort((a, b) => R.ts[a] - R.ts[b] || a - b);
        rowsOfGroup = order;
      }
      // The group's key entry (the key's session, when its rows are not flipped).
      const icmpGroup = (headFlags & F_ICMP) !== 0;
      // Entries were made in add() exactly when a group began: the n-th TCP/UDP group's key is
      // entry n.
      const groupKey = icmpGroup ? -1 : tcpGroups++;
      let nsSrc = 0, nsDst = 0, svSrc = 0, svDst = 0;
      let cur = -1;
      const n = rowsOfGroup ? rowsOfGroup.length : 1;
      for (let i = 0; i < n; i++) {
        if (rowsOfGroup) r = rowsOfGroup[i];
        const flags = flagsOf[r];
        const ts = R.ts[r], end = R.end[r];
        const sPkts = R.get(R.sPkts, C_SPKTS, r), dPkts = R.get(R.dPkts, C_DPKTS, r);
        const sBytes = R.get(R.sBytes, C_SBYTES, r), dBytes = R.get(R.dBytes, C_DBYTES, r);
        const sIpB = R.get(R.sIpBytes, C_SIPB, r), dIpB = R.get(R.dIpBytes, C_DIPB, r);
        // The session key of the row (after any flip): src endpoint, or the ICMP pair.
        let table: KeyTable, skey: number;
        if (flags & F_ICMP) {
          table = icmpKeys;
          skey = icmpKeys.findOrAdd(R.sIp[r] | 0, R.dIp[r] | 0);
        } else {
          table = keys;
          skey = (flags & F_FLIPPED) === 0 ? groupKey : keys.findOrAdd(R.sIp[r] | 0, R.sPort[r]);
        }
        let pos = table.session[skey] - 1;
        if (flags & F_FLIPPED) {
          // Rule 1: a new session under the flipped key, replacing any (its place is kept).
          if (pos < 0) {
            pos = count++;
            table.session[skey] = pos + 1;
          }
          holder[pos] = r;
          this.#initSession(r, ts);
          cur = r;
        } else if (pos < 0) {
          // Rule 2: a new session.
          pos = count++;
          table.session[skey] = pos + 1;
          holder[pos] = r;
          this.#initSession(r, ts);
          cur = r;
        } else if (cur < 0) {
          // Deviation: the key belongs to another group's session; it becomes current.
          cur = holder[pos];
        }
        // Rule 3: packets and last time.
        R.put(R.sPkts, C_SPKTS, cur, R.get(R.sPkts, C_SPKTS, cur) + sPkts);
        R.put(R.dPkts, C_DPKTS, cur, R.get(R.dPkts, C_DPKTS, cur) + dPkts);
        // (duration "-": max(last, ts); the last time never moves back)
        const rowEnd = end === end ? end : ts;
        if (rowEnd > R.end[cur]) R.end[cur] = rowEnd;
        // Rule 4: bytes.
        if ((flags & F_SERVICE) === 0) {
          if (flags & F_EXACT_S) {
            nsSrc = 0;
            nsDst = 0;
          } else if (nsSrc === 0 || nsDst === 0) {
            nsSrc = flags & F_NS_SRC ? sBytes : 0; // an unset count was stored as 0
            if (flags & F_NS_DST) {
              if (flags & F_DBYTES) nsDst = dBytes;
            } else nsDst = 0;
          } else {
            if (sIpB > nsSrc) nsSrc = sIpB;
            if (dIpB > nsDst) nsDst = dIpB;
          }
        } else if (svSrc === 0 || svDst === 0) {
          if (flags & F_SBYTES) svSrc = sBytes;
          if (flags & F_DBYTES) svDst = dBytes;
        } else {
          if (flags & F_SBYTES && sBytes > svSrc) svSrc = sBytes;
          if (flags & F_DBYTES && dBytes > svDst) svDst = dBytes;
        }
      }
      if (cur >= 0) {
        const sb = Math.max(R.get(R.sBytes, C_SBYTES, cur), nsSrc, svSrc);
        const db = Math.max(R.get(R.dBytes, C_DBYTES, cur), nsDst, svDst);
        R.put(R.sBytes, C_SBYTES, cur, sb);
        R.put(R.dBytes, C_DBYTES, cur, db);
        R.flags[cur] |= S_FINAL;
      }
    }
    order = [];
    return new ZeekSessions(R, holder.subarray(0, count), this.startTime);
  }

  #initSession(r: number, ts: number): void {
    const R = this.rows;
    R.sPkts[r] = 0;
    R.dPkts[r] = 0;
    R.sBytes[r] = 0;
    R.dBytes[r] = 0;
    R.end[r] = ts;
    // Clear any spilled values of this row: it now holds a session.
    if (R.big.size > 0) { for (let c = 0; c < 6; c++) R.big.delete(r * 8 + c); }
  }
}

function missingName(b: Uint8Array, fs: Int32Array, fe: Int32Array, col: Int32Array): string {
  const names = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"];
  for (let i = 0; i < 6; i++) if (col[i] < 0 || isUnset(b, fs[col[i]], fe[col[i]])) return names[i];
  return "field";
}

function flatKeys(o: Record<string, unknown>): string[] {
  const keys = Object.keys(o);
  const id = o.id;
  if (typeof id === "object" && id !== null) keys.push(...Object.keys(id).map((k) => `id.${k}`));
  return keys;
}

function jsonCount(v: unknown, unset: number): number {
  if (v === undefined || v === null || v === "-") return unset;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : NaN;
}

function parseTimeNumber(text: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
}

/**
 * The sessions of a conn.log after section 5, compact: each session lives in the row slot that
 * created it; `holder[i]` is the row of the i-th session in creation order.
 */
export class ZeekSessions {
  constructor(
    private readonly R: RowStore,
    readonly holder: Int32Array,
    readonly startTime: number | undefined,
  ) {}

  /** The row columns the sessions live in (read-only use). */
  get rows(): RowStore {
    return this.R;
  }

  /**
   * Three columns of at least {@link length} entries that nothing reads once the sessions are
   * made (the rows' IP-byte counts and group links), lent to a writer as sort space: memory that
   * is already there costs nothing, fresh memory costs page faults.
   */
  scratch(): [Uint32Array, Uint32Array, Uint32Array] {
    const R = this.R, n = this.holder.length;
    const next = new Uint32Array(R.next.buffer, R.next.byteOffset, R.next.length);
    return [R.sIpBytes.subarray(0, n), R.dIpBytes.subarray(0, n), next.subarray(0, n)];
  }

  /** Number of sessions. */
  get length(): number {
    return this.holder.length;
  }

  /** Session `i` (creation order) as a {@link SessionRecord}. */
  record(i: number): SessionRecord {
    const R = this.R, r = this.holder[i];
    const flags = R.flags[r];
    return {
      icmp: (flags & F_ICMP) !== 0,
      srcIp: R.sIp[r],
      srcPort: R.sPort[r],
      dstIp: R.dIp[r],
      dstPort: R.dPort[r],
      srcPkts: R.get(R.sPkts, C_SPKTS, r),
      dstPkts: R.get(R.dPkts, C_DPKTS, r),
      srcBytes: R.get(R.sBytes, C_SBYTES, r),
      dstBytes: R.get(R.dBytes, C_DBYTES, r),
      first: R.ts[r],
      last: R.end[r],
    };
  }

  /** Every session, in creation order. */
  records(): SessionRecord[] {
    const out: SessionRecord[] = new Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = this.record(i);
    return out;
  }

  /** External destination addresses of the sessions (section 5's active addresses). */
  active(): Set<number> {
    const out = new Set<number>();
    const R = this.R;
    for (let i = 0; i < this.holder.length; i++) {
      const ip = R.dIp[this.holder[i]];
      if (!isLocal(ip)) out.add(ip);
    }
    return out;
  }

  /** First time of session `i`. */
  first(i: number): number {
    return this.R.ts[this.holder[i]];
  }
}

/** Reads a Zeek dns.log pushed in chunks into harvested names (section 5, "Names"). */
export class ZeekDnsReader extends ZeekLogReader {
  /** The harvested names, compact. */
  readonly harvest = new ZeekNames();
  records = 0;
  used = 0;
  skipped = 0;
  #cols: Record<string, number> = {};
  #dash = -1;

  constructor(name: string, options: ZeekReaderOptions = {}) {
    super(name, "dns", options);
    this.#mapColumns();
  }

  /** Answer address → names in harvest order. */
  get byAddress(): Map<number, HarvestedName[]> {
    return this.harvest.toMap();
  }

  get warnings(): string[] {
    return this.warn.list;
  }

  protected headerChanged(_line: number): void {
    this.#mapColumns();
  }

  #max = 0;
  #required = new Int32Array(6);

  #mapColumns(): void {
    if (this.header.version > 0) this.checkKind(this.header.fields);
    const cols: Record<string, number> = {};
    let max = 0;
    for (
      const f of [
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "rtt",
        "query",
        "qclass",
        "qtype",
        "rcode_name",
        "answers",
      ]
    ) {
      cols[f] = this.header.column(f);
      if (cols[f] > max) max = cols[f];
    }
    REQUIRED.forEach((f, k) => this.#required[k] = cols[f]);
    this.#cols = cols;
    this.#max = max;
  }

  #fs = new Int32Array(32);
  #fe = new Int32Array(32);

  protected tsvLine(b: Uint8Array, s: number, e: number, line: number): void {
    this.records++;
    // Fields by byte offsets: only a used record's query and answers become strings.
    const cols = this.#cols;
    const max = this.#max;
    if (this.#fs.length <= max + 1) {
      this.#fs = new Int32Array(max + 2);
      this.#fe = new Int32Array(max + 2);
    }
    const fs = this.#fs, fe = this.#fe, sep = this.header.separator;
    let f = 0, start = s;
    for (let i = s; i < e; i++) {
      if (b[i] === sep) {
        fs[f] = start;
        fe[f] = i;
        start = i + 1;
        if (++f > max) break;
      }
    }
    if (f <= max) {
      fs[f] = start;
      fe[f] = e;
      for (let k = f + 1; k <= max; k++) fs[k] = fe[k] = 0;
    }
    const req = this.#required;
    for (let k = 0; k < 6; k++) {
      const c = req[k];
      if (c < 0 || isUnset(b, fs[c], fe[c])) return this.#bad(line, `no ${REQUIRED[k]}`);
    }
    const cClass = cols.qclass, cType = cols.qtype, cRtt = cols.rtt, cRcode = cols.rcode_name;
    const one = (c: number) => c >= 0 && fe[c] - fs[c] === 1 && b[fs[c]] === 49;
    const use = (one(cClass) && one(cType)) ||
      ((cRtt < 0 || isUnset(b, fs[cRtt], fe[cRtt])) && cRcode >= 0 &&
        fe[cRcode] - fs[cRcode] === 7 &&
        latin1(b, fs[cRcode], fe[cRcode]) === "NOERROR");
    const unset = (name: string) => {
      const c = cols[name];
      return c < 0 || isUnset(b, fs[c], fe[c]);
    };
    const cTs = cols.ts;
    let ts = parseDecimal(b, fs[cTs], fe[cTs]);
    if (ts !== ts) ts = parseTime(latin1(b, fs[cTs], fe[cTs]));
    if (ts !== ts) {
      return this.#bad(line, `ts is not a time: "${latin1(b, fs[cTs], fe[cTs]).slice(0, 40)}"`);
    }
    if (!use) return;
    this.used++;
    const cQ = cols.query;
    const cA = cols.answers;
    if (cA < 0 || unset("answers")) return;
    const set = this.header.setSeparator.charCodeAt(0);
    let a = fs[cA];
    const end = fe[cA];
    let name = -1;
    while (a <= end) {
      let z = a;
      while (z < end && b[z] !== set) z++;
      const ip = parseAddress(b, a, z);
      if (ip >= 0) {
        if (name < 0) {
          if (cQ >= 0 && !unset("query")) name = this.harvest.nameId(b, fs[cQ], fe[cQ]);
          else name = this.#dash >= 0 ? this.#dash : (this.#dash = this.harvest.nameIdOfText("-"));
        }
        this.harvest.add(ip, ts, name);
      }
      a = z + 1;
    }
  }

  protected jsonRecord(o: Record<string, unknown>, line: number): void {
    this.records++;
    if (this.records === 1) this.checkKind(flatKeys(o));
    const get = (f: string): unknown => {
      const v = jsonField(o, f);
      return v === null || v === "-" || v === "" ? undefined : v;
    };
    const a = get("answers");
    const answers = Array.isArray(a) ? a.map(String) : a === undefined ? [] : String(a).split(",");
    const q = get("query");
    this.#record(line, get("ts"), get, q === undefined ? undefined : String(q), answers);
  }

  #record(
    line: number,
    tsValue: unknown,
    get: (f: string) => unknown,
    query: string | undefined,
    answers: string[],
  ): void {
    for (const f of ["uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]) {
      if (get(f) === undefined) return this.#bad(line, `no ${f}`);
    }
    if (tsValue === undefined) return this.#bad(line, "no ts");
    const ts = parseTime(tsValue);
    if (ts !== ts) {
      return this.#bad(line, `ts is not a time: ${JSON.stringify(tsValue).slice(0, 40)}`);
    }
    const qclass = get("qclass"), qtype = get("qtype");
    const use = (Number(qclass) === 1 && Number(qtype) === 1) ||
      (get("rtt") === undefined && get("rcode_name") === "NOERROR");
    if (!use) return;
    this.used++;
    // Several answers: only the IP addresses; a single one as is (it names nothing unless it is
    // an IPv4 address either way).
    const name = query ?? "-";
    let id = -1;
    for (const answer of answers) {
      const ip = parseAddressText(answer);
      if (ip < 0) continue;
      if (id < 0) id = this.harvest.nameIdOfText(name);
      this.harvest.add(ip, ts, id);
    }
  }

  #bad(line: number, reason: string): void {
    this.skipped++;
    this.warn.line(this.name, line, reason);
  }
}

/** Text, bytes, a stream or an iterable of chunks; gzip is recognised and decompressed. */
export type ZeekSource =
  | string
  | Uint8Array
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>;

/** Input of {@link convertZeek}. */
export interface ZeekInput {
  conn: ZeekSource;
  dns?: ZeekSource;
  /** Names used in warnings and errors (default "conn.log", "dns.log"). */
  connName?: string;
  dnsName?: string;
}

/** A conn.log (+ dns.log) read and grouped: sessions, names, start time. */
export interface ZeekAnalysis {
  sessions: ZeekSessions;
  startTime: number | undefined;
  /** dns.log A answers by address (built on first use from {@link harvest}). */
  readonly names: Map<number, HarvestedName[]>;
  /** dns.log A answers, compact (when absent, {@link names} is used). */
  harvest?: ZeekNames;
  stats: ZeekStats;
  warnings: string[];
  /** Shape of the conn.log. */
  shape: ZeekShape | undefined;
}

/** Chunks of any {@link ZeekSource}, gzip decompressed when the bytes start with 1f 8b. */
export async function* sourceChunks(source: ZeekSource): AsyncGenerator<Uint8Array> {
  if (typeof source === "string") {
    yield new TextEncoder().encode(source);
    return;
  }
  let iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = source instanceof Uint8Array
    ? [source]
    : source as AsyncIterable<Uint8Array>;
  if (source instanceof ReadableStream) iterable = source as unknown as AsyncIterable<Uint8Array>;
  yield* gunzipIfNeeded(iterable);
}

/** Feeds a source into a reader (then ends it), naming the log in errors. */
export async function feedReader(reader: ZeekLogReader, source: ZeekSource): Promise<void> {
  try {
    for await (const chunk of sourceChunks(source)) reader.push(chunk);
  } catch (e) {
    if (e instanceof InputError && !e.message.startsWith(reader.name)) {
      throw new InputError(`${reader.name}: ${e.message}`);
    }
    throw e;
  }
  reader.end();
}

/** Reads a conn.log and optional dns.log and applies section 5 (names not yet chosen). */
export async function analyzeZeek(
  input: ZeekInput,
  options: ZeekReaderOptions = {},
): Promise<ZeekAnalysis> {
  const warnings: string[] = [];
  const onWarning = (w: string) => {
    warnings.push(w);
    options.onWarning?.(w);
  };
  const harvest = input.dns === undefined ? new ZeekNames() : undefined;
  let dnsReader: ZeekDnsReader | undefined;
  if (input.dns !== undefined) {
    dnsReader = new ZeekDnsReader(input.dnsName ?? "dns.log", { onWarning });
    await feedReader(dnsReader, input.dns);
  }
  const names = dnsReader?.harvest ?? harvest!;
  const conn = new ZeekConnReader(input.connName ?? "conn.log", {
    onWarning,
    rowsHint: options.rowsHint,
    bytesHint: options.bytesHint,
    fastPath: options.fastPath,
  });
  await feedReader(conn, input.conn);
  const sessions = conn.sessions();
  return {
    sessions,
    startTime: conn.startTime,
    harvest: names,
    get names() {
      return names.toMap();
    },
    stats: conn.stats,
    warnings,
    shape: conn.shape,
  };
}

/** A converted Zeek log: the sample (null when no Secflows) and what the cache learns. */
export interface ZeekConversion extends BuiltSample {
  stats: ZeekStats;
  warnings: string[];
}

/**
 * Converts a Zeek conn.log (and optional dns.log), given as text, bytes (gzip or not), a stream
 * or chunks, into a Secflow sample.
 *
 * @example
 * ```ts
 * import { convertZeek } from "./conn_reader.ts";
 * const conn = "1700000000.5\tC1\t10.0.0.2\t50000\t93.184.216.34\t443\ttcp\tssl\t1.5\t100\t2000" +
 *   "\tSF\t-\t-\t0\tShADadFf\t10\t600\t12\t2600\t-\n";
 * const { sample } = await convertZeek({ conn }, { fileName: "x.sf" });
 * sample?.flashes[0].dst; // "93.184.216.34:443"
 * ```
 */
export async function convertZeek(
  input: ZeekInput,
  options: BuildOptions & ZeekReaderOptions,
): Promise<ZeekConversion> {
  const analysis = await analyzeZeek(input, options);
  const built = buildSample(
    {
      sessions: analysis.sessions.records(),
      startTime: analysis.startTime,
      active: analysis.sessions.active(),
      names: analysis.names,
    },
    options,
  );
  return {
    sample: built.sample,
    get cacheUpdates() {
      return built.cacheUpdates;
    },
    stats: analysis.stats,
    warnings: analysis.warnings,
  };
}

/** Recognises a Zeek log or a Secflow sample from its first (decompressed) bytes. */
export { sniffText };
export type { ZeekKind, ZeekShape };
