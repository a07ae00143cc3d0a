/**
 * The Zeek fast paths against the general ones they replace: the one-pass TSV line reader
 * against the field-by-field reader (on lines of every odd shape), the direct microsecond writer
 * against pyFloat, the key table past its planned size, the cached name choice against
 * PassiveNames, and the streamed `.sf` against formatSample on a larger generated log.
 */
import assert from "node:assert/strict";
import { analyzeZeek, convertZeek, ZeekDnsReader } from "../secflow/zeek/mod.ts";
import { IntPairTable } from "../secflow/_int_table.ts";
import { micros6, microsText, zeekSampleText } from "../secflow/zeek/sample_text.ts";
import { NameChooser } from "../secflow/zeek/_name_chooser.ts";
import { ZeekNames } from "../secflow/zeek/names.ts";
import { PassiveNames } from "../secflow/naming.ts";
import type { HarvestedName } from "../secflow/dns.ts";
import { formatSample } from "../secflow/sample.ts";
import { pyFloat, round6 } from "../secflow/format.ts";
import { CONN_FIELDS, DNS_FIELDS, tsv } from "./zeek_fixtures.ts";
import { prng as rng } from "../bench/synthetic.ts";

const ODD_VALUES: Record<string, string[]> = {
  ts: [
    "1700000000.123456",
    "1700000000",
    "1700000000.5",
    "1700000000.1234567",
    "-",
    "",
    "x",
    "2023-11-14T22:13:20.25Z",
    "1700000000.",
    ".5",
    "17000000001234567.5",
    "1e9",
  ],
  uid: ["C1", "-", "", "C\r2", "C\x013"],
  "id.orig_h": [
    "10.0.0.2",
    "93.184.216.34",
    "-",
    "",
    "::1",
    "1.2.3",
    "256.1.1.1",
    "1.2.3.4x",
    "010.0.00.002",
    "1.2.3.0255",
    "1..2.3",
    "1.2.3.",
  ],
  "id.orig_p": ["50000", "0", "65535", "65536", "-", "", "5x", "00080"],
  "id.resp_h": ["93.184.216.34", "10.0.0.9", "151.101.1.69", "-", "fe80::1", "1.2.3.4.5"],
  "id.resp_p": ["443", "80", "0", "-", "99999"],
  proto: ["tcp", "udp", "icmp", "-", "", "ICMP", "icmp\r"],
  service: ["ssl", "-", "", "dns,http"],
  duration: ["1.5", "0.000001", "-", "", "2", "x", "12.1234567", "1234567890123456.5"],
  orig_bytes: ["100", "0", "-", "", "12x", "-1", "4294967296", "12345678901234567"],
  resp_bytes: ["2000", "-", "", "4294967295"],
  history: ["ShADadFf", "S", "s", "Dd", "t", "T", "-", "", "dD", "S\x0b"],
  orig_pkts: ["10", "-", "", "0", "x"],
  orig_ip_bytes: ["600", "-", "", "99999999999"],
  resp_pkts: ["12", "-", ""],
  resp_ip_bytes: ["2600", "-", ""],
};

