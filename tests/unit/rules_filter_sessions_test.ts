/**
 * SECFLOW.md sections 2 and 3 on hand-built packets: filter rules 1 to 3, address classes, the
 * start time, the protocol passes, directionality, ICMP and payload accounting.
 */
import assert from "node:assert/strict";
import {
  analyzeBytes,
  brief,
  cat,
  convertBytes,
  convertFull,
  ether,
  fragment,
  icmp,
  ipv4,
  pcap,
  pcapOf,
  type Pkt,
  tcp,
  udp,
} from "../_pcap.ts";
import { isFilterLocal, isLocal, isRfc1918, parseIPv4 } from "../../secflow/net.ts";
import { BLOCKED } from "../_model.ts";
import { at, conv, flashes, H, X } from "../_rules.ts";

// ---------------------------------------------------------------------------------------------
// Step B: filter rules 1 to 3, and step C

Deno.test("filter rule 1: IPv6 and other non-IPv4 frames are ignored", async () => {
  const v6 = cat([0x60, 0, 0, 0, 0, 8, 17, 64], new Uint8Array(32), [0, 53, 0, 80, 0, 8, 0, 0]);
  const bytes = pcap([
    { us: at(0), data: ether(v6, 0x86dd) },
    { us: at(0.5), data: ether(new Uint8Array(28), 0x0806) },
    { us: at(1), data: ether(tcp({ src: H, dst: X, sp: 50000, dp: 443 })) },
  ]);
  const s = await convertBytes(bytes);
  assert.equal(s?.trafficDate, "1700000001.0");
  assert.equal(s?.flashes.length, 1);
});

Deno.test("filter rule 2: each blocked port, as source or destination, TCP or UDP", async () => {
  for (const port of BLOCKED) {
    for (const make of [tcp, udp]) {
      for (const [sp, dp] of [[port, 50000], [50000, port]]) {
        const s = await conv([
          { us: at(0), ip: make({ src: H, dst: X, sp, dp, payload: 5 }) },
          { us: at(1), ip: make({ src: "8.8.4.4", dst: X, sp: 1000, dp: 2000, payload: 5 }) },
        ]);
        assert.ok(s);
        assert.equal(s.trafficDate, "1700000001.0", `${make.name} ${sp}->${dp}`);
        assert.deepEqual(
          s.flashes.map((f) => f.dst),
          ["8.8.4.4:1000"],
          `${make.name} ${sp}->${dp}`,
        );
      }
    }
  }
  // Neighbours of blocked ports are kept.
  for (const port of [66, 69, 138, 446, 1901, 5354]) {
    const fs = await flashes([{
      us: at(0),
      ip: udp({ src: H, dst: X, sp: 50000, dp: port, payload: 5 }),
    }]);
    assert.equal(fs.length, 1, `port ${port}`);
  }
});

Deno.test("filter rule 2: ports are read only from first fragments", async () => {
  // A non-first UDP fragment whose first bytes look like port 445: kept (it moves the start time)
  // but forms no session; a first fragment to port 445 is filtered.
  const later = fragment({
    src: H,
    dst: X,
    proto: 17,
    body: [0x01, 0xbd, 0x01, 0xbd, 0, 40, 0, 0, ...new Array(32).fill(0)],
    fragOffset: 100,
  });
  const first = udp({ src: H, dst: X, sp: 445, dp: 445, payload: 100, mf: true });
  const s = await conv([
    { us: at(0), ip: first },
    { us: at(1), ip: later },
    { us: at(2), ip: udp({ src: H, dst: X, sp: 50000, dp: 9999, payload: 1 }) },
  ]);
  assert.equal(s?.trafficDate, "1700000001.0");
  assert.deepEqual(s?.flashes.map((f) => [f.dst, f.relativeStart]), [[`${X}:9999`, 1]]);
});

