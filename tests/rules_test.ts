/**
 * Every rule of SECFLOW.md sections 1 to 4 on hand-built packets: DNS harvesting, local lookups,
 * the filter, the start time, the protocol passes, directionality, ICMP, payload accounting,
 * naming, the persistent cache's updates and output order.
 */
import assert from "node:assert/strict";
import {
  analyzeBytes,
  brief,
  cat,
  convertBytes,
  convertFull,
  dnsMessage,
  type DnsMessageOptions,
  type DnsRecord,
  ether,
  fragment,
  icmp,
  ipv4,
  pcap,
  pcapOf,
  type Pkt,
  T0,
  tcp,
  tcpDns,
  udp,
} from "./_pcap.ts";
import type { Flash, Sample } from "../secflow/types.ts";
import { isPrivateReverseName, readName } from "../secflow/dns.ts";
import { isFilterLocal, isLocal, isRfc1918, parseIPv4 } from "../secflow/net.ts";
import { BLOCKED, model, type ModelPkt } from "./_model.ts";

const H = "10.0.0.5"; // the local host
const X = "93.184.216.34"; // an external server
const at = (s: number) => T0 + Math.round(s * 1e6);

async function conv(packets: Pkt[]): Promise<Sample | null> {
  return await convertBytes(pcapOf(packets));
}

async function flashes(packets: Pkt[]): Promise<Flash[]> {
  return (await conv(packets))?.flashes ?? [];
}

function find(fs: Flash[], dstSuffix: string): Flash | undefined {
  return fs.find((f) => f.dst.endsWith(dstSuffix));
}

/** A UDP DNS response 8.8.8.8:53 → H:40000 at time `s`. */
function dnsResp(
  s: number,
  o: Partial<DnsMessageOptions> & { qname?: DnsMessageOptions["qname"] },
): Pkt {
  return {
    us: at(s),
    ip: udp({
      src: "8.8.8.8",
      dst: H,
      sp: 53,
      dp: 40000,
      payload: dnsMessage({ qname: "example.com", qtype: 1, ...o }),
    }),
  };
}

/** A TCP packet H:50000 → dst:443 at time `s` (source H because sp > 49151). */
function toServer(s: number, dst: string, sp = 50000, dp = 443, payload = 10): Pkt {
  return { us: at(s), ip: tcp({ src: H, dst, sp, dp, payload }) };
}

const A = (data: string, extra: Partial<DnsRecord> = {}): DnsRecord => ({
  type: 1,
  data,
  ...extra,
});

/** The destination text of the session to `ip` after a DNS packet. */
async function nameAfter(dns: Pkt, ip = X): Promise<string> {
  const f = find(await flashes([dns, toServer(2, ip)]), ":443");
  assert.ok(f, "no session to port 443");
  return `${f.dst} ${f.destinationNameSource}`;
}

// ---------------------------------------------------------------------------------------------
// Step A: harvesting

Deno.test("DNS: a response is QR=1 and opcode 0, with any AA/TC/RD flags", async () => {
  const ok = `example.com:443 passive`;
  const orig = `${X}:443 original`;
  assert.equal(await nameAfter(dnsResp(1, { answers: [A(X)] })), ok);
  assert.equal(
    await nameAfter(dnsResp(1, { answers: [A(X)], flags: 0x0400 | 0x0200 | 0x0100 | 0x0080 })),
    ok,
  );
  assert.equal(await nameAfter(dnsResp(1, { answers: [A(X)], flags: 0 })), ok);
  assert.equal(await nameAfter(dnsResp(1, { answers: [A(X)], qr: false })), orig, "QR=0");
  assert.equal(await nameAfter(dnsResp(1, { answers: [A(X)], opcode: 1 })), orig, "opcode 1");
  assert.equal(await nameAfter(dnsResp(1, { answers: [A(X)], opcode: 2 })), orig, "opcode 2");
  // rcode is not looked at
  assert.equal(await nameAfter(dnsResp(1, { answers: [A(X)], flags: 0x8003 & 0x000f })), ok);
});

