/**
 * Zeek log text, shape by shape (SECFLOW.md section 5): sniffing TSV, JSON lines and JSON arrays
 * from their first bytes, `#` headers and `#fields` column maps, splitting a byte stream into
 * lines or JSON array elements across chunk boundaries, and the number and address parsers the
 * hot path uses on raw bytes. Pure: no I/O.
 * @module
 */
import { parseIPv4 } from "../net.ts";

/** How a Zeek log is written. */
export type ZeekShape = "tsv" | "json" | "json-array";
/** Which log it is. */
export type ZeekKind = "conn" | "dns" | "unknown";

/** Zeek's standard conn.log columns, used when a TSV log has no `#fields` header. */
export const CONN_FIELDS = [
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
  "conn_state",
  "local_orig",
  "local_resp",
  "missed_bytes",
  "history",
  "orig_pkts",
  "orig_ip_bytes",
  "resp_pkts",
  "resp_ip_bytes",
  "tunnel_parents",
] as const;

/** Zeek's standard dns.log columns, used when a TSV log has no `#fields` header. */
export const DNS_FIELDS = [
  "ts",
  "uid",
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "proto",
  "trans_id",
  "rtt",
  "query",
  "qclass",
  "qclass_name",
  "qtype",
  "qtype_name",
  "rcode",
  "rcode_name",
  "AA",
  "TC",
  "RD",
  "RA",
  "Z",
  "answers",
  "TTLs",
  "rejected",
] as const;

const CONN_ONLY = [
  "conn_state",
  "orig_pkts",
  "resp_pkts",
  "orig_ip_bytes",
  "resp_ip_bytes",
  "history",
];
const DNS_ONLY = ["query", "qtype", "qclass", "rcode_name", "answers", "trans_id"];

/** Which log a list of field names (or JSON keys) belongs to. */
export function kindOfFields(fields: readonly string[]): ZeekKind {
  const set = new Set(fields);
  const conn = CONN_ONLY.filter((f) => set.has(f)).length;
  const dns = DNS_ONLY.filter((f) => set.has(f)).length;
  if (conn > dns) return "conn";
  if (dns > conn) return "dns";
  return "unknown";
}

/** What the first bytes of a text input say it is. */
export interface TextSniff {
  format: "zeek" | "secflow";
  shape?: ZeekShape;
  kind: ZeekKind;
}

const decoder = new TextDecoder();

/**
 * Recognises Zeek logs (TSV with or without headers, JSON lines, JSON arrays) and Secflow
 * samples from the first bytes of a (decompressed) input; undefined when it is neither.
 */
export function sniffText(head: Uint8Array): TextSniff | undefined {
  let text = decoder.decode(head.subarray(0, Math.min(head.length, 65536)));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const trimmed = text.trimStart();
  if (trimmed.startsWith("#")) {
    const path = /^#path[\t ]+(\S+)/m.exec(trimmed)?.[1];
    const fields = /^#fields\t(.*)$/m.exec(trimmed)?.[1]?.split("\t");
    let kind: ZeekKind = fields ? kindOfFields(fields) : "unknown";
    if (kind === "unknown" && path) {
      kind = path === "conn" ? "conn" : path === "dns" ? "dns" : "unknown";
    }
    if (/^#(separator|fields|path|types|open)\b/m.test(trimmed)) {
      return { format: "zeek", shape: "tsv", kind };
    }
    return undefined;
  }
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    const keys = [...trimmed.slice(0, 8192).matchAll(/"([A-Za-z_][\w.]*)"\s*:/g)].map((m) => m[1]);
    if (trimmed.startsWith("{") && /^\{\s*"hash"\s*:/.test(trimmed)) {
      return { format: "secflow", kind: "unknown" };
    }
    if (keys.includes("flashes") && keys.includes("trafficDate")) {
      return { format: "secflow", kind: "unknown" };
    }
    if (
      keys.includes("ts") || keys.includes("uid") || keys.includes("id.orig_h") ||
      keys.includes("orig_h")
    ) {
      const nested = keys.includes("orig_h") && !keys.includes("id.orig_h");
      const flat = nested
        ? keys.map((k) => (k === "orig_h" || k === "resp_h" ? `id.${k}` : k))
        : keys;
      return {
        format: "zeek",
        shape: trimmed.startsWith("[") ? "json-array" : "json",
        kind: kindOfFields(flat),
      };
    }
    return undefined;
  }
  // Headerless TSV: tab-separated, first field a timestamp, then an address a few columns on.
  const line = trimmed.split("\n", 1)[0].replace(/\r$/, "");
  const cols = line.split("\t");
  if (cols.length >= 6 && /^\d+(\.\d+)?$/.test(cols[0]) && /[.:]/.test(cols[2])) {
    return { format: "zeek", shape: "tsv", kind: cols.length >= 23 ? "dns" : "conn" };
  }
  return undefined;
}

