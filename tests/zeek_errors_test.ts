/**
 * Bad Zeek input, through the library and the CLI: malformed lines skipped with warnings naming
 * file and line (20 at most, then a count), logs with no usable rows (exit 1, "no Secflows"; exit 2
 * when every row is malformed), a
 * dns.log given as INPUT, a conn.log given as --dns, --dns with a capture, empty and missing
 * files; errors are one line and name the file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { convertZeek, MAX_LINE_WARNINGS } from "../secflow/zeek/mod.ts";
import { type ConnRow, connTsv, DNS_FIELDS, gzip, tsv } from "./zeek_fixtures.ts";
import { cli } from "./zeek_fixtures.ts";

const L = "192.168.1.10", E = "93.184.216.34";
const good: ConnRow = {
  ts: "1700000000.5",
  oh: L,
  op: 50001,
  rh: E,
  rp: 443,
  opk: "1",
  rpk: "1",
  duration: "1.0",
};
const dnsLog = tsv("dns", DNS_FIELDS, [{
  ts: "1700000000.0",
  uid: "D",
  "id.orig_h": L,
  "id.orig_p": "1",
  "id.resp_h": "10.0.0.1",
  "id.resp_p": "53",
  query: "example.com",
  qclass: "1",
  qtype: "1",
  rtt: "0.1",
  rcode_name: "NOERROR",
  answers: E,
}]);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("malformed lines: skipped, each named with its line (at most 20), then counted", async () => {
  const text = connTsv([good]);
  const bad = [
    "garbage",
    "1700000001.0\t-\t192.168.1.10\t50002\t93.184.216.34\t443\ttcp", // no uid
    "1700000001.0\tC9\tnot-an-ip\t50002\t93.184.216.34\t443\ttcp",
    "1700000001.0\tC9\t192.168.1.10\t70000\t93.184.216.34\t443\ttcp", // port out of range
    "yesterday\tC9\t192.168.1.10\t50002\t93.184.216.34\t443\ttcp",
    "1700000001.0\tC9\t192.168.1.10\t50002\t93.184.216.34\t443\ttcp\t-\tlong\t1\t1",
  ];
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.startsWith("#close"));
  lines.splice(at, 0, ...bad);
  const { sample, warnings } = await convertZeek({ conn: lines.join("\n"), connName: "c.log" }, {
    fileName: "x.sf",
  });
  assert.equal(sample?.flashes.length, 1);
  assert.equal(warnings.length, bad.length);
  assert.match(warnings[0], /^c\.log: line 10: skipped: no uid$/);
  assert.match(warnings[1], /^c\.log: line 11: skipped: no uid$/);
  assert.match(warnings[2], /line 12: skipped: an id address is not an IP address/);
  assert.match(warnings[3], /line 13: skipped: a port/);
  assert.match(warnings[4], /line 14: skipped: ts is not a time/);
  assert.match(warnings[5], /line 15: skipped: duration is not a number/);
  // Many bad lines: 20 named, then one count.
  const many = [connTsv([good]).trimEnd(), ...Array.from({ length: 30 }, () => "x\ty")].join("\n");
  const r = await convertZeek({ conn: many, connName: "m.log" }, { fileName: "x.sf" });
  assert.equal(r.warnings.length, MAX_LINE_WARNINGS + 1);
  assert.equal(r.warnings.at(-1), "m.log: 10 more malformed lines skipped");
  // JSON: a broken line and a non-object.
  const json =
    `{"ts":1700000000.5,"uid":"C","id.orig_h":"${L}","id.orig_p":1,"id.resp_h":"${E}","id.resp_p":2}\n{"ts":\n[1,2]\n`;
  const j = await convertZeek({ conn: json, connName: "j.log" }, { fileName: "x.sf" });
  assert.equal(j.sample?.flashes.length, 1);
  assert.deepEqual(j.warnings, [
    "j.log: line 2: skipped: not valid JSON",
    "j.log: line 3: skipped: not a JSON object",
  ]);
});

Deno.test("CLI: a log without usable rows exits 1 with 'no Secflows' and writes nothing; every row malformed, exit 2", async () => {
  await withDir(async (dir) => {
    const conn = join(dir, "conn.log");
    const out = join(dir, "out.sf");
    await Deno.writeTextFile(conn, connTsv([{ ts: "1.0", oh: L, op: 1, rh: "10.0.0.1", rp: 53 }]));
    let r = await cli(["convert", conn, "-o", out]);
    assert.equal(r.code, 1);
    assert.match(r.err.join("\n"), /no Secflows/);
    await assert.rejects(Deno.stat(out));
    // Only garbage lines: warnings, and the log is not usable: exit 2, saying so.
    await Deno.writeTextFile(conn, connTsv([]).replace("#close", "a\tb\tc\nd\te\n#close"));
    r = await cli(["convert", conn, "-o", out]);
    assert.equal(r.code, 2);
    assert.match(r.err[0], /^warning: .*conn\.log: line 9: skipped/);
    assert.match(
      r.err.at(-1)!,
      /conn\.log: no Secflows: every one of its 2 conn\.log records is malformed; nothing written$/,
    );
    await assert.rejects(Deno.stat(out));
  });
});

Deno.test("CLI: dns.log as INPUT, conn.log as --dns, --dns with a capture: one-line errors naming the file", async () => {
  await withDir(async (dir) => {
    const conn = join(dir, "a.log");
    const dns = join(dir, "b.log");
    await Deno.writeTextFile(conn, connTsv([good]));
    await Deno.writeTextFile(dns, dnsLog);
    let r = await cli(["convert", dns]);
    assert.equal(r.code, 2);
    assert.equal(r.err.length, 1);
    assert.match(r.err[0], /b\.log: this is a Zeek dns\.log, not a conn\.log/);
    r = await cli(["convert", conn, "--dns", conn]);
    assert.equal(r.code, 2);
    assert.equal(r.err.length, 1);
    assert.match(r.err[0], /a\.log: this is a Zeek conn\.log, not a dns\.log/);
    // JSON and gzipped flavours are recognised too.
    const jsonDns = join(dir, "d.json.gz");
    await Deno.writeFile(
      jsonDns,
      await gzip(`{"ts":1.0,"uid":"D","query":"x","qtype":1,"answers":["1.2.3.4"]}\n`),
    );
    r = await cli(["convert", jsonDns]);
    assert.equal(r.code, 2);
    assert.match(r.err[0], /d\.json\.gz: this is a Zeek dns\.log/);
    // A capture with --dns.
    const pcap = join(dir, "c.pcap");
    const header = new Uint8Array(24);
    new DataView(header.buffer).setUint32(0, 0xa1b2c3d4, true);
    new DataView(header.buffer).setUint32(20, 1, true);
    await Deno.writeFile(pcap, header);
    r = await cli(["convert", pcap, "--dns", dns]);
    assert.equal(r.code, 2);
    assert.match(r.err[0], /a dns\.log goes with a Zeek conn\.log/);
  });
});

Deno.test("CLI: empty, missing and unrecognised inputs are one-line errors; gzip damage too", async () => {
  await withDir(async (dir) => {
    const empty = join(dir, "empty.log");
    await Deno.writeTextFile(empty, "");
    let r = await cli(["convert", empty]);
    assert.equal(r.code, 2);
    assert.match(r.err[0], /empty\.log: the file is empty/);
    r = await cli(["convert", join(dir, "nope.log")]);
    assert.equal(r.code, 2);
    assert.match(r.err[0], /nope\.log: no such file/);
    const text = join(dir, "notes.txt");
    await Deno.writeTextFile(text, "hello world\n");
    r = await cli(["convert", text]);
    assert.equal(r.code, 2);
    assert.match(r.err[0], /notes\.txt: not a pcap or pcapng capture, Zeek log or Secflow sample/);
    const conn = join(dir, "conn.log");
    await Deno.writeTextFile(conn, connTsv([good]));
    r = await cli(["convert", conn, "--dns", join(dir, "missing-dns.log")]);
    assert.equal(r.code, 2);
    assert.match(r.err[0], /missing-dns\.log: no such file/);
    const broken = join(dir, "broken.log.gz");
    const gz = await gzip(connTsv([good]).repeat(50));
    await Deno.writeFile(broken, gz.subarray(0, gz.length - 30));
    r = await cli(["convert", broken, "--format", "zeek"]);
    assert.equal(r.code, 2);
    assert.equal(r.err.length, 1);
    assert.match(r.err[0], /broken\.log\.gz: gzip data is damaged/);
    for (const line of r.err) assert.doesNotMatch(line, /\n| {4}at /);
  });
});

Deno.test("CLI: a Zeek conversion writes the sample (streamed) and says how many rows it read", async () => {
  await withDir(async (dir) => {
    const conn = join(dir, "conn.log");
    const dns = join(dir, "dns.log");
    await Deno.writeTextFile(conn, connTsv([good, { ...good, op: 50002, ts: "1700000001.0" }]));
    await Deno.writeTextFile(dns, dnsLog);
    const r = await cli(["convert", conn, "--dns", dns]);
    assert.equal(r.code, 0);
    assert.match(r.err[0], /conn\.sf: 2 Secflows from 2 conn\.log records/);
    const sample = JSON.parse(await Deno.readTextFile(join(dir, "conn.sf")));
    assert.equal(sample.fileName, "conn.sf");
    assert.equal(sample.flashes[0].dst, "example.com:443");
    assert.equal(sample.flashes[0].destinationNameSource, "passive");
  });
});

Deno.test("numbers no double holds: an infinite ts or duration and a count past 2^53 skip the row, in TSV, JSON and dns.log", async () => {
  // "1e400" is valid number text that reads as Infinity: kept, it wrote `"relativeStart":
  // Infinity` (not JSON) and broke the grouping of the other rows.
  const rows: ConnRow[] = [
    good,
    { ...good, op: 50002, ts: "1e400" },
    { ...good, op: 50003, duration: "1e400" },
    { ...good, op: 50004, opk: "99999999999999999999999" }, // past 2^53 - 1: not exact as a double
    { ...good, op: 50005, opk: "9007199254740991" }, // 2^53 - 1: kept
  ];
  const tsvRun = await convertZeek({ conn: connTsv(rows), connName: "c.log" }, {
    fileName: "x.sf",
  });
  assert.deepEqual(tsvRun.sample?.flashes.map((f) => f.src), [`${L}:50001`, `${L}:50005`]);
  assert.deepEqual(tsvRun.warnings, [
    'c.log: line 10: skipped: ts is not a time: "1e400"',
    "c.log: line 11: skipped: duration is not a number",
    "c.log: line 12: skipped: a byte or packet count is not a whole number (at most 2^53 - 1)",
  ]);
  assert.equal(tsvRun.sample?.flashes[1].srcPkts, 9007199254740991);
  // JSON: JSON.parse reads 1e400 as Infinity too.
  const record = (port: number, extra = "", ts = "1700000000.5") =>
    `{"ts":${ts},"uid":"C","id.orig_h":"${L}","id.orig_p":${port},"id.resp_h":"${E}","id.resp_p":443${extra}}`;
  const json = [
    record(50001),
    record(50002, ',"duration":1e400'),
    record(50003, ',"duration":"1e400"'),
    record(50004, ',"orig_pkts":99999999999999999999999'),
    record(50005, "", "1e400"),
  ].join("\n");
  const jsonRun = await convertZeek({ conn: json, connName: "j.log" }, { fileName: "x.sf" });
  assert.deepEqual(jsonRun.sample?.flashes.map((f) => f.src), [`${L}:50001`]);
  assert.deepEqual(jsonRun.warnings, [
    "j.log: line 2: skipped: duration is not a number",
    "j.log: line 3: skipped: duration is not a number",
    "j.log: line 4: skipped: a byte or packet count is not a whole number (at most 2^53 - 1)",
    "j.log: line 5: skipped: ts is not a time: Infinity",
  ]);
  // dns.log: an answer with an infinite time names nothing.
  const dns = dnsLog.replace("1700000000.0\tD", "1e400\tD");
  const dnsRun = await convertZeek({
    conn: connTsv([good]),
    connName: "c.log",
    dns,
    dnsName: "d.log",
  }, {
    fileName: "x.sf",
  });
  assert.equal(dnsRun.sample?.flashes[0].dst, `${E}:443`);
  assert.match(dnsRun.warnings.join("\n"), /d\.log: line 9: skipped: ts is not a time: "1e400"/);
});
