/**
 * The filters on flows (`view --flows` and its `--json`, `--csv`, `--ndjson`, `--ecs` forms):
 * on a capture built here (IPv4 and IPv6; TCP, UDP, SCTP, ICMP echo pairs, ICMPv6, a protocol by
 * number; LAN and Internet ends; spread times), every filter and many combinations keep exactly
 * the flows of the unfiltered output that the reference (tests/_filter_ref.ts, on the printed
 * text) keeps, in the same order; `--proto tcp` alone is fine here (flows know their transport).
 */
import assert from "node:assert/strict";
import { cat, ether, icmp, ipv4, pcapOf, type Pkt, T0, tcp, udp } from "../_pcap.ts";
import { tempDir } from "../api_fixtures.ts";
import { addressOf, argsOf, cli, random, type RefFilter, refNet } from "../_filter_ref.ts";
import { transportName } from "../../secflow/flows/text.ts";
import { filterOf, flowTest, PROTO_NAMES } from "../../cli/_filter.ts";
import { flowsReport } from "../../cli/_flows_report.ts";
import { InputError } from "../../secflow/errors.ts";
import { renderFlowsReport } from "../../report/flows_html.ts";
import { FlowTally } from "../../report/flows_model.ts";
import { type ConnRow, connTsv } from "../zeek_fixtures.ts";
import { framesPcap, gre, httpRequest, ip4, udpDatagram, vxlan } from "../_flows_pcap.ts";
import type { Flow } from "../../secflow/flows/types.ts";

// ---------------------------------------------------------------------------------------------
// IPv6 packets (the shared fixtures build IPv4)

function ip6Bytes(text: string): number[] {
  const v = addressOf(text)!.value;
  return Array.from({ length: 16 }, (_, i) => Number((v >> BigInt(8 * (15 - i))) & 0xffn));
}

const u16 = (n: number) => [(n >> 8) & 255, n & 255];

/** An IPv6 packet: header and `body` after it (`next` its protocol). */
function ipv6(src: string, dst: string, next: number, body: Uint8Array | number[]): Uint8Array {
  return cat(
    [0x60, 0, 0, 0, ...u16(body.length), next, 64, ...ip6Bytes(src), ...ip6Bytes(dst)],
    body,
  );
}

function tcp6(src: string, dst: string, sp: number, dp: number, payload: number, flags = 0x18) {
  const header = [
    ...u16(sp),
    ...u16(dp),
    0,
    0,
    3,
    232,
    0,
    0,
    0,
    0,
    0x50,
    flags,
    255,
    255,
    0,
    0,
    0,
    0,
  ];
  return ipv6(src, dst, 6, cat(header, new Uint8Array(payload)));
}

function udp6(src: string, dst: string, sp: number, dp: number, payload: number) {
  return ipv6(
    src,
    dst,
    17,
    cat([...u16(sp), ...u16(dp), ...u16(8 + payload), 0, 0], new Uint8Array(payload)),
  );
}

function icmp6(src: string, dst: string, type: number) {
  return ipv6(src, dst, 58, [type, 0, 0, 0, 0, 1, 0, 1]);
}

/** An IPv4/SCTP packet: common header and one DATA chunk. */
function sctp(src: string, dst: string, sp: number, dp: number) {
  return ipv4({
    src,
    dst,
    proto: 132,
    body: Uint8Array.from([
      ...u16(sp),
      ...u16(dp),
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      20,
      ...new Array(16).fill(0),
    ]),
  });
}

const V4 = ["10.0.0.1", "10.0.0.2", "192.168.1.7", "93.184.216.34", "8.8.8.8", "172.16.5.9"];
const V6 = ["2001:db8::1", "2001:db8::2", "2001:db8:1::10", "fe80::1", "2a00:1450:4001::200e"];