Deno.test("DNS: port 53 on either side; other ports are not DNS", async () => {
  const m = dnsMessage({ qname: "example.com", qtype: 1, answers: [A(X)] });
  const toPort53 = {
    us: at(1),
    ip: udp({ src: "8.8.8.8", dst: H, sp: 40000, dp: 53, payload: m }),
  };
  assert.equal(await nameAfter(toPort53), "example.com:443 passive");
  const noPort53 = {
    us: at(1),
    ip: udp({ src: "8.8.8.8", dst: H, sp: 5300, dp: 40000, payload: m }),
  };
  assert.equal(await nameAfter(noPort53), `${X}:443 original`);
});

Deno.test("DNS: A records of class IN and length 4 from answer, authority and additional", async () => {
  const dns = dnsResp(1, {
    answers: [A("1.0.0.1")],
    authority: [A("2.0.0.2")],
    additional: [
      A("3.0.0.3"),
      A("4.0.0.4", { cls: 3 }),
      A("5.0.0.5", { data: Uint8Array.from([5, 0, 0, 5, 0]) }),
    ],
  });
  const fs = await flashes([
    dns,
    toServer(2, "1.0.0.1"),
    toServer(2, "2.0.0.2", 50001),
    toServer(2, "3.0.0.3", 50002),
    toServer(2, "4.0.0.4", 50003),
    toServer(2, "5.0.0.5", 50004),
  ]);
  assert.deepEqual(fs.filter((f) => f.dst.endsWith(":443")).map((f) => f.dst), [
    "example.com:443",
    "example.com:443",
    "example.com:443",
    "4.0.0.4:443", // class CH
    "5.0.0.5:443", // length 5
  ]);
});

Deno.test("DNS: CNAME and other records are stepped over; the owner name does not matter", async () => {
  const dns = dnsResp(1, {
    qname: "www.example.com",
    answers: [
      { type: 5, data: "edge.cdn.example.net" }, // CNAME, owner = pointer to the question
      { type: 16, owner: "txt.example.org", data: Uint8Array.from([3, 97, 98, 99]) }, // TXT
      A(X, { owner: "edge.cdn.example.net" }), // uncompressed owner, not the question's name
      A("7.7.7.7", { owner: { pointer: 12 } }),
    ],
  });
  assert.equal(await nameAfter(dns), "www.example.com:443 passive");
  assert.equal(await nameAfter(dns, "7.7.7.7"), "www.example.com:443 passive");
});

Deno.test("DNS: a record after a bad-class or bad-length A record is still read", async () => {
  const dns = dnsResp(1, {
    answers: [A("6.6.6.6", { cls: 255 }), A("6.6.6.6", { data: Uint8Array.from([6, 6, 6]) }), A(X)],
  });
  assert.equal(await nameAfter(dns), "example.com:443 passive");
  assert.equal(await nameAfter(dns, "6.6.6.6"), "6.6.6.6:443 original");
});

Deno.test("DNS: only the first question is read", async () => {
  // First question AAAA, second A: nothing is harvested.
  const aaaaFirst = dnsResp(1, {
    qtype: 28,
    moreQuestions: [["other.example", 1]],
    answers: [A(X)],
  });
  assert.equal(await nameAfter(aaaaFirst), `${X}:443 original`);
  // First question A: its name is used, not the second's.
  const aFirst = dnsResp(1, {
    qname: "first.example",
    moreQuestions: [["second.example", 1]],
    answers: [A(X)],
  });
  assert.equal(await nameAfter(aFirst), "first.example:443 passive");
  // A question of another type (MX) with an A in the additional section: nothing.
  const mx = dnsResp(1, { qtype: 15, additional: [A(X)] });
  assert.equal(await nameAfter(mx), `${X}:443 original`);
});

