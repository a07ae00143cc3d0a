/**
 * Test fixtures built in code: IPv4/TCP/UDP/ICMP packets, DNS responses, link-layer wrappers and
 * pcap/pcapng writers, plus helpers that run the converter on the bytes.
 * @module
 */
import { analyzeCapture, convertCapture } from "../secflow/convert_capture.ts";
import type { Sample } from "../secflow/types.ts";

// ---------------------------------------------------------------------------------------------
// Bytes

/** Concatenates byte arrays and plain byte lists. */
export function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u16(n: number): number[] {
  return [(n >> 8) & 255, n & 255];
}

function u32be(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** The four bytes of a dotted IPv4 address. */
export function ipBytes(addr: string): number[] {
  const parts = addr.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
    throw new Error(`bad address ${addr}`);
  }
  return parts;
}

function payloadBytes(payload: Uint8Array | number | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  if (typeof payload === "number") return new Uint8Array(payload);
  return payload;
}

// ---------------------------------------------------------------------------------------------
// IPv4 and transports

/** Options of {@link ipv4}. */
export interface Ipv4Options {
  src: string;
  dst: string;
  proto: number;
  /** Everything after the IPv4 header. */
  body: Uint8Array;
  /** Fragment offset in 8-byte units. */
  fragOffset?: number;
  /** More-fragments flag. */
  mf?: boolean;
  /** Override of the total length field. */
  totalLength?: number;
  /** Extra option bytes (multiple of 4) to make a longer header. */
  options?: number[];
  /** Version nibble (default 4). */
  version?: number;
}

/** An IPv4 packet (header + body). */
export function ipv4(o: Ipv4Options): Uint8Array {
  const opts = o.options ?? [];
  const ihl = 20 + opts.length;
  const total = o.totalLength ?? ihl + o.body.length;
  const flagsFrag = (o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) & 0x1fff);
  const header = [
    ((o.version ?? 4) << 4) | (ihl / 4),
    0,
    ...u16(total),
    0x12,
    0x34,
    ...u16(flagsFrag),
    64,
    o.proto,
    0,
    0,
    ...ipBytes(o.src),
    ...ipBytes(o.dst),
    ...opts,
  ];
  return cat(header, o.body);
}

/** Common options of the transport builders. */
export interface TransportOptions {
  src: string;
  dst: string;
  sp: number;
  dp: number;
  /** Payload bytes, or a length of zero bytes. */
  payload?: Uint8Array | number;
  fragOffset?: number;
  mf?: boolean;
  totalLength?: number;
}

/** An IPv4/TCP packet; `dataOffset` in bytes (default 20, multiple of 4). */
export function tcp(o: TransportOptions & { dataOffset?: number; flags?: number }): Uint8Array {
  const doff = o.dataOffset ?? 20;
  const header = [
    ...u16(o.sp),
    ...u16(o.dp),
    ...u32be(1000),
    ...u32be(0),
    (doff / 4) << 4,
    o.flags ?? 0x18,
    ...u16(65535),
    0,
    0,
    0,
    0,
    ...new Array(doff - 20).fill(1),
  ];
  return ipv4({
    src: o.src,
    dst: o.dst,
    proto: 6,
    body: cat(header, payloadBytes(o.payload)),
    fragOffset: o.fragOffset,
    mf: o.mf,
    totalLength: o.totalLength,
  });
}

/** An IPv4/UDP packet; the UDP length is 8 + payload unless `udpLength` is given. */
export function udp(o: TransportOptions & { udpLength?: number }): Uint8Array {
  const payload = payloadBytes(o.payload);
  const header = [...u16(o.sp), ...u16(o.dp), ...u16(o.udpLength ?? 8 + payload.length), 0, 0];
  return ipv4({
    src: o.src,
    dst: o.dst,
    proto: 17,
    body: cat(header, payload),
    fragOffset: o.fragOffset,
    mf: o.mf,
    totalLength: o.totalLength,
  });
}

/** An IPv4/ICMP echo request (or `type`) with `payload` bytes after the 8-byte header. */
export function icmp(
  o: { src: string; dst: string; type?: number; payload?: Uint8Array | number },
): Uint8Array {
  return ipv4({
    src: o.src,
    dst: o.dst,
    proto: 1,
    body: cat([o.type ?? 8, 0, 0, 0, 0, 1, 0, 1], payloadBytes(o.payload)),
  });
}