/** A capture of flows of every kind the filters tell apart. */
function capture(): Uint8Array {
  const rnd = random(5);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const packets: Pkt[] = [];
  let us = T0;
  for (let i = 0; i < 90; i++) {
    us += Math.floor(rnd() * 2e6);
    const six = rnd() < 0.35;
    const [a, b] = six ? [pick(V6), pick(V6)] : [pick(V4), pick(V4)];
    if (a === b) continue;
    const sp = 30000 + i, dp = pick([443, 80, 53, 8080, 5060]);
    const kind = i % 6;
    const n = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < n; k++) {
      const t = us + k * Math.floor(rnd() * 300_000);
      let out: Uint8Array, back: Uint8Array;
      if (kind === 0 || kind === 1) {
        out = six ? tcp6(a, b, sp, dp, 50) : tcp({ src: a, dst: b, sp, dp, payload: 50 });
        back = six
          ? tcp6(b, a, dp, sp, 400)
          : tcp({ src: b, dst: a, sp: dp, dp: sp, payload: 400 });
      } else if (kind === 2) {
        out = six ? udp6(a, b, sp, dp, 40) : udp({ src: a, dst: b, sp, dp, payload: 40 });
        back = six ? udp6(b, a, dp, sp, 90) : udp({ src: b, dst: a, sp: dp, dp: sp, payload: 90 });
      } else if (kind === 3) {
        out = six ? icmp6(a, b, 128) : icmp({ src: a, dst: b, type: 8, payload: 16 });
        back = six ? icmp6(b, a, 129) : icmp({ src: b, dst: a, type: 0, payload: 16 });
      } else if (kind === 4) {
        out = six ? udp6(a, b, sp, 123, 48) : sctp(a, b, sp, 2905);
        back = six ? udp6(b, a, 123, sp, 48) : sctp(b, a, 2905, sp);
      } else {
        out = six
          ? ipv6(a, b, 253, [1, 2, 3, 4])
          : ipv4({ src: a, dst: b, proto: 253, body: Uint8Array.of(1, 2, 3, 4) });
        back = out;
      }
      packets.push({ us: t, ip: out }, { us: t + 40, ip: back });
    }
  }
  packets.sort((x, y) => x.us - y.us);
  // pcapOf wraps IPv4 in Ethernet; IPv6 needs its own EtherType.
  return pcapOf(packets, {
    name: "ethernet",
    linkType: 1,
    wrap: (p) => ether(p, p[0] >> 4 === 6 ? 0x86dd : 0x0800),
  });
}

// ---------------------------------------------------------------------------------------------
// The reference, on what view --flows --ndjson prints

interface FlowLine {
  line: string;
  /** The parsed line (NDJSON only). */
  o?: Record<string, any>;
  start: bigint;
  end: bigint;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  transport: string;
}

const PORTED = ["tcp", "udp", "sctp", "udplite"];

function refKeeps(f: RefFilter, r: FlowLine): boolean {
  if (f.since !== undefined && r.end < f.since) return false;
  if (f.until !== undefined && r.start > f.until) return false;
  if (
    f.protos && !f.protos.some((p) =>
      p === r.transport || p === String(r.protocol) ||
      (p === "tcp/udp" && (r.transport === "tcp" || r.transport === "udp")) ||
      (p === "icmpv6" && r.transport === "ipv6-icmp")
    )
  ) return false;
  if (f.ports) {
    const ports = PORTED.includes(r.transport) ? [r.srcPort, r.dstPort] : [];
    if (!ports.some((p) => f.ports!.some(([a, b]) => p >= a && p <= b))) return false;
  }
  if (f.nets && !f.nets.some((c) => refNet(r.srcIp, c) || refNet(r.dstIp, c))) return false;
  return true;
}

function flowLines(out: string[]): FlowLine[] {
  return out.filter((l) => l !== "").map((line) => {
    const o = JSON.parse(line);
    return {
      line,
      o,
      start: BigInt(o.start),
      end: BigInt(o.end),
      srcIp: o.srcIp,
      dstIp: o.dstIp,
      srcPort: o.srcPort,
      dstPort: o.dstPort,
      protocol: o.protocol,
      transport: o.transport,
    };
  });
}

/** Rows of `view --flows --csv` (start order; the fixture's cells hold no comma or quote). */
function csvFlows(out: string[]): FlowLine[] {
  const [head, ...lines] = out.filter((l) => l !== "");
  const keys = head.split(",");
  return lines.map((line) => {
    const c = Object.fromEntries(line.split(",").map((v, i) => [keys[i], v]));
    return {
      line,
      start: BigInt(c.start),
      end: BigInt(c.end),
      srcIp: c.srcIp,
      dstIp: c.dstIp,
      srcPort: Number(c.srcPort),
      dstPort: Number(c.dstPort),
      protocol: Number(c.protocol),
      transport: c.transport,
    };
  });
}

