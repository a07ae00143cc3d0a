/**
 * SECFLOW.md section 5, rule by rule, on small conn.logs (and dns.logs) built here: grouping,
 * local-only rows, the start time, the flip (and its replacement and key-collision deviation),
 * packets, last time, NS and SV byte counters with "-" values, ICMP keys, time arithmetic in
 * doubles, and naming from dns.log. Also: the streamed `.sf` writer equals formatSample.
 */
import assert from "node:assert/strict";
import { convertZeek } from "../../secflow/zeek/mod.ts";
import { microsText, radixOrder, zeekSampleText } from "../../secflow/zeek/sample_text.ts";
import { analyzeZeek } from "../../secflow/zeek/mod.ts";
import { buildSample, formatSample } from "../../secflow/sample.ts";
import { pyFloat, round6 } from "../../secflow/format.ts";
import type { Flash } from "../../secflow/types.ts";
import { type ConnRow, connTsv, DNS_FIELDS, lookupIds, tsv } from "../zeek_fixtures.ts";

async function flashes(
  rows: ConnRow[],
  dns?: string,
): Promise<{ trafficDate?: string; flashes: Flash[] }> {
  const { sample } = await convertZeek({ conn: connTsv(rows), dns }, { fileName: "t.sf" });
  return { trafficDate: sample?.trafficDate, flashes: sample?.flashes ?? [] };
}

const L = "192.168.1.10"; // local
const E = "93.184.216.34"; // external
/** A conn.log row from L:50000 to E:`rp` at `ts`, with `more` of its fields. */
const fromL = (ts: string, rp: number, more: Partial<ConnRow> = {}): ConnRow => ({
  ts,
  oh: L,
  op: 50000,
  rh: E,
  rp,
  ...more,
});
const E2 = "151.101.1.69";

Deno.test("section 5: rows grouped by orig_h:orig_p; local-only rows dropped; trafficDate is the earliest kept ts", async () => {
  const { trafficDate, flashes: f } = await flashes([
    { ts: "100.5", oh: L, op: 50000, rh: "10.0.0.1", rp: 53, proto: "udp" }, // local only: dropped
    { ts: "101.25", oh: L, op: 50001, rh: E, rp: 443, opk: "2", rpk: "3", duration: "1.0" },
    { ts: "102.0", oh: L, op: 50001, rh: E2, rp: 443, opk: "1", rpk: "1", duration: "0.5" }, // same key
    { ts: "103.0", oh: L, op: 50002, rh: E, rp: 80, opk: "4", rpk: "5", duration: "-" },
  ]);
  assert.equal(trafficDate, "101.25");
  assert.equal(f.length, 2);
  assert.equal(f[0].src, `${L}:50001`);
  assert.equal(f[0].dst, `${E}:443`); // the first row's destination
  assert.equal(f[0].srcPkts, 3);
  assert.equal(f[0].dstPkts, 4);
  assert.equal(f[0].duration, 1.25); // max(101.25+1.0, 102.0+0.5) - 101.25
  assert.equal(f[1].relativeStart, 1.75);
  assert.equal(f[1].duration, 0); // duration "-": last = ts
  assert.equal(f[1].protocolInformation, "");
  assert.equal(f[1].destinationNameSource, "original");
});

Deno.test("section 5: rows of a group are taken in ts order (stable), not file order", async () => {
  const { flashes: f } = await flashes([
    { ts: "110.0", oh: L, op: 50001, rh: E2, rp: 443, opk: "1", duration: "1.0" },
    { ts: "100.0", oh: L, op: 50001, rh: E, rp: 443, opk: "1", duration: "1.0" },
  ]);
  assert.equal(f.length, 1);
  assert.equal(f[0].dst, `${E}:443`); // the earlier row created the session
  assert.equal(f[0].duration, 11);
});

