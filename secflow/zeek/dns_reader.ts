/**
 * Reads a Zeek dns.log pushed in chunks (TSV by `#fields`, JSON lines, a JSON array) into
 * harvested names (SECFLOW.md section 5, "Names"): a record is used when (qclass is 1 and qtype
 * is 1) or (rtt is unset and rcode_name is `NOERROR`); of several answers only the IP addresses
 * are kept. Only a used record's query and answers become strings.
 * @module
 */
import type { HarvestedName } from "../dns.ts";
import { printable, quoted } from "../printable.ts";
import { DNS_FIELDS, REQUIRED } from "./_fields.ts";
import type { LineSplitter } from "./_lines.ts";
import { flatKeys, ZeekLogReader, type ZeekReaderOptions } from "./_log_reader.ts";
import {
  endOfRow,
  isUnset,
  jsonField,
  jsonShown,
  latin1,
  parseAddress,
  parseAddressText,
  parseDecimal,
  parseTime,
} from "./_text.ts";
import { ZeekNames } from "./names.ts";

/** Reads a Zeek dns.log pushed in chunks into harvested names (section 5, "Names"). */
export class ZeekDnsReader extends ZeekLogReader {
  /** The harvested names, compact. */
  readonly harvest = new ZeekNames();
  /** Records read. */
  records = 0;
  /** Records used for names. */
  used = 0;
  /** Malformed records skipped. */
  skipped = 0;
  #dash = -1;

  constructor(name: string, options: ZeekReaderOptions = {}) {
    super(name, "dns", options);
    this.#fastAllowed = options.fastPath !== false;
    this.#mapColumns();
  }

  /** Answer address → names in harvest order. */
  get byAddress(): Map<number, HarvestedName[]> {
    return this.harvest.toMap();
  }

  /** Warnings so far (one line each). */
  get warnings(): string[] {
    return this.warn.list;
  }

  protected headerChanged(_line: number): void {
    this.#mapColumns();
  }

  #max = 0;
  #required = new Int32Array(6);