function oddConnLog(rows: number, seed: number, fields: string[] = [...CONN_FIELDS]): string {
  const rand = rng(seed);
  const pick = (xs: string[], common: number) =>
    rand() < common ? xs[0] : xs[Math.floor(rand() * xs.length)];
  const body: Record<string, string>[] = [];
  const endpoints = ["10.0.0.2\t50000", "10.0.0.3\t50001", "93.184.216.34\t443", "10.0.0.9\t22"];
  for (let i = 0; i < rows; i++) {
    const r: Record<string, string> = {};
    for (const f of CONN_FIELDS) r[f] = f in ODD_VALUES ? pick(ODD_VALUES[f], 0.93) : "-";
    r.ts = rand() < 0.7 ? (1700000000 + i + rand()).toFixed(6) : r.ts;
    if (rand() < 0.4) {
      // Repeated keys (groups), and keys that collide with flipped rows.
      const [h, p] = endpoints[Math.floor(rand() * endpoints.length)].split("\t");
      r["id.orig_h"] = h;
      r["id.orig_p"] = p;
      if (rand() < 0.5) r["id.resp_h"] = rand() < 0.5 ? "10.0.0.2" : "93.184.216.34";
      if (rand() < 0.3) r["id.resp_p"] = "50000";
    } else if (r["id.orig_p"] === "50000") r["id.orig_p"] = String(40000 + i);
    body.push(r);
  }
  let text = tsv("conn", fields, body);
  // A few short lines and one with extra fields.
  const lines = text.split("\n");
  lines.splice(12, 0, "1700000000.5\tCx\t10.0.0.2\t50000\t93.184.216.34");
  lines.splice(20, 0, lines[19] + "\textra\tfields");
  text = lines.join("\n");
  return text;
}

Deno.test("fast TSV path: every odd line gives what the general path gives (sessions, stats, warnings)", async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const conn = oddConnLog(600, seed);
    const fast = await analyzeZeek({ conn }, {});
    const slow = await analyzeZeek({ conn }, { fastPath: false });
    assert.deepEqual(fast.stats, slow.stats);
    assert.deepEqual(fast.warnings, slow.warnings);
    assert.equal(fast.startTime, slow.startTime);
    assert.deepEqual(fast.sessions.records(), slow.sessions.records());
    assert.ok(fast.sessions.length > 20, `${fast.sessions.length} sessions`);
    assert.ok(fast.stats.skipped > 20, `${fast.stats.skipped} skipped`);
  }
});

/** `text`'s bytes in pieces of 1 to `max` bytes. */
function pieces(text: string, max: number, seed: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text), rand = rng(seed), out: Uint8Array[] = [];
  for (let p = 0; p < bytes.length;) {
    const n = 1 + Math.floor(rand() * max);
    out.push(bytes.slice(p, p + n));
    p += n;
  }
  return out;
}

Deno.test("fast TSV path: lines across chunk ends, CRLF line ends, extra or fewer columns and other orders give what the general path gives", async () => {
  const layouts = [
    [...CONN_FIELDS],
    // Without tunnel_parents a \r comes right after the last value read.
    CONN_FIELDS.filter((f) => f !== "tunnel_parents"),
    // Columns after the standard ones (a site's additions) are not read.
    [...CONN_FIELDS, "community_id"],
    // Another order: the general path only.
    [...CONN_FIELDS.filter((f) => f !== "proto" && f !== "history"), "history", "proto"],
  ];
  for (const seed of [1, 2, 3]) {
    for (const fields of layouts) {
      for (const crlf of [false, true]) {
        let conn = oddConnLog(400, seed, fields);
        if (crlf) conn = conn.replaceAll("\n", "\r\n");
        const slow = await analyzeZeek({ conn }, { fastPath: false });
        for (const max of [7, 300, 1 << 16]) {
          const fast = await analyzeZeek({ conn: pieces(conn, max, seed) }, {});
          const what = `seed ${seed}, ${fields.at(-1)} last, crlf ${crlf}, pieces of <= ${max}`;
          assert.deepEqual(fast.stats, slow.stats, what);
          assert.deepEqual(fast.warnings, slow.warnings, what);
          assert.deepEqual(fast.sessions.records(), slow.sessions.records(), what);
          assert.ok(fast.stats.rows > 100, `${what}: ${fast.stats.rows} rows`);
        }
      }
    }
  }
});

