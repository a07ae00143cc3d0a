/**
 * Synthetic captures for the demo and the benchmarks: Ethernet/IPv4 frames written as pcap,
 * deterministic (seeded), no checksums (the converter does not read them).
 * @module
 */
import { parseIPv4 } from "../secflow/net.ts";

/** A tiny deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ip(text: string): number {
  const v = parseIPv4(text);
  if (v === undefined) throw new Error(`bad address ${text}`);
  return v;
}

/** Writes pcap records to a growing buffer. */
export class PcapWriter {
  #chunks: Uint8Array[] = [];
  #size = 0;
  packets = 0;

  constructor(linkType = 1) {
    const h = new DataView(new ArrayBuffer(24));
    h.setUint32(0, 0xa1b2c3d4, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setUint32(16, 65535, true);
    h.setUint32(20, linkType, true);
    this.#push(new Uint8Array(h.buffer));
  }

  #push(b: Uint8Array): void {
    this.#chunks.push(b);
    this.#size += b.length;
  }

  /** Appends one frame at `micros` (integer microseconds since the epoch). */
  record(micros: number, frame: Uint8Array): void {
    const h = new DataView(new ArrayBuffer(16));
    h.setUint32(0, Math.floor(micros / 1e6), true);
    h.setUint32(4, micros % 1e6, true);
    h.setUint32(8, frame.length, true);
    h.setUint32(12, frame.length, true);
    this.#push(new Uint8Array(h.buffer));
    this.#push(frame);
    this.packets++;
  }

  /** The whole file. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let o = 0;
    for (const c of this.#chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** An Ethernet frame holding an IPv4 packet with a TCP, UDP or ICMP header and zero payload. */
export function frame(
  proto: "tcp" | "udp" | "icmp",
  src: string,
  sport: number,
  dst: string,
  dport: number,
  payload: number | Uint8Array = 0,
): Uint8Array {
  const body = typeof payload === "number" ? new Uint8Array(payload) : payload;
  const l4len = proto === "tcp" ? 20 : 8;
  const total = 20 + l4len + body.length;
  const f = new Uint8Array(14 + total);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2], 0);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, total);
  v.setUint8(22, 64);
  v.setUint8(23, proto === "tcp" ? 6 : proto === "udp" ? 17 : 1);
  v.setUint32(26, ip(src));
  v.setUint32(30, ip(dst));
  const t = 34;
  if (proto === "icmp") {
    v.setUint8(t, 8);
  } else {
    v.setUint16(t, sport);
    v.setUint16(t + 2, dport);
    if (proto === "tcp") v.setUint8(t + 12, 0x50);
    else v.setUint16(t + 4, 8 + body.length);
  }
  f.set(body, t + l4len);
  return f;
}

/** A DNS response for `name` with A answers `addresses`. */
export function dnsAnswer(id: number, name: string, addresses: string[]): Uint8Array {
  const labels = name.split(".").map((l) => new TextEncoder().encode(l));
  const qname = new Uint8Array(labels.reduce((n, l) => n + 1 + l.length, 1));
  let o = 0;
  for (const l of labels) {
    qname[o++] = l.length;
    qname.set(l, o);
    o += l.length;
  }
  const out = new Uint8Array(12 + qname.length + 4 + addresses.length * 16);
  const v = new DataView(out.buffer);
  v.setUint16(0, id);
  v.setUint16(2, 0x8180);
  v.setUint16(4, 1);
  v.setUint16(6, addresses.length);
  out.set(qname, 12);
  o = 12 + qname.length;
  v.setUint16(o, 1);
  v.setUint16(o + 2, 1);
  o += 4;
  for (const a of addresses) {
    v.setUint16(o, 0xc00c);
    v.setUint16(o + 2, 1);
    v.setUint16(o + 4, 1);
    v.setUint32(o + 6, 300);
    v.setUint16(o + 10, 4);
    v.setUint32(o + 12, ip(a));
    o += 16;
  }
  return out;
}

/**
 * The demo capture: a laptop on 192.168.1.20 resolves and visits three sites over TCP, asks an
 * NTP server over UDP, pings one host, and talks to an unnamed address.
 * Returns the number of packets written.
 */
export async function writeDemoCapture(path: string): Promise<number> {
  const w = new PcapWriter();
  const me = "192.168.1.20";
  const resolver = "192.168.1.1";
  let t = 1_700_000_000_000_000;
  const step = (us: number) => (t += us);
  const sites: [string, string, number][] = [
    ["www.example.com", "93.184.216.34", 443],
    ["news.example.org", "151.101.1.69", 443],
    ["api.example.net", "104.16.132.229", 80],
  ];
  sites.forEach(([name, addr, port], i) => {
    w.record(step(1500), frame("udp", me, 51000 + i, resolver, 53, 0));
    w.record(step(9000), frame("udp", resolver, 53, me, 51000 + i, dnsAnswer(i + 1, name, [addr])));
    const sport = 50100 + i;
    w.record(step(400), frame("tcp", me, sport, addr, port));
    w.record(step(30000), frame("tcp", addr, port, me, sport));
    for (let k = 0; k < 4; k++) {
      w.record(step(2000), frame("tcp", me, sport, addr, port, 300 + 100 * k));
      w.record(step(25000), frame("tcp", addr, port, me, sport, 1400));
    }
  });
  w.record(step(5000), frame("udp", me, 123, "162.159.200.1", 123, 48));
  w.record(step(20000), frame("udp", "162.159.200.1", 123, me, 123, 48));
  for (let k = 0; k < 3; k++) {
    w.record(step(1_000_000), frame("icmp", me, 0, "93.184.216.34", 0, 56));
    w.record(step(12000), frame("icmp", "93.184.216.34", 0, me, 0, 56));
  }
  w.record(step(7000), frame("tcp", me, 50200, "198.51.99.7", 8443));
  w.record(step(7000), frame("tcp", "198.51.99.7", 8443, me, 50200, 60));
  await Deno.writeFile(path, w.bytes());
  return w.packets;
}
