/**
 * The record filters every view shares (`--since`, `--until`, `--proto`, `--port`, `--net`), in
 * one place: their parsing (a bad value is a one-line usage error), their help text, and the
 * predicate they compile to.
 *
 * The trick is that the predicate never looks at text. Each command fills one reused
 * {@link FilterKey} per record with numbers (times in whole microseconds, the IP protocol number,
 * ports, addresses as 32-bit words), filling only the fields the filter uses, and the compiled
 * predicate compares numbers: a port is one byte of a 65,537-entry table, a protocol one of a
 * 257-entry table, a CIDR a masked word compare. Addresses, the one field a command may have to
 * read from text (a Secflow's `ip:port`, a flow's `srcIp`), are read without allocating and only
 * for records whose times, protocol and ports already pass ({@link stagedTest}). The values are those the unfiltered output
 * shows (a Secflow's start as its CSV `start` column, rounded to the microsecond), so a filtered
 * view is exactly the unfiltered one with the filter applied to its rows.
 *
 * Secflows keep less than flows: no transport beyond "ICMP or not" (`protocolInformation`), and a
 * destination named by DNS keeps its name, not its address. So on Secflows `--proto` must name
 * TCP and UDP together or neither (`--proto tcp` alone is refused: the answer would be a guess),
 * and `--net` matches a named destination's Secflow only through its source.
 * @module
 */
import { UsageError } from "./command.ts";
import { printable } from "../secflow/printable.ts";
import { ipToString } from "../secflow/net.ts";
import type { SecflowRow } from "./_rows.ts";
import type { Flow } from "../secflow/flows/types.ts";

/** What a record is called in messages: Secflows carry less than flows (see the module). */
export type FilterSubject = "Secflows" | "flows";

/** `key.proto` of a Secflow that is TCP or UDP (the format does not say which). */
export const PROTO_TCP_OR_UDP = 256;

/**
 * `key.srcPort`/`key.dstPort` of a record without ports (ICMP: type and code are not ports): one
 * past the last port, so the port table is read in bounds (a negative index deoptimises it).
 */
export const NO_PORT = 65536;

/** Address family of a key's end: none (a name), IPv4 or IPv6. */
export type Family = 0 | 4 | 6;

/**
 * The numbers a filter looks at, for one record. Commands keep one and refill it per record
 * (only the fields {@link RecordFilter.uses} names need filling).
 */
export class FilterKey {
  /** First packet, whole microseconds since the epoch. */
  startUs = 0;
  /** Last packet, whole microseconds since the epoch. */
  endUs = 0;
  /** IANA protocol number, or {@link PROTO_TCP_OR_UDP}. */
  proto = 0;
  /** Source port, or {@link NO_PORT}. */
  srcPort = NO_PORT;
  /** Destination port, or {@link NO_PORT}. */
  dstPort = NO_PORT;
  /** Family of the source address (0: not an address). */
  srcFamily: Family = 0;
  /** Family of the destination address (0: a name, no address). */
  dstFamily: Family = 0;
  /**
   * Source address in words 0-3, destination in 4-7, each as four big-endian 32-bit words; an
   * IPv4 address is its end's last word (3 or 7).
   */
  readonly addr: Uint32Array = new Uint32Array(8);
}

/** One `--net` range: family and its network and mask as four words (IPv4 uses the last). */
interface Net {
  family: 4 | 6;
  net: Uint32Array;
  mask: Uint32Array;
  text: string;
}

/** The parsed filters; absent fields do not filter. */
export interface FilterSpec {
  /** `--since`, whole microseconds since the epoch. */
  sinceUs?: number;
  /** `--until`, whole microseconds since the epoch. */
  untilUs?: number;
  /** `--proto`: IANA numbers. */
  protos?: number[];
  /** `--port`: inclusive ranges. */
  ports?: [number, number][];
  /** `--net`: ranges (either end). */
  nets?: Net[];
}

/** Which key fields a filter reads. */
export interface FilterUses {
  time: boolean;
  proto: boolean;
  port: boolean;
  net: boolean;
}