Deno.test("section 5 rule 3: last time is max(last, ts + duration)", async () => {
  const { flashes: f } = await flashes([
    { ts: "100.0", oh: L, op: 50001, rh: E, rp: 443, duration: "50.0" },
    { ts: "101.0", oh: L, op: 50001, rh: E, rp: 443, duration: "1.0" }, // 102 < 150: stays
  ]);
  assert.equal(f[0].duration, 50);
});

Deno.test("section 5 rule 3: a '-' duration after a longer row leaves the last time (max(last, ts))", async () => {
  const { flashes: f } = await flashes([
    { ts: "100.0", oh: L, op: 50001, rh: E, rp: 443, duration: "50.0" },
    { ts: "105.0", oh: L, op: 50001, rh: E, rp: 443, duration: "-" }, // 105 < 150: stays
  ]);
  assert.equal(f[0].duration, 50);
  const { flashes: g } = await flashes([
    { ts: "100.0", oh: L, op: 50002, rh: E, rp: 443, duration: "2.0" },
    { ts: "105.0", oh: L, op: 50002, rh: E, rp: 443, duration: "-" }, // 105 > 102: moves on
    { ts: "106.0", oh: L, op: 50002, rh: E, rp: 443, duration: "0.5" },
  ]);
  assert.equal(g[0].duration, 6.5);
});

Deno.test("section 5 rule 3: '-' durations in out-of-order rows: taken by ts, the last time never moves back", async () => {
  const { flashes: f } = await flashes([
    { ts: "130.0", oh: L, op: 50001, rh: E, rp: 443, duration: "-" },
    { ts: "100.0", oh: L, op: 50001, rh: E, rp: 443, duration: "40.0" }, // first by ts: last 140
    { ts: "120.0", oh: L, op: 50001, rh: E, rp: 443, duration: "-" },
  ]);
  // By ts: 100 (+40 = 140), 120 ("-": stays 140), 130 ("-": stays 140).
  assert.equal(f[0].duration, 40);
  assert.equal(f[0].relativeStart, 0);
  // A lone "-" row: first = last = ts.
  const { flashes: g } = await flashes([
    { ts: "100.0", oh: L, op: 50003, rh: E, rp: 443, duration: "-" },
  ]);
  assert.equal(g[0].duration, 0);
});

Deno.test("section 5: ts + duration in doubles as Python adds them, rounded by round6", async () => {
  // 1617652280.186304 + 0.050536 in doubles is 1617652280.2368398..., not ...236840 exactly.
  const ts = 1617652280.186304, dur = 0.05053591728210449;
  const { flashes: f, trafficDate } = await flashes([
    { ts: "1617652280.186304", oh: L, op: 63690, rh: E, rp: 80, duration: "0.05053591728210449" },
    { ts: "1617652280.3", oh: L, op: 63691, rh: E, rp: 80, duration: "0.1" },
  ]);
  assert.equal(trafficDate, pyFloat(ts));
  assert.equal(f[0].duration, round6(ts + dur - ts));
  assert.equal(f[1].relativeStart, round6(1617652280.3 - ts));
});

Deno.test("section 5 rule 1: external → local rows are flipped (addresses, ports, counts, history case)", async () => {
  const { flashes: f } = await flashes([
    {
      ts: "100.0",
      oh: E,
      op: 443,
      rh: L,
      rp: 50000,
      opk: "7",
      rpk: "3",
      ob: "1000",
      rb: "20",
      oipb: "1400",
      ripb: "140",
      history: "Dd", // flipped: "dD" → NS-src (d) = orig side after flip = 20, NS-dst (D) = 1000
      duration: "2.0",
    },
  ]);
  assert.equal(f.length, 1);
  assert.equal(f[0].src, `${L}:50000`);
  assert.equal(f[0].dst, `${E}:443`);
  assert.equal(f[0].srcPkts, 3);
  assert.equal(f[0].dstPkts, 7);
  assert.equal(f[0].srcBytes, 20);
  assert.equal(f[0].dstBytes, 1000);
});