/** Powers of ten, exact as doubles. */
export const POW10 = [
  1,
  1e1,
  1e2,
  1e3,
  1e4,
  1e5,
  1e6,
  1e7,
  1e8,
  1e9,
  1e10,
  1e11,
  1e12,
  1e13,
  1e14,
  1e15,
  1e16,
  1e17,
  1e18,
  1e19,
  1e20,
  1e21,
  1e22,
];
/** 2^53. */
export const TWO53 = 9007199254740992;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Latin-1 text of `b[s, e)` (for slow paths and messages). */
export function latin1(b: Uint8Array, s: number, e: number): string {
  let out = "";
  for (let i = s; i < e; i++) out += String.fromCharCode(b[i]);
  return out;
}

/**
 * The double a decimal number's text denotes (exactly what Python's `float()` gives), read from
 * `b[s, e)`; NaN when it is not a number. Plain `digits.digits` with at most 2^53 as mantissa is
 * one exact integer divided by an exact power of ten: correctly rounded, no string made.
 */
export function parseDecimal(b: Uint8Array, s: number, e: number): number {
  // Whole part and fraction as separate integers: they stay small and exact.
  let whole = 0;
  let i = s;
  for (; i < e; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) break;
    whole = whole * 10 + d;
  }
  if (i === e) return i > s && i - s <= 15 ? whole : slowNumber(latin1(b, s, e));
  if (b[i] !== 46 || i - s > 15) return slowNumber(latin1(b, s, e));
  const dot = i++;
  let frac = 0;
  for (; i < e; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return slowNumber(latin1(b, s, e));
    frac = frac * 10 + d;
  }
  const k = e - dot - 1;
  if (dot === s || k === 0 || k > 22) return slowNumber(latin1(b, s, e));
  const m = whole * POW10[k] + frac;
  if (m >= TWO53 || frac >= TWO53) return slowNumber(latin1(b, s, e));
  return m / POW10[k];
}

function slowNumber(text: string): number {
  return NUMBER_TEXT.test(text) ? Number(text) : NaN;
}

/** A non-negative integer count from `b[s, e)`; NaN when it is not one. */
export function parseCount(b: Uint8Array, s: number, e: number): number {
  if (s >= e) return NaN;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c < 48 || c > 57) return NaN;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** Result of {@link parseAddress} for an IPv6 address (not converted). */
export const IPV6 = -2;
/** Result of {@link parseAddress} for text that is no address. */
export const NOT_ADDRESS = -1;

/** An IPv4 address from `b[s, e)` as an unsigned number; {@link IPV6} or {@link NOT_ADDRESS}. */
export function parseAddress(b: Uint8Array, s: number, e: number): number {
  const ip = parseV4(b, s, e);
  return ip === NOT_ADDRESS && b.subarray(s, e).includes(58) ? IPV6 : ip;
}

function parseV4(b: Uint8Array, s: number, e: number): number {
  let ip = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return NOT_ADDRESS;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return NOT_ADDRESS;
      ip = ip * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return NOT_ADDRESS;
    }
  }
  if (dots !== 3 || digits === 0) return NOT_ADDRESS;
  return ip * 256 + octet;
}

/** An IPv4 address from text; {@link IPV6} or {@link NOT_ADDRESS}. */
export function parseAddressText(text: string): number {
  const ip = parseIPv4(text) ?? NOT_ADDRESS;
  return ip === NOT_ADDRESS && text.includes(":") ? IPV6 : ip;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Seconds of a timestamp given as epoch seconds (number or numeric text) or as ISO-8601 text
 * (`2021-04-05T19:51:17.459626Z`; no zone means UTC). The fraction is truncated to microseconds
 * and the result is the double nearest to `seconds.micros`, as for every other time. NaN when
 * it is neither.
 */
export function parseTime(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? value : NaN;
  if (typeof value !== "string") return NaN;
  const text = value.trim();
  if (NUMBER_TEXT.test(text)) return Number(text);
  const m = ISO.exec(text);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let secs = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) / 1000;
  if (!Number.isFinite(secs) || +mo < 1 || +mo > 12 || +d > 31 || +h > 23 || +mi > 59 || +s > 60) {
    return NaN;
  }
  if (zone && zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    secs -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || "0") * 60);
  }
  const micros = (frac ?? "").slice(0, 6).padEnd(6, "0");
  return Number(`${secs}.${micros}`);
}

/** `#` header state of a TSV log: the field map and the special values. */
export class TsvHeader {
  separator = 9;
  setSeparator = ",";
  unset = "-";
  empty = "(empty)";
  /** Field names in column order (the standard order until a `#fields` line is read). */
  fields: readonly string[];
  /** Bumped whenever `fields` changes, so consumers can re-map. */
  version = 0;

  constructor(standard: readonly string[]) {
    this.fields = standard;
  }

