/**
 * The independent check of the flow engine against Zeek and tshark (docs/FLOWS.md has the
 * results). For each trace of Zeek's own test suite (`testing/btest/Traces`) that a btest reads
 * with `zeek -r` and whose baseline holds the `conn.log` Zeek wrote, it runs
 * `networksage view --flows --ecs TRACE` (the CLI, as a user would) and compares:
 *
 * - connections: every TCP, UDP and ICMP row of Zeek's conn.log is looked up among our flows by
 *   protocol and both endpoints (either orientation; several rows of one tuple pair with our
 *   flows of that tuple in time order); "found" counts the rows that have a flow;
 * - packets: of those, the rows whose `orig_pkts` and `resp_pkts` equal our packets each way;
 * - names: every `server_name` of the baseline's ssl.log and every `host` of its http.log must be
 *   among the names of the flow of that connection (HTTP hosts compared without a port, case
 *   ignored);
 * - Community ID: with `--tshark`, every distinct ID `tshark --enable-protocol communityid -T
 *   fields -e communityid` prints for the trace must be one of our flows' IDs.
 *
 * Zeek's data is not part of this repository. Give a checkout of zeek/zeek (or just its
 * `testing/btest` folder) with `--zeek DIR`; without it the check says so and exits 0.
 *
 *     deno run --allow-read --allow-run --allow-write bench/zeek_check.ts --zeek ~/src/zeek \
 *       [--tshark] [--max N] [--json results.json] [--verbose]
 * @module
 */
import { parseArgs } from "node:util";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const { values } = parseArgs({
  options: {
    zeek: { type: "string" },
    tshark: { type: "boolean" },
    max: { type: "string" },
    json: { type: "string" },
    verbose: { type: "boolean" },
  },
});

const CLI = new URL("../cli.ts", import.meta.url).pathname;

function btestDir(root: string | undefined): string | undefined {
  if (!root) return undefined;
  for (const d of [join(root, "testing", "btest"), root]) {
    if (existsSync(join(d, "Traces")) && existsSync(join(d, "Baseline"))) return d;
  }
  return undefined;
}

const dir = btestDir(values.zeek ?? Deno.env.get("ZEEK_SRC"));
if (!dir) {
  console.log(
    "skipped: give a zeek/zeek checkout with --zeek DIR (or ZEEK_SRC): its testing/btest Traces and Baseline are compared",
  );
  Deno.exit(0);
}

/** Every test file under the btest folder (not the data folders). */
function* testFiles(d: string): Generator<string> {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) {
      if (d === dir && (e.name === "Baseline" || e.name === "Traces" || e.name === "Files")) {
        continue;
      }
      yield* testFiles(p);
    } else if (/\.(zeek|test|bro|sh)$/.test(e.name)) yield p;
  }
}

interface Pair {
  trace: string;
  baseline: string;
  test: string;
}

/** (trace, baseline) pairs: tests that read exactly one trace and keep a conn.log baseline. */
function pairs(): Pair[] {
  const byTrace = new Map<string, Pair>();
  const files = [...testFiles(dir!)].sort();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    if (/@TEST-START-NEXT/.test(text)) continue;
    const traces = new Set<string>();
    for (const m of text.matchAll(/@TEST-EXEC:[^\n]*\bzeek\b[^\n]*-r\s+\$\{?TRACES\}?\/(\S+)/g)) {
      traces.add(m[1]);
    }
    if (traces.size !== 1) continue;
    const trace = join(dir!, "Traces", [...traces][0]);
    const name = relative(dir!, file).replace(/\.[^.\/]+$/, "").replaceAll("/", ".");
    const baseline = join(dir!, "Baseline", name);
    if (!existsSync(trace) || statSync(trace).size === 0) continue;
    const usable = ["conn.log", "ssl.log", "http.log"].some((log) => {
      const path = join(baseline, log);
      return existsSync(path) && /#fields.*\bid\.orig_h\b/.test(readFileSync(path, "utf8"));
    });
    if (!usable) continue;
    if (!byTrace.has(trace)) byTrace.set(trace, { trace, baseline, test: relative(dir!, file) });
  }
  return [...byTrace.values()];
}