Deno.test("DNS: question names keep case; other characters, non-ASCII and length bytes become dots", async () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const cases: [DnsMessageOptions["qname"], string][] = [
    ["Mail.Example.COM", "Mail.Example.COM"],
    [[enc("www"), enc("mtb!com")], "www.mtb.com"],
    [[enc("a_b*c d"), enc("x-y"), enc("com")], "a.b.c.d.x-y.com"],
    [[Uint8Array.from([0x63, 0xc3, 0xa9, 0x64]), enc("de")], "c..d.de"],
    [[Uint8Array.from([0x00 + 65, 0x7f, 0xff]), enc("io")], "A...io"],
    // Label lengths 45 ('-') and 49 ('1') are not characters of the name.
    [
      [enc("a".repeat(45)), enc("b".repeat(49)), enc("net")],
      `${"a".repeat(45)}.${"b".repeat(49)}.net`,
    ],
  ];
  for (const [qname, expected] of cases) {
    assert.equal(
      await nameAfter(dnsResp(1, { qname, answers: [A(X)] })),
      `${expected}:443 passive`,
    );
  }
});

Deno.test("DNS: readName follows compression pointers and rejects loops", () => {
  const m = dnsMessage({
    qname: "www.example.com",
    qtype: 1,
    answers: [{ type: 5, owner: { pointer: 16 }, data: { pointer: 12 } }],
  });
  // The answer's owner is a pointer to "example.com" (offset 12 + 4).
  const owner = 12 + 17 + 4;
  assert.deepEqual(readName(m, 0, owner, m.length), { name: "example.com", next: owner + 2 });
  const loop = Uint8Array.from([...new Uint8Array(12), 0xc0, 12, 0, 1, 0, 1]);
  assert.equal(readName(loop, 0, 12, loop.length), undefined);
});

Deno.test("DNS: a malformed response (pointer loop, cut records) is harmless", async () => {
  const loop = cat(dnsMessage({ qname: "example.com", qtype: 1 }).subarray(0, 12), [
    0xc0,
    12,
    0,
    1,
    0,
    1,
  ]);
  loop[7] = 1; // one answer, absent
  const p = { us: at(1), ip: udp({ src: "8.8.8.8", dst: H, sp: 53, dp: 40000, payload: loop }) };
  assert.equal(await nameAfter(p), `${X}:443 original`);
  const cut = dnsMessage({ qname: "example.com", qtype: 1, answers: [A(X)] });
  const q = {
    us: at(1),
    ip: udp({
      src: "8.8.8.8",
      dst: H,
      sp: 53,
      dp: 40000,
      payload: cut.subarray(0, cut.length - 2),
    }),
  };
  assert.equal(await nameAfter(q), `${X}:443 original`);
});

Deno.test("DNS over TCP: the two-byte length prefix, several messages in one segment", async () => {
  const m1 = dnsMessage({ qname: "one.example", qtype: 1, answers: [A("1.0.0.1")] });
  const m2 = dnsMessage({ qname: "two.example", qtype: 1, answers: [A("2.0.0.2")] });
  const dns = {
    us: at(1),
    ip: tcp({ src: "8.8.8.8", dst: H, sp: 53, dp: 50100, payload: tcpDns(m1, m2) }),
  };
  const fs = await flashes([dns, toServer(2, "1.0.0.1"), toServer(2, "2.0.0.2", 50001)]);
  assert.equal(find(fs, ":443")?.dst, "one.example:443");
  assert.deepEqual(fs.filter((f) => f.dst.endsWith(":443")).map((f) => f.dst), [
    "one.example:443",
    "two.example:443",
  ]);
  // The same message without the prefix over TCP is not read as DNS.
  const bare = { us: at(1), ip: tcp({ src: "8.8.8.8", dst: H, sp: 53, dp: 50100, payload: m1 }) };
  assert.equal(await nameAfter(bare, "1.0.0.1"), "1.0.0.1:443 original");
});

