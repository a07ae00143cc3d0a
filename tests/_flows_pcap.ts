/**
 * Fixtures for the flow tests, built in code beside tests/_pcap.ts (whose IPv4 and Ethernet
 * builders they use): IPv6 with extension headers, transport headers for either IP version,
 * and every tunnel the flow engine opens (GRE and its variants, VXLAN, Geneve, Teredo, GTP-U,
 * MPLS, PPPoE, 802.11 for Aruba), plus helpers that run the flow engine on the bytes.
 * @module
 */
import { createCipheriv, createHmac } from "node:crypto";
import { flowsOf } from "../io/flows.ts";
import type { Flow, FlowOptions, FlowSummary } from "../secflow/flows/types.ts";
import { cat, ether, ipv4, pcap, T0 } from "./_pcap.ts";

function u16(n: number): number[] {
  return [(n >> 8) & 255, n & 255];
}

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** The 16 bytes of an IPv6 address (full or with `::`). */
export function ip6Bytes(addr: string): number[] {
  const [head, tail] = addr.includes("::") ? addr.split("::") : [addr, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t];
  if (tail === undefined && h.length !== 8) throw new Error(`bad address ${addr}`);
  return groups.flatMap((g) => u16(parseInt(g, 16)));
}

/** A TCP header (20 bytes) and payload. */
export function tcpSegment(
  sp: number,
  dp: number,
  flags = 0x18,
  payload: Uint8Array = new Uint8Array(),
): Uint8Array {
  return cat([
    ...u16(sp),
    ...u16(dp),
    ...u32(1000),
    ...u32(0),
    0x50,
    flags,
    ...u16(65535),
    0,
    0,
    0,
    0,
  ], payload);
}

/** A UDP header and payload. */
export function udpDatagram(
  sp: number,
  dp: number,
  payload: Uint8Array = new Uint8Array(),
): Uint8Array {
  return cat([...u16(sp), ...u16(dp), ...u16(8 + payload.length), 0, 0], payload);
}

/** An ICMP or ICMPv6 message header (8 bytes) and payload. */
export function icmpMessage(
  type: number,
  code = 0,
  payload: Uint8Array = new Uint8Array(),
): Uint8Array {
  return cat([type, code, 0, 0, 0, 1, 0, 1], payload);
}

/** An SCTP common header and one empty chunk. */
export function sctpPacket(sp: number, dp: number): Uint8Array {
  return Uint8Array.from([...u16(sp), ...u16(dp), 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 4]);
}

/** An IPv6 extension header: next header, length, body padded to 8-byte units. */
export function ext6(next: number, body: number[] = [0, 0, 0, 0, 0, 0]): number[] {
  const len = body.length + 2;
  const pad = (8 - (len % 8)) % 8;
  return [next, (len + pad) / 8 - 1, ...body, ...new Array(pad).fill(0)];
}

/** An IPv6 fragment header. */
export function frag6(next: number, offset8: number, more: boolean, id: number): number[] {
  return [next, 0, ...u16((offset8 << 3) | (more ? 1 : 0)), ...u32(id)];
}

/** An IPv6 packet: `next` is the first next-header value, `headers` the extension bytes. */
export function ipv6(
  o: {
    src: string;
    dst: string;
    next: number;
    body: Uint8Array;
    headers?: number[];
    payloadLength?: number;
  },
): Uint8Array {
  const rest = cat(o.headers ?? [], o.body);
  return cat(
    [0x60, 0, 0, 0, ...u16(o.payloadLength ?? rest.length), o.next, 64],
    ip6Bytes(o.src),
    ip6Bytes(o.dst),
    rest,
  );
}

/** An IPv4 packet around a transport body. */
export function ip4(src: string, dst: string, proto: number, body: Uint8Array): Uint8Array {
  return ipv4({ src, dst, proto, body });
}

/** A GRE packet body: flags (C/K/S), version, protocol type, optional key and sequence. */
export function gre(
  ptype: number,
  inner: Uint8Array,
  o: { key?: number; seq?: number; version?: number; ack?: number } = {},
): Uint8Array {
  let flags = o.version ?? 0;
  const extra: number[] = [];
  if (o.key !== undefined) {
    flags |= 0x2000;
    extra.push(...u32(o.key));
  }
  if (o.seq !== undefined) {
    flags |= 0x1000;
    extra.push(...u32(o.seq));
  }
  if (o.ack !== undefined) {
    flags |= 0x0080;
    extra.push(...u32(o.ack));
  }
  return cat([...u16(flags), ...u16(ptype)], extra, inner);
}

