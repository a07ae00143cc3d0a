/**
 * Every shape Zeek writes gives the same Secflows: TSV with `#fields`, without headers (standard
 * order), with shuffled columns and extra ones (community_id, ip_proto), gzipped (file, bytes,
 * stream), JSON lines, JSON arrays on one line and across lines, flat and nested `id` keys, `ts`
 * as epoch seconds or ISO-8601. Acceptance 2 on a log written here and, when ../shared exists,
 * on a conformance log.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { convertFile, detectFormat } from "../../io/convert.ts";
import { convertZeek } from "../../secflow/zeek/mod.ts";
import type { Flash, Sample } from "../../secflow/types.ts";
import {
  CONN_FIELDS,
  type ConnRow,
  connTsv,
  connValues,
  DNS_FIELDS,
  gzip,
  jsonRecord,
  lookupIds,
  tsv,
} from "../zeek_fixtures.ts";
import { CONFORMANCE, haveConformance } from "../_shared.ts";

const L = "192.168.1.10", E = "93.184.216.34", E2 = "151.101.1.69";
const ROWS: ConnRow[] = [
  {
    ts: "1700000000.123456",
    oh: L,
    op: 50001,
    rh: E,
    rp: 443,
    service: "ssl",
    duration: "1.5",
    ob: "100",
    rb: "2000",
    history: "ShADadFf",
    opk: "10",
    oipb: "600",
    rpk: "12",
    ripb: "2600",
  },
  {
    ts: "1700000001.5",
    oh: L,
    op: 50002,
    rh: E2,
    rp: 80,
    duration: "0.25",
    ob: "50",
    rb: "-",
    history: "ShADd",
    opk: "3",
    oipb: "200",
    rpk: "2",
    ripb: "120",
  },
  {
    ts: "1700000002.000001",
    oh: E2,
    op: 443,
    rh: L,
    rp: 50003,
    duration: "-",
    ob: "10",
    rb: "20",
    history: "Dd",
    opk: "1",
    rpk: "1",
  },
  {
    ts: "1700000000.9",
    oh: L,
    op: 50001,
    rh: E,
    rp: 443,
    service: "ssl",
    duration: "3.0",
    ob: "7",
    rb: "9000",
    opk: "2",
    rpk: "9",
  },
  {
    ts: "1700000003.25",
    oh: L,
    op: 8,
    rh: E,
    rp: 0,
    proto: "icmp",
    duration: "0.1",
    ob: "64",
    rb: "64",
    opk: "1",
    rpk: "1",
  },
  { ts: "1700000004.0", oh: L, op: 50009, rh: "10.0.0.1", rp: 53, proto: "udp" }, // local only
  { ts: "1700000004.5", oh: "2001:db8::1", op: 50010, rh: "2001:db8::2", rp: 443 }, // IPv6: ignored
];
const DNS = tsv("dns", DNS_FIELDS, [{
  ...lookupIds(L),
  proto: "udp",
  rtt: "0.01",
  query: "example.com",
  qclass: "1",
  qtype: "1",
  rcode_name: "NOERROR",
  answers: `www.example.com,${E}`,
}]);

const strip = (s: Sample | null) => s?.flashes ?? [];
async function viaText(
  conn: string | Uint8Array | ReadableStream<Uint8Array>,
  dns: string | Uint8Array = DNS,
): Promise<Flash[]> {
  const { sample, warnings } = await convertZeek({ conn, dns }, { fileName: "x.sf" });
  assert.deepEqual(warnings, []);
  return strip(sample);
}

const reference = await viaText(connTsv(ROWS));

Deno.test("reference log: the expected Secflows", () => {
  assert.deepEqual(reference.map((f) => [f.src, f.dst, f.destinationNameSource]), [
    [`${L}:50001`, "example.com:443", "passive"],
    [`${L}:50002`, `${E2}:80`, "original"],
    [`${L}:50003`, `${E2}:443`, "original"],
    [L, "example.com", "passive"],
  ]);
});

Deno.test("TSV: shuffled columns plus extra columns (community_id, ip_proto) give the same Secflows", async () => {
  const fields = [...CONN_FIELDS].reverse();
  fields.splice(3, 0, "community_id");
  fields.push("ip_proto");
  const rows = ROWS.map((r, i) => ({
    ...connValues(r, i),
    community_id: "1:abc+def=",
    ip_proto: "6",
  }));
  assert.deepEqual(await viaText(tsv("conn", fields, rows)), reference);
});

Deno.test("TSV without any header: Zeek's standard column order", async () => {
  const text = connTsv(ROWS).split("\n").filter((l) => !l.startsWith("#")).join("\n");
  assert.deepEqual(await viaText(text), reference);
});

Deno.test("gzip: bytes, a stream; CRLF line ends and a byte order mark: all read transparently", async () => {
  const gz = await gzip(connTsv(ROWS));
  assert.deepEqual(await viaText(gz, await gzip(DNS)), reference);
  assert.deepEqual(await viaText(new Blob([gz as BlobPart]).stream()), reference);
  assert.deepEqual(await viaText(connTsv(ROWS).replaceAll("\n", "\r\n")), reference);
  assert.deepEqual(await viaText("\ufeff" + connTsv(ROWS)), reference); // byte order mark
});

Deno.test("JSON: lines, an array on one line, an array over many lines, nested id keys, ISO ts", async () => {
  const records = ROWS.map((r, i) => jsonRecord(connValues(r, i)));
  const dnsRecords = [jsonRecord({
    ...lookupIds(L),
    rtt: "0.01",
    query: "example.com",
    qclass: "1",
    qtype: "1",
    rcode_name: "NOERROR",
  })].map((o): Record<string, unknown> => ({ ...o, answers: ["www.example.com", E] }));
  const dnsJson = dnsRecords.map((o) => JSON.stringify(o)).join("\n");
  assert.deepEqual(
    await viaText(records.map((o) => JSON.stringify(o)).join("\n") + "\n", dnsJson),
    reference,
  );
  assert.deepEqual(await viaText(JSON.stringify(records), JSON.stringify(dnsRecords)), reference);
  assert.deepEqual(await viaText(JSON.stringify(records, null, 2), dnsJson), reference);
  const nested = ROWS.map((r, i) => jsonRecord(connValues(r, i), true));
  assert.ok("id" in nested[0]);
  assert.deepEqual(
    await viaText(nested.map((o) => JSON.stringify(o)).join("\n"), dnsJson),
    reference,
  );
  // ts as ISO-8601 text (UTC, microseconds), in both logs.
  const iso = (ts: unknown) => {
    const [s, f = ""] = String(ts).split(".");
    return new Date(Number(s) * 1000).toISOString().replace(".000Z", `.${f.padEnd(6, "0")}Z`);
  };
  const isoRecords = records.map((o) => ({ ...o, ts: iso(o.ts) }));
  const isoDns = dnsRecords.map((o) => JSON.stringify({ ...o, ts: iso(o.ts) })).join("\n");
  assert.equal(isoRecords[0].ts, "2023-11-14T22:13:20.123456Z");
  assert.deepEqual(
    await viaText(isoRecords.map((o) => JSON.stringify(o)).join("\n"), isoDns),
    reference,
  );
  // An array chopped into tiny chunks.
  const bytes = new TextEncoder().encode(JSON.stringify(records, null, 1));
  const chunks = Array.from(
    { length: Math.ceil(bytes.length / 7) },
    (_, i) => bytes.subarray(i * 7, i * 7 + 7),
  );
  const { sample } = await convertZeek({ conn: chunks, dns: dnsJson }, { fileName: "x.sf" });
  assert.deepEqual(strip(sample), reference);
});

Deno.test("files: format detected from content (not the name); gzip looked through", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const conn = join(dir, "capture.pcap"); // a misleading name
    const dns = join(dir, "names.txt");
    await Deno.writeTextFile(conn, connTsv(ROWS));
    await Deno.writeTextFile(dns, DNS);
    assert.equal(await detectFormat(conn), "zeek");
    const plain = await convertFile(conn, { dnsLog: dns });
    assert.equal(plain.format, "zeek");
    assert.deepEqual(strip(plain.sample), reference);
    const gz = join(dir, "conn.log.gz");
    await Deno.writeFile(gz, await gzip(connTsv(ROWS)));
    await Deno.writeFile(join(dir, "dns.log.gz"), await gzip(DNS));
    assert.equal(await detectFormat(gz), "zeek");
    const zipped = await convertFile(gz, { dnsLog: join(dir, "dns.log.gz") });
    assert.deepEqual(strip(zipped.sample), reference);
    const json = join(dir, "conn.json");
    await Deno.writeTextFile(
      json,
      JSON.stringify(ROWS.map((r, i) => jsonRecord(connValues(r, i)))),
    );
    assert.equal(await detectFormat(json), "zeek");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "acceptance 2 on a conformance log: shuffled + extra columns, and gzipped, give the original's Secflows",
  ignore: !haveConformance,
  async fn() {
    const base = `${CONFORMANCE}inputs/testCase8_chromeWin10VisitAmazonScamaDotCom`;
    const connText = await Deno.readTextFile(`${base}.conn.log`);
    const dnsText = await Deno.readTextFile(`${base}.dns.log`);
    const original = strip(
      (await convertZeek({ conn: connText, dns: dnsText }, { fileName: "o.sf" })).sample,
    );
    assert.ok(original.length > 100);
    // Rewrite: columns reversed, community_id and ip_proto added.
    const lines = connText.split("\n");
    const fields = lines.find((l) => l.startsWith("#fields\t"))!.split("\t").slice(1);
    const order = [...fields.keys()].reverse();
    const out = lines.map((l) => {
      if (l.startsWith("#fields\t")) {
        return [
          "#fields",
          "community_id",
          ...order.map((i) => fields[i]),
          "ip_proto",
        ].join("\t");
      }
      if (l.startsWith("#types\t")) {
        return [
          "#types",
          "string",
          ...order.map(() => "string"),
          "count",
        ].join("\t");
      }
      if (l.startsWith("#") || l === "") return l;
      const v = l.split("\t");
      return ["1:x/y=", ...order.map((i) => v[i]), "6"].join("\t");
    }).join("\n");
    const shuffled = strip(
      (await convertZeek({ conn: out, dns: dnsText }, { fileName: "o.sf" })).sample,
    );
    assert.deepEqual(shuffled, original);
    const zipped = strip(
      (await convertZeek({ conn: await gzip(out), dns: await gzip(dnsText) }, { fileName: "o.sf" }))
        .sample,
    );
    assert.deepEqual(zipped, original);
  },
});