const ODD_DNS: Record<string, string[]> = {
  ts: ODD_VALUES.ts,
  uid: ["D1", "-", "", "D\x012"],
  "id.orig_h": ["10.0.0.2", "-", ""],
  "id.orig_p": ["5353", "-"],
  "id.resp_h": ["10.0.0.1", "-", "::1"],
  "id.resp_p": ["53", "", "x"],
  rtt: ["0.01", "-", "", "x"],
  query: [
    "h1.example",
    "h2.example",
    "-",
    "",
    'we"ird\\q.example',
    "\u00e9.example",
    "q\r.example",
  ],
  qclass: ["1", "2", "-", "", "01", "1 "],
  qtype: ["1", "28", "-", "", "11"],
  rcode_name: ["NOERROR", "NXDOMAIN", "-", "", "NOERRORX", "noerror"],
  answers: [
    "93.184.216.34",
    "93.184.216.34,cname.example,93.184.216.35",
    "-",
    "",
    "::1,93.184.216.36",
    "cname.example",
    "1.2.3.4x,5.6.7.8",
    "5.6.7.8,",
  ],
  TTLs: ["60.000000", "-", "30.0,30.0"],
};

function oddDnsLog(rows: number, seed: number, fields: string[] = [...DNS_FIELDS]): string {
  const rand = rng(seed);
  const pick = (xs: string[]) => rand() < 0.85 ? xs[0] : xs[Math.floor(rand() * xs.length)];
  const body: Record<string, string>[] = [];
  for (let i = 0; i < rows; i++) {
    const r: Record<string, string> = {};
    for (const f of DNS_FIELDS) r[f] = f in ODD_DNS ? pick(ODD_DNS[f]) : "-";
    if (r.ts === ODD_DNS.ts[0]) r.ts = (1700000000 + i * 0.5 + rand()).toFixed(6);
    if (r.query === "h1.example") r.query = `h${Math.floor(rand() * 30)}.example`;
    if (r.answers === "93.184.216.34") r.answers = `93.184.216.${Math.floor(rand() * 40)}`;
    body.push(r);
  }
  let text = tsv("dns", fields, body);
  const lines = text.split("\n");
  lines.splice(12, 0, "1700000000.5\tD\t10.0.0.2\t5353\t10.0.0.1"); // short
  lines.splice(20, 0, lines[19] + "\textra\tfields");
  text = lines.join("\n");
  return text;
}

Deno.test("fast TSV path (dns.log): odd lines, chunk ends, CRLF and other layouts give the general path's names, counts and warnings", async () => {
  const layouts = [
    [...DNS_FIELDS],
    DNS_FIELDS.filter((f) => f !== "TTLs" && f !== "rejected"), // answers last
    [...DNS_FIELDS, "auth"],
    [...DNS_FIELDS.filter((f) => f !== "qtype"), "qtype"], // another order: general path only
  ];
  // One conn.log row per answer address, so that the names show in the sessions.
  const connBody = Array.from({ length: 40 }, (_, i) => ({
    ts: (1700000100 + i).toFixed(6),
    uid: "C" + i,
    "id.orig_h": "10.0.0.2",
    "id.orig_p": String(40000 + i),
    "id.resp_h": `93.184.216.${i}`,
    "id.resp_p": "443",
    proto: "tcp",
  }));
  const conn = tsv("conn", [...CONN_FIELDS], connBody);
  for (const seed of [1, 2, 3]) {
    for (const fields of layouts) {
      for (const crlf of [false, true]) {
        let dns = oddDnsLog(400, seed, fields);
        if (crlf) dns = dns.replaceAll("\n", "\r\n");
        const slow = await analyzeZeek({ conn, dns }, { fastPath: false });
        for (const max of [7, 1 << 16]) {
          const fast = await analyzeZeek({ conn, dns: pieces(dns, max, seed) }, {});
          const what = `seed ${seed}, ${fields.at(-1)} last, crlf ${crlf}, pieces of <= ${max}`;
          assert.deepEqual(fast.names, slow.names, what);
          assert.deepEqual(fast.warnings, slow.warnings, what);
          assert.deepEqual(fast.harvest?.rejected, slow.harvest?.rejected, what);
          assert.ok(slow.names.size > 20, `${what}: ${slow.names.size} named addresses`);
          const counts = (fastPath: boolean) => {
            const reader = new ZeekDnsReader("dns.log", { fastPath });
            for (const chunk of pieces(dns, max, seed)) reader.push(chunk);
            reader.end();
            return [reader.records, reader.used, reader.skipped, reader.harvest.count];
          };
          assert.deepEqual(counts(true), counts(false), what);
        }
      }
    }
  }
});