/** A non-first fragment: raw `body` bytes at fragment offset `fragOffset` (8-byte units). */
export function fragment(
  o: { src: string; dst: string; proto: number; body: Uint8Array | number[]; fragOffset: number },
): Uint8Array {
  return ipv4({
    src: o.src,
    dst: o.dst,
    proto: o.proto,
    body: Uint8Array.from(o.body),
    fragOffset: o.fragOffset,
  });
}

// ---------------------------------------------------------------------------------------------
// DNS

/** A domain name: dotted text, raw labels, or a compression pointer to an offset. */
export type DnsName = string | Uint8Array[] | { pointer: number };

/** One resource record. Owner defaults to a pointer to the question name (offset 12). */
export interface DnsRecord {
  owner?: DnsName;
  type: number;
  cls?: number;
  ttl?: number;
  /** A: dotted address; CNAME/PTR: a name; or raw bytes. */
  data: string | Uint8Array | DnsName;
  /** Override of the RDLENGTH field. */
  rdlen?: number;
}

/** Options of {@link dnsMessage}. */
export interface DnsMessageOptions {
  id?: number;
  /** QR bit (default true: a response). */
  qr?: boolean;
  opcode?: number;
  /** Extra flag bits ORed in (AA 0x0400, TC 0x0200, RD 0x0100, RA 0x0080). */
  flags?: number;
  qname: DnsName;
  qtype: number;
  qclass?: number;
  /** More questions after the first: [name, type]. */
  moreQuestions?: [DnsName, number][];
  answers?: DnsRecord[];
  authority?: DnsRecord[];
  additional?: DnsRecord[];
}

/** Encodes a name: text split on dots, raw labels, or a two-byte pointer. */
export function encodeName(name: DnsName): number[] {
  if (typeof name === "object" && !Array.isArray(name)) {
    return [0xc0 | (name.pointer >> 8), name.pointer & 255];
  }
  const labels = typeof name === "string"
    ? (name === "" ? [] : name.split(".").map((l) => new TextEncoder().encode(l)))
    : name;
  const out: number[] = [];
  for (const l of labels) out.push(l.length, ...l);
  out.push(0);
  return out;
}

/** A DNS message (no TCP length prefix). */
export function dnsMessage(o: DnsMessageOptions): Uint8Array {
  const questions: [DnsName, number][] = [[o.qname, o.qtype], ...(o.moreQuestions ?? [])];
  const answers = o.answers ?? [];
  const authority = o.authority ?? [];
  const additional = o.additional ?? [];
  const flags = ((o.qr ?? true) ? 0x8000 : 0) | ((o.opcode ?? 0) << 11) | (o.flags ?? 0x0180);
  const out: number[] = [
    ...u16(o.id ?? 0x1234),
    ...u16(flags),
    ...u16(questions.length),
    ...u16(answers.length),
    ...u16(authority.length),
    ...u16(additional.length),
  ];
  for (const [name, type] of questions) {
    out.push(...encodeName(name), ...u16(type), ...u16(o.qclass ?? 1));
  }
  for (const rr of [...answers, ...authority, ...additional]) {
    let rdata: number[];
    if (rr.data instanceof Uint8Array) rdata = [...rr.data];
    else if (rr.type === 1 && typeof rr.data === "string") rdata = ipBytes(rr.data);
    else rdata = encodeName(rr.data as DnsName);
    out.push(
      ...encodeName(rr.owner ?? { pointer: 12 }),
      ...u16(rr.type),
      ...u16(rr.cls ?? 1),
      ...u32be(rr.ttl ?? 300),
      ...u16(rr.rdlen ?? rdata.length),
      ...rdata,
    );
  }
  return Uint8Array.from(out);
}

/** Prefixes each message with its two-byte length (DNS over TCP). */
export function tcpDns(...messages: Uint8Array[]): Uint8Array {
  return cat(...messages.flatMap((m) => [u16(m.length), m]));
}

