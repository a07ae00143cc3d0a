/**
 * Link-layer and IPv4/TCP/UDP decoding, and acceptance point 2: VLAN, QinQ, SLL, SLL2, raw-IP and
 * null/loopback copies of a capture give exactly the Secflows of the Ethernet original.
 */
import assert from "node:assert/strict";
import { Decoded, PacketDecoder } from "../../secflow/decode.ts";
import {
  bsdNull,
  cat,
  dnsMessage,
  ether,
  fragment,
  icmp,
  ipv4,
  LINK_VARIANTS,
  loop,
  pcapng,
  pcapOf,
  type Pkt,
  qinq,
  sll,
  sll2,
  T0,
  tcp,
  tcpDns,
  tsUnits,
  udp,
  vlan,
} from "../_pcap.ts";
import { brief, convertBytes, convertFull } from "../_pcap.ts";

function dec(frame: Uint8Array, linkType: number, caplen = frame.length) {
  const d = new PacketDecoder();
  // Place the frame at a non-zero offset inside a bigger buffer to prove offsets are honoured.
  const buf = cat(new Uint8Array(7).fill(0xee), frame, new Uint8Array(5).fill(0xee));
  const status = d.decode(buf, 7, caplen, linkType);
  return { status, d, base: 7 };
}

const TCP = tcp({ src: "10.1.2.3", dst: "93.184.216.34", sp: 51000, dp: 443, payload: 100 });

Deno.test("decode: every link type finds the IPv4 header, addresses, ports and payload", () => {
  const headerLen: Record<string, number> = {
    "Ethernet": 14,
    "802.1Q": 18,
    "QinQ": 22,
    "SLL": 16,
    "SLL2": 20,
    "raw 101": 0,
    "raw 228": 0,
    "raw 12": 0,
    "raw 14": 0,
    "null LE": 4,
    "null BE": 4,
    "loop": 4,
  };
  for (const v of LINK_VARIANTS) {
    const { status, d, base } = dec(v.wrap(TCP), v.linkType);
    assert.equal(status, Decoded.IPv4, v.name);
    assert.equal(d.ipOffset, base + headerLen[v.name], v.name);
    assert.equal(d.src, 0x0a010203, v.name);
    assert.equal(d.dst, 0x5db8d822, v.name);
    assert.equal(d.protocol, 6);
    assert.equal(d.hasPorts, true);
    assert.equal(d.srcPort, 51000);
    assert.equal(d.dstPort, 443);
    assert.equal(d.payloadBytes, 100);
    assert.equal(d.payloadOffset, d.ipOffset + 40);
  }
});

Deno.test("decode: non-IPv4 frames of every link type are NotIPv4", () => {
  const v6 = cat([0x60, 0, 0, 0, 0, 8, 17, 64], new Uint8Array(32 + 8));
  const cases: [string, Uint8Array, number][] = [
    ["ARP", ether(new Uint8Array(28), 0x0806), 1],
    ["IPv6 ethertype", ether(v6, 0x86dd), 1],
    ["VLAN with IPv6 inside", cat(vlan(v6).subarray(0, 16), [0x86, 0xdd], v6), 1],
    ["SLL IPv6", sll(v6, 0x86dd), 113],
    ["SLL2 IPv6", sll2(v6, 0x86dd), 276],
    ["raw IPv6", v6, 101],
    ["raw 228 IPv6", v6, 228],
    ["null AF_INET6 (24)", bsdNull(v6, true, 24), 0],
    ["null AF_INET6 (30) BE", bsdNull(v6, false, 30), 0],
    ["loop AF_INET6", loop(v6, 24), 108],
    ["Ethernet IPv4 ethertype but version 6", ether(v6), 1],
    ["short Ethernet", new Uint8Array(10), 1],
  ];
  for (const [name, frame, link] of cases) {
    assert.equal(dec(frame, link).status, Decoded.NotIPv4, name);
  }
});

Deno.test("decode: unknown link types are reported as such", () => {
  assert.equal(dec(ether(TCP), 105).status, Decoded.UnknownLink);
  assert.equal(dec(ether(TCP), 127).status, Decoded.UnknownLink);
});

