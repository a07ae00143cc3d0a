/**
 * How a flow's numbers are written: protocol names, addresses (dotted IPv4, RFC 5952 IPv6) and
 * ISO 8601 times with microseconds, each made by arithmetic once a flow is emitted.
 * @module
 */
import { ipToString } from "../net.ts";

/** IANA keywords of common protocol numbers. */
const PROTOCOL_NAMES: Record<number, string> = {
  1: "icmp",
  2: "igmp",
  4: "ipv4",
  6: "tcp",
  17: "udp",
  41: "ipv6",
  46: "rsvp",
  47: "gre",
  50: "esp",
  51: "ah",
  58: "ipv6-icmp",
  88: "eigrp",
  89: "ospf",
  103: "pim",
  112: "vrrp",
  115: "l2tp",
  132: "sctp",
  136: "udplite",
};

/** The transport name of protocol number `p`. */
export function transportName(p: number): string {
  return PROTOCOL_NAMES[p] ?? String(p);
}

/** A numeric IPv4 address of dotted text (flows hold text once emitted). */
export function ipv4Number(text: string): number {
  let n = 0, part = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 46) {
      n = n * 256 + part;
      part = 0;
    } else part = part * 10 + ch - 48;
  }
  return n * 256 + part;
}

/** Text of an address at `words[at..]`: dotted IPv4, or RFC 5952 IPv6. */
export function addressText(version: number, words: Int32Array, at: number): string {
  if (version === 4) return ipToString(words[at] >>> 0);
  const g: number[] = [];
  for (let i = 0; i < 4; i++) g.push((words[at + i] >>> 16) & 0xffff, words[at + i] & 0xffff);
  // The longest run of two or more zero groups becomes "::".
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  // IPv4-mapped addresses keep their dotted tail.
  if (bestAt === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${ipToString(words[at + 3] >>> 0)}`;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}

/** Two digits. */
function d2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/**
 * ISO 8601 with microseconds, UTC (`2023-11-14T22:13:20.000001Z`), by arithmetic (Hinnant's
 * days-to-civil): `Date.prototype.toISOString` cost more than the rest of a flow's output.
 * Years outside 0-9999 come out as `Date` writes them.
 */
export function isoMicros(us: number): string {
  const second = Math.floor(us / 1e6);
  const frac = us - second * 1e6;
  let days = Math.floor(second / 86400);
  const rest = second - days * 86400;
  days += 719468;
  const era = Math.floor(days / 146097);
  const doe = days - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999 || !Number.isFinite(us)) {
    const d = new Date(second * 1000);
    if (Number.isNaN(d.getTime())) return "";
    return `${d.toISOString().slice(0, -5)}.${String(Math.floor(frac)).padStart(6, "0")}Z`;
  }
  const h = Math.floor(rest / 3600), m = Math.floor((rest % 3600) / 60), sec = rest % 60;
  const f = Math.floor(frac);
  return `${String(year).padStart(4, "0")}-${d2(month)}-${d2(day)}T${d2(h)}:${d2(m)}:${d2(sec)}.${
    f < 100000 ? String(f).padStart(6, "0") : f
  }Z`;
}

/** The minute of the last {@link isoMicrosCached} call and its text up to the seconds. */
let cachedMinute = NaN, cachedPrefix = "";

/**
 * {@link isoMicros}, with the text up to the minute kept from the call before: a capture's
 * flows start and end within few minutes, and the calendar arithmetic was most of the cost.
 */
export function isoMicrosCached(us: number): string {
  const minute = Math.floor(us / 60e6);
  if (minute !== cachedMinute) {
    const text = isoMicros(us);
    if (text.length !== 27) return text; // years outside 0-9999, or no date
    cachedMinute = minute;
    cachedPrefix = text.slice(0, 17);
    return text;
  }
  const micros = us - minute * 60e6;
  const sec = Math.floor(micros / 1e6), f = Math.floor(micros - sec * 1e6);
  return `${cachedPrefix}${d2(sec)}.${f < 100000 ? String(f).padStart(6, "0") : f}Z`;
}

/** The minute of the last {@link putIsoMicros} call and its text up to the seconds, as bytes. */
let putMinute = NaN;
const putPrefix = new Uint8Array(17);

/**
 * {@link isoMicros} written as bytes into `buf` at `at` (the caller makes room for 32), with the
 * bytes up to the minute kept from the call before; returns where the text ends. Made for lines
 * written straight into a buffer: no string per time.
 */
export function putIsoMicros(us: number, buf: Uint8Array, at: number): number {
  const minute = Math.floor(us / 60e6);
  if (minute !== putMinute) {
    const text = isoMicros(us);
    for (let i = 0; i < text.length; i++) buf[at + i] = text.charCodeAt(i);
    if (text.length === 27) {
      putMinute = minute;
      putPrefix.set(buf.subarray(at, at + 17));
    }
    return at + text.length;
  }
  for (let i = 0; i < 17; i++) buf[at++] = putPrefix[i];
  const micros = us - minute * 60e6;
  const sec = Math.floor(micros / 1e6);
  let f = Math.floor(micros - sec * 1e6);
  buf[at++] = 48 + Math.floor(sec / 10);
  buf[at++] = 48 + (sec % 10);
  buf[at++] = 46; // .
  for (let i = 5; i >= 0; i--) {
    const q = Math.floor(f / 10);
    buf[at + i] = 48 + (f - q * 10);
    f = q;
  }
  buf[at + 6] = 90; // Z
  return at + 7;
}

/** Dotted-quad text of a numeric IPv4 address written as bytes at `at`; returns the end. */
export function putIpv4(ip: number, buf: Uint8Array, at: number): number {
  for (let shift = 24; shift >= 0; shift -= 8) {
    const n = (ip >>> shift) & 255;
    if (n >= 100) buf[at++] = 48 + Math.floor(n / 100);
    if (n >= 10) buf[at++] = 48 + (Math.floor(n / 10) % 10);
    buf[at++] = 48 + (n % 10);
    if (shift > 0) buf[at++] = 46;
  }
  return at;
}

/**
 * Decimal text of a non-negative safe integer (a port, a count), as bytes at `at` (the caller
 * makes room for 16); returns the end.
 */
export function putInteger(n: number, buf: Uint8Array, at: number): number {
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    const q = Math.floor(n / 10);
    buf[i] = 48 + (n - q * 10); // the digit first: 48 + n can pass 2^53 and round
    n = q;
  }
  return end;
}
