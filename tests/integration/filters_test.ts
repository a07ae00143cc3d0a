/**
 * The filters (`--since`, `--until`, `--proto`, `--port`, `--net`) of `view`, `stats` and
 * `report`: on a capture and a sample built here, every filter and many combinations of them
 * keep exactly the rows of the unfiltered output that a reference filter (written separately,
 * on the output's text with BigInt addresses and decimal strings) keeps; the compiled numeric
 * predicate agrees with the same reference on random records; bad values are one-line usage
 * errors (exit 2); completions offer the options.
 */
import assert from "node:assert/strict";
import { type ConnRow, connTsv } from "../zeek_fixtures.ts";
import {
  addressOf,
  argsOf,
  cli,
  decimalUs,
  random,
  type RefFilter,
  refNet,
} from "../_filter_ref.ts";
import { dnsA, icmp, pcapOf, type Pkt, T0, tcp, udp } from "../_pcap.ts";
import { apiPermissions, runCli, startServe, tempDir } from "../api_fixtures.ts";
import { NetworkSageClient } from "../../api/client.ts";
import { flashOf } from "../_flash.ts";
import { formatSample } from "../../secflow/sample.ts";
import type { Flash } from "../../secflow/types.ts";
import {
  compileFilter,
  FilterKey,
  filterOf,
  NO_PORT,
  parseIPv6Into,
  parseTime,
  PROTO_NAMES,
} from "../../cli/_filter.ts";
import { UsageError } from "../../cli/command.ts";
import { bashScript, completionSpecs, fishScript, zshScript } from "../../cli/completions.ts";

// ---------------------------------------------------------------------------------------------
// The reference: the filters' meaning, on the output's text

/** One row of `view --csv` (a `.sf` flash and its absolute start). */
interface CsvRow {
  line: string;
  src: string;
  dst: string;
  icmp: boolean;
  startUs: bigint;
  endUs: bigint;
  bytes: number;
}

/** Microseconds of the CSV's ISO start (`2023-11-14T22:13:20.000000Z`). */
function isoUs(text: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)\.(\d{6})Z$/.exec(text)!;
  return BigInt(Date.parse(`${m[1]}Z`)) * 1000n + BigInt(m[2]);
}

function csvRows(lines: string[]): CsvRow[] {
  const [head, ...rows] = lines.filter((l) => l !== "");
  const keys = head.split(",");
  return rows.map((line) => {
    // The fixtures' names and addresses have no comma or quote.
    const cell = Object.fromEntries(line.split(",").map((v, i) => [keys[i], v]));
    const startUs = isoUs(cell.start);
    return {
      line,
      src: cell.src,
      dst: cell.dst,
      icmp: cell.protocolInformation === "ICMP",
      startUs,
      endUs: startUs + decimalUs(cell.duration),
      bytes: Number(cell.srcBytes) + Number(cell.dstBytes),
    };
  });
}

function refKeeps(f: RefFilter, r: CsvRow): boolean {
  if (f.since !== undefined && r.endUs < f.since) return false;
  if (f.until !== undefined && r.startUs > f.until) return false;
  if (f.protos) {
    const ok = r.icmp
      ? f.protos.includes("icmp") || f.protos.includes("1")
      : f.protos.includes("tcp") && f.protos.includes("udp");
    if (!ok) return false;
  }
  const split = (end: string) => {
    if (r.icmp) return { host: end, port: undefined };
    const at = end.lastIndexOf(":");
    return { host: end.slice(0, at), port: Number(end.slice(at + 1)) };
  };
  const ends = [split(r.src), split(r.dst)];
  if (f.ports) {
    if (
      !ends.some((e) =>
        e.port !== undefined && f.ports!.some(([a, b]) => e.port! >= a && e.port! <= b)
      )
    ) {
      return false;
    }
  }
  if (f.nets) {
    if (!ends.some((e) => f.nets!.some((c) => refNet(e.host, c)))) return false;
  }
  return true;
}