Deno.test("decode: legacy 0x9100 tag and stacked tags", () => {
  const frame = cat(ether(new Uint8Array(0), 0x9100).subarray(0, 14), [
    0,
    5,
    0x81,
    0x00,
    0,
    6,
    0x08,
    0x00,
  ], TCP);
  const { status, d, base } = dec(frame, 1);
  assert.equal(status, Decoded.IPv4);
  assert.equal(d.ipOffset, base + 22);
});

Deno.test("decode: packets too short for the fields read are Truncated", () => {
  assert.equal(dec(ether(TCP.subarray(0, 19)), 1).status, Decoded.Truncated, "IPv4 header cut");
  // TCP: the data offset (byte 12 of the TCP header) must be there.
  assert.equal(dec(ether(TCP.subarray(0, 32)), 1).status, Decoded.Truncated, "TCP header cut");
  assert.equal(dec(ether(TCP.subarray(0, 33)), 1).status, Decoded.IPv4, "TCP data offset present");
  const U = udp({ src: "10.1.2.3", dst: "8.8.8.8", sp: 1234, dp: 53, payload: 30 });
  assert.equal(dec(ether(U.subarray(0, 25)), 1).status, Decoded.Truncated, "UDP length cut");
  assert.equal(dec(ether(U.subarray(0, 26)), 1).status, Decoded.IPv4, "UDP length present");
  // IHL larger than what was captured.
  const withOptions = ipv4({
    src: "1.2.3.4",
    dst: "5.6.7.8",
    proto: 1,
    body: new Uint8Array(8),
    options: [1, 1, 1, 1, 1, 1, 1, 1],
  });
  assert.equal(dec(withOptions.subarray(0, 24), 101).status, Decoded.Truncated);
});

Deno.test("decode: payload bytes come from the headers, not the captured length", () => {
  const t = tcp({
    src: "10.1.2.3",
    dst: "93.184.216.34",
    sp: 51000,
    dp: 443,
    payload: 1000,
    dataOffset: 32,
  });
  const { d } = dec(ether(t), 1, 14 + 20 + 14); // snaplen cut inside the TCP header's options
  assert.equal(d.payloadBytes, 1000);
  const u = udp({ src: "10.1.2.3", dst: "8.8.8.8", sp: 1234, dp: 999, payload: 700 });
  const r = dec(ether(u), 1, 14 + 28);
  assert.equal(r.status, Decoded.IPv4);
  assert.equal(r.d.payloadBytes, 700);
  // IP options shift the transport header.
  const opt = ipv4({
    src: "10.1.2.3",
    dst: "8.8.8.8",
    proto: 17,
    body: cat([0x04, 0xd2, 0x03, 0xe7, 0, 20, 0, 0], new Uint8Array(12)),
    options: [1, 1, 1, 1],
  });
  const o = dec(opt, 228);
  assert.equal(o.d.srcPort, 1234);
  assert.equal(o.d.dstPort, 999);
  assert.equal(o.d.payloadBytes, 12);
});

Deno.test("decode: ports are read only from unfragmented packets and first fragments", () => {
  const first = udp({ src: "10.1.2.3", dst: "8.8.8.8", sp: 445, dp: 5000, payload: 100, mf: true });
  const f = dec(first, 101);
  assert.equal(f.d.hasPorts, true);
  assert.equal(f.d.srcPort, 445);
  const later = fragment({
    src: "10.1.2.3",
    dst: "8.8.8.8",
    proto: 17,
    body: [0x01, 0xbd, 0x13, 0x88, 0, 20, 0, 0],
    fragOffset: 185,
  });
  const l = dec(later, 101);
  assert.equal(l.status, Decoded.IPv4);
  assert.equal(l.d.hasPorts, false);
  assert.equal(l.d.payloadBytes, 0);
});

// ---------------------------------------------------------------------------------------------
// Acceptance 2

const S = 1_000_000;