Deno.test("fast TSV path: a line over the length cap is skipped as the general path skips it", async () => {
  const conn = oddConnLog(50, 9);
  const lines = conn.split("\n");
  const long = lines.findIndex((l, i) => i > 8 && !l.startsWith("#") && l.length > 100);
  const cap = lines[long].length - 1;
  const slow = await analyzeZeek({ conn }, { fastPath: false, maxLineBytes: cap });
  const fast = await analyzeZeek({ conn }, { maxLineBytes: cap });
  assert.deepEqual(fast.warnings, slow.warnings);
  assert.ok(fast.warnings.some((w) => w.includes(`line ${long + 1}: skipped: longer than`)));
  assert.deepEqual(fast.sessions.records(), slow.sessions.records());
});

Deno.test("fast TSV path: the streamed .sf of a larger log equals formatSample(buildSample), and the general path's", async () => {
  const rand = rng(7);
  const body: Record<string, string>[] = [];
  for (let i = 0; i < 20000; i++) {
    const local = `10.0.${Math.floor(rand() * 4)}.${Math.floor(rand() * 50)}`;
    const ext = `93.184.${Math.floor(rand() * 8)}.${Math.floor(rand() * 30)}`;
    const inbound = rand() < 0.1;
    body.push({
      ts: (1700000000 + i * 0.01 + rand() * (rand() < 0.05 ? -20 : 1)).toFixed(6),
      uid: "C" + i,
      "id.orig_h": inbound ? ext : local,
      "id.orig_p": String(
        inbound ? 1024 + Math.floor(rand() * 3000) : 40000 + Math.floor(rand() * 400),
      ),
      "id.resp_h": inbound ? "10.0.0.5" : ext,
      "id.resp_p": inbound ? "22" : "443",
      proto: rand() < 0.03 ? "icmp" : "tcp",
      service: rand() < 0.5 ? "-" : "ssl",
      duration: rand() < 0.05 ? "-" : (rand() * 100).toFixed(6),
      orig_bytes: rand() < 0.05 ? "-" : String(Math.floor(rand() * 5000)),
      resp_bytes: rand() < 0.05 ? "-" : String(Math.floor(rand() * 90000)),
      conn_state: "SF",
      local_orig: "-",
      local_resp: "-",
      missed_bytes: "0",
      history: ["ShADadFf", "S", "Dd", "ShAdtF", "-"][Math.floor(rand() * 5)],
      orig_pkts: String(Math.floor(rand() * 50)),
      orig_ip_bytes: String(Math.floor(rand() * 9000)),
      resp_pkts: String(Math.floor(rand() * 90)),
      resp_ip_bytes: String(Math.floor(rand() * 99000)),
      tunnel_parents: "-",
    });
  }
  const conn = tsv("conn", [...CONN_FIELDS], body);
  const dnsBody: Record<string, string>[] = [];
  for (let i = 0; i < 300; i++) {
    dnsBody.push({
      ts: (1700000000 + i * 0.7).toFixed(6),
      uid: "D" + i,
      "id.orig_h": "10.0.0.2",
      "id.orig_p": "5353",
      "id.resp_h": "10.0.0.1",
      "id.resp_p": "53",
      proto: "udp",
      rtt: "0.01",
      query: i % 7 === 0 ? `weird"name\\${i}.example` : `h${i % 40}.example.com`,
      qclass: "1",
      qtype: "1",
      rcode_name: "NOERROR",
      answers: `93.184.${i % 8}.${i % 30},cname.example`,
    });
  }
  const dns = tsv("dns", [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "rtt",
    "query",
    "qclass",
    "qtype",
    "rcode_name",
    "answers",
  ], dnsBody);
  const hash = "0123456789abcdef0123456789abcdef";
  const built = await convertZeek({ conn, dns }, { fileName: "big.sf", hash });
  const expected = formatSample(built.sample!);
  for (const fastPath of [true, false]) {
    const analysis = await analyzeZeek({ conn, dns }, { fastPath });
    const text = zeekSampleText(analysis, { fileName: "big.sf", hash, chunkBytes: 8192 });
    assert.equal(text.text(), expected);
    assert.deepEqual(text.cacheUpdates, built.cacheUpdates);
  }
});

