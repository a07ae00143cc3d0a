/**
 * Reads a Zeek conn.log pushed in chunks (TSV by `#fields`, JSON lines, a JSON array) into one
 * reused {@link ConnRow} per row, and hands each row to section 5 ({@link ConnRules}). Only
 * parsing happens here: what a row means is decided in `rules.ts`.
 *
 * The TSV fast path reads the lines of a chunk in Zeek's standard columns in one pass each,
 * straight-line code field by field, every value while its field is scanned and the line's end
 * found on the way (no separate search for line breaks); anything unusual sends the line down
 * the general path, which gives the same values for the usual shapes. Nothing is allocated per
 * row.
 * @module
 */
import { printable, quoted } from "../printable.ts";
import { CONN_COLUMNS, CONN_FIELDS, REQUIRED } from "./_fields.ts";
import { flatKeys, ZeekLogReader, type ZeekReaderOptions } from "./_log_reader.ts";
import type { LineSplitter } from "./_lines.ts";
import {
  endOfRow,
  finiteOrNaN,
  historyBitsOf,
  historyBitsOfText,
  IPV6,
  isUnset,
  jsonField,
  jsonShown,
  latin1,
  parseAddress,
  parseAddressText,
  parseCount,
  parseDecimal,
  parseTime,
  POW10,
  TWO53,
} from "./_text.ts";
import { ConnRow } from "./_conn_row.ts";
import { ConnRules } from "./rules.ts";
import type { ZeekSessions } from "./sessions.ts";

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

/**
 * Reads a Zeek conn.log pushed in chunks (TSV, JSON lines or JSON array) into grouped rows; then
 * {@link ZeekConnReader.sessions} applies section 5.
 */
export class ZeekConnReader extends ZeekLogReader {
  /** Counters so far. */
  readonly stats: ZeekStats = { records: 0, rows: 0, local: 0, ipv6: 0, skipped: 0 };
  /** Section 5, fed one row at a time. */
  readonly rules: ConnRules;
  /** The one row record every line or JSON record is read into. */
  readonly #row = new ConnRow();

  // TSV column indexes for the current #fields.
  #col = new Int32Array(16);
  #maxCol = 0;
  #fs = new Int32Array(64);
  #fe = new Int32Array(64);

  constructor(name: string, options: ZeekReaderOptions = {}) {
    super(name, "conn", options);
    this.rules = new ConnRules(options.rowsHint ?? 1 << 16, this.stats);
    this.#bytesHint = options.bytesHint;
    this.#fastAllowed = options.fastPath !== false;
    this.#mapColumns();
  }

  /** Earliest ts of a kept row (the sample's start time). */
  get startTime(): number | undefined {
    return this.rules.startTime;
  }