/** The rows of a Zeek TSV log as objects. */
function zeekRows(path: string): Record<string, string>[] {
  if (!existsSync(path)) return [];
  let fields: string[] = [];
  const rows: Record<string, string>[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.startsWith("#fields\t")) fields = line.split("\t").slice(1);
    if (line === "" || line.startsWith("#")) continue;
    const cells = line.split("\t");
    if (cells.length < fields.length) continue;
    rows.push(Object.fromEntries(fields.map((f, i) => [f, cells[i]])));
  }
  return rows;
}

interface OurFlow {
  proto: string;
  src: string;
  sp: number;
  dst: string;
  dp: number;
  srcPkts: number;
  dstPkts: number;
  start: string;
  names: string[];
  cid: string;
}

async function ourFlows(trace: string): Promise<OurFlow[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", CLI, "view", "--flows", "--ecs", "-q", trace],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const flows: OurFlow[] = [];
  for (const l of text.split("\n")) {
    if (!l) continue;
    const d = JSON.parse(l);
    const t = d.network.transport;
    flows.push({
      proto: t === "ipv6-icmp" ? "icmp" : t,
      src: d.source.ip,
      sp: d.source.port ?? 0,
      dst: d.destination.ip,
      dp: d.destination.port ?? 0,
      srcPkts: d.source.packets,
      dstPkts: d.destination.packets,
      start: d.event.start,
      names: (d.networksage.names ?? []).map((n: { name: string }) => n.name.toLowerCase()),
      cid: d.network.community_id ?? "",
    });
  }
  return flows;
}

const key = (p: string, a: string, ap: number, b: string, bp: number) =>
  `${p} ${a} ${ap} ${b} ${bp}`;
const hostOnly = (h: string) => h.toLowerCase().replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");

interface Totals {
  traces: number;
  connTraces: number;
  conns: number;
  found: number;
  packetsEqual: number;
  sni: number;
  sniFound: number;
  hosts: number;
  hostsFound: number;
  tsharkIds: number;
  tsharkFound: number;
  tsharkMixed: number;
  tsharkPartial: number;
  tsharkRaw: number;
  tsharkRawFound: number;
}
const totals: Totals = {
  traces: 0,
  connTraces: 0,
  conns: 0,
  found: 0,
  packetsEqual: 0,
  sni: 0,
  sniFound: 0,
  hosts: 0,
  hostsFound: 0,
  tsharkIds: 0,
  tsharkFound: 0,
  tsharkMixed: 0,
  tsharkPartial: 0,
  tsharkRaw: 0,
  tsharkRawFound: 0,
};
const perTrace: Record<string, unknown>[] = [];
const max = values.max ? Number(values.max) : Infinity;