/** A multi-session capture: UDP, TCP, ICMP both ways, DNS over UDP and TCP, naming. */
export function multiSession(): Pkt[] {
  const h = "10.0.0.5";
  const p: Pkt[] = [];
  const at = (s: number, ip: Uint8Array) => p.push({ us: T0 + Math.round(s * S), ip });
  at(0.1, udp({ src: h, dst: "8.8.8.8", sp: 40000, dp: 53, payload: 29 }));
  at(
    0.12,
    udp({
      src: "8.8.8.8",
      dst: h,
      sp: 53,
      dp: 40000,
      payload: dnsMessage({
        qname: "www.Example.com",
        qtype: 1,
        answers: [{ type: 5, data: "edge.example.net" }, {
          type: 1,
          owner: "edge.example.net",
          data: "93.184.216.34",
        }],
      }),
    }),
  );
  at(0.2, tcp({ src: h, dst: "93.184.216.34", sp: 50000, dp: 443, payload: 0, flags: 2 }));
  at(0.25, tcp({ src: "93.184.216.34", dst: h, sp: 443, dp: 50000, payload: 0, flags: 0x12 }));
  at(0.3, tcp({ src: h, dst: "93.184.216.34", sp: 50000, dp: 443, payload: 517 }));
  at(0.4, tcp({ src: "93.184.216.34", dst: h, sp: 443, dp: 50000, payload: 1400, dataOffset: 32 }));
  at(0.5, udp({ src: h, dst: "1.1.1.1", sp: 50001, dp: 123, payload: 48 }));
  at(0.55, udp({ src: "1.1.1.1", dst: h, sp: 123, dp: 50001, payload: 48 }));
  at(0.6, icmp({ src: h, dst: "1.1.1.1" }));
  at(0.61, icmp({ src: "1.1.1.1", dst: h, type: 0 }));
  at(0.7, icmp({ src: "198.51.99.7", dst: h }));
  // DNS over TCP from an external resolver.
  const m = dnsMessage({
    qname: "Mail.Example.COM",
    qtype: 1,
    answers: [{ type: 1, data: "151.101.1.1" }],
  });
  at(0.8, tcp({ src: "9.9.9.9", dst: h, sp: 53, dp: 50100, payload: tcpDns(m) }));
  at(0.9, tcp({ src: h, dst: "151.101.1.1", sp: 50200, dp: 25, payload: 20 }));
  at(1.0, tcp({ src: "151.101.1.1", dst: h, sp: 25, dp: 50200, payload: 80 }));
  // Unnamed external, a blocked port, a local pair, a tiny (20-byte) IPv4 packet.
  at(1.1, udp({ src: h, dst: "4.4.4.4", sp: 5000, dp: 6000, payload: 10 }));
  at(1.2, udp({ src: h, dst: "4.4.4.4", sp: 5353, dp: 5353, payload: 10 }));
  at(1.3, tcp({ src: h, dst: "10.0.0.6", sp: 50300, dp: 22, payload: 10 }));
  at(1.4, ipv4({ src: h, dst: "4.4.4.4", proto: 6, body: new Uint8Array(0) }));
  return p;
}

Deno.test("acceptance 2: every link-layer copy gives exactly the Ethernet original's Secflows", async () => {
  const packets = multiSession();
  const ref = await convertBytes(pcapOf(packets, LINK_VARIANTS[0]));
  assert.ok(ref);
  assert.equal(ref.trafficDate, "1700000000.1");
  // The original itself is meaningful: named, unnamed, TCP, UDP, ICMP both directions.
  const dsts = ref.flashes.map((f) => f.dst);
  assert.ok(dsts.includes("www.Example.com:443"), dsts.join());
  assert.ok(dsts.includes("Mail.Example.COM:25"), dsts.join());
  assert.ok(ref.flashes.some((f) => f.protocolInformation === "ICMP"));
  assert.deepEqual(ref.flashes.map((f) => `${brief(f)} ${f.relativeStart} ${f.duration}`), [
    "10.0.0.5:40000 > 8.8.8.8:53 original 1/29 1/95 0 0.02",
    "10.0.0.5:50000 > www.Example.com:443 passive 2/517 2/1400 0.1 0.2",
    "10.0.0.5:50001 > 1.1.1.1:123 original 1/48 1/48 0.4 0.05",
    "10.0.0.5 > 1.1.1.1 original 1/0 1/0 0.5 0.01",
    "10.0.0.5 > 198.51.99.7 original 0/0 1/0 0.6 0",
    "10.0.0.5:50100 > 9.9.9.9:53 original 0/0 1/52 0.7 0",
    "10.0.0.5:50200 > Mail.Example.COM:25 passive 1/20 1/80 0.8 0.1",
    "4.4.4.4:6000 > 10.0.0.5:5000 original 0/0 1/10 1 0",
  ]);
  for (const v of LINK_VARIANTS.slice(1)) {
    const got = await convertBytes(pcapOf(packets, v));
    assert.ok(got, v.name);
    assert.equal(got.trafficDate, ref.trafficDate, v.name);
    assert.deepEqual(got.flashes, ref.flashes, v.name);
  }
});