/** Random combinations of filters drawn from values the rows hold (so boundaries are hit). */
function filtersFor(rows: CsvRow[], n: number, seed: number): RefFilter[] {
  const rnd = random(seed);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const times = rows.flatMap((r) => [r.startUs, r.endUs, r.startUs - 1n, r.endUs + 1n]);
  const ports = [53, 80, 443, 8080, 123, 40000, 1000];
  const nets = [
    "10.0.0.0/8",
    "10.0.0.1",
    "192.168.1.0/24",
    "93.184.216.0/24",
    "8.8.8.8/32",
    "0.0.0.0/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "2001:db8::/32",
    "172.16.0.0/12",
  ];
  const out: RefFilter[] = [
    { since: rows[0].startUs },
    { until: rows[0].startUs },
    { protos: ["icmp"] },
    { protos: ["tcp", "udp"] },
    { protos: ["sctp"] },
    { ports: [[443, 443]] },
    { ports: [[1, 1024]] },
    { nets: ["10.0.0.0/8"] },
    { nets: ["::/0"] },
  ];
  while (out.length < n) {
    const f: RefFilter = {};
    if (rnd() < 0.4) f.since = pick(times);
    if (rnd() < 0.4) {
      f.until = f.since !== undefined ? f.since + BigInt(Math.floor(rnd() * 5e6)) : pick(times);
    }
    if (rnd() < 0.3) f.protos = pick([["icmp"], ["tcp", "udp"], ["icmp", "tcp", "udp"], ["1"]]);
    if (rnd() < 0.4) {
      const a = pick(ports);
      f.ports = rnd() < 0.5 ? [[a, a]] : [[a, a], [pick(ports), 65535]];
    }
    if (rnd() < 0.5) f.nets = rnd() < 0.7 ? [pick(nets)] : [pick(nets), pick(nets)];
    if (Object.keys(f).length) out.push(f);
  }
  return out;
}

/** Checks `view --csv FILTERS` against the reference over `filters`, on `input`. */
async function checkView(input: string, filters: RefFilter[]): Promise<CsvRow[]> {
  const all = await cli(["view", input, "--csv"]);
  assert.equal(all.code, 0, all.err.join("\n"));
  const rows = csvRows(all.out);
  let nonTrivial = 0;
  for (const [i, f] of filters.entries()) {
    const args = argsOf(f, i % 2 === 1);
    const got = await cli(["view", input, "--csv", ...args]);
    assert.equal(got.code, 0, `${args.join(" ")}: ${got.err.join("\n")}`);
    const want = rows.filter((r) => refKeeps(f, r)).map((r) => r.line);
    assert.deepEqual(got.out.slice(1).filter((l) => l !== ""), want, args.join(" "));
    assert.equal(got.out[0], all.out[0]);
    if (want.length > 0 && want.length < rows.length) nonTrivial++;
  }
  // The combinations really select: most keep some rows and leave others out.
  assert.ok(nonTrivial >= filters.length / 3, `only ${nonTrivial} selective filters`);
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const CLIENTS = ["10.0.0.1", "10.0.0.2", "192.168.1.7", "172.16.5.9"];
const SERVERS = ["93.184.216.34", "93.184.216.35", "8.8.8.8", "151.101.1.69", "203.0.114.1"];

/** A capture: TCP and UDP sessions and ICMP pings from private clients to public servers at spread times, two servers named by DNS. */
function capture(): Uint8Array {
  const rnd = random(7);
  const packets: Pkt[] = [];
  let us = T0;
  packets.push({
    us,
    ip: dnsA({
      server: "10.0.0.53",
      client: "10.0.0.1",
      qname: "www.example.com",
      addrs: [SERVERS[0]],
    }),
  });
  packets.push({
    us: us += 1000,
    ip: dnsA({
      server: "10.0.0.53",
      client: "10.0.0.2",
      qname: "cdn.example.net",
      addrs: [SERVERS[3]],
    }),
  });
  for (let i = 0; i < 60; i++) {
    us += Math.floor(rnd() * 3e6);
    const c = CLIENTS[i % CLIENTS.length], s = SERVERS[Math.floor(rnd() * SERVERS.length)];
    const kind = i % 5;
    const sp = 40000 + i;
    const n = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < n; k++) {
      const t = us + k * Math.floor(rnd() * 400_000);
      if (kind === 4) {
        packets.push({ us: t, ip: icmp({ src: c, dst: s, payload: 32 }) });
        packets.push({ us: t + 20, ip: icmp({ src: s, dst: c, type: 0, payload: 32 }) });
      } else if (kind === 3) {
        packets.push({ us: t, ip: udp({ src: c, dst: s, sp, dp: 123, payload: 48 }) });
        packets.push({ us: t + 30, ip: udp({ src: s, dst: c, sp: 123, dp: sp, payload: 48 }) });
      } else {
        const dp = [443, 80, 8080][kind];
        packets.push({ us: t, ip: tcp({ src: c, dst: s, sp, dp, payload: 100 + k }) });
        packets.push({ us: t + 50, ip: tcp({ src: s, dst: c, sp: dp, dp: sp, payload: 900 }) });
      }
    }
  }
  packets.sort((a, b) => a.us - b.us);
  return pcapOf(packets);
}