function filtersFor(rows: FlowLine[], n: number, seed: number): RefFilter[] {
  const rnd = random(seed);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const times = rows.flatMap((r) => [r.start, r.end, r.start - 1n, r.end + 1n]);
  const protos = ["tcp", "udp", "tcp/udp", "icmp", "ipv6-icmp", "icmpv6", "sctp", "253", "6", "58"];
  const ports = [443, 80, 53, 8080, 123, 2905, 30010, 8];
  const nets = [
    "10.0.0.0/8",
    "10.0.0.1",
    "192.168.0.0/16",
    "93.184.216.34/32",
    "0.0.0.0/0",
    "2001:db8::/32",
    "2001:db8::/64",
    "2001:db8:1::/48",
    "fe80::/10",
    "::/0",
    "2a00:1450::/32",
  ];
  const out: RefFilter[] = [
    { protos: ["tcp"] },
    { protos: ["udp"] },
    { protos: ["ipv6-icmp"] },
    { protos: ["253"] },
    { ports: [[8, 8]] }, // an ICMP type is not a port
    { nets: ["::/0"] },
    { nets: ["0.0.0.0/0"] },
    { since: rows[rows.length - 1].start },
    { until: rows[0].start },
  ];
  while (out.length < n) {
    const f: RefFilter = {};
    if (rnd() < 0.35) f.since = pick(times);
    if (rnd() < 0.35) {
      f.until = f.since !== undefined ? f.since + BigInt(Math.floor(rnd() * 2e7)) : pick(times);
    }
    if (rnd() < 0.4) f.protos = rnd() < 0.7 ? [pick(protos)] : [pick(protos), pick(protos)];
    if (rnd() < 0.35) {
      const a = pick(ports);
      f.ports = rnd() < 0.6 ? [[a, a]] : [[a, a], [pick(ports), 65535]];
    }
    if (rnd() < 0.5) f.nets = rnd() < 0.7 ? [pick(nets)] : [pick(nets), pick(nets)];
    if (Object.keys(f).length) out.push(f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

Deno.test("view --flows with filters is exactly the unfiltered output filtered (--ndjson, --ecs, --csv, --json, table)", async () => {
  await using dir = await tempDir();
  const pcap = `${dir.path}/flows.pcap`;
  await Deno.writeFile(pcap, capture());
  const all = await cli(["view", pcap, "--flows", "--ndjson"]);
  assert.equal(all.code, 0, all.err.join("\n"));
  const rows = flowLines(all.out);
  // Every kind the filters tell apart is there.
  for (const t of ["tcp", "udp", "icmp", "ipv6-icmp", "sctp", "253"]) {
    assert.ok(rows.some((r) => r.transport === t), `a ${t} flow`);
  }
  assert.ok(rows.some((r) => r.srcIp.includes(":")) && rows.some((r) => !r.srcIp.includes(":")));
  const ecsAll = (await cli(["view", pcap, "--ecs"])).out.filter((l) => l !== "");
  const csvAll = csvFlows((await cli(["view", pcap, "--flows", "--csv"])).out);
  assert.equal(ecsAll.length, rows.length);
  let selective = 0;
  for (const [i, f] of filtersFor(rows, 45, 9).entries()) {
    const args = argsOf(f, i % 2 === 0);
    const keptIdx = rows.flatMap((r, j) => refKeeps(f, r) ? [j] : []);
    if (keptIdx.length > 0 && keptIdx.length < rows.length) selective++;
    const got = await cli(["view", pcap, "--flows", "--ndjson", ...args]);
    assert.equal(got.code, 0, `${args.join(" ")}: ${got.err.join("\n")}`);
    assert.deepEqual(
      got.out.filter((l) => l !== ""),
      keptIdx.map((j) => rows[j].line),
      args.join(" "),
    );
    if (i % 3 === 0) {
      // The other forms keep the same flows.
      const ecs = await cli(["view", pcap, "--ecs", ...args]);
      assert.deepEqual(
        ecs.out.filter((l) => l !== ""),
        keptIdx.map((j) => ecsAll[j]),
        args.join(" "),
      );
    }
    if (i % 3 === 1) {
      // CSV is in start order (not streamed): its own rows, filtered.
      const csv = await cli(["view", pcap, "--flows", "--csv", ...args]);
      assert.deepEqual(
        csvFlows(csv.out).map((r) => r.line),
        csvAll.filter((r) => refKeeps(f, r)).map((r) => r.line),
        args.join(" "),
      );
    }
  }
  assert.ok(selective >= 20, `only ${selective} selective filters`);
  // --json and the table.
  const args = ["--proto", "tcp", "--net", "2001:db8::/32"];
  const want = rows.filter((r) => refKeeps({ protos: ["tcp"], nets: ["2001:db8::/32"] }, r));
  assert.ok(want.length > 0 && want.length < rows.length);
  const json = await cli(["view", pcap, "--flows", "--json", ...args]);
  assert.equal(JSON.parse(json.out.join("\n")).length, want.length);
  const table = await cli(["view", pcap, "--flows", ...args]);
  assert.equal(table.out.filter((l) => l !== "").length, want.length + 1);
  assert.deepEqual(table.err, [`${want.length} of ${rows.length} flows shown`]);
});

Deno.test("--proto takes every transport name a flow shows, and tcp alone on flows", () => {
  for (let p = 0; p < 256; p++) {
    const name = transportName(p);
    assert.ok(name === String(p) || PROTO_NAMES[name] === p, `${p} shows as ${name}`);
    assert.ok(filterOf({ proto: [name] }, "flows"), name);
  }
  assert.ok(filterOf({ proto: ["tcp"] }, "flows"));
});

/** What stats --flows --json should say of `rows`, computed from their NDJSON lines. */
function refStats(rows: FlowLine[], top: number) {
  type Counts = { flows: number; packets: number; bytes: number; ipBytes: number };
  const add = (m: Map<string, Counts>, k: string, o: Record<string, any>) => {
    const c = m.get(k) ?? { flows: 0, packets: 0, bytes: 0, ipBytes: 0 };
    m.set(k, {
      flows: c.flows + 1,
      packets: c.packets + o.srcPackets + o.dstPackets,
      bytes: c.bytes + o.srcBytes + o.dstBytes,
      ipBytes: c.ipBytes + o.srcIpBytes + o.dstIpBytes,
    });
  };
  const all = new Map<string, Counts>(), transports = new Map<string, Counts>();
  const sample = new Map<string, Counts>(), talkers = new Map<string, Counts>();
  const secflows = new Set<string>();
  for (const { o } of rows) {
    add(all, "", o!);
    add(transports, o!.transport, o!);
    add(sample, o!.sample, o!);
    for (const ip of new Set([o!.srcIp, o!.dstIp])) add(talkers, ip, o!);
    if (o!.secflow) secflows.add(JSON.stringify(o!.secflow));
  }
  const byFlows = (m: Map<string, Counts>, key: string) =>
    [...m].sort((a, b) => b[1].flows - a[1].flows || (a[0] < b[0] ? -1 : 1))
      .map(([k, c]) => ({ [key]: k, ...c }));
  const none = { flows: 0, packets: 0, bytes: 0, ipBytes: 0 };
  const starts = rows.map((r) => r.o!.startTime).sort(),
    ends = rows.map((r) => r.o!.endTime).sort();
  return {
    ...(all.get("") ?? none),
    start: starts[0] ?? null,
    end: ends[ends.length - 1] ?? null,
    secflows: secflows.size,
    transports: byFlows(transports, "transport"),
    kept: sample.get("kept") ?? none,
    leftOut: byFlows(new Map([...sample].filter(([k]) => k !== "kept")), "reason"),
    topTalkers: [...talkers].sort((a, b) =>
      b[1].ipBytes - a[1].ipBytes || b[1].flows - a[1].flows || (a[0] < b[0] ? -1 : 1)
    ).slice(0, top).map(([ip, c]) => ({ ip, ...c })),
    unrankedAddresses: 0,
  };
}

Deno.test("stats --flows: totals, by transport, by reason left out and top talkers of exactly the flows the filters keep", async () => {
  await using dir = await tempDir();
  const pcap = `${dir.path}/flows.pcap`;
  await Deno.writeFile(pcap, capture());
  const rows = flowLines((await cli(["view", pcap, "--flows", "--ndjson"])).out);
  const filters: RefFilter[] = [
    {},
    { protos: ["tcp"] },
    { nets: ["2001:db8::/32", "10.0.0.0/8"] },
    { ports: [[443, 443], [53, 53]], protos: ["udp", "tcp"] },
    { since: rows[10].start, until: rows[40].end },
    { nets: ["203.0.113.0/24"] },
    ...filtersFor(rows, 14, 21).slice(9),
  ];
  for (const [i, f] of filters.entries()) {
    const args = argsOf(f, i % 2 === 0);
    const got = await cli(["stats", pcap, "--flows", "--json", "--top", "4", ...args]);
    assert.equal(got.code, 0, got.err.join("\n"));
    const want = refStats(rows.filter((r) => refKeeps(f, r)), 4);
    assert.deepEqual(JSON.parse(got.out.join("")), want, args.join(" "));
    if (i === 0) {
      // Every reason the fixture produces is told apart, and every transport.
      assert.ok(want.leftOut.length >= 3, JSON.stringify(want.leftOut));
      assert.equal(want.transports.length, 6);
    }
  }
  // The text form: a filtered line, the groups, the reasons explained.
  const text = await cli(["stats", "--flows", pcap, "--proto", "tcp/udp"]);
  const kept = rows.filter((r) => refKeeps({ protos: ["tcp/udp"] }, r)).length;
  assert.equal(text.out[0], `filtered   ${kept} of ${rows.length} flows (--proto tcp/udp)`);
  assert.ok(text.out.includes("by transport"));
  assert.ok(text.out.includes("left out of the sample, by reason"));
  assert.ok(text.out.some((l) => /^ {2}ipv6 .*IPv6: the platform reads IPv4 only$/.test(l)));
  assert.ok(text.out.includes("top talkers by IP bytes"));
  const none = await cli(["stats", "--flows", pcap, "--net", "203.0.113.0/24"]);
  assert.deepEqual(none.out, [
    `filtered   0 of ${rows.length} flows (--net 203.0.113.0/24)`,
    "(no flows match)",
  ]);
  // Flows are local: --uuid is refused in one line.
  const uuid = await cli(["stats", "--flows", "--uuid", "0b6f3c1e-5d2a-4c8e-9f10-2b3c4d5e6f70"]);
  assert.equal(uuid.code, 2);
  assert.match(uuid.err[0], /--flows reads local INPUTs, not --uuid/);
});

/** The groups of a flows report: section id → the rows' start cells, in page order. */
function reportGroups(page: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const m of page.matchAll(/<section class="group" id="([^"]+)">([\s\S]*?)<\/section>/g)) {
    const body = m[2].slice(m[2].indexOf("<tbody>"), m[2].indexOf("</tbody>"));
    groups.set(m[1], [...body.matchAll(/<tr><td>([^<]*)<\/td>/g)].map((r) => r[1]));
  }
  return groups;
}

Deno.test("report --flows: every flow the filters keep, the kept ones and each reason left out in a group of its own, in start order", async () => {
  await using dir = await tempDir();
  const pcap = `${dir.path}/flows.pcap`;
  await Deno.writeFile(pcap, capture());
  const rows = flowLines((await cli(["view", pcap, "--flows", "--ndjson"])).out);
  const filters: RefFilter[] = [
    {},
    { protos: ["tcp", "ipv6-icmp"] },
    { nets: ["2001:db8::/32"], since: rows[5].start },
    { ports: [[443, 443]] },
  ];
  for (const [i, f] of filters.entries()) {
    const args = argsOf(f, i % 2 === 1);
    const html = `${dir.path}/r${i}.html`;
    const r = await cli(["report", "--flows", pcap, "-o", html, ...args]);
    assert.equal(r.code, 0, r.err.join("\n"));
    const kept = rows.filter((row) => refKeeps(f, row));
    assert.deepEqual(r.err, [
      `${html}: report of ${kept.length} flow${kept.length === 1 ? "" : "s"}${
        args.length ? ` (of ${rows.length}; ${filterOf(argsValues(args), "flows")!.text})` : ""
      }`,
    ]);
    const page = await Deno.readTextFile(html);
    const want = new Map<string, string[]>();
    for (const row of [...kept].sort((a, b) => Number(a.start - b.start))) {
      const id = row.o!.sample === "kept" ? "kept" : `left-out-${row.o!.sample}`;
      want.set(id, [...want.get(id) ?? [], row.o!.startTime.slice(11, 26)]);
    }
    const got = reportGroups(page);
    // The same groups with the same flows; kept first, then reasons by flows, most first.
    assert.deepEqual(new Map([...got].sort()), new Map([...want].sort()), args.join(" "));
    const order = [...got.keys()];
    if (order.includes("kept")) assert.equal(order[0], "kept");
    const sizes = order.filter((k) => k !== "kept").map((k) => got.get(k)!.length);
    assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a));
    if (i === 0) assert.ok(got.size >= 4, [...got.keys()].join(" "));
    assert.equal(page.includes("<dt>filtered</dt>"), args.length > 0);
  }
  // The default name sits beside the input and is not the Secflow report's.
  const byDefault = await cli(["report", "--flows", pcap, "--proto", "udp"]);
  assert.equal(byDefault.code, 0, byDefault.err.join("\n"));
  assert.ok((await Deno.stat(`${dir.path}/flows.flows.html`)).isFile);
  // Nothing kept: one line, nothing written.
  const none = await cli([
    "report",
    "--flows",
    pcap,
    "-o",
    `${dir.path}/none.html`,
    "--net",
    "203.0.113.9",
  ]);
  assert.deepEqual(none.err, [
    `${pcap}: no flows match --net 203.0.113.9 (${rows.length} in all); nothing written`,
  ]);
  await assert.rejects(Deno.stat(`${dir.path}/none.html`));
  // More flows than a page holds: refused in one line that points at the filters.
  const filter = filterOf({ proto: ["tcp"] }, "flows")!;
  const tcpFlows = rows.filter((row) => row.transport === "tcp").length;
  await assert.rejects(
    flowsReport(pcap, { keep: flowTest(filter), filterText: filter.text, limit: tcpFlows - 1 }),
    (e: Error) =>
      e instanceof InputError && e.kind === "too-large" &&
      e.message ===
        `${pcap}: more than ${
          tcpFlows - 1
        } flows match --proto tcp, more than one report page can show; narrow them with --since, --until, --proto, --port or --net (view --flows --ndjson takes any number)`,
  );
  assert.equal(
    (await flowsReport(pcap, { keep: flowTest(filter), limit: tcpFlows })).shown,
    tcpFlows,
  );
  // --uuid, --dns and --format do not go with --flows.
  const uuid = await cli(["report", "--flows", "--uuid", "0b6f3c1e-5d2a-4c8e-9f10-2b3c4d5e6f70"]);
  assert.equal(uuid.code, 2);
  assert.match(uuid.err[0], /--flows reads one local INPUT, without --uuid, --dns or --format/);
});