Deno.test("streamed .sf: every octet, ports and counts at each digit count, spilled counts, long and escaped names, out of order, over minutes and over hours: what formatSample writes", async () => {
  // 512 rows 0.37 s apart, then 47.3 s apart (relative starts past 2^32 microseconds, which
  // are sorted in doubles), in a shuffled order.
  for (const spacing of [0.37, 47.3]) await edgeSample(spacing);
});

async function edgeSample(spacing: number): Promise<void> {
  const ports = [0, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535];
  const counts = [
    "0",
    "9",
    "10",
    "99",
    "100",
    "12345678",
    "999999999",
    "1000000000",
    "2147483647",
    "2147483648",
    "4294967294",
    "4294967295",
    "4294967296",
    "900719925474099",
  ];
  const durations = [
    "0",
    "0.000001",
    "0.00005",
    "0.0001",
    "0.5",
    "10",
    "123.45678",
    "99999.999999",
  ];
  const first = [11, 99, 200, 223];
  const body: Record<string, string>[] = [];
  for (let i = 0; i < 512; i++) {
    const o = i % 256;
    body.push({
      ts: (1700000000 + ((i * 37) % 512) * spacing + (i % 7) * 1e-6).toFixed(6),
      uid: "C" + i,
      "id.orig_h": `10.${o}.${255 - o}.${(o * 3) % 256}`,
      "id.orig_p": String(ports[i % ports.length]),
      "id.resp_h": `${first[i % 4]}.${o}.${(o * 7) % 256}.${255 - o}`,
      "id.resp_p": String(ports[(i * 3) % ports.length]),
      proto: i % 17 === 0 ? "icmp" : "tcp",
      service: i % 2 ? "ssl" : "-",
      duration: durations[i % durations.length],
      orig_bytes: counts[i % counts.length],
      resp_bytes: counts[(i * 5) % counts.length],
      history: "ShADadFf",
      orig_pkts: counts[(i * 3) % counts.length],
      orig_ip_bytes: "0",
      resp_pkts: counts[(i * 9) % counts.length],
      resp_ip_bytes: "0",
    });
  }
  const conn = tsv("conn", [...CONN_FIELDS], body);
  // Names for some destinations: plain, escaped, and long (over 256 bytes once escaped).
  const named = (i: number) =>
    [
      `h${i}.example.com`,
      `we"ird\\${i}.example`,
      `${"\u00e9".repeat(60)}.${"a".repeat(60)}.example${i}`,
    ][i % 3];
  const dnsBody = body.filter((_, i) => i % 4 !== 3).map((r, i) => ({
    ts: "1699999999.5",
    uid: "D" + i,
    "id.orig_h": "10.0.0.2",
    "id.orig_p": "5353",
    "id.resp_h": "10.0.0.1",
    "id.resp_p": "53",
    rtt: "0.01",
    query: named(i),
    qclass: "1",
    qtype: "1",
    rcode_name: "NOERROR",
    answers: r["id.resp_h"],
  }));
  const dns = tsv(
    "dns",
    ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "rtt", "query", "qclass"]
      .concat(["qtype", "rcode_name", "answers"]),
    dnsBody,
  );
  const hash = "0123456789abcdef0123456789abcdef";
  const built = await convertZeek({ conn, dns }, { fileName: "edge.sf", hash });
  const expected = formatSample(built.sample!);
  for (const seen of ['"src": "10.255.0.253:', '"dst": "223.255.249.0:', '"srcPkts": 4294967296']) {
    assert.ok(expected.includes(seen), seen);
  }
  assert.ok(expected.includes("\\u00e9"), "a long escaped name is in the sample");
  const analysis = await analyzeZeek({ conn, dns });
  for (const chunkBytes of [4096, 1 << 20]) {
    const text = zeekSampleText(analysis, { fileName: "edge.sf", hash, chunkBytes });
    assert.equal(text.text(), expected);
  }
}