/** A compiled filter: the test, what it reads, and how to say what it keeps. */
export interface RecordFilter {
  /** True when the record whose numbers are in `key` is kept: {@link numbers} and {@link addresses}. */
  test(key: FilterKey): boolean;
  /**
   * The checks of times, protocol and ports. Commands run it first and read a record's
   * addresses (the one field that may need reading from text) only for records it passes.
   */
  numbers(key: FilterKey): boolean;
  /** The `--net` check (true without one): reads only the key's families and addresses. */
  addresses(key: FilterKey): boolean;
  /** The key fields the test reads (a command fills only these). */
  uses: FilterUses;
  /** The filters as the user gave them (`--port 443 --net 10.0.0.0/8`), for messages. */
  text: string;
}

/** The options every filtered command adds to its parser. */
export const FILTER_OPTIONS = {
  since: { type: "string" },
  until: { type: "string" },
  proto: { type: "string", multiple: true },
  port: { type: "string", multiple: true },
  net: { type: "string", multiple: true },
} as const;

/** The option values {@link FILTER_OPTIONS} parse into. */
export interface FilterValues {
  since?: string;
  until?: string;
  proto?: string[];
  port?: string[];
  net?: string[];
}

/**
 * Protocol names `--proto` takes (any number 0-255 works too): every `transport` a flow shows
 * (Zeek's and IANA's keywords, `ipv6-icmp`), and the short names people type (`icmpv6`, `ipip`).
 */
export const PROTO_NAMES: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  ipv4: 4,
  ipip: 4,
  tcp: 6,
  udp: 17,
  ipv6: 41,
  rsvp: 46,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  icmp6: 58,
  "ipv6-icmp": 58,
  eigrp: 88,
  ospf: 89,
  pim: 103,
  vrrp: 112,
  l2tp: 115,
  sctp: 132,
  udplite: 136,
};

/** The names completion offers for `--proto`. */
export const PROTO_WORDS: readonly string[] = [
  "tcp",
  "udp",
  "tcp/udp",
  "icmp",
  "icmpv6",
  "sctp",
  "gre",
  "esp",
];

/** Help lines for {@link FILTER_OPTIONS}, Secflows' limits included. */
export function filterHelp(): string {
  return `
filters (all given must hold; a list, or the option repeated, means any of its items):
  --since TIME       only rows still going at TIME or later (last packet at or after TIME); TIME
                     is ISO 8601 (2026-12-01T10:04:05Z, 2026-12-01 10:04:05.25Z, 2026-12-01,
                     +02:00 offsets; no zone means UTC) or epoch seconds (1764583445.25, at most
                     6 decimals)
  --until TIME       only rows started at TIME or earlier (first packet at or before TIME)
  --proto P[,P...]   transport: ${PROTO_WORDS.join(", ")}, ... or a number
                     0-255; a Secflow only says whether it is ICMP, so on Secflows tcp and udp
                     go together (--proto tcp/udp) or not at all
  --port N[,N-M...]  source or destination port (TCP, UDP, SCTP; ICMP type and code are not ports)
  --net CIDR[,...]   source or destination address in CIDR (10.0.0.0/8, 2001:db8::/32, or one
                     address); a Secflow's destination named by DNS keeps no address, so only
                     its source can match`;
}

const words = (values: string[] | undefined) =>
  values?.flatMap((v) => v.split(",")).map((w) => w.trim());

/**
 * The filter of a command's option values, or undefined when none is given. Bad values, and on
 * Secflows a `--proto` naming one of TCP and UDP without the other, are {@link UsageError}s.
 */
export function filterOf(values: FilterValues, subject: FilterSubject): RecordFilter | undefined {
  const spec: FilterSpec = {};
  const text: string[] = [];
  if (values.since !== undefined) {
    spec.sinceUs = parseTime(values.since, "--since");
    text.push(`--since ${printable(values.since, 40)}`);
  }
  if (values.until !== undefined) {
    spec.untilUs = parseTime(values.until, "--until");
    text.push(`--until ${printable(values.until, 40)}`);
  }
  if (spec.sinceUs !== undefined && spec.untilUs !== undefined && spec.sinceUs > spec.untilUs) {
    throw new UsageError(
      `--since ${printable(values.since!, 40)} is after --until ${printable(values.until!, 40)}`,
    );
  }
  const protos = words(values.proto);
  if (protos) {
    spec.protos = protos.flatMap(parseProto);
    const tcp = spec.protos.includes(6), udp = spec.protos.includes(17);
    if (subject === "Secflows" && tcp !== udp) {
      throw new UsageError(
        `--proto ${tcp ? "tcp" : "udp"}: a Secflow does not say whether it is TCP or UDP ` +
          `(only ICMP is marked); give --proto tcp/udp for both, or --flows (flows know it)`,
      );
    }
    text.push(`--proto ${protos.join(",")}`);
  }
  const ports = words(values.port);
  if (ports) {
    spec.ports = ports.map(parsePortRange);
    text.push(`--port ${ports.join(",")}`);
  }
  const nets = words(values.net);
  if (nets) {
    spec.nets = nets.map(parseCidr);
    text.push(`--net ${nets.join(",")}`);
  }
  if (text.length === 0) return undefined;
  return { ...compileFilter(spec), text: text.join(" ") };
}

