/**
 * SECFLOW.md section 4 on hand-built packets: naming, the persistent cache's updates, output
 * order and times; the passes on seeded captures, and a string-keyed reference model of
 * sections 2 to 4 against the converter.
 */
import assert from "node:assert/strict";
import {
  analyzeBytes,
  brief,
  convertBytes,
  convertFull,
  dnsMessage,
  icmp,
  pcapOf,
  type Pkt,
  T0,
  tcp,
  udp,
} from "../_pcap.ts";
import { parseIPv4 } from "../../secflow/net.ts";
import { model, type ModelPkt } from "../_model.ts";
import { A, at, conv, dnsResp, find, flashes, H, localAnswer, toServer, X } from "../_rules.ts";

// ---------------------------------------------------------------------------------------------
// Section 4: naming and the cache

Deno.test("naming rule 1: the latest passive name at or before the session start", async () => {
  const fs = await flashes([
    dnsResp(1, { qname: "a.example", answers: [A(X)] }),
    dnsResp(1.5, { qname: "b.example", answers: [A(X)] }),
    dnsResp(3, { qname: "c.example", answers: [A(X)] }),
    toServer(2, X),
    toServer(3, X, 50001), // equal time: the name at t=3 counts
  ]);
  assert.deepEqual(fs.filter((f) => f.dst.endsWith(":443")).map((f) => f.dst), [
    "b.example:443",
    "c.example:443",
  ]);
  // Equal harvest times keep harvest order (stable): the later-harvested one is "latest".
  const tie = await flashes([
    dnsResp(1, { qname: "first.example", answers: [A(X)] }),
    dnsResp(1, { qname: "second.example", answers: [A(X)] }),
    toServer(2, X),
  ]);
  assert.equal(find(tie, ":443")?.dst, "second.example:443");
});

Deno.test("naming rules 2 to 5: cache, local original, later passive (earliest), original", async () => {
  const pkts: Pkt[] = [
    toServer(1, X), // later passive names only
    toServer(1, "1.2.3.4", 50001), // in cache, later passive name too
    toServer(1, "5.6.7.8", 50002), // nothing: original
    { us: at(1), ip: tcp({ src: "9.9.9.9", dst: H, sp: 50003, dp: 22, payload: 1 }) }, // local dst
    { us: at(1), ip: tcp({ src: "9.9.9.9", dst: "10.0.0.6", sp: 50004, dp: 22, payload: 1 }) }, // local dst, cached
    dnsResp(3, { qname: "late1.example", answers: [A(X), A("1.2.3.4")] }),
    dnsResp(2, { qname: "late0.example", answers: [A(X)] }),
    dnsResp(2, { qname: "late0b.example", answers: [A(X)] }),
  ];
  const cache = new Map([[parseIPv4("1.2.3.4")!, "cached.example"], [
    parseIPv4("10.0.0.6")!,
    "nas.lan",
  ]]);
  const r = await convertFull(pcapOf(pkts), "t.pcap", cache);
  assert.deepEqual(
    r.sample?.flashes.filter((f) => f.relativeStart === 0).map((f) =>
      `${f.dst} ${f.destinationNameSource}`
    ),
    [
      "late0.example:443 passive", // rule 4: earliest later name; equal times keep harvest order
      "cached.example:443 cache", // rule 2 before rule 4
      "5.6.7.8:443 original", // rule 5
      "10.0.0.5:22 original", // rule 3
      "nas.lan:22 cache", // rule 2 before rule 3
    ],
  );
  // Without a cache, 1.2.3.4 falls to rule 4.
  const r2 = await convertFull(pcapOf(pkts));
  assert.equal(r2.sample?.flashes[1].dst, "late1.example:443");
  assert.equal(r2.sample?.flashes[1].destinationNameSource, "passive");
  // A cached name does not beat an earlier passive one (rule 1 first).
  const early = [
    dnsResp(0.5, { qname: "early.example", answers: [A("1.2.3.4")] }),
    toServer(1, "1.2.3.4"),
  ];
  const r3 = await convertFull(pcapOf(early), "t.pcap", cache);
  assert.equal(find(r3.sample!.flashes, ":443")?.dst, "early.example:443");
});

Deno.test("naming: ICMP destinations are named like the others", async () => {
  const fs = await flashes([dnsResp(0, { qname: "pingme.example", answers: [A("1.1.1.1")] }), {
    us: at(1),
    ip: icmp({ src: H, dst: "1.1.1.1" }),
  }]);
  assert.equal(fs.find((f) => f.protocolInformation === "ICMP")?.dst, "pingme.example");
});