Deno.test("section 5 rule 1: a flipped row replaces the session under its key, keeping its place", async () => {
  const { flashes: f } = await flashes([
    { ts: "100.0", oh: E, op: 443, rh: L, rp: 50000, opk: "7", rpk: "3" },
    { ts: "101.0", oh: E, op: 443, rh: L, rp: 50000, opk: "1", rpk: "2" }, // same group, replaces
    { ts: "102.0", oh: E2, op: 443, rh: L, rp: 50000, opk: "5", rpk: "6" }, // other group, same flipped key
  ]);
  assert.equal(f.length, 1);
  assert.equal(f[0].dst, `${E2}:443`);
  assert.equal(f[0].srcPkts, 6);
  assert.equal(f[0].dstPkts, 5);
  assert.equal(f[0].relativeStart, 2);
});

Deno.test("section 5 rule 2 deviation: a group whose key another group's flip made does not crash", async () => {
  // Group A (E:443) flips into key L:50000; group B's own key is L:50000, so B starts with no
  // current session: the existing one becomes current and takes B's packets.
  const { flashes: f } = await flashes([
    { ts: "100.0", oh: E, op: 443, rh: L, rp: 50000, opk: "1", rpk: "2", duration: "1.0" },
    { ts: "101.0", oh: L, op: 50000, rh: E2, rp: 443, opk: "10", rpk: "20", duration: "4.0" },
  ]);
  assert.equal(f.length, 1);
  assert.equal(f[0].src, `${L}:50000`);
  assert.equal(f[0].dst, `${E}:443`);
  assert.equal(f[0].srcPkts, 12);
  assert.equal(f[0].dstPkts, 21);
  assert.equal(f[0].duration, 5);
});

Deno.test("section 5 rule 4: NS counters (no service) from history and '-' counts", async () => {
  const one = async (row: Partial<ConnRow>) =>
    (await flashes([fromL("100.0", 8080, { ...row })])).flashes[0];
  // d/t → orig bytes; D/t → resp bytes; otherwise 0.
  let f = await one({ history: "ShADad", ob: "10", rb: "20" });
  assert.deepEqual([f.srcBytes, f.dstBytes], [10, 20]);
  f = await one({ history: "ShAD", ob: "10", rb: "20" });
  assert.deepEqual([f.srcBytes, f.dstBytes], [0, 20]);
  f = await one({ history: "Sht", ob: "10", rb: "20" });
  assert.deepEqual([f.srcBytes, f.dstBytes], [10, 20]);
  f = await one({ history: "ShAd", ob: "10", rb: "20" });
  assert.deepEqual([f.srcBytes, f.dstBytes], [10, 0]);
  // Exactly "S": both 0.
  f = await one({ history: "S", ob: "10", rb: "20" });
  assert.deepEqual([f.srcBytes, f.dstBytes], [0, 0]);
  // "-" orig_bytes reads as 0; "-" resp_bytes leaves NS-dst as it was.
  f = await one({ history: "Dd", ob: "-", rb: "-" });
  assert.deepEqual([f.srcBytes, f.dstBytes], [0, 0]);
  // Both counters set: the next rows take the max of the IP byte counts.
  const { flashes: g } = await flashes([
    fromL("100.0", 8080, { history: "Dd", ob: "10", rb: "20", oipb: "999", ripb: "999" }),
    fromL("101.0", 8080, { history: "Dd", ob: "1", rb: "2", oipb: "50", ripb: "60" }),
    fromL("102.0", 8080, { history: "Dd", ob: "1", rb: "2", oipb: "40", ripb: "70" }),
  ]);
  assert.deepEqual([g[0].srcBytes, g[0].dstBytes], [50, 70]);
  // Only one counter set: the row resets both from its payload counts; "-" resp keeps NS-dst.
  const { flashes: h } = await flashes([
    fromL("100.0", 8080, { history: "D", ob: "10", rb: "20" }), // NS = 0, 20
    fromL("101.0", 8080, { history: "Dd", ob: "5", rb: "-" }), // NS = 5, 20
  ]);
  assert.deepEqual([h[0].srcBytes, h[0].dstBytes], [5, 20]);
  // "S" after counts resets them.
  const { flashes: k } = await flashes([
    fromL("100.0", 8080, { history: "Dd", ob: "10", rb: "20" }),
    fromL("101.0", 8080, { history: "S", ob: "0", rb: "0" }),
  ]);
  assert.deepEqual([k[0].srcBytes, k[0].dstBytes], [0, 0]);
});