/** Enhanced GRE (PPTP): version 1, PPP with HDLC address/control, IPv4 inside. */
export function pptp(callId: number, ip: Uint8Array): Uint8Array {
  return cat(
    [...u16(0x3001), ...u16(0x880b), ...u16(ip.length + 4), ...u16(callId), ...u32(7)],
    [0xff, 0x03, 0x00, 0x21],
    ip,
  );
}

/** An ERSPAN type II header (8 bytes) before an Ethernet frame; GRE with a sequence number. */
export function erspan2(session: number, frame: Uint8Array): Uint8Array {
  return gre(0x88be, cat([0x10, 0, ...u16(session & 0x3ff), 0, 0, 0, 0], frame), { seq: 1 });
}

/** An ERSPAN type III header (12 bytes) before an Ethernet frame. */
export function erspan3(session: number, frame: Uint8Array): Uint8Array {
  return gre(0x22eb, cat([0x20, 0, ...u16(session & 0x3ff), 0, 0, 0, 0, 0, 0, 0, 0], frame), {
    seq: 1,
  });
}

/** An 802.11 QoS data frame with LLC/SNAP (Aruba's GRE carries these). */
export function wlanData(payload: Uint8Array, etype = 0x0800): Uint8Array {
  return cat(
    [0x88, 0x01, 0, 0], // QoS data, to-DS
    new Array(18).fill(2), // three addresses
    [0, 0], // sequence
    [0, 0], // QoS control
    [0xaa, 0xaa, 0x03, 0, 0, 0, ...u16(etype)],
    payload,
  );
}

/** A VXLAN header and an inner Ethernet frame. */
export function vxlan(vni: number, frame: Uint8Array): Uint8Array {
  return cat([0x08, 0, 0, 0, (vni >> 16) & 255, (vni >> 8) & 255, vni & 255, 0], frame);
}

/** A Geneve header (with one 8-byte option) and an inner Ethernet frame. */
export function geneve(vni: number, frame: Uint8Array): Uint8Array {
  return cat(
    [0x02, 0, 0x65, 0x58, (vni >> 16) & 255, (vni >> 8) & 255, vni & 255, 0],
    [0x01, 0x02, 0x03, 0x01, 0, 0, 0, 0],
    frame,
  );
}

/** A GTPv1-U G-PDU header (TEID) and an inner IP packet. */
export function gtpu(teid: number, ip: Uint8Array): Uint8Array {
  return cat([0x30, 0xff, ...u16(ip.length), ...u32(teid)], ip);
}

/** An MPLS label stack (bottom of stack on the last) before an IP packet. */
export function mpls(labels: number[], ip: Uint8Array): Uint8Array {
  return cat(
    labels.flatMap((
      l,
      i,
    ) => [
      (l >> 12) & 255,
      (l >> 4) & 255,
      ((l & 15) << 4) | (i === labels.length - 1 ? 1 : 0),
      64,
    ]),
    ip,
  );
}

/** A PPPoE session header and PPP protocol field before an IP packet. */
export function pppoe(session: number, ip: Uint8Array, v6 = false): Uint8Array {
  return cat([0x11, 0, ...u16(session), ...u16(ip.length + 2), ...u16(v6 ? 0x57 : 0x21)], ip);
}

/** A TLS ClientHello record naming `sni`. */
export function clientHello(sni: string): Uint8Array {
  const name = new TextEncoder().encode(sni);
  const ext = [
    0,
    0,
    ...u16(name.length + 5),
    ...u16(name.length + 3),
    0,
    ...u16(name.length),
    ...name,
  ];
  const other = [0, 0x0b, 0, 2, 1, 0]; // ec_point_formats, before server_name
  const body = [
    3,
    3,
    ...new Array(32).fill(7), // version, random
    0, // session id
    0,
    2,
    0x13,
    0x01, // cipher suites
    1,
    0, // compression
    ...u16(other.length + ext.length),
    ...other,
    ...ext,
  ];
  const hs = [1, 0, ...u16(body.length), ...body];
  return Uint8Array.from([0x16, 3, 1, ...u16(hs.length), ...hs]);
}

