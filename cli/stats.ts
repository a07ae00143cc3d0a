/**
 * `stats INPUT... | --uuid UUID [--top N] [FILTERS] [--json]`: totals, time span, naming coverage,
 * and the destinations and sources that moved the most bytes, of the Secflows the filters keep.
 * @module
 */
import { type Command, parseCommandArgs, positiveInt, UsageError } from "./command.ts";
import { privatePermissions } from "./_api.ts";
import { INPUT_HELP, INPUT_OPTIONS, inputRows, type SecflowRow } from "./_rows.ts";
import {
  fillRowAddresses,
  fillRowKey,
  FILTER_OPTIONS,
  filterHelp,
  filterOf,
  flowTest,
  keep,
} from "./_filter.ts";
import {
  type Column,
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  isoTimestamp,
  plural,
  renderTable,
} from "./_format.ts";
import { TimeSpan } from "../secflow/span.ts";
import { noSecflowReason, packetsText } from "./_packets.ts";
import type { PacketCounts } from "../secflow/packet_counts.ts";

/** One line of `topDestinations` (`dst`) or `topSources` (`src`, the address without port). */
export interface TopEntry {
  bytes: number;
  packets: number;
  secflows: number;
}

/** What `stats --json` prints. */
export interface SecflowStats {
  secflows: number;
  /** Packets, both directions. */
  packets: number;
  /** Payload bytes, both directions. */
  bytes: number;
  /** First packet (ISO 8601 UTC, microseconds), null without Secflows. */
  start: string | null;
  /** Last packet (start + duration of the Secflow that ends last; see `secflow/span.ts`). */
  end: string | null;
  /** Secflows per `destinationNameSource`. */
  nameSources: Record<string, number>;
  topDestinations: ({ dst: string } & TopEntry)[];
  topSources: ({ src: string } & TopEntry)[];
  /** Capture inputs only: where every packet of each went (as `convert` sums it up). */
  captures?: ({ input: string } & PacketCounts)[];
}

/** The address of `ip:port` (an ICMP source has no port). */
function host(endpoint: string): string {
  const colon = endpoint.lastIndexOf(":");
  return colon < 0 ? endpoint : endpoint.slice(0, colon);
}

function top<K extends string>(
  rows: SecflowRow[],
  keyName: K,
  keyOf: (r: SecflowRow) => string,
  n: number,
): ({ [P in K]: string } & TopEntry)[] {
  const groups = new Map<string, TopEntry>();
  for (const r of rows) {
    const key = keyOf(r);
    let g = groups.get(key);
    if (!g) groups.set(key, g = { bytes: 0, packets: 0, secflows: 0 });
    g.bytes += r.srcBytes + r.dstBytes;
    g.packets += r.srcPkts + r.dstPkts;
    g.secflows++;
  }
  return [...groups]
    .sort((a, b) => b[1].bytes - a[1].bytes || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([key, g]) => ({ [keyName]: key, ...g }) as { [P in K]: string } & TopEntry);
}

/** The statistics of `rows`; `topN` entries in each top list. */
export function secflowStats(rows: SecflowRow[], topN = 10): SecflowStats {
  let packets = 0, bytes = 0;
  const span = new TimeSpan();
  const nameSources: Record<string, number> = {};
  for (const r of rows) {
    packets += r.srcPkts + r.dstPkts;
    bytes += r.srcBytes + r.dstBytes;
    span.add(r.start, r.duration);
    nameSources[r.nameSource] = (nameSources[r.nameSource] ?? 0) + 1;
  }
  return {
    secflows: rows.length,
    packets,
    bytes,
    start: rows.length ? isoTimestamp(span.start) : null,
    end: rows.length ? isoTimestamp(span.end) : null,
    nameSources,
    topDestinations: top(rows, "dst", (r) => r.dst, topN),
    topSources: top(rows, "src", (r) => host(r.src), topN),
  };
}

