/**
 * Zeek field values read from raw bytes (SECFLOW.md section 5): numbers exactly as Python's
 * `float()` reads them, counts, IPv4 addresses, epoch or ISO-8601 times, unset values, history
 * letters; and the TSV `#` header state. Pure: no I/O.
 * @module
 */
import { parseIPv4 } from "../net.ts";
import { zeekName } from "./_fields.ts";

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
  return NUMBER_TEXT.test(text) ? finiteOrNaN(Number(text)) : NaN;
}

/** `x`, or NaN when it is infinite: `1e400` is valid number text, but no time or duration. */
export function finiteOrNaN(x: number): number {
  return Number.isFinite(x) ? x : NaN;
}

/**
 * A non-negative integer count from `b[s, e)`; NaN when it is not one, or is past 2^53 - 1 (a
 * double no longer holds it exactly, so the sample could not say it as Python does).
 */
export function parseCount(b: Uint8Array, s: number, e: number): number {
  if (s >= e) return NaN;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c < 48 || c > 57) return NaN;
    n = n * 10 + (c - 48);
  }
  return n <= Number.MAX_SAFE_INTEGER ? n : NaN;
}

/** Result of {@link parseAddress} for an IPv6 address (not converted). */
export const IPV6 = -2;
/** Result of {@link parseAddress} for text that is no address. */
export const NOT_ADDRESS = -1;

/** An IPv4 address from `b[s, e)` as an unsigned number; {@link IPV6} or {@link NOT_ADDRESS}. */
export function parseAddress(b: Uint8Array, s: number, e: number): number {
  const ip = parseV4(b, s, e);
  return ip === NOT_ADDRESS && looksIPv6Bytes(b, s, e) ? IPV6 : ip;
}

/**
 * {@link looksIPv6} on bytes, with no string made: a dns.log's answers are mostly names (CNAMEs),
 * and each one used to become a string for the pattern.
 */
function looksIPv6Bytes(b: Uint8Array, s: number, e: number): boolean {
  if (e - s > 45) return false;
  let colons = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c === 58) colons++;
    else if (!((c >= 48 && c <= 57) || c === 46 || ((c | 32) >= 97 && (c | 32) <= 102))) {
      return false;
    }
  }
  return colons >= 2;
}

/** IPv6 text: hex digits, colons (at least two) and dots (an embedded IPv4), at most 45. */
function looksIPv6(text: string): boolean {
  return text.length <= 45 && /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/.test(text);
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
  return ip === NOT_ADDRESS && looksIPv6(text) ? IPV6 : ip;
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
  if (NUMBER_TEXT.test(text)) return finiteOrNaN(Number(text));
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

/** The `#` headers Zeek writes (besides `#separator`). */
const HEADERS = new Set([
  "set_separator",
  "empty_field",
  "unset_field",
  "path",
  "open",
  "close",
  "fields",
  "types",
]);

/**
 * `#` header state of a TSV log: the separators and the field map. (`#unset_field` and
 * `#empty_field` are not read: section 5 reads `-` and an empty field as unset, as the
 * platform's converter does.)
 */
export class TsvHeader {
  separator = 9;
  setSeparator = ",";
  /**
   * Field names in column order (the standard order until a `#fields` line is read), in Zeek's
   * dotted form: `id_orig_h` (`Log::default_scope_sep = "_"`) is `id.orig_h` here.
   */
  fields: readonly string[];
  /** The names as the log wrote them (for messages). */
  written: readonly string[];
  /** Bumped whenever `fields` changes, so consumers can re-map. */
  version = 0;

  constructor(standard: readonly string[]) {
    this.fields = this.written = standard;
  }

  /** Takes the column names of a `#fields` line, or of a first line of names (no `#`). */
  setFields(written: readonly string[]): void {
    this.written = written;
    this.fields = written.map(zeekName);
    this.version++;
  }

  /** Reads one `#` line (without the line break); true when it is one of Zeek's headers. */
  read(line: string): boolean {
    if (line.startsWith("#separator")) {
      const value = line.slice(10).trim();
      const hex = /^\\x([0-9a-fA-F]{2})$/.exec(value);
      this.separator = hex ? parseInt(hex[1], 16) : value.length === 1 ? value.charCodeAt(0) : 9;
      return true;
    }
    const sep = String.fromCharCode(this.separator);
    const at = line.indexOf(sep);
    if (at < 0) return false;
    const name = line.slice(1, at);
    const value = line.slice(at + 1);
    if (name === "fields") this.setFields(value.split(sep));
    else if (name === "set_separator") this.setSeparator = value;
    return HEADERS.has(name);
  }

  /** Column of `name`, or -1. */
  column(name: string): number {
    return this.fields.indexOf(name);
  }
}

/**
 * A field of a JSON record by its flat Zeek name (`id.orig_h`), nested (`{"id": {...}}`), or
 * written with `_` as Zeek's scope separator (`id_orig_h`).
 */
export function jsonField(o: Record<string, unknown>, name: string): unknown {
  const v = o[name];
  if (v !== undefined) return v;
  const dot = name.indexOf(".");
  if (dot < 0) return undefined;
  const outer = o[name.slice(0, dot)];
  if (typeof outer === "object" && outer !== null) {
    return jsonField(outer as Record<string, unknown>, name.slice(dot + 1));
  }
  // `Log::default_scope_sep = "_"`: `id_orig_h`.
  return o[`${name.slice(0, dot)}_${name.slice(dot + 1)}`];
}

/**
 * A JSON value as a warning quotes it: JSON text, except numbers JSON cannot write (`1e400`
 * parses as Infinity, which JSON.stringify would show as `null`).
 */
export function jsonShown(v: unknown): string {
  return typeof v === "number" ? String(v) : JSON.stringify(v) ?? String(v);
}

/** True when `b[s, e)` is only spaces and control bytes. */
export function isBlank(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] > 32) return false;
  return true;
}

/** True when `b[s, e)` is an unset value: empty or `-`. */
export function isUnset(b: Uint8Array, s: number, e: number): boolean {
  return e === s || (e === s + 1 && b[s] === 45);
}

/** History letters section 5 reads, as bits (before any flip). */
export const H_S = 1, H_LOWER_S = 2, H_d = 4, H_D = 8, H_t = 16, H_T = 32;

/** The {@link H_S history bits} of the history `b[s, e)`. */
export function historyBitsOf(b: Uint8Array, s: number, e: number): number {
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

/** The {@link H_S history bits} of a history given as text. */
export function historyBitsOfText(h: string): number {
  if (h === "S") return H_S;
  if (h === "s") return H_LOWER_S;
  let bits = 0;
  if (h.includes("d")) bits |= H_d;
  if (h.includes("D")) bits |= H_D;
  if (h.includes("t")) bits |= H_t;
  if (h.includes("T")) bits |= H_T;
  return bits;
}

/**
 * Where the next line starts, for a fast-path row whose last column read ends at `p` (a tab: the
 * columns after it are not read; or the line break, a `\r` before it dropped as the general path
 * does), or -1 when the line does not end there or is over the `maxLine` cap (with its line break;
 * the general path then skips it). `s` is where the line starts.
 */
export function endOfRow(b: Uint8Array, p: number, s: number, maxLine: number): number {
  if (b[p] === 9) {
    while (b[p] !== 10) p++;
  } else {
    if (b[p] === 13) p++;
    if (b[p] !== 10) return -1;
  }
  p++;
  return p - s > maxLine + 1 ? -1 : p;
}