Deno.test("DNS: names are harvested before filtering (a response to a blocked port still names)", async () => {
  const m = dnsMessage({ qname: "example.com", qtype: 1, answers: [A(X)] });
  const blocked = { us: at(1), ip: udp({ src: "8.8.8.8", dst: H, sp: 53, dp: 5353, payload: m }) };
  assert.equal(await nameAfter(blocked), "example.com:443 passive");
  // ...and from a local resolver's response between two FILTER-LOCAL addresses.
  const local = {
    us: at(1),
    ip: udp({ src: "192.168.1.1", dst: H, sp: 53, dp: 40000, payload: m }),
  };
  assert.equal(await nameAfter(local), "example.com:443 passive");
});

// ---------------------------------------------------------------------------------------------
// Local lookups and filter rule 4

/** A local resolver's response at t=0 (RFC 1918 both ways), then an external session at t=1. */
async function trafficDateWith(message: Uint8Array): Promise<string | undefined> {
  const s = await conv([
    {
      us: at(0),
      ip: udp({ src: "192.168.1.1", dst: "192.168.1.10", sp: 53, dp: 40000, payload: message }),
    },
    { us: at(1), ip: tcp({ src: "192.168.1.10", dst: X, sp: 50000, dp: 443, payload: 1 }) },
  ]);
  return s?.trafficDate;
}

Deno.test("local lookups: A answers in 10/8, 127/8, 169.254/16, 172.16/12, 192.168/16", async () => {
  const local = [
    "10.1.2.3",
    "127.0.0.1",
    "169.254.9.9",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
  ];
  const notLocal = [
    "11.0.0.1",
    "172.15.0.1",
    "172.32.0.1",
    "169.253.0.1",
    "192.169.0.1",
    X,
    "192.0.2.1",
    "224.0.0.1",
  ];
  for (const ip of local) {
    const m = dnsMessage({ qname: "intranet.corp", qtype: 1, answers: [A(ip)] });
    assert.equal(await trafficDateWith(m), "1700000001.0", `A ${ip} is a local lookup`);
  }
  for (const ip of notLocal) {
    const m = dnsMessage({ qname: "intranet.corp", qtype: 1, answers: [A(ip)] });
    assert.equal(await trafficDateWith(m), "1700000000.0", `A ${ip} is not a local lookup`);
  }
  // A local address in the authority section is a harvested A answer too.
  const auth = dnsMessage({ qname: "x.corp", qtype: 1, authority: [A("10.9.9.9")] });
  assert.equal(await trafficDateWith(auth), "1700000001.0");
});

Deno.test("local lookups: PTR questions with an answer for private reverse names", async () => {
  const ptr = (qname: string, answers = 1) =>
    dnsMessage({
      qname,
      qtype: 12,
      answers: Array.from({ length: answers }, () => ({ type: 12, data: "host.corp" })),
    });
  const yes = [
    "5.1.168.192.in-addr.arpa",
    "4.3.2.10.in-addr.arpa",
    "1.1.16.172.in-addr.arpa",
    "9.9.31.172.in-addr.arpa",
    "1.1.168.192.IN-ADDR.ARPA",
  ];
  const no = [
    "1.1.32.172.in-addr.arpa",
    "1.1.15.172.in-addr.arpa",
    "8.8.8.8.in-addr.arpa",
    "1.168.192.in-addr.arpa",
    "1.1.1.127.in-addr.arpa",
    "1.1.254.169.in-addr.arpa",
    "5.1.168.192.ip6.arpa",
  ];
  for (const q of yes) assert.equal(await trafficDateWith(ptr(q)), "1700000001.0", q);
  for (const q of no) assert.equal(await trafficDateWith(ptr(q)), "1700000000.0", q);
  // No answer: no local lookup.
  assert.equal(await trafficDateWith(ptr("5.1.168.192.in-addr.arpa", 0)), "1700000000.0");
  assert.equal(isPrivateReverseName("5.1.168.192.in-addr.arpa"), true);
  assert.equal(isPrivateReverseName("5.1.168.300.in-addr.arpa"), false);
});