Deno.test("acceptance 2: a pcapng mixing every link type across interfaces equals the original", async () => {
  const packets = multiSession();
  const ref = await convertBytes(pcapOf(packets));
  const bytes = pcapng([{
    interfaces: LINK_VARIANTS.map((v, i) => ({
      linkType: v.linkType,
      tsresol: i % 2 ? 9 : undefined,
    })),
    blocks: packets.map((p, i) => {
      const k = i % LINK_VARIANTS.length;
      return {
        kind: "epb" as const,
        iface: k,
        ts: tsUnits(p.us, k % 2 ? 9 : undefined, 123),
        data: LINK_VARIANTS[k].wrap(p.ip),
      };
    }),
  }]);
  const got = await convertBytes(bytes, "t.pcapng");
  assert.ok(got && ref);
  assert.equal(got.trafficDate, ref.trafficDate);
  assert.deepEqual(got.flashes, ref.flashes);
});

Deno.test("acceptance 2: QinQ with a legacy 0x9100 outer tag", async () => {
  const packets = multiSession();
  const ref = await convertBytes(pcapOf(packets));
  const legacy = {
    name: "9100",
    linkType: 1,
    wrap: (ip: Uint8Array) => {
      const q = qinq(ip);
      q[12] = 0x91;
      q[13] = 0x00;
      return q;
    },
  };
  const got = await convertBytes(pcapOf(packets, legacy));
  assert.deepEqual(got?.flashes, ref?.flashes);
});

Deno.test("unknown link types: packets skipped with one warning per link type", async () => {
  const bytes = pcapng([{
    interfaces: [{ linkType: 1 }, { linkType: 147 }],
    blocks: multiSession().map((p, i) => ({
      kind: "epb" as const,
      iface: i % 2,
      ts: BigInt(p.us),
      data: ether(p.ip),
    })),
  }]);
  const r = await convertFull(bytes, "mixed.pcapng");
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0], /^mixed\.pcapng: skipped 9 packets of link type 147/);
  assert.equal(r.analysis.stats.unknownLink, 9);
});

Deno.test("decode: headers claiming less than themselves count zero payload, never negative", () => {
  const d = new PacketDecoder();
  /** An Ethernet frame of `bytes` holding IPv4 with total length `total` and protocol `proto`. */
  const ipv4Frame = (bytes: number, total: number, proto: number) => {
    const frame = new Uint8Array(bytes);
    frame[12] = 0x08;
    frame[14] = 0x45;
    frame[17] = total;
    frame[23] = proto;
    return frame;
  };
  // IPv4 total length 30 < 20 + 20 (TCP header): offloaded or corrupt.
  const tcp = ipv4Frame(14 + 40, 30, 6);
  tcp[14 + 20 + 12] = 0x50;
  assert.equal(d.decode(tcp, 0, tcp.length, 1), Decoded.IPv4);
  assert.equal(d.payloadBytes, 0);
  // UDP length 4 < the 8-byte header.
  const udp = ipv4Frame(14 + 28, 28, 17);
  udp[14 + 20 + 5] = 4;
  assert.equal(d.decode(udp, 0, udp.length, 1), Decoded.IPv4);
  assert.equal(d.payloadBytes, 0);
});