  /** Reads one `#` line (without the line break). */
  read(line: string): void {
    if (line.startsWith("#separator")) {
      const value = line.slice(10).trim();
      const hex = /^\\x([0-9a-fA-F]{2})$/.exec(value);
      this.separator = hex ? parseInt(hex[1], 16) : value.length === 1 ? value.charCodeAt(0) : 9;
      return;
    }
    const sep = String.fromCharCode(this.separator);
    const at = line.indexOf(sep);
    if (at < 0) return;
    const name = line.slice(1, at);
    const value = line.slice(at + 1);
    if (name === "fields") {
      this.fields = value.split(sep);
      this.version++;
    } else if (name === "set_separator") this.setSeparator = value;
    else if (name === "unset_field") this.unset = value;
    else if (name === "empty_field") this.empty = value;
  }

  /** Column of `name`, or -1. */
  column(name: string): number {
    return this.fields.indexOf(name);
  }
}

/**
 * Splits a byte stream into lines (`\n`, an optional `\r` dropped) across chunk boundaries,
 * numbering them from 1. The callback sees `b[s, e)` of a buffer that is valid only during the
 * call.
 */
export class LineSplitter {
  #carry: Uint8Array | null = null;
  /** Number of the last line handed out. */
  line = 0;

  constructor(
    private readonly onLine: (b: Uint8Array, s: number, e: number, line: number) => void,
  ) {}

  push(chunk: Uint8Array): void {
    let p = 0;
    const n = chunk.length;
    if (this.#carry) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.#carry = concat(this.#carry, chunk);
        return;
      }
      const joined = concat(this.#carry, chunk.subarray(0, nl));
      this.#carry = null;
      this.#emit(joined, 0, joined.length);
      p = nl + 1;
    }
    while (p < n) {
      const nl = chunk.indexOf(10, p);
      if (nl < 0) {
        this.#carry = chunk.slice(p);
        return;
      }
      this.#emit(chunk, p, nl);
      p = nl + 1;
    }
  }

  end(): void {
    if (this.#carry) {
      const last = this.#carry;
      this.#carry = null;
      this.#emit(last, 0, last.length);
    }
  }

  #emit(b: Uint8Array, s: number, e: number): void {
    this.line++;
    if (e > s && b[e - 1] === 13) e--;
    this.onLine(b, s, e, this.line);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Extracts the objects of a JSON array (on one line or spread over many), streaming: each
 * element object's text is handed out with the line it starts on. Anything else at the top level
 * is reported through `onJunk` once per line.
 */
export class JsonArraySplitter {
  #depth = 0;
  #inString = false;
  #escape = false;
  #parts: Uint8Array[] = [];
  #objectLine = 0;
  #junkLine = 0;
  #line = 1;
  #started = false;

  constructor(
    private readonly onObject: (text: string, line: number) => void,
    private readonly onJunk: (line: number) => void,
  ) {}

  push(chunk: Uint8Array): void {
    let start = -1; // start of the current object's bytes in this chunk
    if (this.#depth > 0) start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 10) this.#line++;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === 92) this.#escape = true;
        else if (c === 34) this.#inString = false;
        continue;
      }
      if (this.#depth === 0) {
        // Between elements: whitespace, commas, the array brackets.
        if (c === 32 || c === 9 || c === 10 || c === 13 || c === 44) continue;
        if (c === 91 && !this.#started) {
          this.#started = true;
          continue;
        }
        if (c === 93) {
          this.#started = false;
          continue;
        }
        if (c === 123) {
          this.#depth = 1;
          this.#objectLine = this.#line;
          start = i;
          continue;
        }
        if (this.#junkLine !== this.#line) {
          this.#junkLine = this.#line;
          this.onJunk(this.#line);
        }
        continue;
      }
      if (c === 34) this.#inString = true;
      else if (c === 123 || c === 91) this.#depth++;
      else if (c === 125 || c === 93) {
        if (--this.#depth === 0) {
          this.#parts.push(chunk.subarray(start, i + 1));
          this.#flush();
          start = -1;
        }
      }
    }
    if (this.#depth > 0 && start >= 0) this.#parts.push(chunk.slice(start));
  }

  end(): void {
    if (this.#depth > 0) {
      this.#parts = [];
      this.#depth = 0;
      this.onJunk(this.#objectLine);
    }
  }

  #flush(): void {
    const parts = this.#parts;
    this.#parts = [];
    let text: string;
    if (parts.length === 1) text = decoder.decode(parts[0]);
    else {
      let n = 0;
      for (const p of parts) n += p.length;
      const all = new Uint8Array(n);
      let o = 0;
      for (const p of parts) {
        all.set(p, o);
        o += p.length;
      }
      text = decoder.decode(all);
    }
    this.onObject(text, this.#objectLine);
  }
}

/** A field of a JSON record by its flat Zeek name (`id.orig_h`), or nested (`{"id": {...}}`). */
export function jsonField(o: Record<string, unknown>, name: string): unknown {
  const v = o[name];
  if (v !== undefined) return v;
  const dot = name.indexOf(".");
  if (dot < 0) return undefined;
  const outer = o[name.slice(0, dot)];
  if (typeof outer === "object" && outer !== null) {
    return jsonField(outer as Record<string, unknown>, name.slice(dot + 1));
  }
  return undefined;
}
