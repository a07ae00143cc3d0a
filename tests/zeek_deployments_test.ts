/**
 * Zeek logs as real deployments and Zeek-based tools write them, each read as the log Zeek writes
 * by default is: `Log::default_scope_sep = "_"` (`id_orig_h` for `id.orig_h`) in TSV and JSON, a
 * first line of column names in place of the `#` headers (exports), on the fast TSV path and on
 * the general one. A log that lacks a needed column names the columns missing, needed and found;
 * a snippet with quotes in it is quoted so that it reads right.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { convertZeek, sniffText, type ZeekInput } from "../secflow/zeek/mod.ts";
import { describeStart } from "../secflow/capture_reader.ts";
import { formatSample } from "../secflow/sample.ts";
import {
  cli,
  CONN_FIELDS,
  type ConnRow,
  connValues,
  DNS_FIELDS,
  jsonRecord,
  tsv,
} from "./zeek_fixtures.ts";

const L = "192.168.1.10", L2 = "192.168.1.11";
const rows: ConnRow[] = [
  {
    ts: "1700000000.5",
    oh: L,
    op: 50001,
    rh: "93.184.216.34",
    rp: 443,
    proto: "tcp",
    service: "ssl",
    duration: "1.25",
    ob: "517",
    rb: "4100",
    history: "ShADadFf",
    opk: "9",
    oipb: "900",
    rpk: "8",
    ripb: "4500",
  },
  {
    ts: "1700000001.25",
    oh: L2,
    op: 50002,
    rh: "151.101.1.69",
    rp: 443,
    proto: "tcp",
    duration: "0.5",
    ob: "100",
    rb: "200",
    history: "ShADad",
    opk: "4",
    oipb: "300",
    rpk: "4",
    ripb: "400",
  },
  {
    ts: "1700000002.125",
    oh: L,
    op: 5353,
    rh: "8.8.8.8",
    rp: 53,
    proto: "udp",
    service: "dns",
    duration: "0.01",
    ob: "40",
    rb: "56",
    history: "Dd",
    opk: "1",
    oipb: "68",
    rpk: "1",
    ripb: "84",
  },
  {
    ts: "1700000003",
    oh: L2,
    op: 8,
    rh: "93.184.216.34",
    rp: 0,
    proto: "icmp",
    duration: "2.0",
    ob: "64",
    rb: "64",
    history: "-",
    opk: "2",
    oipb: "120",
    rpk: "2",
    ripb: "120",
  },
  {
    ts: "1700000004.75",
    oh: L,
    op: 50003,
    rh: "93.184.216.34",
    rp: 80,
    proto: "tcp",
    history: "S",
    opk: "1",
    oipb: "60",
    rpk: "0",
    ripb: "0",
  },
];
const connRecords = rows.map((r, i) => connValues(r, i));
const dnsRecords = [
  { query: "www.example.com", answers: "93.184.216.34" },
  { query: "cdn.example.net", answers: "151.101.1.69" },
].map((d, i) => ({
  ts: `1700000000.${i}`,
  uid: `D${i}`,
  "id.orig_h": L,
  "id.orig_p": String(40000 + i),
  "id.resp_h": "192.168.1.1",
  "id.resp_p": "53",
  proto: "udp",
  query: d.query,
  qclass: "1",
  qtype: "1",
  rtt: "0.01",
  rcode_name: "NOERROR",
  answers: d.answers,
}));

/** `id.orig_h` as a deployment with `Log::default_scope_sep = "_"` writes it. */
const underscored = (f: string) => f.replace(/^id\./, "id_");
const renamed = (r: Record<string, string>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [underscored(k), v]));

/** The log with its `#` lines replaced by one line of column names, as exports write it. */
function namesFirst(log: string, names: string[]): string {
  const body = log.split("\n").filter((l) => !l.startsWith("#"));
  return [names.join("\t"), ...body].join("\n");
}

const shapes: Record<string, ZeekInput> = {
  "dotted #fields": {
    conn: tsv("conn", CONN_FIELDS, connRecords),
    dns: tsv("dns", DNS_FIELDS, dnsRecords),
  },
  "underscored #fields": {
    conn: tsv("conn", CONN_FIELDS.map(underscored), connRecords.map(renamed)),
    dns: tsv("dns", DNS_FIELDS.map(underscored), dnsRecords.map(renamed)),
  },
  "first line of dotted names": {
    conn: namesFirst(tsv("conn", CONN_FIELDS, connRecords), CONN_FIELDS),
    dns: namesFirst(tsv("dns", DNS_FIELDS, dnsRecords), DNS_FIELDS),
  },
  "first line of underscored names, CRLF": {
    conn: namesFirst(tsv("conn", CONN_FIELDS, connRecords), CONN_FIELDS.map(underscored))
      .replaceAll("\n", "\r\n"),
    dns: namesFirst(tsv("dns", DNS_FIELDS, dnsRecords), DNS_FIELDS.map(underscored)),
  },
  "underscored JSON keys": {
    conn: connRecords.map((r) => JSON.stringify(jsonRecord(renamed(r)))).join("\n"),
    dns: dnsRecords.map((r) => JSON.stringify(jsonRecord(renamed(r)))).join("\n"),
  },
};