for (const pair of pairs().slice(0, max)) {
  const flows = await ourFlows(pair.trace);
  // Our flows by tuple, both orientations, each in start order.
  const index = new Map<string, { f: OurFlow; flipped: boolean }[]>();
  for (const f of flows) {
    for (const flipped of [false, true]) {
      const k = flipped
        ? key(f.proto, f.dst, f.dp, f.src, f.sp)
        : key(f.proto, f.src, f.sp, f.dst, f.dp);
      const list = index.get(k) ?? [];
      list.push({ f, flipped });
      index.set(k, list);
    }
  }
  for (const list of index.values()) {
    list.sort((a, b) => (a.f.start < b.f.start ? -1 : a.f.start > b.f.start ? 1 : 0));
  }
  // A conn.log without packet columns (cut by the test) is not compared.
  const connRows = zeekRows(join(pair.baseline, "conn.log"));
  const conns = connRows.length > 0 && "orig_pkts" in connRows[0] && "id.orig_h" in connRows[0]
    ? connRows.filter((r) => r.proto === "tcp" || r.proto === "udp" || r.proto === "icmp")
    : [];
  let found = 0, equal = 0;
  const used = new Set<OurFlow>();
  const missing: string[] = [];
  for (const r of conns) {
    const k = key(
      r.proto,
      r["id.orig_h"],
      Number(r["id.orig_p"]),
      r["id.resp_h"],
      Number(r["id.resp_p"]),
    );
    const candidates = index.get(k) ?? [];
    // Each of our flows answers one Zeek row at most (in time order: Zeek's rows are too).
    const hit = candidates.find((c) => !used.has(c.f));
    if (!hit) {
      missing.push(k);
      continue;
    }
    used.add(hit.f);
    found++;
    const origPkts = hit.flipped ? hit.f.dstPkts : hit.f.srcPkts;
    const respPkts = hit.flipped ? hit.f.srcPkts : hit.f.dstPkts;
    if (String(origPkts) === r.orig_pkts && String(respPkts) === r.resp_pkts) equal++;
    else if (values.verbose) {
      console.error(
        `  packets ${k}: zeek ${r.orig_pkts}/${r.resp_pkts}, ours ${origPkts}/${respPkts}`,
      );
    }
  }
  /** The names of our flows of a log row's connection (any flow of that tuple). */
  const namesOf = (r: Record<string, string>): string[] => {
    const names: string[] = [];
    for (const p of ["tcp", "udp"]) {
      const k = key(
        p,
        r["id.orig_h"],
        Number(r["id.orig_p"]),
        r["id.resp_h"],
        Number(r["id.resp_p"]),
      );
      for (const c of index.get(k) ?? []) names.push(...c.f.names);
    }
    return names;
  };
  let sni = 0, sniFound = 0, hosts = 0, hostsFound = 0;
  for (const r of zeekRows(join(pair.baseline, "ssl.log"))) {
    const name = r.server_name;
    if (!name || name === "-" || name === "(empty)") continue;
    sni++;
    if (namesOf(r).includes(name.toLowerCase())) sniFound++;
    else if (values.verbose) console.error(`  sni ${name} not found`);
  }
  for (const r of zeekRows(join(pair.baseline, "http.log"))) {
    const host = r.host;
    if (!host || host === "-" || host === "(empty)") continue;
    hosts++;
    if (namesOf(r).some((n) => hostOnly(n) === hostOnly(host))) hostsFound++;
    else if (values.verbose) console.error(`  host ${host} not found`);
  }
  let tsharkIds = 0, tsharkFound = 0;
  if (values.tshark) {
    const out = await new Deno.Command("tshark", {
      args: [
        "-n",
        "-r",
        pair.trace,
        "--enable-protocol",
        "communityid",
        "-T",
        "fields",
        "-e",
        "frame.protocols",
        "-e",
        "communityid",
        "-e",
        "_ws.malformed",
        "-e",
        "ip.flags.mf",
        "-e",
        "ip.frag_offset",
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    // tshark takes the addresses of the last IP layer and the ports of the last transport it
    // saw: when the innermost IP packet has no ports (IGMP, an IPv6 "no next header") inside a
    // UDP tunnel, its ID mixes two layers and names no flow. Those are counted apart.
    // Also apart: IDs of packets tshark calls malformed, and of IP fragments it holds for
    // reassembly (their ID is computed from the IP header alone, without the ports).
    const ids = new Set<string>();
    const mixed = new Set<string>();
    const partial = new Set<string>();
    const transports = ["tcp", "udp", "sctp", "icmp", "icmpv6", "udplite"];
    for (const row of new TextDecoder().decode(out.stdout).split("\n")) {
      const [protocols = "", cids = "", malformed = "", mf = "", offset = ""] = row.split("\t");
      const layers = protocols.split(":");
      const lastIp = Math.max(layers.lastIndexOf("ip"), layers.lastIndexOf("ipv6"));
      const inner = layers.slice(lastIp + 1).some((l) => transports.includes(l));
      const outer = layers.slice(0, lastIp).some((l) => transports.includes(l));
      const fragment = mf.split(",").some((x) => x === "1" || x === "True") ||
        offset.split(",").some((x) => x !== "" && x !== "0");
      for (const id of cids.split(",").map((x) => x.trim()).filter((x) => x.startsWith("1:"))) {
        if (malformed !== "" || fragment) partial.add(id);
        else (!inner && outer ? mixed : ids).add(id);
      }
    }
    for (const id of ids) {
      mixed.delete(id);
      partial.delete(id);
    }
    const ourIds = new Set(flows.map((f) => f.cid));
    for (const id of new Set([...ids, ...mixed, ...partial])) {
      totals.tsharkRaw++;
      if (ourIds.has(id)) totals.tsharkRawFound++;
      else if (values.verbose) {
        const why = ids.has(id)
          ? ""
          : mixed.has(id)
          ? " (mixes two layers)"
          : " (malformed/fragment)";
        console.error(`  tshark ${id} not ours${why}`);
      }
    }
    totals.tsharkMixed += mixed.size;
    totals.tsharkPartial += partial.size;
    const ours = new Set(flows.map((f) => f.cid));
    tsharkIds = ids.size;
    for (const id of ids) if (ours.has(id)) tsharkFound++;
  }
  totals.traces++;
  if (conns.length > 0) totals.connTraces++;
  totals.conns += conns.length;
  totals.found += found;
  totals.packetsEqual += equal;
  totals.sni += sni;
  totals.sniFound += sniFound;
  totals.hosts += hosts;
  totals.hostsFound += hostsFound;
  totals.tsharkIds += tsharkIds;
  totals.tsharkFound += tsharkFound;
  const trace = relative(join(dir, "Traces"), pair.trace);
  perTrace.push({
    trace,
    test: pair.test,
    conns: conns.length,
    found,
    equal,
    sni,
    sniFound,
    hosts,
    hostsFound,
    tsharkIds,
    tsharkFound,
  });
  if (values.verbose || found < conns.length || (values.tshark && tsharkFound < tsharkIds)) {
    console.error(
      `${trace}: ${found}/${conns.length} found, ${equal} packets equal, sni ${sniFound}/${sni}, host ${hostsFound}/${hosts}` +
        (values.tshark ? `, tshark ${tsharkFound}/${tsharkIds}` : "") +
        (missing.length ? `; missing ${missing.slice(0, 3).join("; ")}` : ""),
    );
  }
}

const pct = (a: number, b: number) => (b === 0 ? "n/a" : `${(100 * a / b).toFixed(1)}%`);
console.log(`traces: ${totals.traces} (${totals.connTraces} with a conn.log compared)`);
console.log(
  `Zeek connections (tcp/udp/icmp) found: ${totals.found}/${totals.conns} = ${
    pct(totals.found, totals.conns)
  }`,
);
console.log(
  `  of those with Zeek's packets each way: ${totals.packetsEqual}/${totals.found} = ${
    pct(totals.packetsEqual, totals.found)
  }`,
);
console.log(
  `SNI and Host values: ${totals.sniFound + totals.hostsFound}/${totals.sni + totals.hosts} = ${
    pct(totals.sniFound + totals.hostsFound, totals.sni + totals.hosts)
  } (SNI ${totals.sniFound}/${totals.sni}, Host ${totals.hostsFound}/${totals.hosts})`,
);
if (values.tshark) {
  console.log(
    `tshark Community IDs found: ${totals.tsharkFound}/${totals.tsharkIds} = ${
      pct(totals.tsharkFound, totals.tsharkIds)
    } (besides ${totals.tsharkMixed} IDs tshark mixed from two layers and ${totals.tsharkPartial} of packets it calls malformed or holds as fragments; all IDs: ${totals.tsharkRawFound}/${totals.tsharkRaw} = ${
      pct(totals.tsharkRawFound, totals.tsharkRaw)
    })`,
  );
}
if (values.json) {
  await Deno.writeTextFile(values.json, JSON.stringify({ totals, perTrace }, null, 1));
}