/** A sample of Secflows of every shape: named and address destinations, ICMP, microsecond times. */
function sample(): string {
  const rnd = random(11);
  const flashes: Flash[] = [];
  let start = 0;
  const names = ["www.example.com", "api.example.org", "cdn.example.net"];
  for (let i = 0; i < 400; i++) {
    start += Math.floor(rnd() * 2e6) / 1e6;
    const c = CLIENTS[i % CLIENTS.length], s = SERVERS[Math.floor(rnd() * SERVERS.length)];
    const isIcmp = rnd() < 0.15, named = rnd() < 0.5;
    const port = [443, 80, 53, 8080, 123][Math.floor(rnd() * 5)];
    const host = named ? names[i % 3] : s;
    flashes.push(flashOf({
      src: isIcmp ? c : `${c}:${30000 + Math.floor(rnd() * 30000)}`,
      dst: isIcmp ? host : `${host}:${port}`,
      destinationNameSource: named ? "passive" : "original",
      srcBytes: Math.floor(rnd() * 5000),
      dstBytes: Math.floor(rnd() * 50000),
      relativeStart: Number(start.toFixed(6)),
      protocolInformation: isIcmp ? "ICMP" : "",
      duration: Math.floor(rnd() * 5e6) / 1e6,
    }));
  }
  return formatSample({
    hash: "00112233445566778899aabbccddeeff",
    trafficDate: "1764583445.0",
    fileName: "filters.sf",
    flashes,
  });
}

// ---------------------------------------------------------------------------------------------

Deno.test("view --csv with filters is exactly the unfiltered output filtered, on a built capture", async () => {
  await using dir = await tempDir();
  const pcap = `${dir.path}/c.pcap`;
  await Deno.writeFile(pcap, capture());
  const all = csvRows((await cli(["view", pcap, "--csv"])).out);
  // The capture gives every shape the filters tell apart.
  assert.ok(all.length >= 30, `${all.length} Secflows`);
  assert.ok(all.some((r) => r.icmp) && all.some((r) => !r.icmp));
  assert.ok(all.some((r) => r.dst.startsWith("www.example.com:")), "a destination named by DNS");
  await checkView(pcap, filtersFor(all, 40, 1));
});

Deno.test("view --csv with filters is exactly the unfiltered output filtered, on a built .sf", async () => {
  await using dir = await tempDir();
  const sf = `${dir.path}/s.sf`;
  await Deno.writeTextFile(sf, sample());
  const all = csvRows((await cli(["view", sf, "--csv"])).out);
  assert.equal(all.length, 400);
  await checkView(sf, filtersFor(all, 60, 2));
});

Deno.test("view --csv with filters is exactly the unfiltered output filtered, on a built Zeek conn.log", async () => {
  await using dir = await tempDir();
  const rnd = random(13);
  const rows: ConnRow[] = [];
  let ts = 1764583445;
  for (let i = 0; i < 120; i++) {
    ts += Math.floor(rnd() * 3e6) / 1e6;
    const proto = ["tcp", "udp", "icmp"][i % 3];
    rows.push({
      ts: ts.toFixed(6),
      oh: CLIENTS[i % CLIENTS.length],
      op: proto === "icmp" ? 8 : 30000 + i,
      rh: SERVERS[Math.floor(rnd() * SERVERS.length)],
      rp: proto === "icmp" ? 0 : [443, 80, 53, 123][i % 4],
      proto,
      duration: (Math.floor(rnd() * 4e6) / 1e6).toFixed(6),
      ob: "100",
      rb: "900",
      opk: "2",
      rpk: "2",
    });
  }
  const log = `${dir.path}/conn.log`;
  await Deno.writeTextFile(log, connTsv(rows));
  const all = csvRows((await cli(["view", log, "--csv"])).out);
  assert.ok(all.length >= 60 && all.some((r) => r.icmp), `${all.length} Secflows`);
  await checkView(log, filtersFor(all, 24, 4));
});