/** A UDP DNS response from `server:53` to `client:cport` answering `qname` with A records. */
export function dnsA(
  o: { server: string; client: string; cport?: number; qname: DnsName; addrs: string[] },
): Uint8Array {
  return udp({
    src: o.server,
    dst: o.client,
    sp: 53,
    dp: o.cport ?? 40000,
    payload: dnsMessage({
      qname: o.qname,
      qtype: 1,
      answers: o.addrs.map((a) => ({ type: 1, data: a })),
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// Link layers

const MAC_A = [0x02, 0, 0, 0, 0, 1];
const MAC_B = [0x02, 0, 0, 0, 0, 2];

/** Ethernet II frame carrying `payload` with `etype` (default IPv4). */
export function ether(payload: Uint8Array, etype = 0x0800): Uint8Array {
  return cat(MAC_B, MAC_A, u16(etype), payload);
}

/** Ethernet with one 802.1Q tag. */
export function vlan(ip: Uint8Array, vid = 100): Uint8Array {
  return cat(MAC_B, MAC_A, u16(0x8100), u16(vid), u16(0x0800), ip);
}

/** Ethernet with an 802.1ad outer tag and an 802.1Q inner tag (QinQ). */
export function qinq(ip: Uint8Array, outer = 200, inner = 100): Uint8Array {
  return cat(MAC_B, MAC_A, u16(0x88a8), u16(outer), u16(0x8100), u16(inner), u16(0x0800), ip);
}

/** Linux cooked capture v1 (16-byte header). */
export function sll(ip: Uint8Array, proto = 0x0800): Uint8Array {
  return cat(u16(0), u16(1), u16(6), MAC_A, [0, 0], u16(proto), ip);
}

/** Linux cooked capture v2 (20-byte header). */
export function sll2(ip: Uint8Array, proto = 0x0800): Uint8Array {
  return cat(u16(proto), [0, 0], u32be(2), u16(1), [0], [6], MAC_A, [0, 0], ip);
}

/** BSD null: AF_INET (2) in the capturing host's byte order. */
export function bsdNull(ip: Uint8Array, littleEndian = true, family = 2): Uint8Array {
  const fam = littleEndian ? [family, 0, 0, 0] : [0, 0, 0, family];
  return cat(fam, ip);
}

/** OpenBSD loopback (108): AF_INET in network byte order. */
export function loop(ip: Uint8Array, family = 2): Uint8Array {
  return cat([0, 0, 0, family], ip);
}

/** Link-type number and wrapper, for the link-layer variants of one IP packet list. */
export interface LinkVariant {
  name: string;
  linkType: number;
  wrap: (ip: Uint8Array) => Uint8Array;
}

/** Every link layer the converter reads, Ethernet first. */
export const LINK_VARIANTS: LinkVariant[] = [
  { name: "Ethernet", linkType: 1, wrap: (p) => ether(p) },
  { name: "802.1Q", linkType: 1, wrap: (p) => vlan(p) },
  { name: "QinQ", linkType: 1, wrap: (p) => qinq(p) },
  { name: "SLL", linkType: 113, wrap: (p) => sll(p) },
  { name: "SLL2", linkType: 276, wrap: (p) => sll2(p) },
  { name: "raw 101", linkType: 101, wrap: (p) => p },
  { name: "raw 228", linkType: 228, wrap: (p) => p },
  { name: "raw 12", linkType: 12, wrap: (p) => p },
  { name: "raw 14", linkType: 14, wrap: (p) => p },
  { name: "null LE", linkType: 0, wrap: (p) => bsdNull(p, true) },
  { name: "null BE", linkType: 0, wrap: (p) => bsdNull(p, false) },
  { name: "loop", linkType: 108, wrap: (p) => loop(p) },
];

// ---------------------------------------------------------------------------------------------
// pcap

/** The time base of the fixtures: 1700000000 s, in microseconds. */
export const T0 = 1_700_000_000_000_000;

/** One record. `us` is the timestamp in microseconds since the epoch. */
export interface Rec {
  us: number;
  data: Uint8Array;
  /** Extra nanoseconds (0..999) written only by nanosecond writers. */
  ns?: number;
  /** Original length (default: data length). */
  origLen?: number;
}

/** Options of {@link pcap}. */
export interface PcapOptions {
  linkType?: number;
  bigEndian?: boolean;
  nanos?: boolean;
  snaplen?: number;
}

/** A pcap file header. */
export function pcapHeader(o: PcapOptions = {}): Uint8Array {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  const le = !o.bigEndian;
  v.setUint32(0, o.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, o.snaplen ?? 65535, le);
  v.setUint32(20, o.linkType ?? 1, le);
  return b;
}

/** One pcap record (16-byte header + data); `caplen` overrides the captured length field. */
export function pcapRecord(r: Rec, o: PcapOptions = {}, caplen?: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  const le = !o.bigEndian;
  const sec = Math.floor(r.us / 1e6);
  const us = r.us - sec * 1e6;
  v.setUint32(0, sec, le);
  v.setUint32(4, o.nanos ? us * 1000 + (r.ns ?? 0) : us, le);
  v.setUint32(8, caplen ?? r.data.length, le);
  v.setUint32(12, r.origLen ?? r.data.length, le);
  return cat(b, r.data);
}

/** A whole pcap file. */
export function pcap(records: Rec[], o: PcapOptions = {}): Uint8Array {
  return cat(pcapHeader(o), ...records.map((r) => pcapRecord(r, o)));
}

// ---------------------------------------------------------------------------------------------
// pcapng

/** An interface description. `tsresol` is the raw if_tsresol byte (absent: microseconds). */
export interface NgInterface {
  linkType: number;
  tsresol?: number;
  snaplen?: number;
}

/** A block inside a section. `ts` is in the interface's units. */
export type NgBlock =
  | { kind: "epb"; iface: number; ts: bigint; data: Uint8Array; origLen?: number }
  | { kind: "pb"; iface: number; ts: bigint; data: Uint8Array; origLen?: number }
  | { kind: "raw"; type: number; body: Uint8Array };

/** A section: its byte order, interfaces and blocks (IDBs are written first). */
export interface NgSection {
  bigEndian?: boolean;
  interfaces: NgInterface[];
  blocks: NgBlock[];
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** One pcapng block with a body; the total length is computed (or forced with `forceLength`). */
export function ngBlock(
  type: number,
  body: Uint8Array,
  bigEndian = false,
  forceLength?: number,
): Uint8Array {
  const padded = pad4(body.length);
  const total = 12 + padded;
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  const le = !bigEndian;
  v.setUint32(0, type, le);
  v.setUint32(4, forceLength ?? total, le);
  b.set(body, 8);
  v.setUint32(total - 4, forceLength ?? total, le);
  return b;
}

function view(n: number): [Uint8Array, DataView] {
  const b = new Uint8Array(n);
  return [b, new DataView(b.buffer)];
}

/** Section header block. */
export function shb(bigEndian = false): Uint8Array {
  const [b, v] = view(16);
  const le = !bigEndian;
  v.setUint32(0, 0x1a2b3c4d, le);
  v.setUint16(4, 1, le);
  v.setUint16(6, 0, le);
  v.setBigInt64(8, -1n, le);
  return ngBlock(0x0a0d0d0a, b, bigEndian);
}

/** Interface description block, with an if_tsresol option when given. */
export function idb(i: NgInterface, bigEndian = false): Uint8Array {
  const le = !bigEndian;
  const opts: number[] = [];
  if (i.tsresol !== undefined) {
    const [o, ov] = view(8);
    ov.setUint16(0, 9, le);
    ov.setUint16(2, 1, le);
    o[4] = i.tsresol;
    opts.push(...o);
    const [e] = view(4); // opt_endofopt
    opts.push(...e);
  }
  const [b, v] = view(8);
  v.setUint16(0, i.linkType, le);
  v.setUint32(4, i.snaplen ?? 0, le);
  return ngBlock(1, cat(b, opts), bigEndian);
}

/** Enhanced (6) or obsolete (2) packet block. */
export function packetBlock(
  kind: "epb" | "pb",
  iface: number,
  ts: bigint,
  data: Uint8Array,
  bigEndian = false,
  origLen?: number,
): Uint8Array {
  const le = !bigEndian;
  const [h, v] = view(20);
  if (kind === "epb") v.setUint32(0, iface, le);
  else {
    v.setUint16(0, iface, le);
    v.setUint16(2, 0, le);
  }
  v.setUint32(4, Number(ts >> 32n), le);
  v.setUint32(8, Number(ts & 0xffffffffn), le);
  v.setUint32(12, data.length, le);
  v.setUint32(16, origLen ?? data.length, le);
  const body = cat(h, data, new Array(pad4(data.length) - data.length).fill(0));
  return ngBlock(kind === "epb" ? 6 : 2, body, bigEndian);
}

/** A whole pcapng file. */
export function pcapng(sections: NgSection[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of sections) {
    const be = s.bigEndian ?? false;
    parts.push(shb(be));
    for (const i of s.interfaces) parts.push(idb(i, be));
    for (const blk of s.blocks) {
      if (blk.kind === "raw") parts.push(ngBlock(blk.type, blk.body, be));
      else parts.push(packetBlock(blk.kind, blk.iface, blk.ts, blk.data, be, blk.origLen));
    }
  }
  return cat(...parts);
}

/** Units per second of a raw if_tsresol byte. */
export function unitsPerSecond(tsresol: number | undefined): bigint {
  if (tsresol === undefined) return 1_000_000n;
  return tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
}

/** A timestamp in an interface's units for `us` microseconds plus `extraNs` nanoseconds. */
export function tsUnits(us: number, tsresol: number | undefined, extraNs = 0): bigint {
  const ns = BigInt(us) * 1000n + BigInt(extraNs);
  return (ns * unitsPerSecond(tsresol)) / 1_000_000_000n;
}

/** A name-resolution block body with one IPv4 record and the end marker. */
export function nrbBody(): Uint8Array {
  const name = new TextEncoder().encode("example.com\0");
  const len = 4 + name.length;
  const rec = cat([1, 0], [len & 255, len >> 8], [93, 184, 216, 34], name);
  return cat(rec, new Array(pad4(rec.length) - rec.length).fill(0), [0, 0, 0, 0]);
}

/** An interface statistics block body. */
export function isbBody(iface = 0): Uint8Array {
  return Uint8Array.from([iface, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]);
}

/** A custom block body (PEN + data). */
export function customBody(): Uint8Array {
  return Uint8Array.from([0x78, 0x56, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
}

// ---------------------------------------------------------------------------------------------
// Running the converter

/** A fixture packet: an IPv4 packet and its time. */
export interface Pkt {
  us: number;
  ip: Uint8Array;
}

/** A pcap of `packets` with one link-layer variant. */
export function pcapOf(packets: Pkt[], variant: LinkVariant = LINK_VARIANTS[0]): Uint8Array {
  return pcap(packets.map((p) => ({ us: p.us, data: variant.wrap(p.ip) })), {
    linkType: variant.linkType,
  });
}

/** Pushes `bytes` in pieces of `n` bytes (the pieces are fresh copies in a reused buffer). */
export function* chunks(bytes: Uint8Array, n: number): Generator<Uint8Array> {
  const buf = new Uint8Array(n);
  for (let o = 0; o < bytes.length; o += n) {
    const len = Math.min(n, bytes.length - o);
    buf.set(bytes.subarray(o, o + len));
    yield buf.subarray(0, len);
  }
}

/** Converts `bytes` in one chunk; returns the sample (null when no Secflows). */
export async function convertBytes(bytes: Uint8Array, name = "t.pcap"): Promise<Sample | null> {
  return (await convertCapture(() => [bytes], name, { fileName: "t.sf" })).sample;
}

/** Converts `bytes` fed in pieces of `n` bytes (a reused buffer, like the file reader). */
export async function convertChunked(
  bytes: Uint8Array,
  n: number,
  name = "t.pcap",
): Promise<Sample | null> {
  return (await convertCapture(() => chunks(bytes, n), name, { fileName: "t.sf" })).sample;
}

/** The full conversion result (warnings, analysis, cache updates). */
export function convertFull(bytes: Uint8Array, name = "t.pcap", cache?: Map<number, string>) {
  return convertCapture(() => [bytes], name, { fileName: "t.sf", cache });
}

/** The capture analysis (how many reads, sessions before naming). */
export function analyzeBytes(bytes: Uint8Array, name = "t.pcap") {
  return analyzeCapture(() => [bytes], name);
}

/** Converts IP packets wrapped in Ethernet; returns the sample's flashes ([] when none). */
export async function flashesOf(packets: Pkt[]) {
  const s = await convertBytes(pcapOf(packets));
  return s?.flashes ?? [];
}

/** A compact view of a flash for assertions. */
export function brief(f: {
  src: string;
  dst: string;
  destinationNameSource: string;
  srcPkts: number;
  srcBytes: number;
  dstPkts: number;
  dstBytes: number;
}): string {
  return `${f.src} > ${f.dst} ${f.destinationNameSource} ${f.srcPkts}/${f.srcBytes} ${f.dstPkts}/${f.dstBytes}`;
}