Deno.test("filter rule 4: port-53 RFC 1918 pairs are dropped only when local lookups exist", async () => {
  // A UDP session H:40000 → 8.8.8.8:53 (external resolver), then the same endpoint talks to a
  // local resolver: that packet joins the session by its source endpoint unless rule 4 drops it.
  const base = (answer: string): Pkt[] => [
    {
      us: at(0),
      ip: udp({
        src: "192.168.1.1",
        dst: H,
        sp: 53,
        dp: 40001,
        payload: dnsMessage({ qname: "a.corp", qtype: 1, answers: [A(answer)] }),
      }),
    },
    { us: at(1), ip: udp({ src: H, dst: "8.8.8.8", sp: 40000, dp: 53, payload: 30 }) },
    { us: at(3), ip: udp({ src: H, dst: "192.168.1.1", sp: 40000, dp: 53, payload: 40 }) },
  ];
  const withLookups = await conv(base("10.0.0.99"));
  assert.ok(withLookups);
  assert.equal(withLookups.trafficDate, "1700000001.0");
  assert.deepEqual(withLookups.flashes.map(brief), [
    "10.0.0.5:40000 > 8.8.8.8:53 original 1/30 0/0",
  ]);
  assert.equal(withLookups.flashes[0].duration, 0);
  const without = await conv(base("1.2.3.4"));
  assert.ok(without);
  assert.equal(without.trafficDate, "1700000000.0");
  assert.deepEqual(without.flashes.map(brief), ["10.0.0.5:40000 > 8.8.8.8:53 original 2/70 0/0"]);
  assert.equal(without.flashes[0].duration, 2);
  assert.equal(without.flashes[0].relativeStart, 1);
  // Rule 4 needs both ends RFC 1918: 10.0.0.5 → 127.0.0.53 (loopback) is not dropped by it.
  const loopback = [...base("10.0.0.99")];
  loopback[2] = {
    us: at(3),
    ip: udp({ src: H, dst: "127.0.0.53", sp: 40000, dp: 53, payload: 40 }),
  };
  assert.deepEqual((await conv(loopback))?.flashes.map(brief), [
    "10.0.0.5:40000 > 8.8.8.8:53 original 2/70 0/0",
  ]);
});

Deno.test("filter rule 4: a local lookup seen after the dropped packet still drops it (whole input)", async () => {
  const pkts: Pkt[] = [
    { us: at(0), ip: udp({ src: H, dst: "192.168.1.1", sp: 40001, dp: 53, payload: 30 }) },
    { us: at(1), ip: tcp({ src: H, dst: X, sp: 50000, dp: 443, payload: 1 }) },
    {
      us: at(2),
      ip: udp({
        src: "192.168.1.1",
        dst: H,
        sp: 53,
        dp: 40001,
        payload: dnsMessage({ qname: "nas.corp", qtype: 1, answers: [A("192.168.1.20")] }),
      }),
    },
  ];
  assert.equal((await conv(pkts))?.trafficDate, "1700000001.0");
});

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
    {
      us: at(0),
      ip: udp({
        src: "192.168.1.1",
        dst: H,
        sp: 53,
        dp: 40001,
        payload: dnsMessage({ qname: "a.corp", qtype: 1, answers: [A(answer)] }),
      }),
    },
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
      if (kind < 4) {
        mp.push({
          us,
          proto: 17,
          src,
          dst,
          sp: ports[r(ports.length)],
          dp: ports[r(ports.length)],
          bytes: r(300),
        });
      } else if (kind < 8) {
        mp.push({
          us,
          proto: 6,
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