/**
 * The predicate of `spec`: only the checks it has, cheapest first, each a comparison of numbers.
 * A spec with no check keeps everything.
 */
export function compileFilter(spec: FilterSpec): Omit<RecordFilter, "text"> {
  const checks: ((k: FilterKey) => boolean)[] = [];
  const uses: FilterUses = { time: false, proto: false, port: false, net: false };
  const since = spec.sinceUs, until = spec.untilUs;
  if (since !== undefined || until !== undefined) {
    uses.time = true;
    const lo = since ?? -Infinity, hi = until ?? Infinity;
    checks.push((k) => k.endUs >= lo && k.startUs <= hi);
  }
  if (spec.protos) {
    uses.proto = true;
    const table = new Uint8Array(PROTO_TCP_OR_UDP + 1);
    for (const p of spec.protos) table[p] = 1;
    table[PROTO_TCP_OR_UDP] = table[6] & table[17];
    checks.push((k) => table[k.proto] === 1);
  }
  if (spec.ports) {
    uses.port = true;
    const table = new Uint8Array(NO_PORT + 1); // table[NO_PORT] stays 0
    for (const [lo, hi] of spec.ports) table.fill(1, lo, hi + 1);
    checks.push((k) => table[k.srcPort] === 1 || table[k.dstPort] === 1);
  }
  const [a, b, c] = checks;
  const numbers = checks.length === 0
    ? () => true
    : checks.length === 1
    ? a
    : checks.length === 2
    ? (k: FilterKey) => a(k) && b(k)
    : (k: FilterKey) => a(k) && b(k) && c(k);
  let addresses = (_k: FilterKey) => true;
  if (spec.nets) {
    uses.net = true;
    const nets = spec.nets;
    addresses = (k) => {
      for (const n of nets) {
        if (inNet(n, k.srcFamily, k.addr, 0) || inNet(n, k.dstFamily, k.addr, 4)) return true;
      }
      return false;
    };
  }
  const test = uses.net ? (k: FilterKey) => numbers(k) && addresses(k) : numbers;
  return { test, numbers, addresses, uses };
}

/** Whether the address of family `family` at `addr[at..at+3]` lies in `n`. */
function inNet(n: Net, family: Family, addr: Uint32Array, at: number): boolean {
  if (family !== n.family) return false;
  const { net, mask } = n;
  if (family === 4) return ((addr[at + 3] & mask[3]) >>> 0) === net[3];
  return ((addr[at] & mask[0]) >>> 0) === net[0] &&
    ((addr[at + 1] & mask[1]) >>> 0) === net[1] &&
    ((addr[at + 2] & mask[2]) >>> 0) === net[2] &&
    ((addr[at + 3] & mask[3]) >>> 0) === net[3];
}

// ---------------------------------------------------------------------------------------------
// Values

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** The latest time held exactly as whole microseconds (2^53 - 1 µs: the year 2255). */
const MAX_TIME_US = Number.MAX_SAFE_INTEGER;

/**
 * `--since`/`--until` TIME as whole microseconds since the epoch: epoch seconds (`1764583445`,
 * up to 6 decimals) or ISO 8601 (a date, or a date and time with optional seconds, fraction and
 * zone; no zone means UTC, the zone everything networksage prints is in). Exact: no float
 * arithmetic on the fraction.
 */