Deno.test("filter rule 3: FILTER-LOCAL pairs are dropped unless a port is 53", async () => {
  const later = { us: at(5), ip: tcp({ src: H, dst: X, sp: 50000, dp: 443 }) };
  const dropped: [string, Uint8Array][] = [
    ["10→192.168 TCP", tcp({ src: H, dst: "192.168.1.1", sp: 50000, dp: 80 })],
    ["10→224 UDP", udp({ src: H, dst: "224.0.0.251", sp: 50000, dp: 6000 })],
    [
      "0.0.0.0→255.255.255.255",
      udp({ src: "0.0.0.0", dst: "255.255.255.255", sp: 1000, dp: 2000 }),
    ],
    [
      "172.16→239.255.255.250",
      udp({ src: "172.20.0.1", dst: "239.255.255.250", sp: 1000, dp: 2000 }),
    ],
    ["127→127 ICMP", icmp({ src: "127.0.0.1", dst: "127.0.0.1" })],
    ["10→10 ICMP", icmp({ src: H, dst: "10.0.0.6" })],
  ];
  for (const [name, ip] of dropped) {
    const s = await conv([{ us: at(0), ip }, later]);
    assert.equal(s?.trafficDate, "1700000005.0", name);
    assert.equal(s?.flashes.length, 1, name);
  }
  // Port 53 between FILTER-LOCAL addresses: kept (start time), though no session forms.
  const dns = await conv([{
    us: at(0),
    ip: udp({ src: H, dst: "192.168.1.1", sp: 40000, dp: 53, payload: 30 }),
  }, later]);
  assert.equal(dns?.trafficDate, "1700000000.0");
  assert.equal(dns?.flashes.length, 1);
  // Local but not FILTER-LOCAL (169.254/16, 192.0.2/24): kept; ICMP forms a session.
  const linkLocal = await conv([{ us: at(0), ip: icmp({ src: H, dst: "169.254.1.1" }) }, later]);
  assert.equal(linkLocal?.trafficDate, "1700000000.0");
  assert.deepEqual(linkLocal?.flashes.map(brief), [
    "10.0.0.5 > 169.254.1.1 original 1/0 0/0",
    `10.0.0.5:50000 > ${X}:443 original 1/0 0/0`,
  ]);
  // ...while TCP/UDP between two local addresses never forms a session.
  const tcpLocal = await conv([{
    us: at(0),
    ip: udp({ src: H, dst: "192.0.2.7", sp: 50000, dp: 80 }),
  }, later]);
  assert.equal(tcpLocal?.trafficDate, "1700000000.0");
  assert.equal(tcpLocal?.flashes.length, 1);
});

Deno.test("address classes: local, FILTER-LOCAL, RFC 1918 boundaries", () => {
  const ip = (s: string) => parseIPv4(s)!;
  const local = [
    "0.1.2.3",
    "10.0.0.0",
    "127.1.1.1",
    "169.254.0.1",
    "172.16.0.0",
    "172.31.255.255",
    "192.0.0.1",
    "192.0.0.170",
    "192.0.0.171",
    "192.0.2.9",
    "192.168.9.9",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
  ];
  const external = [
    "1.1.1.1",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.0.9",
    "192.0.0.10",
    "192.0.1.1",
    "192.0.3.1",
    "198.17.0.1",
    "198.20.0.1",
    "198.51.101.1",
    "203.0.114.1",
    "169.253.0.1",
    "223.255.255.255",
    "100.64.0.1",
  ];
  for (const a of local) assert.equal(isLocal(ip(a)), true, a);
  for (const a of external) assert.equal(isLocal(ip(a)), false, a);
  const fl = [
    "0.0.0.0",
    "10.9.9.9",
    "127.0.0.1",
    "172.16.1.1",
    "192.168.1.1",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
  ];
  const notFl = [
    "0.0.0.1",
    "169.254.1.1",
    "192.0.2.1",
    "240.0.0.1",
    "255.255.255.254",
    "8.8.8.8",
    "198.18.0.1",
  ];
  for (const a of fl) assert.equal(isFilterLocal(ip(a)), true, a);
  for (const a of notFl) assert.equal(isFilterLocal(ip(a)), false, a);
  for (const a of ["10.0.0.1", "172.16.0.1", "172.31.0.1", "192.168.0.1"]) {
    assert.equal(isRfc1918(ip(a)), true, a);
  }
  for (const a of ["127.0.0.1", "172.32.0.1", "169.254.0.1", "192.169.0.1"]) {
    assert.equal(isRfc1918(ip(a)), false, a);
  }
});