Deno.test("the flows report escapes every string from traffic (names, a conn.log's addresses, tunnels)", async () => {
  await using dir = await tempDir();
  const pcap = `${dir.path}/flows.pcap`;
  await Deno.writeFile(pcap, capture());
  const real = flowLines((await cli(["view", pcap, "--flows", "--ndjson"])).out)[0].o as Flow;
  const evil = "x<img src=q onerror=alert(1)>.example";
  const page = renderFlowsReport([{
    ...real,
    srcIp: `<b>${real.srcIp}`,
    names: [{ name: evil, source: "sni" }, { name: `"'&`, source: "http" }],
    tunnel: [{ kind: "gre", src: "<i>", dst: "1.2.3.4" }],
  }], { fileName: "<script>.pcap", filter: { text: "--net <x>", total: 3 } });
  assert.ok(
    page.includes("x&lt;img src=q onerror=alert(1)&gt;.example (sni), &quot;&#39;&amp; (http)"),
  );
  assert.ok(page.includes("&lt;b&gt;"));
  assert.ok(page.includes("gre &lt;i&gt;&gt;1.2.3.4"));
  assert.ok(page.includes("<h1>&lt;script&gt;.pcap: every flow</h1>"));
  assert.ok(page.includes("--net &lt;x&gt; (1 of 3)"));
  for (const raw of ["<img", "<b>", "<i>", "<script>.pcap", "<x>"]) {
    assert.ok(!page.includes(raw), raw);
  }
});