Deno.test("view's table, --json, stats and report keep the same Secflows as view --csv", async () => {
  await using dir = await tempDir();
  const sf = `${dir.path}/s.sf`;
  await Deno.writeTextFile(sf, sample());
  const rows = csvRows((await cli(["view", sf, "--csv"])).out);
  const filters: string[][] = [
    ["--port", "443,80", "--net", "10.0.0.0/8"],
    ["--until", "1764583745", "--proto", "icmp"],
    ["--since", "2025-12-01T10:07:00Z", "--proto", "tcp/udp", "--net", "93.184.216.0/24"],
    ["--since", "1764583500", "--until", "2025-12-01 10:20:00Z"],
  ];
  for (const args of filters) {
    const kept = csvRows((await cli(["view", sf, "--csv", ...args])).out);
    assert.ok(kept.length > 0 && kept.length < rows.length, args.join(" "));
    const json = await cli(["view", sf, "--json", ...args]);
    assert.equal(JSON.parse(json.out.join("\n")).length, kept.length, args.join(" "));
    const table = await cli(["view", sf, ...args]);
    assert.equal(table.out.filter((l) => l !== "").length, kept.length + 1);
    assert.deepEqual(table.err, [`${kept.length} of ${rows.length} Secflows shown`]);
    const stats = JSON.parse((await cli(["stats", sf, "--json", ...args])).out.join(""));
    assert.equal(stats.secflows, kept.length);
    assert.equal(stats.bytes, kept.reduce((n, r) => n + r.bytes, 0));
    const text = await cli(["stats", sf, ...args]);
    assert.equal(
      text.out[0],
      `filtered   ${kept.length} of ${rows.length} Secflows (${args.join(" ")})`,
    );
    const html = `${dir.path}/r.html`;
    const report = await cli(["report", sf, "-o", html, ...args]);
    assert.equal(report.code, 0, report.err.join("\n"));
    assert.deepEqual(report.err, [
      `${html}: report of ${kept.length} Secflows (of ${rows.length}; ${args.join(" ")})`,
    ]);
    const page = await Deno.readTextFile(html);
    assert.ok(page.includes(`<dt>filtered</dt><dd>`), "the header says it is filtered");
    // One table row per kept Secflow, in order, each with its source.
    const body = page.slice(page.indexOf("<tbody>"), page.indexOf("</tbody>"));
    const trs = body.split("<tr>").slice(1);
    assert.equal(trs.length, kept.length);
    // The table sets the port in a span of its own (report/html.ts endpointHtml).
    const cells = (tr: string) => tr.replaceAll('<span class="port">', "");
    trs.forEach((tr, i) => assert.ok(cells(tr).includes(`>${kept[i].src}<`), kept[i].src));
  }
  // Nothing kept: said in one line, nothing written.
  const none = await cli(["report", sf, "-o", `${dir.path}/none.html`, "--net", "1.2.3.0/24"]);
  assert.equal(none.code, 0);
  assert.deepEqual(none.err, [
    `${sf}: no Secflows match --net 1.2.3.0/24 (${rows.length} in all); nothing written`,
  ]);
  await assert.rejects(Deno.stat(`${dir.path}/none.html`));
  const empty = await cli(["view", sf, "--net", "1.2.3.0/24"]);
  assert.deepEqual(empty.out, [`(no Secflows match; ${rows.length} Secflows in all)`]);
});