Deno.test("start time: earliest kept TCP, UDP or ICMP packet, by time not file order", async () => {
  const s = await conv([
    { us: at(5), ip: tcp({ src: H, dst: X, sp: 50000, dp: 443 }) },
    { us: at(1), ip: ipv4({ src: H, dst: X, proto: 47, body: new Uint8Array(24) }) }, // GRE
    { us: at(3), ip: icmp({ src: H, dst: "1.1.1.1" }) },
    { us: at(4), ip: udp({ src: H, dst: "1.1.1.1", sp: 50001, dp: 123 }) },
  ]);
  assert.equal(s?.trafficDate, "1700000003.0");
  assert.deepEqual(s?.flashes.map((f) => f.relativeStart), [0, 1, 2]);
  assert.deepEqual(s?.flashes.map((f) => f.dst), ["1.1.1.1", "1.1.1.1:123", `${X}:443`]);
});

// ---------------------------------------------------------------------------------------------
// Section 3: passes, directionality, ICMP, payload

Deno.test("passes: a TCP packet joins a UDP session created later in the file, in one read", async () => {
  const pkts: Pkt[] = [
    { us: at(0), ip: tcp({ src: H, dst: "5.5.5.5", sp: 50000, dp: 7000, payload: 11 }) },
    { us: at(1), ip: udp({ src: H, dst: "6.6.6.6", sp: 50000, dp: 8000, payload: 22 }) },
    { us: at(2), ip: tcp({ src: "5.5.5.5", dst: H, sp: 7000, dp: 50000, payload: 33 }) },
  ];
  const bytes = pcapOf(pkts);
  assert.equal((await analyzeBytes(bytes)).reads, 1);
  const s = await convertBytes(bytes);
  assert.ok(s);
  assert.equal(s.trafficDate, "1700000000.0");
  // One session, the UDP one: the TCP packets count for its source side (key A) and destination
  // side (key B) respectively; its first time stays the UDP packet's.
  assert.deepEqual(s.flashes.map(brief), ["10.0.0.5:50000 > 6.6.6.6:8000 original 2/33 1/33"]);
  assert.equal(s.flashes[0].relativeStart, 1);
  assert.equal(s.flashes[0].duration, 1);
});

Deno.test("passes: a TCP packet that missed a later UDP key by its source is decided at the end", async () => {
  // TCP 5.5.5.5:1000 → 6.6.6.6:2000 (both external, dp > sp: session keyed 6.6.6.6:2000);
  // later a UDP packet creates a session keyed 5.5.5.5:1000, which the platform's TCP pass finds
  // first (key A).
  const pkts: Pkt[] = [
    { us: at(0), ip: tcp({ src: "5.5.5.5", dst: "6.6.6.6", sp: 1000, dp: 2000, payload: 5 }) },
    { us: at(1), ip: udp({ src: "5.5.5.5", dst: "7.7.7.7", sp: 1000, dp: 900, payload: 6 }) },
  ];
  const bytes = pcapOf(pkts);
  assert.equal((await analyzeBytes(bytes)).reads, 1);
  const s = await convertBytes(bytes);
  assert.deepEqual(s?.flashes.map(brief), ["5.5.5.5:1000 > 7.7.7.7:900 original 2/11 0/0"]);
});

Deno.test("passes: the ordinary case reads the input once", async () => {
  const pkts: Pkt[] = [
    { us: at(0), ip: udp({ src: H, dst: "6.6.6.6", sp: 50000, dp: 8000, payload: 22 }) },
    { us: at(1), ip: tcp({ src: H, dst: "5.5.5.5", sp: 50000, dp: 7000, payload: 11 }) },
    { us: at(2), ip: tcp({ src: H, dst: "5.5.5.5", sp: 50001, dp: 7000, payload: 11 }) },
    { us: at(3), ip: icmp({ src: H, dst: "5.5.5.5" }) },
  ];
  const a = await analyzeBytes(pcapOf(pkts));
  assert.equal(a.reads, 1);
  const s = await convertBytes(pcapOf(pkts));
  assert.deepEqual(s?.flashes.map(brief), [
    "10.0.0.5:50000 > 6.6.6.6:8000 original 2/33 0/0",
    "10.0.0.5:50001 > 5.5.5.5:7000 original 1/11 0/0",
    "10.0.0.5 > 5.5.5.5 original 1/0 0/0",
  ]);
});