  /**
   * Section 5's sessions (rules 1-4 over every group). Call once, after {@link end}.
   */
  sessions(): ZeekSessions {
    return this.rules.sessions();
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
      this.checkColumns();
    }
    const names = CONN_COLUMNS;
    let max = 0;
    names.forEach((n, i) => {
      const c = h.column(n);
      this.#col[i] = c;
      if (c > max) max = c;
    });
    this.#maxCol = max;
    // The fast path reads Zeek's standard columns (any others after them are not read).
    this.#fast = this.#fastAllowed &&
      CONN_FIELDS.slice(0, FAST_COLUMNS).every((f, i) => h.fields[i] === f);
    if (this.#fs.length <= max + 1) {
      this.#fs = new Int32Array(max + 2);
      this.#fe = new Int32Array(max + 2);
    }
  }

  #fast = false;
  #fastAllowed = true;

  #bytesHint: number | undefined;
  #sampleBytes = 0;
  #sampleLines = 0;

  /** Sizes the key table for the whole log once the first lines show the average line length. */
  #hint(bytes: number, lines: number): void {
    this.#sampleBytes += bytes;
    this.#sampleLines += lines;
    if (this.#sampleLines >= 4096) {
      const perLine = this.#sampleBytes / this.#sampleLines;
      this.rules.reserveKeys(Math.min(this.#bytesHint! / perLine, 1 << 26));
      this.#bytesHint = undefined;
    }
  }

  protected tsvLine(b: Uint8Array, s: number, e: number, line: number): void {
    if (this.#bytesHint !== undefined) this.#hint(e - s + 1, 1);
    this.#slowLine(b, s, e, line);
  }

  protected override tsvRun(b: Uint8Array, p: number, end: number, lines: LineSplitter): number {
    if (!this.#fast || this.header.separator !== 9) return p;
    const stats = this.stats;
    while (p < end) {
      const q = this.#fastLine(b, p);
      if (q < 0) break;
      if (this.#bytesHint !== undefined) this.#hint(q - p, 1);
      p = q;
      // Counted as they go: V8 compiles this loop while it runs (on-stack replacement), before
      // any code after it has run, and a property access after the loop would then throw the
      // compiled code away at the end of every chunk.
      stats.records++;
      lines.line++;
    }
    return p;
  }

  /**
   * One pass over a line in Zeek's standard column order, from its first byte `s` to its line
   * break: each value read while its field is scanned, then {@link addRow}; the position after
   * the line break. Straight-line code, field by field: no per-column dispatch. Anything unusual
   * (an unset required field, IPv6, a number that is not plain digits, a short line, a control
   * byte in a field, a line over the cap) returns -1 before anything is stored, and the line
   * takes the general path, which gives the same values for the usual shapes. No bounds checks:
   * every scan stops at the line break the caller guarantees.
   */
  #fastLine(b: Uint8Array, s: number): number {
    let p = s;
    // ts
    p = readDecimal(b, p);
    if (p < 0 || b[p] !== 9) return -1;
    const ts = NUM[0];
    // uid
    let f = ++p;
    while (b[p] > 13) p++;
    if (p === f || (p === f + 1 && b[f] === 45) || b[p] !== 9) return -1;
    // id.orig_h, id.orig_p, id.resp_h, id.resp_p
    p = readIPv4(b, p + 1);
    if (p < 0 || b[p] !== 9) return -1;
    const oIp = NUM[0];
    p = readCount(b, f = p + 1);
    if (p === f || NUM[0] > 65535 || b[p] !== 9) return -1;
    const oPort = NUM[0];
    p = readIPv4(b, p + 1);
    if (p < 0 || b[p] !== 9) return -1;
    const rIp = NUM[0];
    p = readCount(b, f = p + 1);
    if (p === f || NUM[0] > 65535 || b[p] !== 9) return -1;
    const rPort = NUM[0];
    // proto
    f = ++p;
    while (b[p] > 13) p++;
    if (b[p] !== 9) return -1;
    const icmp = p - f === 4 && b[f] === 105 && b[f + 1] === 99 && b[f + 2] === 109 &&
      b[f + 3] === 112;
    // service
    f = ++p;
    while (b[p] > 13) p++;
    if (b[p] !== 9) return -1;
    const service = p > f && !(p === f + 1 && b[f] === 45);
    // duration
    let dur = NaN;
    if (b[++p] === 45) p++;
    else {
      p = readDecimal(b, p);
      if (p < 0) return -1;
      dur = NUM[0];
    }
    if (b[p] !== 9) return -1;
    // orig_bytes, resp_bytes
    p = readUnsetCount(b, p + 1, -1);
    if (p < 0 || b[p] !== 9) return -1;
    const oBytes = NUM[0];
    p = readUnsetCount(b, p + 1, -1);
    if (p < 0 || b[p] !== 9) return -1;
    const rBytes = NUM[0];
    // conn_state, local_orig, local_resp, missed_bytes: not read
    for (let k = 0; k < 4; k++) {
      p++;
      while (b[p] > 13) p++;
      if (b[p] !== 9) return -1;
    }
    f = ++p; // history
    while (b[p] > 13) p++;
    if (b[p] !== 9) return -1;
    const hist = isUnset(b, f, p) ? 0 : historyBitsOf(b, f, p);
    // orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes
    p = readUnsetCount(b, p + 1, 0);
    if (p < 0 || b[p] !== 9) return -1;
    const oPkts = NUM[0];
    p = readUnsetCount(b, p + 1, 0);
    if (p < 0 || b[p] !== 9) return -1;
    const oIpB = NUM[0];
    p = readUnsetCount(b, p + 1, 0);
    if (p < 0 || b[p] !== 9) return -1;
    const rPkts = NUM[0];
    p = readUnsetCount(b, p + 1, 0);
    if (p < 0) return -1;
    const rIpB = NUM[0];
    p = endOfRow(b, p, s, this.maxLine);
    if (p < 0) return -1;
    const row = this.#row;
    row.ts = ts;
    row.duration = dur;
    row.origIp = oIp;
    row.origPort = oPort;
    row.respIp = rIp;
    row.respPort = rPort;
    row.icmp = icmp;
    row.service = service;
    row.origBytes = oBytes;
    row.respBytes = rBytes;
    row.history = hist;
    row.origPkts = oPkts;
    row.respPkts = rPkts;
    row.origIpBytes = oIpB;
    row.respIpBytes = rIpB;
    this.#addRow();
    return p;
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
      return this.#bad(line, `ts is not a time: ${quoted(latin1(b, fs[cTs], fe[cTs]), 40)}`);
    }
    const oIp = parseAddress(b, fs[cOh], fe[cOh]);
    const rIp = parseAddress(b, fs[cRh], fe[cRh]);
    if (oIp === IPV6 || rIp === IPV6) {
      this.stats.ipv6++;
      this.usable = true; // a well-formed row, only not converted
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
    let duration = NaN;
    if (cDur >= 0 && !isUnset(b, fs[cDur], fe[cDur])) {
      const d = parseDecimal(b, fs[cDur], fe[cDur]);
      if (d !== d) return this.#bad(line, "duration is not a number");
      duration = d;
    }
    const row = this.#row;
    row.ts = time;
    row.duration = duration;
    row.origIp = oIp;
    row.origPort = oPort;
    row.respIp = rIp;
    row.respPort = rPort;
    row.icmp = icmp;
    row.service = service;
    row.origBytes = this.#count(b, fs, fe, col[9], -1);
    row.respBytes = this.#count(b, fs, fe, col[10], -1);
    const cHist = col[11];
    row.history = cHist >= 0 && !isUnset(b, fs[cHist], fe[cHist])
      ? historyBitsOf(b, fs[cHist], fe[cHist])
      : 0;
    row.origPkts = this.#count(b, fs, fe, col[12], 0);
    row.origIpBytes = this.#count(b, fs, fe, col[13], 0);
    row.respPkts = this.#count(b, fs, fe, col[14], 0);
    row.respIpBytes = this.#count(b, fs, fe, col[15], 0);
    this.#addCounted(line);
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

  protected override malformedRecord(line: number, reason: string): void {
    this.stats.records++;
    this.#bad(line, reason);
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
        `ts is not a time: ${printable(jsonShown(jsonField(o, "ts")), 40)}`,
      );
    }
    const oh = jsonField(o, "id.orig_h"), rh = jsonField(o, "id.resp_h");
    if (typeof oh !== "string" || typeof rh !== "string") {
      return this.#bad(line, "an id address is not an IP address");
    }
    const oIp = parseAddressText(oh), rIp = parseAddressText(rh);
    if (oIp === IPV6 || rIp === IPV6) {
      this.stats.ipv6++;
      this.usable = true; // a well-formed row, only not converted
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
    let duration = NaN;
    if (dv !== undefined && dv !== null && dv !== "-") {
      const d = typeof dv === "number"
        ? finiteOrNaN(dv)
        : typeof dv === "string"
        ? parseTimeNumber(dv)
        : NaN;
      if (d !== d) return this.#bad(line, "duration is not a number");
      duration = d;
    }
    const row = this.#row;
    row.ts = time;
    row.duration = duration;
    row.origIp = oIp;
    row.origPort = oPort;
    row.respIp = rIp;
    row.respPort = rPort;
    row.icmp = icmp;
    row.service = service;
    row.origBytes = jsonCount(jsonField(o, "orig_bytes"), -1);
    row.respBytes = jsonCount(jsonField(o, "resp_bytes"), -1);
    const hv = jsonField(o, "history");
    row.history = typeof hv === "string" && hv !== "-" ? historyBitsOfText(hv) : 0;
    row.origPkts = jsonCount(jsonField(o, "orig_pkts"), 0);
    row.origIpBytes = jsonCount(jsonField(o, "orig_ip_bytes"), 0);
    row.respPkts = jsonCount(jsonField(o, "resp_pkts"), 0);
    row.respIpBytes = jsonCount(jsonField(o, "resp_ip_bytes"), 0);
    this.#addCounted(line);
  }

  /**
   * The row the general TSV path or the JSON path filled (a malformed count read as NaN):
   * skipped with a warning when a count is not a whole number, else on to section 5.
   */
  #addCounted(line: number): void {
    const row = this.#row;
    const sum = row.origBytes + row.respBytes + row.origPkts + row.origIpBytes + row.respPkts +
      row.respIpBytes;
    if (sum !== sum) {
      return this.#bad(line, "a byte or packet count is not a whole number (at most 2^53 - 1)");
    }
    this.#addRow();
  }

  /** The row read: usable, so on to section 5. */
  #addRow(): void {
    this.usable = true;
    this.rules.add(this.#row);
  }

  protected skippedLine(): void {
    this.stats.records++;
    this.stats.skipped++;
  }
}

/**
 * `[0]`: the value the last `read...` call found. A typed array, not a module `let`: a double
 * stored in a `let` is a new heap number each time (a young-generation collection every ~50k
 * lines), one stored here is 8 bytes overwritten.
 */
const NUM = new Float64Array(1);

/** Digits at `p` into {@link NUM}; the position after them (`p` when there are none). */
function readCount(b: Uint8Array, p: number): number {
  let v = 0;
  while (true) {
    const d = b[p] - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    p++;
  }
  NUM[0] = v;
  return p;
}

/** A count or an unset value (`-` or empty: `unset`) into {@link NUM}; -1 when too long. */
function readUnsetCount(b: Uint8Array, p: number, unset: number): number {
  const f = p;
  p = readCount(b, p);
  if (p === f) {
    NUM[0] = unset;
    return b[p] === 45 ? p + 1 : p;
  }
  return p - f > 15 ? -1 : p;
}

/** digits[.digits] into {@link NUM} as parseDecimal reads it; -1 when unusual. */
function readDecimal(b: Uint8Array, p: number): number {
  const f = p;
  let whole = 0;
  while (true) {
    const d = b[p] - 48;
    if (d < 0 || d > 9) break;
    whole = whole * 10 + d;
    p++;
  }
  const wd = p - f;
  if (wd === 0 || wd > 15) return -1;
  if (b[p] !== 46) {
    NUM[0] = whole;
    return p;
  }
  const dot = ++p;
  let frac = 0;
  while (true) {
    const d = b[p] - 48;
    if (d < 0 || d > 9) break;
    frac = frac * 10 + d;
    p++;
  }
  const k = p - dot;
  if (k === 0 || k > 9) return -1;
  const m = whole * POW10[k] + frac;
  if (m >= TWO53) return -1;
  NUM[0] = m / POW10[k];
  return p;
}

/** An IPv4 address into {@link NUM}; -1 when it is none. */
function readIPv4(b: Uint8Array, p: number): number {
  // Octet by octet, digit by digit, unrolled: the branches are "is there a second digit" (almost
  // always) and "a third" (about 6 in 10); a loop over characters pays a mispredicted branch at
  // nearly every dot instead.
  let ip = 0;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (b[p] !== 46) return -1;
      p++;
    }
    let octet = b[p] - 48;
    if (octet < 0 || octet > 9) return -1;
    const d1 = b[p + 1] - 48;
    if (d1 >= 0 && d1 <= 9) {
      octet = octet * 10 + d1;
      const d2 = b[p + 2] - 48;
      if (d2 >= 0 && d2 <= 9) {
        octet = octet * 10 + d2;
        if (octet > 255) return -1;
        p += 3;
      } else p += 2;
    } else p += 1;
    ip = ip * 256 + octet;
  }
  NUM[0] = ip;
  return p;
}

/** The standard conn.log columns the fast path reads: `ts` to `resp_ip_bytes`. */
const FAST_COLUMNS = CONN_FIELDS.indexOf("resp_ip_bytes") + 1;

function missingName(b: Uint8Array, fs: Int32Array, fe: Int32Array, col: Int32Array): string {
  for (let i = 0; i < 6; i++) {
    if (col[i] < 0 || isUnset(b, fs[col[i]], fe[col[i]])) return REQUIRED[i];
  }
  return "field";
}

function jsonCount(v: unknown, unset: number): number {
  if (v === undefined || v === null || v === "-") return unset;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : NaN;
}

function parseTimeNumber(text: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? finiteOrNaN(Number(text)) : NaN;
}