Deno.test("section 5 rule 4: SV counters (named service): first values, then the max; '-' keeps", async () => {
  const { flashes: f } = await flashes([
    fromL("100.0", 443, { service: "ssl", ob: "10", rb: "0" }), // SV = 10, 0
    fromL("101.0", 443, { service: "ssl", ob: "5", rb: "30" }), // reset: 5, 30
    fromL("102.0", 443, { service: "ssl", ob: "7", rb: "-" }), // max: 7, 30
    fromL("103.0", 443, { service: "ssl", ob: "-", rb: "25" }), // max: 7, 30
  ]);
  assert.deepEqual([f[0].srcBytes, f[0].dstBytes], [7, 30]);
  // The session's bytes are the max of NS and SV.
  const { flashes: g } = await flashes([
    fromL("100.0", 443, { service: "ssl", ob: "10", rb: "5" }),
    fromL("101.0", 443, { history: "Dd", ob: "3", rb: "50" }),
  ]);
  assert.deepEqual([g[0].srcBytes, g[0].dstBytes], [10, 50]);
});

Deno.test("section 5: ICMP rows keyed orig_h:ICMP-resp_h:ICMP, flipped as resp_h:ICMP-orig_h:ICMP", async () => {
  const { flashes: f } = await flashes([
    {
      ts: "100.0",
      oh: L,
      op: 8,
      rh: E,
      rp: 0,
      proto: "icmp",
      opk: "2",
      rpk: "2",
      ob: "64",
      rb: "64",
      service: "-",
    },
    { ts: "101.0", oh: L, op: 8, rh: E, rp: 0, proto: "icmp", opk: "1", rpk: "1" },
    { ts: "102.0", oh: E2, op: 3, rh: L, rp: 1, proto: "icmp", opk: "1", rpk: "0" },
  ]);
  assert.equal(f.length, 2);
  assert.deepEqual(
    f.map((x) => [x.src, x.dst, x.protocolInformation, x.srcPkts, x.dstPkts]),
    [[L, E, "ICMP", 3, 3], [L, E2, "ICMP", 0, 1]],
  );
});

Deno.test("section 5 names: dns.log records used by (qclass 1, qtype 1) or (rtt unset, NOERROR); IP answers only", async () => {
  const dnsRow = (
    ts: string,
    query: string,
    qtype: string,
    rtt: string,
    rcode: string,
    answers: string,
  ) => {
    const v: Record<string, string> = {
      ...lookupIds(L, ts),
      proto: "udp",
      trans_id: "1",
      rtt,
      query,
      qclass: "1",
      qclass_name: "C_INTERNET",
      qtype,
      qtype_name: qtype === "1" ? "A" : "X",
      rcode: "0",
      rcode_name: rcode,
      answers,
    };
    return v;
  };
  const dns = tsv("dns", DNS_FIELDS, [
    dnsRow("99.0", "a.example", "1", "0.01", "NOERROR", `cdn.a.example,${E},${E2}`),
    dnsRow("99.5", "https.example", "65", "0.01", "NOERROR", E2), // qtype 65 with rtt: not used
    dnsRow("99.7", "late.example", "65", "-", "NOERROR", "8.8.8.8"), // rtt unset + NOERROR: used
    dnsRow("150.0", "later.example", "1", "0.01", "NOERROR", "1.1.1.1"),
  ]);
  const { flashes: f } = await flashes([
    { ts: "100.0", oh: L, op: 50001, rh: E, rp: 443 },
    { ts: "100.1", oh: L, op: 50002, rh: E2, rp: 443 },
    { ts: "100.2", oh: L, op: 50003, rh: "8.8.8.8", rp: 53, proto: "udp" },
    { ts: "100.3", oh: L, op: 50004, rh: "1.1.1.1", rp: 53, proto: "udp" }, // only a later name
    { ts: "100.4", oh: L, op: 50005, rh: "9.9.9.9", rp: 53, proto: "udp" }, // never named
  ], dns);
  assert.deepEqual(f.map((x) => [x.dst, x.destinationNameSource]), [
    ["a.example:443", "passive"],
    ["a.example:443", "passive"],
    ["late.example:53", "passive"],
    ["later.example:53", "passive"],
    ["9.9.9.9:53", "original"],
  ]);
});