Deno.test("cache updates: active addresses whose names here are all one single name", async () => {
  const pkts: Pkt[] = [
    dnsResp(0, {
      qname: "one.example",
      answers: [A("1.1.1.1"), A("2.2.2.2"), A("3.3.3.3"), A("10.0.0.9")],
    }),
    dnsResp(1, { qname: "one.example", answers: [A("1.1.1.1")] }),
    dnsResp(1, { qname: "other.example", answers: [A("2.2.2.2")] }),
    toServer(2, "1.1.1.1"),
    toServer(2, "2.2.2.2", 50001),
    // 3.3.3.3 is never contacted: not active, not written. 10.0.0.9 is local: never active.
  ];
  const r = await convertFull(pcapOf(pkts));
  const updates = [...r.cacheUpdates].map(([ip, name]) => `${ip}=${name}`);
  assert.deepEqual(updates, [`${parseIPv4("1.1.1.1")}=one.example`]);
});

Deno.test("output order: by relativeStart, ties in creation order UDP, TCP, ICMP", async () => {
  const fs = await flashes([
    { us: at(0), ip: icmp({ src: H, dst: "3.3.3.3" }) },
    { us: at(0), ip: tcp({ src: H, dst: "2.2.2.2", sp: 50000, dp: 443 }) },
    { us: at(0), ip: tcp({ src: H, dst: "2.2.2.3", sp: 50001, dp: 443 }) },
    { us: at(0), ip: udp({ src: H, dst: "1.1.1.1", sp: 50002, dp: 123 }) },
    { us: at(0), ip: udp({ src: H, dst: "1.1.1.2", sp: 50003, dp: 123 }) },
    { us: at(-1), ip: icmp({ src: H, dst: "4.4.4.4" }) },
  ]);
  assert.deepEqual(fs.map((f) => f.dst), [
    "4.4.4.4",
    "1.1.1.1:123",
    "1.1.1.2:123",
    "2.2.2.2:443",
    "2.2.2.3:443",
    "3.3.3.3",
  ]);
  assert.deepEqual(fs.map((f) => f.relativeStart), [0, 1, 1, 1, 1, 1]);
});

Deno.test("times: relativeStart and duration rounded to 6 decimals, trafficDate as Python writes it", async () => {
  const s = await conv([
    { us: T0 + 123_457, ip: tcp({ src: H, dst: X, sp: 50000, dp: 443 }) },
    { us: T0 + 1_246_913, ip: tcp({ src: X, dst: H, sp: 443, dp: 50000 }) },
    { us: T0 + 2_000_001, ip: udp({ src: H, dst: "1.1.1.1", sp: 50001, dp: 123 }) },
  ]);
  assert.ok(s);
  assert.equal(s.trafficDate, "1700000000.123457");
  assert.deepEqual(s.flashes.map((f) => [f.relativeStart, f.duration]), [[0, 1.123456], [
    1.876544,
    0,
  ]]);
});

Deno.test("passes: rule 4 together with a TCP packet that missed a later UDP key", async () => {
  const pkts = (answer: string): Pkt[] => [
    localAnswer(0, answer),
    { us: at(1), ip: tcp({ src: H, dst: "192.168.1.1", sp: 40000, dp: 53, payload: 7 }) },
    { us: at(2), ip: udp({ src: H, dst: "8.8.8.8", sp: 40000, dp: 53, payload: 30 }) },
  ];
  for (
    const [answer, date, expected] of [
      ["10.0.0.99", "1700000002.0", "10.0.0.5:40000 > 8.8.8.8:53 original 1/30 0/0"],
      ["1.2.3.4", "1700000000.0", "10.0.0.5:40000 > 8.8.8.8:53 original 2/37 0/0"],
    ]
  ) {
    const bytes = pcapOf(pkts(answer));
    assert.equal((await analyzeBytes(bytes)).reads, 1);
    const s = await convertBytes(bytes);
    assert.equal(s?.trafficDate, date, answer);
    assert.deepEqual(s?.flashes.map(brief), [expected], answer);
  }
});

/** A deterministic xorshift generator of integers in [0, n). */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