async function sampleText(input: ZeekInput, fastPath: boolean): Promise<string> {
  const { sample, warnings } = await convertZeek(input, {
    fileName: "x.sf",
    hash: "0".repeat(32),
    fastPath,
  });
  assert.deepEqual(warnings, []);
  assert.ok(sample);
  return formatSample(sample);
}

Deno.test("Zeek logs with `_` scope separators or a first line of names convert as Zeek's default logs do, on the fast path and the general one", async () => {
  const expected = await sampleText(shapes["dotted #fields"], false);
  assert.equal(JSON.parse(expected).flashes.length, rows.length);
  assert.match(expected, /"dst": "www\.example\.com:443"/); // the dns.log named it
  for (const [shape, input] of Object.entries(shapes)) {
    for (const fastPath of [true, false]) {
      assert.equal(await sampleText(input, fastPath), expected, `${shape}, fast path ${fastPath}`);
    }
  }
});

Deno.test("a first line of Zeek's names is detected as a Zeek log of its kind; other text is not", () => {
  const head = (text: string) => sniffText(new TextEncoder().encode(text));
  for (const [shape, input] of Object.entries(shapes)) {
    if (shape.includes("JSON")) continue;
    assert.deepEqual(head(input.conn as string), { format: "zeek", shape: "tsv", kind: "conn" });
    assert.deepEqual(head(input.dns as string), { format: "zeek", shape: "tsv", kind: "dns" });
  }
  assert.equal(head("name\tvalue\nts\t1\n"), undefined);
  assert.equal(head("ts\tmessage\n1700000000\thello\n"), undefined);
});

Deno.test("the CLI converts an export whose first line is column names, and names what a log lacks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = shapes["first line of underscored names, CRLF"];
    const conn = join(dir, "conn.tsv"), dns = join(dir, "dns.tsv"), out = join(dir, "out.sf");
    await Deno.writeTextFile(conn, input.conn as string);
    await Deno.writeTextFile(dns, input.dns as string);
    const r = await cli(["convert", conn, "--dns", dns, "-o", out, "-q"]);
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.equal(
      JSON.parse(await Deno.readTextFile(out)).flashes.length,
      rows.length,
    );

    // A needed column missing: the ones missing, the ones needed, the ones found.
    const lacking = CONN_FIELDS.filter((f) => f !== "id.resp_h" && f !== "id.resp_p");
    await Deno.writeTextFile(conn, tsv("conn", lacking.map(underscored), connRecords));
    const bad = await cli(["convert", conn, "-o", out, "-q"]);
    assert.notEqual(bad.code, 0); // which code is convert's exits' business
    assert.deepEqual(bad.err, [
      `networksage convert: ${conn}: not a Zeek conn.log: no id.resp_h, id.resp_p columns ` +
      `(it needs ts, uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p; its columns are ` +
      `${lacking.map(underscored).join(", ")})`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a dns.log or a line of names that lacks a needed column says which", async () => {
  const dnsLacking = DNS_FIELDS.filter((f) => f !== "uid");
  await assert.rejects(
    convertZeek(
      {
        conn: shapes["dotted #fields"].conn,
        dns: tsv("dns", dnsLacking, dnsRecords),
        dnsName: "d.log",
      },
      { fileName: "x.sf" },
    ),
    (e: Error) => {
      assert.equal(
        e.message,
        `d.log: not a Zeek dns.log: no uid column (it needs ts, uid, id.orig_h, id.orig_p, ` +
          `id.resp_h, id.resp_p; its columns are ${dnsLacking.join(", ")})`,
      );
      return true;
    },
  );
  const names = ["ts", "uid", "id_orig_h", "id_orig_p", "proto", "conn_state", "orig_pkts"];
  for (const fastPath of [true, false]) {
    await assert.rejects(
      convertZeek({ conn: `${names.join("\t")}\n1700000000.5\tC1\t${L}\t1\ttcp\tSF\t1\n` }, {
        fileName: "x.sf",
        fastPath,
      }),
      /conn\.log: not a Zeek conn\.log: no id\.resp_h, id\.resp_p columns \(it needs .*; its columns are ts, uid, id_orig_h, id_orig_p, proto, conn_state, orig_pkts\)/,
    );
  }
});

Deno.test("snippets with quotes in them are quoted so that they read right", async () => {
  const start = (text: string) => describeStart(new TextEncoder().encode(text));
  assert.equal(start('"""Generated by'), `it starts with the text '"""Gener'`);
  assert.equal(start("hello world"), 'it starts with the text "hello wo"');
  assert.equal(start(`'a' "b"`), `it starts with the text "'a' \\"b\\""`);
  const { warnings } = await convertZeek(
    { conn: tsv("conn", CONN_FIELDS, [{ ...connRecords[0], ts: '"17"' }, connRecords[1]]) },
    { fileName: "x.sf" },
  );
  assert.deepEqual(warnings, [`conn.log: line 9: skipped: ts is not a time: '"17"'`]);
});