Deno.test("streamed .sf bytes equal formatSample(buildSample(...)), across chunk sizes", async () => {
  const rows: ConnRow[] = [];
  for (let i = 0; i < 300; i++) {
    rows.push({
      ts: (1700000000 + (i * 7919) % 1000 / 7).toFixed(6),
      oh: i % 5 === 0 ? E2 : L,
      op: 40000 + (i % 97),
      rh: i % 5 === 0 ? L : i % 3 ? E : "1.2.3.4",
      rp: i % 11 === 0 ? 0 : 443,
      proto: i % 11 === 0 ? "icmp" : "tcp",
      duration: i % 13 ? (i / 1000).toFixed(6) : "-",
      ob: String(i * 3),
      rb: String(i * 5),
      history: ["ShADadFf", "S", "Dd", "D"][i % 4],
      opk: String(i % 9),
      rpk: String(i % 4),
      oipb: String(i * 40),
      ripb: String(i * 41),
      service: i % 2 ? "ssl" : "-",
    });
  }
  const dns = tsv("dns", DNS_FIELDS, [{
    ts: "1699999999.5",
    uid: "D",
    "id.orig_h": L,
    "id.orig_p": "1",
    "id.resp_h": "10.0.0.1",
    "id.resp_p": "53",
    query: "x\u00e9.example", // non-ASCII: escaped as Python does
    qclass: "1",
    qtype: "1",
    rtt: "0.1",
    rcode_name: "NOERROR",
    answers: E,
  }]);
  const analysis = await analyzeZeek({ conn: connTsv(rows), dns });
  const hash = "ab".repeat(16);
  const expected = formatSample(
    buildSample(
      {
        sessions: analysis.sessions.records(),
        startTime: analysis.startTime,
        active: analysis.sessions.active(),
        names: analysis.names,
      },
      { fileName: "s.sf", hash },
    ).sample!,
  );
  for (const chunkBytes of [4096, 1 << 20]) {
    assert.equal(zeekSampleText(analysis, { fileName: "s.sf", hash, chunkBytes }).text(), expected);
  }
});

Deno.test("microsText writes what pyFloat writes; radixOrder is a stable sort", () => {
  for (
    const k of [0, 1, 99, 100, 101, 1000000, 1500000, 123456789, 3600000001, 1e13 + 7, 1e14, 2e15]
  ) {
    assert.equal(microsText(k), pyFloat(k / 1e6), String(k));
  }
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 2000; i++) {
    const k = Math.floor(rand() * 10 ** (1 + Math.floor(rand() * 12)));
    assert.equal(microsText(k), pyFloat(k / 1e6), String(k));
  }
  const keys = Float64Array.from(
    { length: 5000 },
    () => Math.floor(rand() * 2 ** 40) % 1000 * 2 ** 33,
  );
  const order = [...radixOrder(keys)];
  const expected = [...keys.keys()].sort((a, b) => keys[a] - keys[b] || a - b);
  assert.deepEqual(order, expected);
});