Deno.test("directionality: every branch of the creation rules", async () => {
  const E = "5.5.5.5";
  const cases: [string, string, number, number, string][] = [
    // S local, D external
    [H, E, 50000, 80, "10.0.0.5:50000 > 5.5.5.5:80 original 1/1 0/0"], // sp > 49151
    [H, E, 49152, 60000, "10.0.0.5:49152 > 5.5.5.5:60000 original 1/1 0/0"], // sp > 49151 first
    [H, E, 443, 50000, "5.5.5.5:50000 > 10.0.0.5:443 original 0/0 1/1"], // dp > 49151
    [H, E, 49151, 49152, "5.5.5.5:49152 > 10.0.0.5:49151 original 0/0 1/1"], // dp > 49151
    [H, E, 5000, 80, "10.0.0.5:5000 > 5.5.5.5:80 original 1/1 0/0"], // dp < 1024
    [H, E, 5000, 1023, "10.0.0.5:5000 > 5.5.5.5:1023 original 1/1 0/0"], // dp < 1024
    [H, E, 1000, 1024, "5.5.5.5:1024 > 10.0.0.5:1000 original 0/0 1/1"], // dp > sp
    [H, E, 2000, 3000, "5.5.5.5:3000 > 10.0.0.5:2000 original 0/0 1/1"], // dp > sp
    [H, E, 3000, 2000, "10.0.0.5:3000 > 5.5.5.5:2000 original 1/1 0/0"], // otherwise
    [H, E, 3000, 3000, "10.0.0.5:3000 > 5.5.5.5:3000 original 1/1 0/0"], // equal: otherwise
    // S external (D local or external): dp > sp → source D
    [E, H, 80, 50000, "10.0.0.5:50000 > 5.5.5.5:80 original 0/0 1/1"],
    [E, H, 50000, 80, "5.5.5.5:50000 > 10.0.0.5:80 original 1/1 0/0"],
    [E, H, 80, 80, "5.5.5.5:80 > 10.0.0.5:80 original 1/1 0/0"],
    [E, "6.6.6.6", 1000, 2000, "6.6.6.6:2000 > 5.5.5.5:1000 original 0/0 1/1"],
    [E, "6.6.6.6", 2000, 1000, "5.5.5.5:2000 > 6.6.6.6:1000 original 1/1 0/0"],
  ];
  for (const [src, dst, sp, dp, expected] of cases) {
    for (const make of [tcp, udp]) {
      const fs = await flashes([{ us: at(0), ip: make({ src, dst, sp, dp, payload: 1 }) }]);
      assert.deepEqual(fs.map(brief), [expected], `${make.name} ${src}:${sp} → ${dst}:${dp}`);
    }
  }
});

Deno.test("directionality: later packets count by key A (source side) or key B (destination side)", async () => {
  const fs = await flashes([
    { us: at(0), ip: tcp({ src: H, dst: X, sp: 2000, dp: 3000, payload: 1 }) }, // source = X:3000
    { us: at(1), ip: tcp({ src: X, dst: H, sp: 3000, dp: 2000, payload: 10 }) }, // key A → source
    { us: at(2), ip: tcp({ src: H, dst: X, sp: 2000, dp: 3000, payload: 100 }) }, // key B → destination
    // A different endpoint on X:3000 joins the same session by key A.
    { us: at(3), ip: tcp({ src: X, dst: "10.0.0.7", sp: 3000, dp: 4000, payload: 1000 }) },
  ]);
  assert.deepEqual(fs.map(brief), [`${X}:3000 > 10.0.0.5:2000 original 2/1010 2/101`]);
  assert.equal(fs[0].duration, 3);
});

Deno.test("directionality: both local creates nothing", async () => {
  const fs = await flashes([
    { us: at(0), ip: udp({ src: H, dst: "169.254.3.3", sp: 50000, dp: 80 }) },
    { us: at(0), ip: tcp({ src: "192.0.2.1", dst: "198.18.0.1", sp: 50000, dp: 80 }) },
  ]);
  assert.deepEqual(fs, []);
});

