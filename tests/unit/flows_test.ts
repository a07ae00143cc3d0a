/**
 * The flow engine on captures built in code: bidirectional flows and their initiator, IPv6 with
 * extension headers and fragments, ICMP request/reply pairs, Community ID against the
 * specification's vectors, names (DNS as Secflows choose them, TLS SNI, HTTP Host, no path), the
 * platform's verdict checked against the real converter on the same bytes, every tunnel kind
 * with its carrier, hostile nesting and lengths, a flood of flows against the table's limit,
 * streaming against all-at-the-end, Zeek conn.log rows, and the CLI's outputs.
 */
import assert from "node:assert/strict";
import { communityId } from "../../secflow/flows/community_id.ts";
import { flowEcs } from "../../secflow/flows/format.ts";
import { zeekFlows } from "../../io/flows.ts";
import { cat, chunks, convertBytes, dnsA, ether, pcap, qinq, T0, tcp, udp } from "../_pcap.ts";
import {
  clientHello,
  erspan2,
  erspan3,
  ether6,
  ext6,
  flowsOfBytes,
  frag6,
  framesPcap,
  geneve,
  gre,
  gtpu,
  httpRequest,
  icmpMessage,
  ip4,
  ipv6,
  line,
  mpls,
  pppoe,
  pptp,
  quicInitial,
  sctpPacket,
  tcpSegment,
  udpDatagram,
  vxlan,
  wlanData,
} from "../_flows_pcap.ts";
import { cli } from "../zeek_fixtures.ts";
import type { Flow } from "../../secflow/flows/types.ts";

const C6 = "2001:db8::10", S6 = "2001:db8:1::20";
const text = (t: string) => new TextEncoder().encode(t);
const SYN = 0x02, SYNACK = 0x12, ACK = 0x10, PSHACK = 0x18, FINACK = 0x11;