/** Option values of filter arguments, as the command's parser gives them. */
function argsValues(args: string[]) {
  const v: { since?: string; until?: string; proto?: string[]; port?: string[]; net?: string[] } =
    {};
  for (let i = 0; i < args.length; i += 2) {
    const k = args[i].slice(2) as "since" | "until" | "proto" | "port" | "net";
    if (k === "since" || k === "until") v[k] = args[i + 1];
    else (v[k] ??= []).push(args[i + 1]);
  }
  return v;
}

Deno.test("filters on tunnels: a flow is judged by its own addresses, ports and transport; its carrier is a flow of its own", async () => {
  await using dir = await tempDir();
  const inner = tcp({
    src: "10.9.0.1",
    dst: "205.185.216.10",
    sp: 40000,
    dp: 80,
    payload: httpRequest("example.test"),
  });
  const back = tcp({ src: "205.185.216.10", dst: "10.9.0.1", sp: 80, dp: 40000, payload: 300 });
  const inner6 = ipv6("2001:db8::5", "2001:db8::6", 17, udpDatagram(5353, 53, new Uint8Array(30)));
  const frames = [
    ether(ip4("198.51.100.1", "198.51.100.2", 47, gre(0x0800, inner))),
    ether(ip4("198.51.100.2", "198.51.100.1", 47, gre(0x0800, back))),
    ether(
      ip4(
        "203.0.113.1",
        "203.0.113.2",
        17,
        udpDatagram(50000, 4789, vxlan(42, ether(inner6, 0x86dd))),
      ),
    ),
  ];
  const pcap = `${dir.path}/tunnels.pcap`;
  await Deno.writeFile(pcap, framesPcap(frames));
  const rows = flowLines((await cli(["view", pcap, "--flows", "--ndjson"])).out);
  const innerFlow = rows.find((r) => r.dstIp === "205.185.216.10")!;
  assert.ok(innerFlow && innerFlow.o!.tunnel.length === 1, "the inner flow, with its tunnel path");
  assert.ok(rows.some((r) => r.transport === "gre"), "the GRE carrier");
  assert.ok(rows.some((r) => r.dstIp === "2001:db8::6" && r.o!.tunnel[0]?.kind === "vxlan"));
  const kept = async (args: string[]) =>
    flowLines((await cli(["view", pcap, "--flows", "--ndjson", ...args])).out).map((r) =>
      `${r.transport} ${r.srcIp}>${r.dstIp}`
    ).sort();
  assert.deepEqual(await kept(["--net", "205.185.216.0/24"]), ["tcp 10.9.0.1>205.185.216.10"]);
  assert.deepEqual(await kept(["--net", "198.51.100.2"]), ["gre 198.51.100.1>198.51.100.2"]);
  assert.deepEqual(await kept(["--proto", "gre"]), ["gre 198.51.100.1>198.51.100.2"]);
  assert.deepEqual(await kept(["--port", "80"]), ["tcp 10.9.0.1>205.185.216.10"]);
  assert.deepEqual(await kept(["--port", "4789"]), ["udp 203.0.113.1>203.0.113.2"]);
  assert.deepEqual(await kept(["--net", "2001:db8::/64", "--proto", "udp"]), [
    "udp 2001:db8::5>2001:db8::6",
  ]);
  // And every filter of the reference, on these rows too.
  for (const [i, f] of filtersFor(rows, 20, 31).entries()) {
    const args = argsOf(f, i % 2 === 0);
    const got = await cli(["view", pcap, "--flows", "--ndjson", ...args]);
    assert.deepEqual(
      got.out.filter((l) => l !== ""),
      rows.filter((r) => refKeeps(f, r)).map((r) => r.line),
      args.join(" "),
    );
  }
  // stats --flows counts the inner flows as left out "in-tunnel".
  const stats = JSON.parse((await cli(["stats", "--flows", pcap, "--json"])).out.join(""));
  assert.ok(
    stats.leftOut.some((r: { reason: string }) => r.reason === "in-tunnel"),
    JSON.stringify(stats.leftOut),
  );
});