Deno.test("ICMP: keys, both directions, the external→local deviation, both external", async () => {
  const fs = await flashes([
    { us: at(0), ip: icmp({ src: H, dst: "1.1.1.1", payload: 56 }) },
    { us: at(0.5), ip: icmp({ src: "1.1.1.1", dst: H, type: 0, payload: 56 }) },
    { us: at(1), ip: icmp({ src: "2.2.2.2", dst: H }) }, // external → local: keyed from H
    { us: at(1.5), ip: icmp({ src: "2.2.2.2", dst: H }) }, // joins it, destination side
    { us: at(2), ip: icmp({ src: H, dst: "2.2.2.2", type: 0 }) }, // source side
    { us: at(2.5), ip: icmp({ src: "2.2.2.2", dst: H }) },
    { us: at(3), ip: icmp({ src: "3.3.3.3", dst: "4.4.4.4" }) }, // both external: source S
    { us: at(3.25), ip: icmp({ src: "4.4.4.4", dst: "3.3.3.3" }) },
  ]);
  assert.deepEqual(
    fs.map((f) => `${brief(f)} ${f.protocolInformation} ${f.relativeStart} ${f.duration}`),
    [
      "10.0.0.5 > 1.1.1.1 original 1/0 1/0 ICMP 0 0.5",
      "10.0.0.5 > 2.2.2.2 original 1/0 3/0 ICMP 1 1.5",
      "3.3.3.3 > 4.4.4.4 original 1/0 1/0 ICMP 3 0.25",
    ],
  );
});

Deno.test("payload bytes: TCP = total − IHL − data offset, UDP = length − 8, from headers", async () => {
  const bigTcp = tcp({ src: H, dst: X, sp: 50000, dp: 443, payload: 1200, dataOffset: 40 });
  const bigUdp = udp({ src: H, dst: "1.1.1.1", sp: 50001, dp: 4500, payload: 900 });
  // An IPv4 header with options: the TCP header starts at 24.
  const opt = ipv4({
    src: X,
    dst: H,
    proto: 6,
    options: [1, 1, 1, 1],
    body: cat(
      [1, 187, 195, 80],
      new Uint8Array(8),
      [0x50, 0x10],
      new Uint8Array(6),
      new Uint8Array(77),
    ),
  });
  const snap = 14 + 20 + 8 + 4; // snaplen: headers only, payload not captured
  const bytes = pcap([
    { us: at(0), data: ether(bigTcp).subarray(0, 14 + 20 + 40 + 5) },
    { us: at(1), data: ether(bigUdp).subarray(0, snap) },
    { us: at(2), data: ether(opt) },
    // UDP length field says 108 bytes even though the IP packet carries fewer: header wins.
    {
      us: at(3),
      data: ether(udp({ src: "1.1.1.1", dst: H, sp: 4500, dp: 50001, payload: 4, udpLength: 108 })),
    },
  ].map((r) => ({ ...r, origLen: 1514 })));
  const s = await convertBytes(bytes);
  assert.deepEqual(s?.flashes.map(brief), [
    `10.0.0.5:50000 > ${X}:443 original 1/1200 1/77`,
    "10.0.0.5:50001 > 1.1.1.1:4500 original 1/900 1/100",
  ]);
});

Deno.test("packets whose IPv4 part is 20 bytes or less make no session; truncated are skipped", async () => {
  const bare = ipv4({ src: H, dst: "1.1.1.1", proto: 1, body: new Uint8Array(0) }); // 20 bytes
  const one = ipv4({ src: H, dst: "2.2.2.2", proto: 1, body: new Uint8Array(1) }); // 21 bytes
  const cutTcp = tcp({ src: H, dst: X, sp: 50000, dp: 443, payload: 10 }).subarray(0, 30);
  const bytes = pcap([
    { us: at(1), data: ether(bare) },
    { us: at(2), data: ether(one) },
    { us: at(3), data: ether(cutTcp) },
    { us: at(4), data: ether(udp({ src: H, dst: X, sp: 50001, dp: 99 })).subarray(0, 14 + 24) },
  ]);
  const r = await convertFull(bytes);
  assert.deepEqual(r.sample?.flashes.map(brief), ["10.0.0.5 > 2.2.2.2 original 1/0 0/0"]);
  assert.equal(r.analysis.stats.truncated, 2);
  assert.equal(r.analysis.stats.packets, 4);
});