Deno.test("microsecond writer: equals pyFloat(k / 1e6) and micros6 equals Math.round(round6(x) * 1e6)", () => {
  const rand = rng(11);
  const ks: number[] = [0, 1, 99, 100, 101, 1e6, 1e6 + 1, 999999, 1e14 - 1, 1e14, 123456789012345];
  for (let i = 0; i < 200000; i++) {
    const scale = 10 ** Math.floor(rand() * 15);
    let k = Math.floor(rand() * scale);
    if (rand() < 0.2) k = Math.round(k / 1000) * 1000; // trailing zeros
    ks.push(k);
  }
  for (const k of ks) assert.equal(microsText(k), pyFloat(k / 1e6), `k=${k}`);
  for (let i = 0; i < 200000; i++) {
    const a = 1.7e9 + rand() * 4000, b = a + rand() * (rand() < 0.5 ? 2 : 10000);
    for (const x of [b - a, a - 1.7e9, rand() * 1e-5, rand() * 1e7]) {
      assert.equal(micros6(x), Math.round(round6(x) * 1e6), `x=${x}`);
    }
  }
});

Deno.test("int pair table: finds every key after growing past its planned size", () => {
  const t = new IntPairTable(1024);
  const rand = rng(3);
  const keys: [number, number][] = [];
  for (let i = 0; i < 50000; i++) keys.push([(rand() * 2 ** 32) | 0, Math.floor(rand() * 65536)]);
  const ids = keys.map(([a, b]) => t.findOrAdd(a, b));
  keys.forEach(([a, b], i) => {
    assert.equal(t.find(a, b), ids[i]);
    assert.equal(t.findOrAdd(a, b), ids[i]);
  });
  assert.equal(t.find(1, 70000), -1);
});

Deno.test("cached name choice: equals PassiveNames.choose, times in and out of order, with cache and recent names", () => {
  const rand = rng(5);
  const harvested = new Map<number, HarvestedName[]>();
  const ips: number[] = [];
  for (let i = 0; i < 300; i++) {
    const ip = (93 << 24) + Math.floor(rand() * 2 ** 20);
    ips.push(ip >>> 0);
    if (i % 5 === 0) continue; // never named
    const list: HarvestedName[] = [];
    // Half the addresses are looked up under one name again and again (runs of one name).
    const only = rand() < 0.5 ? `n${Math.floor(rand() * 40)}.example` : undefined;
    for (let j = Math.floor(rand() * 6); j >= 0; j--) {
      list.push({
        name: rand() < 0.9 && only ? only : `n${Math.floor(rand() * 40)}.example`,
        time: 1000 + Math.floor(rand() * 50),
      });
    }
    harvested.set(ip >>> 0, list);
  }
  ips.push(0x0a000001, 0xc0a80101); // local
  harvested.set(0x0a000001, [{ name: "local.example", time: 1 }]);
  const cache = new Map<number, string>([[ips[5], "cached.example"], [ips[6], "c2.example"]]);
  const recent = new Map<number, string>([[ips[10], "recent.example"]]);
  const names = ZeekNames.fromMap(harvested);
  const active = new Set(ips.filter((ip) => !(ip >>> 24 === 10 || ip >>> 24 === 192)));
  const passive = new PassiveNames(harvested, active);
  const chooser = new NameChooser(names, { cache, recent });
  const decoder = new TextDecoder();
  let time = 990;
  for (let i = 0; i < 20000; i++) {
    time += rand() < 0.9 ? rand() * 0.1 : -rand() * 20;
    const t = rand() < 0.1 ? 1000 + Math.floor(rand() * 50) : time; // exactly on a name time
    const ip = ips[Math.floor(rand() * ips.length)];
    const want = passive.choose(ip, t, { cache, recent });
    chooser.choose(ip, t);
    const got = chooser.nameStart < 0 ? undefined : JSON.parse(
      `"${decoder.decode(chooser.pool.subarray(chooser.nameStart, chooser.nameEnd))}"`,
    );
    assert.equal(chooser.source, want.source);
    if (want.source === "original") assert.equal(got, undefined);
    else assert.equal(got, want.name);
  }
  assert.deepEqual(chooser.unambiguous(ips), passive.unambiguous());
});