Deno.test("filters on the flows of a Zeek conn.log (IPv6 rows included), in view, stats and report", async () => {
  await using dir = await tempDir();
  const rnd = random(17);
  const rows: ConnRow[] = [];
  let ts = 1764583445;
  for (let i = 0; i < 80; i++) {
    ts += Math.floor(rnd() * 2e6) / 1e6;
    const six = i % 3 === 0;
    const proto = ["tcp", "udp", "icmp", "tcp"][i % 4];
    rows.push({
      ts: ts.toFixed(6),
      oh: six ? V6[i % V6.length] : V4[i % V4.length],
      op: proto === "icmp" ? 8 : 30000 + i,
      rh: six ? V6[(i + 1) % V6.length] : V4[(i + 3) % V4.length],
      rp: proto === "icmp" ? 0 : [443, 80, 53][i % 3],
      proto: six && proto === "icmp" ? "icmp" : proto,
      duration: (Math.floor(rnd() * 3e6) / 1e6).toFixed(6),
      ob: "100",
      rb: "900",
      opk: "2",
      rpk: "3",
      oipb: "180",
      ripb: "1020",
    });
  }
  const log = `${dir.path}/conn.log`;
  await Deno.writeTextFile(log, connTsv(rows));
  const all = flowLines((await cli(["view", log, "--flows", "--ndjson"])).out);
  assert.equal(all.length, 80);
  assert.ok(all.some((r) => r.srcIp.includes(":")));
  let selective = 0;
  for (const [i, f] of filtersFor(all, 24, 41).entries()) {
    const args = argsOf(f, i % 2 === 1);
    const want = all.filter((r) => refKeeps(f, r));
    if (want.length > 0 && want.length < all.length) selective++;
    const got = await cli(["view", log, "--flows", "--ndjson", ...args]);
    assert.deepEqual(got.out.filter((l) => l !== ""), want.map((r) => r.line), args.join(" "));
    const stats = JSON.parse(
      (await cli(["stats", "--flows", log, "--json", ...args])).out.join(""),
    );
    assert.deepEqual(stats, refStats(want, 10), args.join(" "));
  }
  assert.ok(selective >= 10, `${selective} selective`);
  const html = `${dir.path}/conn.html`;
  const r = await cli(["report", "--flows", log, "-o", html, "--net", "2001:db8::/32"]);
  const want = all.filter((row) => refKeeps({ nets: ["2001:db8::/32"] }, row)).length;
  assert.deepEqual(r.err, [`${html}: report of ${want} flows (of 80; --net 2001:db8::/32)`]);
});

Deno.test("the talkers' ranking is bounded: addresses past the bound still count everywhere else, and are said", async () => {
  await using dir = await tempDir();
  const pcap = `${dir.path}/flows.pcap`;
  await Deno.writeFile(pcap, capture());
  const flows = flowLines((await cli(["view", pcap, "--flows", "--ndjson"])).out).map((r) =>
    r.o as Flow
  );
  const all = new FlowTally(), bounded = new FlowTally(3);
  for (const f of flows) {
    all.add(f);
    bounded.add(f);
  }
  const addresses = all.totals.addresses.size;
  assert.ok(addresses > 6);
  assert.equal(bounded.totals.addresses.size, 3);
  assert.equal(bounded.totals.unrankedAddresses, 3); // the unranked set has the same bound
  assert.equal(all.totals.unrankedAddresses, 0);
  // Everything else is the same.
  for (const k of ["flows", "packets", "bytes", "ipBytes", "start", "end", "secflows"] as const) {
    assert.equal(bounded.totals[k], all.totals[k], k);
  }
  assert.deepEqual(bounded.totals.transports, all.totals.transports);
  assert.deepEqual(bounded.totals.sample, all.totals.sample);
});
