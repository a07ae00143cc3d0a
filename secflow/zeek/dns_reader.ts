/**
 * Reads a Zeek dns.log pushed in chunks (TSV by `#fields`, JSON lines, a JSON array) into
 * harvested names (SECFLOW.md section 5, "Names"): a record is used when (qclass is 1 and qtype
 * is 1) or (rtt is unset and rcode_name is `NOERROR`); of several answers only the IP addresses
 * are kept. Only a used record's query and answers become strings.
 * @module
 */
import type { HarvestedName } from "../dns.ts";
import { printable } from "../printable.ts";
import { REQUIRED } from "./_fields.ts";
import { flatKeys, ZeekLogReader, type ZeekReaderOptions } from "./_log_reader.ts";
import {
  isUnset,
  jsonField,
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
    this.#max = max;
    this.#cTs = cols.ts;
    this.#cRtt = cols.rtt;
    this.#cQuery = cols.query;
    this.#cClass = cols.qclass;
    this.#cType = cols.qtype;
    this.#cRcode = cols.rcode_name;
    this.#cAnswers = cols.answers;
  }

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
      return this.#bad(line, `ts is not a time: "${printable(latin1(b, fs[cTs], fe[cTs]), 40)}"`);
    }
    this.usable = true;
    if (!use) return;
    this.used++;
    const cQ = this.#cQuery;
    const cA = this.#cAnswers;
    if (isUnsetField(b, fs, fe, cA)) return;
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
          if (!isUnsetField(b, fs, fe, cQ)) name = this.harvest.nameId(b, fs[cQ], fe[cQ]);
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
      return this.#bad(line, `ts is not a time: ${printable(JSON.stringify(tsValue), 40)}`);
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