Deno.test("files: analyzeZeekFiles gives what analyzeZeek gives on the same bytes (analysis, warnings, errors, .sf)", async () => {
  const { analyzeZeekFiles } = await import("../io/_zeek.ts");
  const dir = await Deno.makeTempDir();
  try {
    const connPath = `${dir}/conn.log`, dnsPath = `${dir}/dns.log`;
    await Deno.writeTextFile(connPath, oddConnLog(3000, 9));
    await Deno.writeTextFile(
      dnsPath,
      tsv("dns", [
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "query",
        "qclass",
        "qtype",
        "answers",
      ], [
        ...["93.184.216.34", "151.101.1.69", "bad"].map((a, i) => ({
          ts: `170000000${i}.5`,
          uid: "D",
          "id.orig_h": "10.0.0.2",
          "id.orig_p": "53",
          "id.resp_h": "10.0.0.1",
          "id.resp_p": "53",
          query: `name${i}.example`,
          qclass: "1",
          qtype: "1",
          answers: a,
        })),
        { ts: "x", uid: "D", "id.orig_h": "-" } as Record<string, string>,
      ]),
    );
    const hash = "0123456789abcdef0123456789abcdef";
    const run = async (fromFiles: boolean) => {
      const seen: string[] = [];
      const onWarning = (w: string) => seen.push(w);
      const a = fromFiles
        ? await analyzeZeekFiles(connPath, dnsPath, { onWarning })
        : await analyzeZeek({
          conn: await Deno.readFile(connPath),
          dns: await Deno.readFile(dnsPath),
          connName: connPath,
          dnsName: dnsPath,
        }, { onWarning });
      const text = zeekSampleText(a, { fileName: "p.sf", hash }).text();
      return { a, seen, text };
    };
    const one = await run(false), two = await run(true);
    assert.ok(one.a.stats.skipped > 20, "enough bad lines for the summary warning");
    assert.deepEqual(two.a.stats, one.a.stats);
    assert.deepEqual(two.a.warnings, one.a.warnings);
    assert.deepEqual(two.seen, one.seen);
    assert.equal(two.a.startTime, one.a.startTime);
    assert.equal(two.a.shape, one.a.shape);
    assert.deepEqual(two.a.sessions.records(), one.a.sessions.records());
    assert.equal(two.text, one.text);

    // An error found on the second thread is the same error.
    await Deno.writeTextFile(connPath, "#fields\tts\tuid\tid.orig_p\n1.0\tC\t5\n");
    const errorOf = async (fromFiles: boolean) =>
      (fromFiles
        ? analyzeZeekFiles(connPath, undefined)
        : analyzeZeek({ conn: await Deno.readFile(connPath), connName: connPath })).then(
          () => "no error",
          (e) => `${e.name}: ${e.message}`,
        );
    const [e1, e2] = [await errorOf(false), await errorOf(true)];
    assert.match(e1, /InputError: .*no id\.orig_h, id\.resp_h, id\.resp_p columns/);
    assert.equal(e2, e1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