export function parseTime(text: string, option: string): number {
  const bad = (why: string) => new UsageError(`${option} ${printable(text, 40)}: ${why}`);
  const epoch = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(text);
  if (epoch) {
    const us = Number(epoch[1]) * 1e6 + fractionUs(epoch[2]);
    if (us > MAX_TIME_US) throw bad("too far in the future (after the year 2255)");
    return us;
  }
  if (/^\d+\.\d{7,}$/.test(text)) throw bad("at most 6 decimals (microseconds)");
  const m = ISO_TIME.exec(text);
  if (!m) {
    throw bad(
      "not a time; give ISO 8601 (2026-12-01T10:04:05Z, 2026-12-01) or epoch seconds (1764583445)",
    );
  }
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac, zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  // Date.UTC rolls over (February 30th is March 2nd); a date that does not round-trip is wrong.
  if (
    month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 ||
    back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day
  ) throw bad("no such date or time");
  let offsetMinutes = 0;
  if (zone && zone !== "Z" && zone !== "z") {
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2)), om = Number(digits.slice(2));
    if (oh > 23 || om > 59) throw bad("no such zone offset");
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const us = (ms - offsetMinutes * 60_000) * 1000 + fractionUs(frac);
  if (Math.abs(us) > MAX_TIME_US) throw bad("too far from now (before 1685 or after 2255)");
  return us;
}

/** `.25` (the digits after the point) as microseconds: 250000. */
function fractionUs(digits: string | undefined): number {
  return digits ? Number(digits.padEnd(6, "0")) : 0;
}

/** One `--proto` item as protocol numbers (`tcp/udp` is both). */
function parseProto(item: string): number[] {
  const word = item.toLowerCase();
  if (word === "tcp/udp" || word === "udp/tcp") return [6, 17];
  if (/^\d{1,3}$/.test(word) && Number(word) <= 255) return [Number(word)];
  const n = PROTO_NAMES[word];
  if (n === undefined) {
    throw new UsageError(
      `--proto ${printable(item, 40)}: not a protocol; give ${
        PROTO_WORDS.join(", ")
      }, another name (${
        Object.keys(PROTO_NAMES).filter((w) => !PROTO_WORDS.includes(w)).join(", ")
      }) or a number 0-255`,
    );
  }
  return [n];
}

/** One `--port` item: `443` or `8000-8100`. */
function parsePortRange(item: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
  const lo = m ? Number(m[1]) : NaN, hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!m || lo > 65535 || hi > 65535 || lo > hi) {
    throw new UsageError(
      `--port ${printable(item, 40)}: give a port 0-65535 or a range like 8000-8100`,
    );
  }
  return [lo, hi];
}

/** One `--net` item: `10.0.0.0/8`, `2001:db8::/32`, or one address (all its bits). */
function parseCidr(item: string): Net {
  const bad = (why: string) => new UsageError(`--net ${printable(item, 60)}: ${why}`);
  const slash = item.indexOf("/");
  const addrText = slash < 0 ? item : item.slice(0, slash);
  const words = new Uint32Array(4);
  let family: 4 | 6;
  if (parseIPv4Into(addrText, 0, addrText.length, words, 3)) family = 4;
  else if (parseIPv6Into(addrText, words, 0)) family = 6;
  else throw bad("not an IPv4 or IPv6 address (give 10.0.0.0/8, 2001:db8::/32 or an address)");
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const len = item.slice(slash + 1);
    if (!/^\d{1,3}$/.test(len) || Number(len) > max) {
      throw bad(`the prefix length must be 0-${max}`);
    }
    bits = Number(len);
  }
  const mask = new Uint32Array(4);
  const first = family === 4 ? 3 : 0;
  for (let i = first, left = bits; i < 4; i++, left -= 32) {
    mask[i] = left >= 32 ? 0xffffffff : left <= 0 ? 0 : (0xffffffff << (32 - left)) >>> 0;
  }
  const net = new Uint32Array(4);
  for (let i = 0; i < 4; i++) net[i] = (words[i] & mask[i]) >>> 0;
  if (net.some((w, i) => w !== words[i])) {
    throw bad(
      `host bits are set past /${bits}; did you mean ${
        family === 4 ? ipToString(net[3]) : ipv6Text(net)
      }/${bits}?`,
    );
  }
  return { family, net, mask, text: item };
}

// ---------------------------------------------------------------------------------------------
// Addresses, read from text without allocating (a Secflow's endpoints are text)

/**
 * Reads the dotted-quad IPv4 address `text[from, to)` into `out[at]`; false (out untouched)
 * when it is not one.
 */