/** An HTTP/1 request head. */
export function httpRequest(host: string, path = "/secret?token=1"): Uint8Array {
  return new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nUser-Agent: t\r\nHost: ${host}\r\n\r\n`);
}

/** Ethernet frames (or other link-layer frames) at 1 ms steps from T0, as a pcap. */
export function framesPcap(frames: Uint8Array[], linkType = 1, step = 1000): Uint8Array {
  return pcap(frames.map((data, i) => ({ us: T0 + i * step, data })), { linkType });
}

/** Ethernet around IPv6. */
export function ether6(ip: Uint8Array): Uint8Array {
  return ether(ip, 0x86dd);
}

/** Runs the flow engine over a capture's bytes: the flows in start order and the summary. */
export async function flowsOfBytes(
  bytes: Uint8Array,
  options: FlowOptions = {},
): Promise<{ flows: Flow[]; summary: FlowSummary }> {
  const flows: Flow[] = [];
  const it = flowsOf(bytes, "t.pcap", { streaming: false, ...options });
  while (true) {
    const r = await it.next();
    if (r.done) return { flows, summary: r.value };
    flows.push(r.value);
  }
}

/** A flow in one line for assertions: `proto src:sp > dst:dp pkts/pkts verdict [tunnel]`. */
export function line(f: Flow): string {
  const t = f.tunnel.map((h) => h.kind).join("/");
  return `${f.transport} ${f.srcIp}:${f.srcPort} > ${f.dstIp}:${f.dstPort} ${f.srcPackets}/${f.dstPackets} ${f.sample}${
    t ? ` [${t}]` : ""
  }`;
}

/**
 * A QUIC version 1 client Initial packet whose CRYPTO frame holds a ClientHello naming `sni`,
 * encrypted and header-protected as RFC 9001 says (keys from the Destination Connection ID),
 * padded to 1200 bytes.
 */
export function quicInitial(
  sni: string,
  dcid = Uint8Array.fromHex("8394c8f03e515708"),
): Uint8Array {
  const hello = clientHello(sni).subarray(5); // the handshake message, without its TLS record
  const crypto = [0x06, 0x00, 0x40 | (hello.length >> 8), hello.length & 255, ...hello];
  const hmac = (key: Uint8Array, data: Uint8Array) =>
    new Uint8Array(createHmac("sha256", key).update(data).digest());
  const label = (secret: Uint8Array, name: string, length: number) => {
    const full = new TextEncoder().encode(`tls13 ${name}`);
    return hmac(secret, Uint8Array.from([length >> 8, length & 255, full.length, ...full, 0, 1]))
      .subarray(0, length);
  };
  const client = label(
    hmac(Uint8Array.fromHex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), dcid),
    "client in",
    32,
  );
  const key = label(client, "quic key", 16), iv = label(client, "quic iv", 12);
  const hp = label(client, "quic hp", 16);
  const pnLen = 2;
  const payloadLength = 1200 - 60; // plaintext + tag, padded
  const plain = new Uint8Array(payloadLength - 16);
  plain.set(crypto);
  const length = pnLen + payloadLength;
  const header = Uint8Array.from([
    0xc0 | (pnLen - 1),
    0,
    0,
    0,
    1,
    dcid.length,
    ...dcid,
    0, // no source connection id
    0, // no token
    0x40 | (length >> 8),
    length & 255,
    0,
    0, // packet number 0
  ]);
  const gcm = createCipheriv("aes-128-gcm", key, iv);
  gcm.setAAD(header);
  const sealed = cat(gcm.update(plain), gcm.final(), gcm.getAuthTag());
  const packet = cat(header, sealed);
  const pnAt = header.length - pnLen;
  const ecb = createCipheriv("aes-128-ecb", hp, null);
  const mask = new Uint8Array(ecb.update(packet.subarray(pnAt + 4, pnAt + 20)));
  packet[0] ^= mask[0] & 0x0f;
  for (let i = 0; i < pnLen; i++) packet[pnAt + i] ^= mask[1 + i];
  return packet;
}