Deno.test("the compiled predicate agrees with the reference on random records (IPv4 and IPv6)", () => {
  const rnd = random(3);
  const v6 = ["2001:db8::1", "2001:db8:0:1::5", "fe80::1", "::1", "2001:db9::", "::ffff:10.0.0.1"];
  const v4 = ["10.0.0.1", "10.255.255.255", "11.0.0.0", "192.168.1.7", "8.8.8.8", "0.0.0.0"];
  const nets = [
    "2001:db8::/32",
    "2001:db8::/64",
    "fe80::/10",
    "::1",
    "::/0",
    "::ffff:0:0/96",
    "10.0.0.0/8",
    "10.0.0.1",
    "0.0.0.0/0",
    "192.168.0.0/16",
  ];
  const key = new FilterKey();
  for (let i = 0; i < 3000; i++) {
    const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
    const src = pick(rnd() < 0.5 ? v4 : v6), dst = pick(rnd() < 0.5 ? v4 : v6);
    const sp = Math.floor(rnd() * 65536), dp = pick([53, 443, 80, 65535, 0]);
    const chosen = [pick(nets), pick(nets)].slice(0, 1 + Math.floor(rnd() * 2));
    const hi = Math.min(65535, dp + (rnd() < 0.5 ? 0 : 10));
    const filter = filterOf({ net: chosen, port: [`${dp}-${hi}`] }, "flows")!;
    for (const [end, text, at] of [["src", src, 0], ["dst", dst, 4]] as const) {
      const fam = text.includes(":") ? 6 : 4;
      if (end === "src") key.srcFamily = fam;
      else key.dstFamily = fam;
      const a = addressOf(text)!.value;
      for (let w = 0; w < 4; w++) {
        key.addr[at + w] = Number((a >> BigInt(96 - 32 * w)) & 0xffffffffn);
      }
    }
    key.srcPort = sp;
    key.dstPort = rnd() < 0.2 ? NO_PORT : dp;
    const ports = [key.srcPort, key.dstPort];
    const want = [src, dst].some((h) => chosen.some((c) => refNet(h, c))) &&
      ports.some((p) => p !== NO_PORT && p >= dp && p <= hi);
    assert.equal(filter.test(key), want, `${src} ${dst} ${ports} ${filter.text}`);
  }
});

Deno.test("TIME is ISO 8601 or epoch seconds, exact to the microsecond", () => {
  const at = Date.UTC(2026, 11, 1, 10, 4, 5) * 1000;
  for (
    const [text, want] of [
      ["1764583445", 1764583445_000000],
      ["1764583445.25", 1764583445_250000],
      ["1764583445.000001", 1764583445_000001],
      ["2026-12-01T10:04:05Z", at],
      ["2026-12-01 10:04:05Z", at],
      ["2026-12-01T10:04:05", at],
      ["2026-12-01t10:04:05.123456z", at + 123456],
      ["2026-12-01T10:04:05.1Z", at + 100000],
      ["2026-12-01T12:04:05+02:00", at],
      ["2026-12-01T05:04:05-0500", at],
      ["2026-12-01T10:04Z", at - 5_000000],
      ["2026-12-01", Date.UTC(2026, 11, 1) * 1000],
      ["2024-02-29", Date.UTC(2024, 1, 29) * 1000],
    ] as const
  ) assert.equal(parseTime(text, "--since"), want, text);
  for (
    const text of [
      "yesterday",
      "2026-13-01",
      "2026-02-30",
      "2025-02-29",
      "2026-12-01T24:00:00Z",
      "2026-12-01T10:60Z",
      "2026-12-01T10:04:05+25:00",
      "1764583445.1234567",
      "-5",
      "1e9",
      "2026-12-01T10:04:05.1234567Z",
      "99999999999999",
    ]
  ) assert.throws(() => parseTime(text, "--since"), UsageError, text);
});