function summaryLines(rows: SecflowRow[], s: SecflowStats): string[] {
  if (rows.length === 0) return ["(no Secflows)"];
  let out = 0, inn = 0, outPkts = 0, inPkts = 0;
  const span = new TimeSpan();
  for (const r of rows) {
    out += r.srcBytes;
    inn += r.dstBytes;
    outPkts += r.srcPkts;
    inPkts += r.dstPkts;
    span.add(r.start, r.duration);
  }
  const original = s.nameSources.original ?? 0;
  const named = Object.entries(s.nameSources)
    .filter(([k]) => k !== "original")
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${formatCount(n)}`);
  return [
    `Secflows   ${formatCount(s.secflows)}`,
    `packets    ${formatCount(s.packets)} (out ${formatCount(outPkts)}, in ${formatCount(inPkts)})`,
    `bytes      ${formatBytes(s.bytes)} (out ${formatBytes(out)}, in ${formatBytes(inn)})`,
    `time span  ${formatDate(span.start)} to ${formatDate(span.end)} (${
      formatDuration(span.seconds)
    })`,
    `named      ${formatCount(s.secflows - original)} of ${plural(s.secflows, "Secflow")}${
      named.length ? ` (${named.join(", ")})` : ""
    }${original ? `; ${formatCount(original)} by address only` : ""}`,
  ];
}

function topTable(
  key: string,
  entries: ({ bytes: number; packets: number; secflows: number })[],
  keyOf: (e: unknown) => string,
): string[] {
  const columns: Column[] = [
    { header: key },
    { header: "bytes", align: "right" },
    { header: "packets", align: "right" },
    { header: "Secflows", align: "right" },
  ];
  return renderTable(
    columns,
    entries.map((
      e,
    ) => [keyOf(e), formatBytes(e.bytes), formatCount(e.packets), formatCount(e.secflows)]),
  ).map((l) => `  ${l}`);
}

export const statsCommand: Command = {
  name: "stats",
  help: `usage: networksage stats INPUT... [--top N] [FILTERS] [--json] [--dns DNSLOG]
       networksage stats --flows INPUT... [--top N] [FILTERS] [--json]
       networksage stats --uuid UUID [--top N] [FILTERS] [--json]

Totals of Secflows (packets and payload bytes, both directions), their time span (UTC: from the
start of the Secflow that starts first to the end of the one that ends last, as report shows it), how
their destinations were named (a count per name source: passive, cache, session; original means
no name was found and the address is kept), and the destinations and source addresses that moved
the most bytes. INPUT is read as view reads it (in memory, nothing written).

A capture INPUT also gets a line saying where every packet went, as convert's summary does: the
packets read, kept, filtered (LAN-internal, blocked ports, broadcast/multicast), not IPv4 (IPv6,
ARP, other), truncated, and of link types not read; and why kept packets made no Secflow.

--json prints {"secflows", "packets", "bytes", "start", "end", "nameSources", "topDestinations",
"topSources"}: start and end as ISO 8601 UTC with microseconds (null without Secflows),
nameSources as {source: count}, each top list as [{dst|src, bytes, packets, secflows}] by bytes
descending (ties by name); with capture INPUTs, "captures": [{input, read, kept, filtered,
notIPv4, truncated, otherLinkTypes, skipped, inSecflows, keptWithoutSecflow}].

--flows counts every flow of captures or Zeek conn.logs instead (IPv6, LAN, tunnels, any
protocol; see view --flows), as they are read: totals (packets, payload and IP bytes, time span),
the flows the platform's sample keeps (and the Secflows they make), by transport, the flows it
leaves out by reason (ipv6, lan-internal, in-tunnel, blocked-port, ...), and the top talkers
(addresses by IP bytes sent and received). --json prints {"flows", "packets", "bytes",
"ipBytes", "start", "end", "secflows", "transports", "kept", "leftOut", "topTalkers",
"unrankedAddresses"}, each group as {flows, packets, bytes, ipBytes}.

options:
  --top N            entries in each top list (default 10)
  --json             the statistics as one JSON object
  --flows            statistics of every flow instead of Secflows
  --max-flows N      with --flows: flows tracked at once (default 1,000,000)
${INPUT_HELP}
${filterHelp()}
With filters, every number is of the Secflows (or flows) they keep; a first line says how many
of all (not in --json).

examples: networksage stats capture.pcap day.sf
          networksage stats --flows capture.pcap --top 5
          networksage stats capture.pcap --net 192.168.1.0/24 --until 2026-12-01T12:00Z

permissions: --allow-read (INPUT, DNSLOG)
  with --uuid: ${privatePermissions().replace(/^permissions: /, "")}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("stats", args, {
      ...INPUT_OPTIONS,
      top: { type: "string" },
      flows: { type: "boolean" },
      "max-flows": { type: "string" },
      ...FILTER_OPTIONS,
    });
    const topN = positiveInt("top", values.top) ?? 10;
    if (values.flows) {
      if (values.uuid !== undefined) throw new UsageError("--flows reads local INPUTs, not --uuid");
      if (values.dns !== undefined || values.format !== undefined) {
        throw new UsageError("--dns and --format go with Secflows, not with --flows");
      }
      const flowFilter = filterOf(values, "flows");
      const { flowsStats } = await import("./_flows_stats.ts");
      return await flowsStats(positionals, {
        json: values.json,
        top: topN,
        maxFlows: positiveInt("max-flows", values["max-flows"]),
        quiet: values.quiet,
        keep: flowFilter && flowTest(flowFilter),
        filterText: flowFilter?.text,
      }, ctx);
    }
    if (values["max-flows"] !== undefined) throw new UsageError("--max-flows goes with --flows");
    const filter = filterOf(values, "Secflows");
    const captures: ({ input: string } & PacketCounts)[] = [];
    const all = await inputRows(
      "stats",
      values,
      positionals,
      ctx.err,
      (input, packets) => captures.push({ input, ...packets }),
    );
    const rows = keep(all, filter, fillRowKey, fillRowAddresses);
    const stats = secflowStats(rows, topN);
    if (captures.length > 0) stats.captures = captures;
    if (values.json) {
      ctx.out(JSON.stringify(stats));
      return 0;
    }
    for (const c of captures) {
      const why = c.inSecflows === 0 ? noSecflowReason(c) : undefined;
      ctx.out(`capture    ${c.input}: ${packetsText(c)}${why ? `: ${why}` : ""}`);
    }
    if (filter && all.length > 0) {
      ctx.out(
        `filtered   ${formatCount(rows.length)} of ${
          plural(all.length, "Secflow")
        } (${filter.text})`,
      );
    }
    for (const line of summaryLines(rows, stats)) ctx.out(line);
    if (rows.length === 0) return 0;
    ctx.out("");
    ctx.out("top destinations by bytes");
    for (const l of topTable("dst", stats.topDestinations, (e) => (e as { dst: string }).dst)) {
      ctx.out(l);
    }
    ctx.out("");
    ctx.out("top sources by bytes");
    for (const l of topTable("src", stats.topSources, (e) => (e as { src: string }).src)) {
      ctx.out(l);
    }
    return 0;
  },
};
