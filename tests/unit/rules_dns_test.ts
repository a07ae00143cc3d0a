/**
 * SECFLOW.md section 2, step A and filter rule 4 on hand-built packets: DNS harvesting (flags,
 * ports, records, questions, compression, TCP framing) and local lookups.
 */
import assert from "node:assert/strict";
import {
  brief,
  cat,
  dnsMessage,
  type DnsMessageOptions,
  type Pkt,
  tcp,
  tcpDns,
  udp,
} from "../_pcap.ts";
import { isPrivateReverseName, readName } from "../../secflow/dns.ts";
import {
  A,
  at,
  conv,
  dnsResp,
  find,
  flashes,
  H,
  localAnswer,
  nameAfter,
  toServer,
  X,
} from "../_rules.ts";

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
    localAnswer(0, answer),
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