Deno.test("IPv6 text is read as RFC 4291 writes it", () => {
  const words = (t: string) => {
    const out = new Uint32Array(4);
    return parseIPv6Into(t, out, 0) ? [...out].map((w) => w.toString(16)).join(" ") : undefined;
  };
  assert.equal(words("::"), "0 0 0 0");
  assert.equal(words("::1"), "0 0 0 1");
  assert.equal(words("2001:db8::"), "20010db8 0 0 0");
  assert.equal(words("2001:db8:0:0:1:0:0:1"), "20010db8 0 10000 1");
  assert.equal(words("fe80::1:2"), "fe800000 0 0 10002");
  assert.equal(words("::ffff:10.0.0.1"), "0 0 ffff a000001");
  assert.equal(words("1:2:3:4:5:6:7:8"), "10002 30004 50006 70008");
  for (
    const bad of [
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "g::",
      "1:",
      ":1",
      "fe80::1%eth0",
      "[::1]",
      "::1.2.3",
      "1.2.3.4::",
      "1::2:3:4:5:6:7:8",
    ]
  ) assert.equal(words(bad), undefined, bad);
});

Deno.test("bad filter values are one-line usage errors (exit 2), checked before any input is read", async () => {
  const cases: [string[], RegExp][] = [
    [["--since", "noon"], /--since noon: not a time; give ISO 8601/],
    [["--until", "2026-02-30"], /--until 2026-02-30: no such date or time/],
    [["--since", "1764583446", "--until", "1764583445"], /--since 1764583446 is after --until/],
    [["--proto", "tcp"], /--proto tcp: a Secflow does not say whether it is TCP or UDP.*tcp\/udp/],
    [["--proto", "udp,icmp"], /--proto udp: a Secflow does not say/],
    [["--proto", "carrier-pigeon"], /--proto carrier-pigeon: not a protocol; give tcp, udp/],
    [["--proto", "256"], /--proto 256: not a protocol/],
    [["--port", "65536"], /--port 65536: give a port 0-65535 or a range like 8000-8100/],
    [["--port", "443-80"], /--port 443-80: give a port/],
    [["--port", "https"], /--port https: give a port/],
    [["--net", "10.0.0.0/33"], /--net 10.0.0.0\/33: the prefix length must be 0-32/],
    [
      ["--net", "10.1.2.3/8"],
      /--net 10.1.2.3\/8: host bits are set past \/8; did you mean 10.0.0.0\/8\?/,
    ],
    [["--net", "2001:db8::1/32"], /did you mean 2001:db8::\/32\?/],
    [["--net", "example.com"], /--net example.com: not an IPv4 or IPv6 address/],
    [["--net", ""], /--net needs a value/],
  ];
  for (const command of ["view", "stats", "report"]) {
    for (const [args, message] of cases) {
      // The input does not exist: the filters are judged first.
      const r = await cli([command, "/nonexistent/x.pcap", ...args]);
      // On flows the same values are refused the same way, but tcp alone is a fine filter.
      if (!/Secflow does not say/.test(String(message))) {
        const flows = await cli([command, "--flows", "/nonexistent/x.pcap", ...args]);
        assert.equal(
          flows.code,
          2,
          `${command} --flows ${args.join(" ")}: ${flows.err.join("\n")}`,
        );
        assert.deepEqual(flows.err, r.err, `${command} --flows ${args.join(" ")}`);
      }
      assert.equal(r.code, 2, `${command} ${args.join(" ")}: ${r.err.join("\n")}`);
      assert.equal(r.err.length, 1, r.err.join("\n"));
      assert.match(r.err[0], message, `${command} ${args.join(" ")}`);
      assert.match(
        r.err[0],
        new RegExp(`^networksage ${command}: .*\\(see networksage ${command} --help\\)$`),
      );
    }
  }
  // On flows (where the transport is known) tcp alone is a fine filter.
  assert.ok(filterOf({ proto: ["tcp"] }, "flows"));
  assert.ok(Object.keys(PROTO_NAMES).every((p) => filterOf({ proto: [p] }, "flows")));
});

Deno.test("a filter with no check keeps everything; comma lists and repeated options are unions", () => {
  const key = new FilterKey();
  assert.equal(compileFilter({}).test(key), true);
  const f = filterOf({ port: ["80,443", "8000-8100"], proto: ["6", "udp"] }, "flows")!;
  assert.equal(f.text, "--proto 6,udp --port 80,443,8000-8100");
  key.proto = 17;
  for (const [port, want] of [[80, true], [443, true], [8050, true], [8101, false], [22, false]]) {
    key.dstPort = port as number;
    assert.equal(f.test(key), want, String(port));
  }
  key.proto = 1;
  key.dstPort = 80;
  assert.equal(f.test(key), false);
});