Deno.test("passes: any capture converts like its UDP-then-TCP-then-ICMP reordering (seeded)", async () => {
  const hosts = [H, "192.168.1.10", "192.168.1.1", "5.5.5.5", "6.6.6.6", "7.7.7.7"];
  const ports = [53, 80, 443, 3000, 50000, 50001];
  for (let seed = 1; seed <= 150; seed++) {
    const r = rng(seed);
    const pkts: (Pkt & { proto: number })[] = [];
    const n = 5 + r(25);
    for (let i = 0; i < n; i++) {
      const src = hosts[r(hosts.length)];
      let dst = hosts[r(hosts.length)];
      if (dst === src) dst = hosts[(hosts.indexOf(src) + 1) % hosts.length];
      const us = at(r(1000) / 100);
      const kind = r(10);
      if (kind < 4) {
        pkts.push({
          us,
          proto: 17,
          ip: udp({ src, dst, sp: ports[r(6)], dp: ports[r(6)], payload: r(100) }),
        });
      } else if (kind < 8) {
        pkts.push({
          us,
          proto: 6,
          ip: tcp({ src, dst, sp: ports[r(6)], dp: ports[r(6)], payload: r(100) }),
        });
      } else if (kind < 9) {
        pkts.push({ us, proto: 1, ip: icmp({ src, dst }) });
      } else {
        const answer = r(2) ? "10.1.1.1" : hosts[3 + r(3)];
        const m = dnsMessage({ qname: `n${r(3)}.example`, qtype: 1, answers: [A(answer)] });
        pkts.push({
          us,
          proto: 17,
          ip: udp({ src: "192.168.1.1", dst: src, sp: 53, dp: ports[r(6)], payload: m }),
        });
      }
    }
    const reordered = [17, 6, 1].flatMap((p) => pkts.filter((x) => x.proto === p));
    assert.equal((await analyzeBytes(pcapOf(pkts))).reads, 1);
    const got = await conv(pkts);
    const want = await conv(reordered);
    assert.equal(got?.trafficDate, want?.trafficDate, `seed ${seed}`);
    assert.deepEqual(got?.flashes, want?.flashes, `seed ${seed}`);
  }
});

// ---------------------------------------------------------------------------------------------
// A reference model of sections 2 to 4, written from the spec with string keys, against the
// converter on seeded random captures.

Deno.test("sections 2-4: the converter agrees with a string-keyed reference model (seeded)", async () => {
  const hosts = [
    H,
    "10.0.0.6",
    "192.168.1.1",
    "169.254.7.7",
    "5.5.5.5",
    "6.6.6.6",
    "93.184.216.34",
    "198.51.100.9",
  ];
  const ports = [53, 80, 443, 445, 1024, 3000, 4000, 49151, 49152, 50000, 5353];
  const names = ["a.example", "b.example", "Mail.Example.COM"];
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(seed * 7919);
    const mp: ModelPkt[] = [];
    const n = 3 + r(30);
    for (let i = 0; i < n; i++) {
      const src = hosts[r(hosts.length)];
      let dst = hosts[r(hosts.length)];
      if (dst === src) dst = hosts[(hosts.indexOf(src) + 1) % hosts.length];
      const us = at(r(500) / 100 + r(1000) / 1e6);
      const kind = r(12);
      if (kind < 8) {
        mp.push({
          us,
          proto: kind < 4 ? 17 : 6,
          src,
          dst,
          sp: ports[r(ports.length)],
          dp: ports[r(ports.length)],
          bytes: r(300),
        });
      } else if (kind < 10) mp.push({ us, proto: 1, src, dst, sp: 0, dp: 0, bytes: 0 });
      else {
        const answers = Array.from(
          { length: 1 + r(2) },
          () => r(4) === 0 ? "10.9.9.9" : hosts[4 + r(4)],
        );
        const name = names[r(names.length)];
        const m = dnsMessage({ qname: name, qtype: 1, answers: answers.map((x) => A(x)) });
        mp.push({
          us,
          proto: 17,
          src: r(2) ? "8.8.8.8" : "192.168.1.1",
          dst: src,
          sp: 53,
          dp: ports[r(ports.length)],
          bytes: m.length,
          dns: { name, answers },
        });
        (mp[mp.length - 1] as ModelPkt & { msg?: Uint8Array }).msg = m;
      }
    }
    const pkts: Pkt[] = mp.map((p) => {
      const msg = (p as ModelPkt & { msg?: Uint8Array }).msg;
      const ip = p.proto === 1 ? icmp({ src: p.src, dst: p.dst }) : (p.proto === 6 ? tcp : udp)({
        src: p.src,
        dst: p.dst,
        sp: p.sp,
        dp: p.dp,
        payload: msg ?? p.bytes,
      });
      return { us: p.us, ip };
    });
    const got = await conv(pkts);
    const want = model(mp);
    assert.equal(got?.trafficDate, want?.trafficDate, `seed ${seed}`);
    assert.deepEqual(got?.flashes ?? [], want?.flashes ?? [], `seed ${seed}`);
  }
});