  #mapColumns(): void {
    if (this.header.version > 0) {
      this.checkKind(this.header.fields);
      this.checkColumns();
    }
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
    this.#max = max;
    this.#cTs = cols.ts;
    this.#cRtt = cols.rtt;
    this.#cQuery = cols.query;
    this.#cClass = cols.qclass;
    this.#cType = cols.qtype;
    this.#cRcode = cols.rcode_name;
    this.#cAnswers = cols.answers;
    // The fast path reads Zeek's standard columns up to answers (any after them are not read).
    this.#fast = this.#fastAllowed &&
      DNS_FIELDS.slice(0, FAST_COLUMNS).every((f, i) => this.header.fields[i] === f);
  }

  #fast = false;
  #fastAllowed = true;

  // Columns of the fields a line is judged by (-1: absent), read by index on every line.
  #cTs = -1;
  #cRtt = -1;
  #cQuery = -1;
  #cClass = -1;
  #cType = -1;
  #cRcode = -1;
  #cAnswers = -1;

  #fs = new Int32Array(32);
  #fe = new Int32Array(32);

  protected tsvLine(b: Uint8Array, s: number, e: number, line: number): void {
    this.records++;
    // Fields by byte offsets: only a used record's query and answers become strings.
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
    const cRtt = this.#cRtt, cRcode = this.#cRcode;
    const use = (isOne(b, fs, fe, this.#cClass) && isOne(b, fs, fe, this.#cType)) ||
      (isUnsetField(b, fs, fe, cRtt) && cRcode >= 0 && isNoError(b, fs[cRcode], fe[cRcode]));
    const cTs = this.#cTs;
    let ts = parseDecimal(b, fs[cTs], fe[cTs]);
    if (ts !== ts) ts = parseTime(latin1(b, fs[cTs], fe[cTs]));
    if (ts !== ts) {
      return this.#bad(line, `ts is not a time: ${quoted(latin1(b, fs[cTs], fe[cTs]), 40)}`);
    }
    this.usable = true;
    if (!use) return;
    this.used++;
    const cQ = this.#cQuery;
    const cA = this.#cAnswers;
    if (isUnsetField(b, fs, fe, cA)) return;
    this.#harvestAnswers(b, fs[cA], fe[cA], cQ < 0 ? 0 : fs[cQ], cQ < 0 ? 0 : fe[cQ], ts);
  }

  /**
   * A used record's answers `b[as, ae)` (set, split by the set separator): each IPv4 address
   * named by the query `b[qs, qe)` (or `-` when it is unset) at time `ts`.
   */
  #harvestAnswers(b: Uint8Array, as: number, ae: number, qs: number, qe: number, ts: number): void {
    const set = this.header.setSeparator.charCodeAt(0);
    let a = as;
    let name = -1;
    while (a <= ae) {
      let z = a;
      while (z < ae && b[z] !== set) z++;
      const ip = parseAddress(b, a, z);
      if (ip >= 0) {
        if (name < 0) {
          if (!isUnset(b, qs, qe)) name = this.harvest.nameId(b, qs, qe);
          else name = this.#dash >= 0 ? this.#dash : (this.#dash = this.harvest.nameIdOfText("-"));
        }
        this.harvest.add(ip, ts, name);
      }
      a = z + 1;
    }
  }

  protected override tsvRun(b: Uint8Array, p: number, end: number, lines: LineSplitter): number {
    if (!this.#fast || this.header.separator !== 9) return p;
    while (p < end) {
      const q = this.#fastLine(b, p);
      if (q < 0) break;
      p = q;
      lines.line++; // counted inside the loop: see ZeekConnReader.tsvRun
    }
    return p;
  }

  /**
   * One pass over a line in Zeek's standard dns.log columns, from its first byte `s` to its line
   * break: the fields the rules judge are found while the line is scanned, and the record is
   * judged and harvested as {@link tsvLine} does; the position after the line break. Anything
   * unusual (a required field unset, a ts that is not plain digits, a short line, a control byte
   * in a field, a line over the cap) returns -1 before anything is counted, and the line takes
   * the general path.
   */
  #fastLine(b: Uint8Array, s: number): number {
    let p = s;
    // ts
    while (b[p] > 13) p++;
    if (b[p] !== 9) return -1;
    const ts = parseDecimal(b, s, p);
    if (ts !== ts) return -1;
    // uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p: set; proto, trans_id: not read.
    for (let k = 0; k < 7; k++) {
      const f = ++p;
      while (b[p] > 13) p++;
      if (b[p] !== 9 || (k < 5 && isUnset(b, f, p))) return -1;
    }
    let f = ++p; // rtt
    while (b[p] > 13) p++;
    if (b[p] !== 9) return -1;
    const rttUnset = isUnset(b, f, p);
    const qs = ++p; // query
    while (b[p] > 13) p++;
    if (b[p] !== 9) return -1;
    const qe = p;
    f = ++p; // qclass
    while (b[p] > 13) p++;
    if (b[p] !== 9) return -1;
    const classOne = p === f + 1 && b[f] === 49;
    p++; // qclass_name
    while (b[p] > 13) p++;
    if (b[p] !== 9) return -1;
    f = ++p; // qtype
    while (b[p] > 13) p++;
    if (b[p] !== 9) return -1;
    const typeOne = p === f + 1 && b[f] === 49;
    for (let k = 0; k < 2; k++) { // qtype_name, rcode
      p++;
      while (b[p] > 13) p++;
      if (b[p] !== 9) return -1;
    }
    f = ++p; // rcode_name
    while (b[p] > 13) p++;
    if (b[p] !== 9) return -1;
    const noError = isNoError(b, f, p);
    for (let k = 0; k < 5; k++) { // AA, TC, RD, RA, Z
      p++;
      while (b[p] > 13) p++;
      if (b[p] !== 9) return -1;
    }
    const as = ++p; // answers
    while (b[p] > 13) p++;
    const ae = p;
    p = endOfRow(b, p, s, this.maxLine);
    if (p < 0) return -1;
    this.records++;
    this.usable = true;
    if ((classOne && typeOne) || (rttUnset && noError)) {
      this.used++;
      if (!isUnset(b, as, ae)) this.#harvestAnswers(b, as, ae, qs, qe, ts);
    }
    return p;
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
      return this.#bad(line, `ts is not a time: ${printable(jsonShown(tsValue), 40)}`);
    }
    this.usable = true;
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

  protected skippedLine(): void {
    this.records++;
    this.skipped++;
  }

  #bad(line: number, reason: string): void {
    this.skipped++;
    this.warn.line(this.name, line, reason);
  }
}

/** The standard dns.log columns the fast path reads: `ts` to `answers`. */
const FAST_COLUMNS = DNS_FIELDS.indexOf("answers") + 1;

/** Field `c` of a line split into `fs`/`fe` is exactly `1`. */
function isOne(b: Uint8Array, fs: Int32Array, fe: Int32Array, c: number): boolean {
  return c >= 0 && fe[c] - fs[c] === 1 && b[fs[c]] === 49;
}

/** Field `c` is absent or unset. */
function isUnsetField(b: Uint8Array, fs: Int32Array, fe: Int32Array, c: number): boolean {
  return c < 0 || isUnset(b, fs[c], fe[c]);
}

const NOERROR = new TextEncoder().encode("NOERROR");

/** `b[s, e)` is `NOERROR` (compared as bytes: no string per line). */
function isNoError(b: Uint8Array, s: number, e: number): boolean {
  if (e - s !== NOERROR.length) return false;
  for (let i = 0; i < NOERROR.length; i++) if (b[s + i] !== NOERROR[i]) return false;
  return true;
}