Deno.test("completions offer the filter options of view, stats and report", async () => {
  const specs = await completionSpecs();
  for (const name of ["view", "stats", "report"]) {
    const options = specs.find((s) => s.name === name)!.options;
    for (const o of ["--since", "--until", "--proto", "--port", "--net"]) {
      assert.ok(options.includes(o), `${name} ${o}`);
    }
  }
  // --proto's names complete as values.
  assert.match(bashScript(specs), /--proto\) COMPREPLY=\(\$\(compgen -W 'tcp udp tcp\/udp icmp/);
  assert.match(zshScript(specs), /--proto\) compadd -- tcp udp tcp\/udp icmp/);
  assert.match(fishScript(specs), /-l proto .*tcp udp tcp\/udp icmp/);
});

/** Cells of one CSV line (quoted cells with doubled quotes, as csvLine writes them). */
function csvCells(line: string): string[] {
  const cells: string[] = [];
  for (const m of line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)) {
    cells.push(m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]);
  }
  return cells;
}

Deno.test("--uuid: view, stats and report of a platform sample (a real serve) keep exactly what the reference keeps", async () => {
  await using dir = await tempDir();
  const KEY = "sk-filters-test";
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  try {
    const client = new NetworkSageClient({ apiKey: KEY, apiUrl: s.url, useEnv: false });
    await Deno.writeTextFile(`${dir.path}/s.sf`, sample());
    await client.upload({ path: `${dir.path}/s.sf` });
    await s.idle();
    const uuid = (await client.listUploads())[0].uuid;
    const env = { NETWORKSAGE_API_KEY: KEY };
    const perms = apiPermissions(s.url, `--allow-read=${dir.path}`, `--allow-write=${dir.path}`);
    const view = async (args: string[]) => {
      const r = await runCli(
        ["view", "--uuid", uuid, "--csv", "--api-url", s.url, ...args],
        perms,
        env,
      );
      assert.equal(r.code, 0, r.stderr);
      const [head, ...lines] = r.stdout.split("\n").filter((l) => l !== "");
      const keys = csvCells(head);
      return lines.map((line): CsvRow => {
        const c = Object.fromEntries(csvCells(line).map((v, i) => [keys[i], v]));
        const startUs = isoUs(c.start);
        return {
          line,
          src: c.sourceData,
          dst: c.destinationData,
          icmp: !c.sourceData.includes(":"),
          startUs,
          endUs: startUs + decimalUs(c.duration),
          bytes: Number(c.sourceBytes) + Number(c.destinationBytes),
        };
      });
    };
    const all = await view([]);
    assert.equal(all.length, 400);
    const filters: RefFilter[] = [
      { nets: ["10.0.0.0/8"], ports: [[443, 443]] },
      { protos: ["icmp"], since: all[100].startUs },
      { until: all[50].endUs, nets: ["93.184.216.0/24"], protos: ["tcp", "udp"] },
    ];
    for (const [i, f] of filters.entries()) {
      const args = argsOf(f, i === 1);
      const want = all.filter((r) => refKeeps(f, r));
      assert.ok(want.length > 0 && want.length < all.length, args.join(" "));
      assert.deepEqual(
        (await view(args)).map((r) => r.line),
        want.map((r) => r.line),
        args.join(" "),
      );
      const stats = await runCli(
        ["stats", "--uuid", uuid, "--json", "--api-url", s.url, ...args],
        perms,
        env,
      );
      assert.equal(JSON.parse(stats.stdout).secflows, want.length, stats.stderr);
      const html = `${dir.path}/r${i}.html`;
      const report = await runCli(
        ["report", "--uuid", uuid, "-o", html, "--api-url", s.url, ...args],
        perms,
        env,
      );
      assert.equal(report.code, 0, report.stderr);
      assert.match(report.stderr, new RegExp(`report of ${want.length} Secflows \\(of 400; `));
      const page = await Deno.readTextFile(html);
      const body = page.slice(page.indexOf("<tbody>"), page.indexOf("</tbody>"));
      assert.equal(body.split("<tr>").length - 1, want.length);
    }
  } finally {
    await s.shutdown();
  }
});