Deno.test("Community ID matches the specification's test vectors, both directions", () => {
  const vectors: [string, string, number, number, number, string][] = [
    ["128.232.110.120", "66.35.250.204", 6, 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="],
    ["66.35.250.204", "128.232.110.120", 6, 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="],
    ["8.8.8.8", "192.168.1.52", 17, 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="],
    ["192.168.170.8", "192.168.170.56", 132, 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="],
    ["192.168.0.89", "192.168.0.1", 1, 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="],
    ["192.168.0.1", "192.168.0.89", 1, 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="],
    ["fe80::260:97ff:fe07:69ea", "ff02::1", 58, 134, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00="],
    [
      "2001:470:e5bf:dead:4957:2174:e82c:4887",
      "2607:f8b0:400c:c03::1a",
      6,
      63943,
      25,
      "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
    ],
  ];
  for (const [s, d, p, sp, dp, want] of vectors) {
    assert.equal(communityId(s, d, p, sp, dp), want, `${s} ${d} ${p} ${sp} ${dp}`);
  }
});

Deno.test("a TCP connection over IPv6 with hop-by-hop, routing and destination options is one flow, its SYN's sender the source", async () => {
  // Hop-by-hop (router alert), then routing, then destination options, then TCP.
  const hbh = ext6(43, [5, 2, 0, 0, 1, 0]);
  const headers = [...ext6(60), ...ext6(6, [1, 4, 0, 0, 0, 0])];
  const pkt = (src: string, dst: string, sp: number, dp: number, flags: number, n = 0) =>
    ether6(ipv6({
      src,
      dst,
      next: 0,
      headers: [...hbh, ...headers],
      body: tcpSegment(sp, dp, flags, new Uint8Array(n)),
    }));
  const { flows } = await flowsOfBytes(framesPcap([
    pkt(C6, S6, 50000, 443, SYN),
    pkt(S6, C6, 443, 50000, SYNACK),
    pkt(C6, S6, 50000, 443, PSHACK, 100),
    pkt(S6, C6, 443, 50000, PSHACK, 300),
  ]));
  assert.deepEqual(flows.map(line), [`tcp ${C6}:50000 > ${S6}:443 2/2 ipv6`]);
  const f = flows[0];
  assert.equal(f.ipVersion, 6);
  assert.equal(f.srcBytes, 100);
  assert.equal(f.dstBytes, 300);
  assert.equal(f.srcIpBytes, 2 * (40 + 24 + 20) + 100);
  assert.equal(f.communityId, communityId(C6, S6, 6, 50000, 443));
  assert.equal(f.startTime, "2023-11-14T22:13:20.000000Z");
  assert.equal(f.endTime, "2023-11-14T22:13:20.003000Z");
  assert.equal(f.duration, 3000);
});

Deno.test("the initiator is the SYN's sender even when the SYN-ACK comes first, else the first packet's sender", async () => {
  const { flows } = await flowsOfBytes(framesPcap([
    ether(tcp({ src: "93.184.216.34", dst: "10.0.0.2", sp: 443, dp: 50000, flags: SYNACK })),
    ether(tcp({ src: "10.0.0.2", dst: "93.184.216.34", sp: 50000, dp: 443, flags: ACK })),
    ether(udp({ src: "10.0.0.3", dst: "10.0.0.4", sp: 7000, dp: 7001, payload: 4 })),
    ether(udp({ src: "10.0.0.4", dst: "10.0.0.3", sp: 7001, dp: 7000, payload: 4 })),
  ]));
  assert.deepEqual(flows.map(line), [
    "tcp 10.0.0.2:50000 > 93.184.216.34:443 1/1 kept",
    "udp 10.0.0.3:7000 > 10.0.0.4:7001 1/1 lan-internal",
  ]);
});

Deno.test("a closed TCP connection that sees a new SYN is a new flow, as in Zeek", async () => {
  const c = "10.0.0.2", s = "93.184.216.34";
  const seg = (from: string, flags: number) =>
    ether(
      from === c
        ? tcp({ src: c, dst: s, sp: 50000, dp: 80, flags })
        : tcp({ src: s, dst: c, sp: 80, dp: 50000, flags }),
    );
  const { flows } = await flowsOfBytes(framesPcap([
    seg(c, SYN),
    seg(s, SYNACK),
    seg(c, FINACK),
    seg(s, FINACK),
    seg(c, ACK),
    seg(c, SYN),
    seg(s, SYNACK),
  ]));
  assert.deepEqual(flows.map(line), [
    "tcp 10.0.0.2:50000 > 93.184.216.34:80 3/2 kept",
    "tcp 10.0.0.2:50000 > 93.184.216.34:80 1/1 kept",
  ]);
  assert.equal(flows[0].tcpFlags?.fin, true);
  // A half-close (FIN one way) keeps the connection open, as Zeek does: the other side's data and
  // FIN four minutes later are the same flow (Zeek's pppoe-over-qinq.pcap). Closed both ways, a
  // packet more than 5 s later (tcp_close_delay) is a new flow.
  const at = (us: number, from: string, flags: number) => ({ us: T0 + us, data: seg(from, flags) });
  const flowsOf = async (packets: ReturnType<typeof at>[]) =>
    (await flowsOfBytes(pcap(packets))).flows;
  const half = await flowsOf([
    at(0, c, SYN),
    at(1e5, s, SYNACK),
    at(38e6, c, FINACK),
    at(273e6, s, ACK),
    at(274e6, s, FINACK),
    at(278e6, s, FINACK),
  ]);
  assert.deepEqual(half.map(line), ["tcp 10.0.0.2:50000 > 93.184.216.34:80 2/4 kept"]);
  // Without the handshake (a capture that began mid-connection), one FIN ends it as Zeek does
  // (Zeek's Teredo.pcap).
  const midway = await flowsOf([
    at(0, c, ACK),
    at(1e5, s, ACK),
    at(1e6, c, FINACK),
    at(9e6, s, ACK),
  ]);
  assert.equal(midway.length, 2);
  const closed = await flowsOf([
    at(0, c, SYN),
    at(1e5, s, SYNACK),
    at(1e6, c, FINACK),
    at(2e6, s, FINACK),
    at(9e6, s, ACK),
  ]);
  assert.deepEqual(closed.map(line), [
    "tcp 10.0.0.2:50000 > 93.184.216.34:80 2/2 kept",
    "tcp 10.0.0.2:50000 > 93.184.216.34:80 0/1 kept", // port 80 names the server
  ]);
});

Deno.test("ICMP and ICMPv6 requests and replies pair into one flow; one-way messages keep type and code", async () => {
  const a = "10.0.0.2", b = "93.184.216.34";
  const n6a = "fe80::1", n6b = "fe80::2";
  const { flows } = await flowsOfBytes(framesPcap([
    ether(ip4(a, b, 1, icmpMessage(8))),
    ether(ip4(b, a, 1, icmpMessage(0))),
    ether(ip4(a, b, 1, icmpMessage(13))),
    ether(ip4(b, a, 1, icmpMessage(14))),
    ether(ip4(b, a, 1, icmpMessage(3, 3, new Uint8Array(28)))),
    ether6(ipv6({ src: n6a, dst: n6b, next: 58, body: icmpMessage(135) })),
    ether6(ipv6({ src: n6b, dst: n6a, next: 58, body: icmpMessage(136) })),
    ether6(ipv6({ src: n6a, dst: n6b, next: 58, body: icmpMessage(128) })),
    ether6(ipv6({ src: n6b, dst: n6a, next: 58, body: icmpMessage(129) })),
  ]));
  assert.deepEqual(flows.map(line), [
    `icmp ${a}:8 > ${b}:0 1/1 kept`,
    `icmp ${a}:13 > ${b}:14 1/1 kept`,
    `icmp ${b}:3 > ${a}:3 1/0 kept`,
    `ipv6-icmp ${n6a}:135 > ${n6b}:136 1/1 ipv6`,
    `ipv6-icmp ${n6a}:128 > ${n6b}:129 1/1 ipv6`,
  ]);
  assert.equal(flows[0].communityId, "1:" + communityId(a, b, 1, 8, 0).slice(2));
  assert.equal(flows[2].communityId, communityId(b, a, 1, 3, 3));
});

Deno.test("fragments count as Zeek counts a reassembled datagram: one packet, every fragment's bytes", async () => {
  const a = "10.0.0.2", b = "93.184.216.34";
  const body = udpDatagram(5000, 53, new Uint8Array(1600));
  const first = ether(ip4(a, b, 17, body.subarray(0, 1000)));
  // IPv4 header fields: MF set on the first, offset 125 (1000 bytes) on the second.
  first[14 + 6] = 0x20;
  const second = ether(ip4(a, b, 17, body.subarray(1000)));
  second[14 + 6] = 0;
  second[14 + 7] = 125;
  const v6first = ether6(ipv6({
    src: C6,
    dst: S6,
    next: 44,
    headers: frag6(17, 0, true, 9),
    body: udpDatagram(5000, 53, new Uint8Array(200)).subarray(0, 104),
  }));
  const v6second = ether6(ipv6({
    src: C6,
    dst: S6,
    next: 44,
    headers: frag6(17, 13, false, 9),
    body: new Uint8Array(104),
  }));
  const orphan = ether(ip4(a, b, 17, new Uint8Array(40)));
  orphan[14 + 7] = 200;
  const { flows, summary } = await flowsOfBytes(
    framesPcap([first, second, v6first, v6second, orphan]),
  );
  assert.deepEqual(flows.map(line), [
    `udp ${a}:5000 > ${b}:53 1/0 kept`,
    `udp ${C6}:5000 > ${S6}:53 1/0 ipv6`,
  ]);
  assert.equal(flows[0].fragments, 2);
  assert.equal(flows[0].srcBytes, 1600);
  assert.equal(flows[0].srcIpBytes, 20 + 1608);
  assert.equal(flows[1].srcIpBytes, 40 + 8 + 104 + 104);
  assert.match(summary.warnings.join("\n"), /1 later fragments came without their first/);
});

Deno.test("SCTP and protocols without ports are flows keyed by their addresses", async () => {
  const { flows } = await flowsOfBytes(framesPcap([
    ether(ip4("10.0.0.2", "93.184.216.34", 132, sctpPacket(5000, 7))),
    ether(ip4("10.0.0.2", "93.184.216.34", 89, new Uint8Array(24))),
    ether(ip4("93.184.216.34", "10.0.0.2", 89, new Uint8Array(24))),
  ]));
  assert.deepEqual(flows.map(line), [
    "sctp 10.0.0.2:5000 > 93.184.216.34:7 1/0 not-tcp-udp-icmp",
    "ospf 10.0.0.2:0 > 93.184.216.34:0 1/1 not-tcp-udp-icmp",
  ]);
  assert.equal(flows[1].communityId, communityId("10.0.0.2", "93.184.216.34", 89, 0, 0));
});

Deno.test("names: DNS as Secflows choose them, TLS SNI and HTTP Host from headers; no path or payload kept", async () => {
  const c = "10.0.0.2", s = "93.184.216.34", w = "198.51.100.7";
  const bytes = framesPcap([
    ether(dnsA({ server: "10.0.0.1", client: c, qname: "www.example.com", addrs: [s] })),
    ether(tcp({ src: c, dst: s, sp: 50000, dp: 443, flags: SYN })),
    ether(tcp({ src: c, dst: s, sp: 50000, dp: 443, payload: clientHello("api.example.com") })),
    ether(tcp({ src: c, dst: w, sp: 50001, dp: 80, flags: SYN })),
    ether(tcp({ src: c, dst: w, sp: 50001, dp: 80, payload: httpRequest("web.example:8080") })),
  ]);
  const { flows } = await flowsOfBytes(bytes);
  const byPort = (p: number) => flows.find((f) => f.dstPort === p)!;
  assert.deepEqual(byPort(443).names, [
    { name: "www.example.com", source: "dns" },
    { name: "api.example.com", source: "sni" },
  ]);
  assert.deepEqual(byPort(80).names, [{ name: "web.example:8080", source: "http" }]);
  // HTTP/1 with bare LF line ends, a WebDAV method, several requests on one connection.
  const { flows: dav } = await flowsOfBytes(framesPcap([
    ether(tcp({ src: c, dst: w, sp: 50002, dp: 80, flags: SYN })),
    ether(tcp({
      src: c,
      dst: w,
      sp: 50002,
      dp: 80,
      payload: text("PROPFIND /dav HTTP/1.1\nHost: dav.example\n\n"),
    })),
    ...Array.from(
      { length: 8 },
      () =>
        ether(tcp({ src: c, dst: w, sp: 50002, dp: 80, payload: new Uint8Array(100).fill(0x41) })),
    ),
    ether(tcp({ src: c, dst: w, sp: 50002, dp: 80, payload: httpRequest("second.example") })),
    // A request head cut after its request line: the Host comes in the next segment.
    ether(tcp({ src: c, dst: w, sp: 50002, dp: 80, payload: text("GET / HTTP/1.1\r\n") })),
    ether(tcp({ src: c, dst: w, sp: 50002, dp: 80, payload: text("Host: third.example\r\n\r\n") })),
  ]));
  assert.deepEqual(dav[0].names.map((n) => n.name), [
    "dav.example",
    "second.example",
    "third.example",
  ]);
  // STARTTLS: command lines that start like a request but end in no HTTP version (FTP's AUTH
  // TLS, SMTP's EHLO) are no request head; the ClientHello that follows gives its SNI.
  const { flows: starttls } = await flowsOfBytes(framesPcap([
    ether(tcp({ src: c, dst: w, sp: 50004, dp: 21, flags: SYN })),
    ether(tcp({ src: c, dst: w, sp: 50004, dp: 21, payload: text("FEAT\r\n") })),
    ether(tcp({ src: c, dst: w, sp: 50004, dp: 21, payload: text("AUTH TLS\r\n") })),
    ether(tcp({ src: c, dst: w, sp: 50004, dp: 21, payload: clientHello("ftp.example") })),
    ether(tcp({ src: c, dst: w, sp: 50005, dp: 25, flags: SYN })),
    ether(tcp({ src: c, dst: w, sp: 50005, dp: 25, payload: text("EHLO client.example\r\n") })),
    ether(tcp({ src: c, dst: w, sp: 50005, dp: 25, payload: text("STARTTLS\r\n") })),
    ether(tcp({ src: c, dst: w, sp: 50005, dp: 25, payload: clientHello("mail.example") })),
  ]));
  assert.deepEqual(starttls.map((f) => f.names), [
    [{ name: "ftp.example", source: "sni" }],
    [{ name: "mail.example", source: "sni" }],
  ]);
  // A head whole in one segment is read however odd its request line (as Zeek reads it).
  const { flows: odd } = await flowsOfBytes(framesPcap([
    ether(
      tcp({
        src: c,
        dst: w,
        sp: 50006,
        dp: 80,
        payload: text("GET /HTTP/1.1\nHost: a.example\n\n"),
      }),
    ),
    ether(
      tcp({
        src: c,
        dst: w,
        sp: 50007,
        dp: 80,
        payload: text("PUT / HTTP/1.\nHost: b.example\n\n"),
      }),
    ),
  ]));
  assert.deepEqual(odd.map((f) => f.names.map((n) => n.name)), [["a.example"], ["b.example"]]);
  // QUIC: the ClientHello in a client Initial packet (RFC 9001 keys from the connection id).
  const { flows: quic } = await flowsOfBytes(framesPcap([
    ether(udp({ src: c, dst: s, sp: 50003, dp: 443, payload: quicInitial("quic.example") })),
  ]));
  assert.deepEqual(quic[0].names, [{ name: "quic.example", source: "sni" }]);
  const ecs = JSON.parse(flowEcs(byPort(80)));
  assert.equal(ecs.url.domain, "web.example");
  const tls = JSON.parse(flowEcs(byPort(443)));
  assert.equal(tls.tls.client.server_name, "api.example.com");
  assert.equal(tls.destination.domain, "www.example.com");
  assert.doesNotMatch(JSON.stringify(flows), /secret|token|User-Agent/);
  // The Secflow converter names the same destination the same way.
  const sample = await convertBytes(bytes);
  assert.ok(sample?.flashes.some((f) => f.dst === "www.example.com:443"));
});

Deno.test("the verdict and the Secflow of every flow agree with the converter on the same capture", async () => {
  const L = "192.168.1.10", E = "93.184.216.34";
  const bytes = framesPcap([
    ether(tcp({ src: L, dst: E, sp: 50000, dp: 443, flags: SYN })),
    ether(tcp({ src: E, dst: L, sp: 443, dp: 50000, flags: SYNACK })),
    ether(udp({ src: L, dst: E, sp: 40000, dp: 123, payload: 48 })),
    ether(udp({ src: L, dst: "192.168.1.20", sp: 7000, dp: 7001 })),
    ether(udp({ src: L, dst: E, sp: 137, dp: 137 })),
    ether(udp({ src: L, dst: "239.255.255.250", sp: 5000, dp: 1900 })),
    ether(udp({ src: L, dst: "224.0.0.251", sp: 6000, dp: 6001 })),
    ether(ip4(L, E, 1, icmpMessage(8))),
    ether6(ipv6({ src: C6, dst: S6, next: 17, body: udpDatagram(1, 2) })),
    ether(ip4(L, E, 47, gre(0x0800, ip4("10.9.9.9", E, 17, udpDatagram(1000, 2000))))),
  ]);
  const { flows } = await flowsOfBytes(bytes);
  assert.deepEqual(flows.map((f) => `${f.transport} ${f.dstPort} ${f.sample}`), [
    "tcp 443 kept",
    "udp 123 kept",
    "udp 7001 lan-internal",
    "udp 137 blocked-port",
    "udp 1900 blocked-port",
    "udp 6001 broadcast-multicast",
    "icmp 0 kept",
    "udp 2 ipv6",
    "gre 0 not-tcp-udp-icmp",
    "udp 2000 in-tunnel",
  ]);
  const sample = await convertBytes(bytes);
  const secflows = sample!.flashes.map((f) => `${f.src} ${f.dst}`).sort();
  const kept = flows.filter((f) => f.sample === "kept").map((f) =>
    `${f.secflow!.src} ${f.secflow!.dst}`
  ).sort();
  assert.deepEqual(kept, secflows);
});

Deno.test("every tunnel kind: the carrier flow and the inner flow with its path", async () => {
  const A = "198.51.100.1", B = "198.51.100.2";
  const inner = ip4("10.1.1.1", "10.2.2.2", 17, udpDatagram(1111, 2222, new Uint8Array(10)));
  const inner6 = ipv6({ src: C6, dst: S6, next: 17, body: udpDatagram(1111, 2222) });
  const eth = ether(inner);
  const cases: [string, Uint8Array, string, number?][] = [
    ["gre", ether(ip4(A, B, 47, gre(0x0800, inner, { key: 5 }))), "gre"],
    ["gre/ethernet", ether(ip4(A, B, 47, gre(0x6558, eth))), "gre"],
    ["pptp", ether(ip4(A, B, 47, pptp(77, inner))), "pptp"],
    ["erspan II", ether(ip4(A, B, 47, erspan2(9, eth))), "erspan"],
    ["erspan III", ether(ip4(A, B, 47, erspan3(9, eth))), "erspan"],
    ["erspan I", ether(ip4(A, B, 47, gre(0x88be, eth))), "erspan"],
    ["aruba", ether(ip4(A, B, 47, gre(0x8200, wlanData(inner)))), "aruba"],
    ["vxlan", ether(ip4(A, B, 17, udpDatagram(40000, 4789, vxlan(42, eth)))), "vxlan"],
    ["geneve", ether(ip4(A, B, 17, udpDatagram(40000, 6081, geneve(42, eth)))), "geneve"],
    ["ip-in-ip", ether(ip4(A, B, 4, inner)), "ip-in-ip"],
    ["6in4", ether(ip4(A, B, 41, inner6)), "6in4"],
    ["teredo", ether(ip4(A, B, 17, udpDatagram(40000, 3544, inner6))), "teredo"],
    ["gtp-u", ether(ip4(A, B, 17, udpDatagram(2152, 2152, gtpu(0x1234, inner)))), "gtp-u"],
    ["gre in ipv6", ether6(ipv6({ src: C6, dst: S6, next: 47, body: gre(0x0800, inner) })), "gre"],
    ["mpls", ether(mpls([100, 200], inner), 0x8847), "mpls"],
    ["pppoe", ether(pppoe(3, inner), 0x8864), "pppoe"],
    ["mpls in gre", ether(ip4(A, B, 47, gre(0x8847, mpls([16], inner)))), "gre/mpls"],
  ];
  for (const [name, frame, path] of cases) {
    const { flows } = await flowsOfBytes(framesPcap([frame]));
    const innerFlow = flows.find((f) => f.dstPort === 2222);
    assert.ok(innerFlow, `${name}: the inner flow (got ${flows.map(line).join("; ")})`);
    assert.equal(innerFlow.tunnel.map((h) => h.kind).join("/"), path, name);
    assert.equal(innerFlow.srcPort, 1111, name);
    const ipTunnel = !["mpls", "pppoe"].includes(name);
    if (ipTunnel) {
      assert.equal(flows.length, 2, `${name}: carrier and inner flow`);
      const hop = innerFlow.tunnel[0];
      assert.ok(hop.src === A || hop.src === C6, `${name}: carrier address in the path`);
    }
    assert.ok(
      ["in-tunnel", "encapsulation"].includes(innerFlow.sample),
      `${name}: ${innerFlow.sample}`,
    );
  }
  // QinQ: both VLAN ids, outer first.
  const { flows } = await flowsOfBytes(framesPcap([qinq(inner, 300, 40)]));
  assert.deepEqual(flows[0].vlans, [300, 40]);
});

Deno.test("both directions of a tunnel's inner flow make one flow, whatever carriers they came in", async () => {
  const A = "198.51.100.1", B = "198.51.100.2";
  const there = ip4("10.1.1.1", "10.2.2.2", 17, udpDatagram(1111, 2222));
  const back = ip4("10.2.2.2", "10.1.1.1", 17, udpDatagram(2222, 1111));
  const { flows } = await flowsOfBytes(framesPcap([
    ether(ip4(A, B, 17, udpDatagram(40000, 4789, vxlan(7, ether(there))))),
    ether(ip4(B, A, 17, udpDatagram(40001, 4789, vxlan(7, ether(back))))),
  ]));
  // The VXLAN source port differs per direction: two carrier flows, but one inner flow (keyed by
  // the VNI, not by the carrier, as Zeek keys inner connections).
  assert.deepEqual(flows.map(line), [
    "udp 198.51.100.1:40000 > 198.51.100.2:4789 1/0 local-only",
    "udp 10.1.1.1:1111 > 10.2.2.2:2222 1/1 in-tunnel [vxlan]",
    "udp 198.51.100.2:40001 > 198.51.100.1:4789 1/0 local-only",
  ]);
  // A different VNI is another segment: another flow.
  const { flows: two } = await flowsOfBytes(framesPcap([
    ether(ip4(A, B, 17, udpDatagram(40000, 4789, vxlan(7, ether(there))))),
    ether(ip4(A, B, 17, udpDatagram(40000, 4789, vxlan(8, ether(there))))),
  ]));
  assert.equal(two.filter((f) => f.dstPort === 2222).length, 2);
  const { flows: gre2 } = await flowsOfBytes(framesPcap([
    ether(ip4(A, B, 47, gre(0x0800, there))),
    ether(ip4(B, A, 47, gre(0x0800, back))),
  ]));
  assert.deepEqual(gre2.map(line), [
    `gre ${A}:0 > ${B}:0 1/1 not-tcp-udp-icmp`,
    "udp 10.1.1.1:1111 > 10.2.2.2:2222 1/1 in-tunnel [gre]",
  ]);
});

Deno.test("hostile nesting stops at the depth limit; bogus lengths never read past the capture", async () => {
  let pkt = ip4("10.1.1.1", "10.2.2.2", 17, udpDatagram(1, 2));
  for (let i = 0; i < 40; i++) pkt = ip4("198.51.100.1", "198.51.100.2", 4, pkt);
  const { flows, summary } = await flowsOfBytes(framesPcap([ether(pkt)]), { maxTunnelDepth: 8 });
  assert.equal(flows.length, 9);
  assert.equal(summary.tooDeep, 1);
  assert.equal(Math.max(...flows.map((f) => f.tunnel.length)), 8);
  // Lengths that lie: an IPv6 extension header past the end, a GRE key cut off, a total length
  // beyond the capture, a Geneve option length past the end.
  const liars = [
    ether6(
      ipv6({
        src: C6,
        dst: S6,
        next: 0,
        headers: [17, 200, 0, 0, 0, 0, 0, 0],
        body: new Uint8Array(0),
      }),
    ),
    ether(ip4("198.51.100.1", "198.51.100.2", 47, Uint8Array.from([0x20, 0, 8, 0, 1]))),
    ether(
      cat(
        ip4("10.0.0.1", "10.0.0.2", 17, udpDatagram(1, 2)).subarray(0, 2),
        [0xff, 0xff],
        ip4("10.0.0.1", "10.0.0.2", 17, udpDatagram(1, 2)).subarray(4),
      ),
    ),
    ether(
      ip4(
        "198.51.100.1",
        "198.51.100.2",
        17,
        udpDatagram(1, 6081, Uint8Array.from([0x3f, 0, 0x65, 0x58, 0, 0, 1, 0])),
      ),
    ),
  ];
  const r = await flowsOfBytes(framesPcap(liars));
  assert.ok(r.summary.truncated >= 1);
  // Random damage anywhere in a capture of every tunnel kind: never an exception, never a hang.
  const base = framesPcap([
    ether(ip4("198.51.100.1", "198.51.100.2", 47, pptp(1, pkt.subarray(0, 60)))),
    ether(
      ip4("198.51.100.1", "198.51.100.2", 17, udpDatagram(1, 2152, gtpu(1, pkt.subarray(0, 80)))),
    ),
    ether6(ipv6({ src: C6, dst: S6, next: 0, headers: ext6(44), body: new Uint8Array(16) })),
  ]);
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 300; i++) {
    const bytes = base.slice();
    for (let j = 0; j < 6; j++) {
      bytes[24 + 16 + Math.floor(rand() * (bytes.length - 40))] = Math.floor(rand() * 256);
    }
    await flowsOfBytes(bytes);
  }
});

Deno.test("a flood of tiny flows fills the table to its limit, with a warning, memory bounded", async () => {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 500; i++) {
    frames.push(ether(udp({ src: "10.0.0.2", dst: "93.184.216.34", sp: 1024 + i, dp: 53 })));
  }
  const { flows, summary } = await flowsOfBytes(framesPcap(frames), { maxFlows: 100 });
  assert.equal(flows.length, 100);
  assert.equal(summary.overflowPackets, 400);
  assert.match(summary.warnings.join("\n"), /flow table is full \(100 flows at once\)/);
});

Deno.test("idle flows end on Zeek's timeouts; streamed flows are the same flows as at the end, chunking aside", async () => {
  const c = "10.0.0.2", s = "93.184.216.34";
  const recs = [
    { us: T0, data: ether(udp({ src: c, dst: s, sp: 5000, dp: 443, payload: 10 })) },
    { us: T0 + 30e6, data: ether(udp({ src: s, dst: c, sp: 443, dp: 5000, payload: 10 })) },
    // 61 s idle: a new flow.
    { us: T0 + 91e6 + 1, data: ether(udp({ src: c, dst: s, sp: 5000, dp: 443, payload: 10 })) },
    { us: T0 + 200e6, data: ether(tcp({ src: c, dst: s, sp: 6000, dp: 80, flags: SYN })) },
  ];
  const bytes = pcap(recs);
  const all = (await flowsOfBytes(bytes)).flows;
  assert.deepEqual(all.map(line), [
    `udp ${c}:5000 > ${s}:443 1/1 kept`,
    `udp ${c}:5000 > ${s}:443 1/0 kept`,
    `tcp ${c}:6000 > ${s}:80 1/0 kept`,
  ]);
  const streamed: Flow[] = [];
  const { flowsOf } = await import("../../io/flows.ts");
  for await (const f of flowsOf(() => chunks(bytes, 37), "t.pcap", { streaming: true })) {
    streamed.push(f);
  }
  const key = (f: Flow) => JSON.stringify(f);
  assert.deepEqual(streamed.map(key).sort(), all.map(key).sort());
});

Deno.test("Zeek conn.log rows are flows, IPv6 rows included", async () => {
  const text = [
    "#separator \\x09",
    "#unset_field\t-",
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents",
    "1700000000.5\tC1\t10.0.0.2\t50000\t93.184.216.34\t443\ttcp\tssl\t1.5\t100\t2000\tSF\t-\t-\t0\tShADadFf\t10\t600\t12\t2600\t-",
    `1700000001.25\tC2\t${C6}\t5353\t${S6}\t53\tudp\tdns\t0.01\t30\t90\tSF\t-\t-\t0\tDd\t1\t78\t1\t138\t-`,
    "1700000002\tC3\tfe80::1\t135\tfe80::2\t136\ticmp\t-\t-\t-\t-\tOTH\t-\t-\t0\t-\t1\t72\t0\t0\t-",
  ].join("\n");
  const flows: Flow[] = [];
  for await (const f of zeekFlows(() => [new TextEncoder().encode(text)], "conn.log")) {
    flows.push(f);
  }
  assert.deepEqual(flows.map(line), [
    "tcp 10.0.0.2:50000 > 93.184.216.34:443 10/12 kept",
    `udp ${C6}:5353 > ${S6}:53 1/1 ipv6`,
    "ipv6-icmp fe80::1:135 > fe80::2:136 1/0 ipv6",
  ]);
  assert.equal(flows[0].uid, "C1");
  assert.equal(flows[0].duration, 1_500_000);
  assert.equal(flows[1].startTime, "2023-11-14T22:13:21.250000Z");
  assert.equal(
    flows[0].communityId,
    "1:" + communityId("10.0.0.2", "93.184.216.34", 6, 50000, 443).slice(2),
  );
  // A log's text is input like any other: quotes in its addresses and Community ID cannot add
  // ECS fields (each line stays one JSON object with the values as read).
  const hostile = text.split("\n").slice(0, 3).join("\n") + "\n" +
    ["1700000003", "C4", '1.2.3.4","x":"y', "1", "5.6.7.8\\", "2", "tcp", "-", "1", "0", "0"]
      .join("\t") +
    "\t" + ["SF", "-", "-", "0", "-", "1", "40", "0", "0", "-"].join("\t");
  const odd: Flow[] = [];
  for await (const f of zeekFlows(() => [new TextEncoder().encode(hostile)], "conn.log")) {
    odd.push({ ...f, communityId: '1:a"b' });
  }
  const ecs = JSON.parse(flowEcs(odd[0]));
  assert.equal(ecs.source.ip, '1.2.3.4","x":"y');
  assert.equal(ecs.destination.ip, "5.6.7.8\\");
  assert.equal(ecs.network.community_id, '1:a"b');
  assert.equal(ecs.x, undefined);
});

Deno.test("view --flows: the table, --json, --csv, --ndjson and --ecs of one capture agree", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/x.pcap`;
    await Deno.writeFile(
      path,
      framesPcap([
        ether(tcp({ src: "10.0.0.2", dst: "93.184.216.34", sp: 50000, dp: 443, flags: SYN })),
        ether6(ipv6({ src: C6, dst: S6, next: 17, body: udpDatagram(5000, 53) })),
        ether(
          ip4(
            "198.51.100.1",
            "198.51.100.2",
            47,
            gre(0x0800, ip4("10.1.1.1", "10.2.2.2", 1, icmpMessage(8))),
          ),
        ),
      ]),
    );
    const table = await cli(["view", "--flows", path]);
    assert.equal(table.code, 0);
    const text = table.out.join("\n");
    assert.match(text, /^proto\s+src\s+dst/);
    assert.match(text, new RegExp(`udp\\s+\\[${C6}\\]:5000\\s+\\[${S6}\\]:53`));
    assert.match(text, /in-tunnel\s+gre 198\.51\.100\.1>198\.51\.100\.2/);
    const json = JSON.parse((await cli(["view", "--flows", "--json", path])).out.join("\n"));
    assert.equal(json.length, 4);
    const nd = (await cli(["view", "--ndjson", path])).out.join("\n").split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(
      nd.map((f) => f.communityId).sort(),
      json.map((f: Flow) => f.communityId).sort(),
    );
    const ecs = (await cli(["view", "--ecs", path])).out.join("\n").split("\n").map((l) =>
      JSON.parse(l)
    );
    const tcpDoc = ecs.find((d) => d.network.transport === "tcp");
    assert.equal(tcpDoc.source.ip, "10.0.0.2");
    assert.equal(tcpDoc.source.port, 50000);
    assert.equal(tcpDoc.destination.port, 443);
    assert.equal(
      tcpDoc.network.community_id,
      json.find((f: Flow) => f.transport === "tcp").communityId,
    );
    assert.equal(tcpDoc.networksage.sample, "kept");
    assert.equal(typeof tcpDoc.event.duration, "number");
    const csv = (await cli(["view", "--flows", "--csv", path])).out.join("\n").split("\n");
    assert.equal(csv[0].split(",")[0], "start");
    assert.equal(csv.length, 5);
    const bad = await cli(["view", "--flows", "--json", "--ecs", path]);
    assert.equal(bad.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