export function parseIPv4Into(
  text: string,
  from: number,
  to: number,
  out: Uint32Array,
  at: number,
): boolean {
  let ip = 0, part = 0, digits = 0, dots = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) { // .
      if (digits === 0 || dots === 3) return false;
      ip = ip * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      if (part > 255) return false;
      digits++;
    } else return false;
  }
  if (dots !== 3 || digits === 0) return false;
  out[at] = ip * 256 + part;
  return true;
}

/** Groups of the IPv6 address being read (one scratch array: reading allocates nothing). */
const groups = new Uint16Array(8);

/**
 * Reads an IPv6 address (RFC 4291 text: hex groups, one `::`, a trailing dotted IPv4) into
 * `out[at..at+3]`; false when `text` is not one (zones and brackets are not addresses here).
 */
export function parseIPv6Into(text: string, out: Uint32Array, at: number): boolean {
  const len = text.length;
  if (len < 2 || len > 45) return false;
  let n = 0; // groups read
  let gap = -1; // where `::` stands, in groups
  let i = 0;
  if (text.charCodeAt(0) === 58) { // a leading colon only as `::`
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    if (n === 8) return false;
    let value = 0, digits = 0, j = i;
    for (; j < len; j++) {
      const c = text.charCodeAt(j);
      const h = c >= 48 && c <= 57
        ? c - 48
        : c >= 97 && c <= 102
        ? c - 87
        : c >= 65 && c <= 70
        ? c - 55
        : -1;
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
    }
    if (j < len && text.charCodeAt(j) === 46) { // a dotted IPv4: the last two groups
      if (n > 6 || !parseIPv4Into(text, i, len, out, at + 3)) return false;
      const v4 = out[at + 3];
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = len;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups[n++] = value;
    if (j === len) {
      i = len;
      break;
    }
    if (text.charCodeAt(j) !== 58) return false;
    if (j + 1 < len && text.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === len) return false; // a trailing single colon
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  // Groups after the gap move to the end; the gap is zeros.
  const move = gap < 0 ? 0 : 8 - n;
  for (let g = n - 1; g >= (gap < 0 ? n : gap); g--) groups[g + move] = groups[g];
  for (let g = gap; g >= 0 && g < gap + move; g++) groups[g] = 0;
  for (let w = 0; w < 4; w++) out[at + w] = ((groups[2 * w] << 16) | groups[2 * w + 1]) >>> 0;
  return true;
}

/** RFC 5952 text of four words (as URLs write an IPv6 host: the longest zero run as `::`). */
function ipv6Text(w: Uint32Array): string {
  const full = [...w].flatMap((x) => [(x >>> 16).toString(16), (x & 0xffff).toString(16)]);
  return new URL(`http://[${full.join(":")}]/`).hostname.slice(1, -1);
}

// ---------------------------------------------------------------------------------------------
// Secflows

/**
 * Fills `key` with the numbers `filter` reads of one Secflow (all but the addresses, see
 * {@link fillSecflowAddresses}), from the values its output shows: `src` (`ip:port`, `ip` for
 * ICMP), `dst` (`name:port`, `ip:port`, `name`, `ip`), ICMP or not, and its start (epoch
 * seconds) and duration, rounded to the microsecond as `view --csv` prints them.
 */
export function fillSecflowKey(
  key: FilterKey,
  uses: FilterUses,
  src: string,
  dst: string,
  icmp: boolean,
  startSeconds: number,
  durationSeconds: number,
): void {
  if (uses.time) {
    key.startUs = Math.round(startSeconds * 1e6);
    key.endUs = key.startUs + Math.round(durationSeconds * 1e6);
  }
  if (uses.proto) key.proto = icmp ? 1 : PROTO_TCP_OR_UDP;
  if (uses.port) {
    key.srcPort = icmp ? NO_PORT : portAfter(src, src.lastIndexOf(":"));
    key.dstPort = icmp ? NO_PORT : portAfter(dst, dst.lastIndexOf(":"));
  }
}

/**
 * Fills `key`'s addresses of one Secflow (for `--net`): its source, and its destination when
 * that is an address rather than a DNS name (Secflows are IPv4).
 */
export function fillSecflowAddresses(key: FilterKey, src: string, dst: string, icmp: boolean) {
  const sc = icmp ? -1 : src.lastIndexOf(":");
  const dc = icmp ? -1 : dst.lastIndexOf(":");
  key.srcFamily = parseIPv4Into(src, 0, sc < 0 ? src.length : sc, key.addr, 3) ? 4 : 0;
  key.dstFamily = parseIPv4Into(dst, 0, dc < 0 ? dst.length : dc, key.addr, 7) ? 4 : 0;
}

/** The decimal port after `text[colon]`, or {@link NO_PORT}. */
function portAfter(text: string, colon: number): number {
  if (colon < 0 || colon === text.length - 1 || text.length - colon > 6) return NO_PORT;
  let n = 0;
  for (let i = colon + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return NO_PORT;
    n = n * 10 + (c - 48);
  }
  return n > 65535 ? NO_PORT : n;
}

/** A Secflow row's numbers ({@link fillSecflowKey}). */
export function fillRowKey(key: FilterKey, uses: FilterUses, r: SecflowRow): void {
  fillSecflowKey(key, uses, r.src, r.dst, r.protocol === "ICMP", r.start, r.duration);
}

/** A Secflow row's addresses ({@link fillSecflowAddresses}). */
export function fillRowAddresses(key: FilterKey, r: SecflowRow): void {
  fillSecflowAddresses(key, r.src, r.dst, r.protocol === "ICMP");
}

/** Whether a protocol has ports `--port` looks at: TCP, UDP, SCTP, UDP-Lite. */
function portsMatter(protocol: number): boolean {
  return protocol === 6 || protocol === 17 || protocol === 132 || protocol === 136;
}

/**
 * Fills `key` with the numbers `filter` reads of one flow: its times (already whole
 * microseconds), IP protocol, ports (none for ICMP, whose type and code stand in the port
 * fields). Its addresses: {@link fillFlowAddresses}.
 */
export function fillFlowKey(key: FilterKey, uses: FilterUses, f: Flow): void {
  if (uses.time) {
    key.startUs = f.start;
    key.endUs = f.end;
  }
  if (uses.proto) key.proto = f.protocol;
  if (uses.port) {
    const ports = portsMatter(f.protocol);
    key.srcPort = ports ? f.srcPort : NO_PORT;
    key.dstPort = ports ? f.dstPort : NO_PORT;
  }
}

/** Fills `key`'s addresses of one flow (IPv4 or IPv6; a flow without addresses has none). */
export function fillFlowAddresses(key: FilterKey, f: Flow): void {
  key.srcFamily = addressInto(f.srcIp, key.addr, 0);
  key.dstFamily = addressInto(f.dstIp, key.addr, 4);
}

/** Reads an IPv4 or IPv6 address into `out[at..at+3]`; its family, 0 when it is not one. */
function addressInto(text: string, out: Uint32Array, at: number): Family {
  if (parseIPv4Into(text, 0, text.length, out, at + 3)) return 4;
  return parseIPv6Into(text, out, at) ? 6 : 0;
}

/** A test of one flow, for `view --flows` and the other flow views. */
export function flowTest(filter: RecordFilter): (f: Flow) => boolean {
  return stagedTest(filter, fillFlowKey, fillFlowAddresses);
}

/**
 * A test of one item: its numbers filled and checked first, its addresses read only for items
 * whose numbers pass (reading an address is the costly part).
 */
export function stagedTest<T>(
  filter: RecordFilter,
  fill: (key: FilterKey, uses: FilterUses, item: T) => void,
  fillAddresses: (key: FilterKey, item: T) => void,
): (item: T) => boolean {
  const key = new FilterKey();
  const { uses, numbers, addresses } = filter;
  if (!uses.net) {
    return (item) => {
      fill(key, uses, item);
      return numbers(key);
    };
  }
  return (item) => {
    fill(key, uses, item);
    if (!numbers(key)) return false;
    fillAddresses(key, item);
    return addresses(key);
  };
}

/**
 * The items of `items` that `filter` keeps, in order ({@link stagedTest}). Without a filter,
 * `items` itself.
 */
export function keep<T>(
  items: T[],
  filter: RecordFilter | undefined,
  fill: (key: FilterKey, uses: FilterUses, item: T) => void,
  fillAddresses: (key: FilterKey, item: T) => void,
): T[] {
  if (!filter) return items;
  return items.filter(stagedTest(filter, fill, fillAddresses));
}
