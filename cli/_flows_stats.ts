/**
 * `stats --flows`: totals of every flow of captures or Zeek conn.logs (those the filters keep),
 * by transport, by what the platform's sample does with them (kept, or the reason each is left
 * out), and the top talkers. The flows are counted as they stream past ({@link FlowTally}), never
 * held, so a capture of any size is counted in bounded memory.
 * @module
 */
import { readFlowBatches } from "../io/flows.ts";
import type { Flow } from "../secflow/flows/types.ts";
import {
  byFlows,
  type FlowCounts,
  FlowTally,
  type FlowTotals,
  REASON_TEXT,
  topByIpBytes,
} from "../report/flows_model.ts";
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
import { UsageError } from "./command.ts";

/** What `stats --flows --json` prints. */
export interface FlowStats extends FlowCounts {
  /** First packet (ISO 8601 UTC, microseconds), null without flows. */
  start: string | null;
  /** Last packet, the same way. */
  end: string | null;
  /** Distinct Secflows the kept flows make. */
  secflows: number;
  /** By transport, most flows first. */
  transports: ({ transport: string } & FlowCounts)[];
  /** The flows the platform's sample keeps. */
  kept: FlowCounts;
  /** The flows it leaves out, by reason, most flows first. */
  leftOut: ({ reason: string } & FlowCounts)[];
  /** Addresses by IP bytes sent and received (each flow counts for both its ends). */
  topTalkers: ({ ip: string } & FlowCounts)[];
  /** Addresses past the ranking's bound, not ranked: at least this many (0 on ordinary captures). */
  unrankedAddresses: number;
}

/** The JSON form of `totals`, with `topN` talkers. */
export function flowStats(totals: FlowTotals, topN: number): FlowStats {
  const iso = (us: number | null) => us === null ? null : isoTimestamp(us / 1e6);
  const counts = (c: FlowCounts): FlowCounts => ({
    flows: c.flows,
    packets: c.packets,
    bytes: c.bytes,
    ipBytes: c.ipBytes,
  });
  return {
    ...counts(totals),
    start: iso(totals.start),
    end: iso(totals.end),
    secflows: totals.secflows,
    transports: byFlows(totals.transports).map(([transport, c]) => ({ transport, ...counts(c) })),
    kept: counts(totals.sample.get("kept") ?? { flows: 0, packets: 0, bytes: 0, ipBytes: 0 }),
    leftOut: byFlows(totals.sample).filter(([r]) => r !== "kept").map(([reason, c]) => ({
      reason,
      ...counts(c),
    })),
    topTalkers: topByIpBytes(totals.addresses, topN).map(([ip, c]) => ({ ip, ...counts(c) })),
    unrankedAddresses: totals.unrankedAddresses,
  };
}

/** Options of {@link flowsStats}. */
export interface FlowsStatsOptions {
  json?: boolean;
  top: number;
  maxFlows?: number;
  quiet?: boolean;
  /** Keeps only the flows it returns true for (the filters). */
  keep?: (flow: Flow) => boolean;
  /** The filters as given, for the "filtered" line. */
  filterText?: string;
}

function countsTable(key: string, rows: [string, FlowCounts][], why?: (k: string) => string) {
  const columns: Column[] = [
    { header: key },
    { header: "flows", align: "right" },
    { header: "packets", align: "right" },
    { header: "bytes", align: "right" },
    { header: "IP bytes", align: "right" },
  ];
  if (why) columns.push({ header: "why" });
  return renderTable(
    columns,
    rows.map(([k, c]) => {
      const cells = [
        k,
        formatCount(c.flows),
        formatCount(c.packets),
        formatBytes(c.bytes),
        formatBytes(c.ipBytes),
      ];
      if (why) cells.push(why(k));
      return cells;
    }),
  ).map((l) => `  ${l}`);
}

/** The text form of `stats --flows`. */
export function flowStatsLines(s: FlowStats, all: number, filterText?: string): string[] {
  const lines: string[] = [];
  if (filterText !== undefined && all > 0) {
    lines.push(`filtered   ${formatCount(s.flows)} of ${plural(all, "flow")} (${filterText})`);
  }
  if (s.flows === 0) return [...lines, all === 0 ? "(no flows)" : "(no flows match)"];
  const first = Date.parse(s.start!) / 1000, last = Date.parse(s.end!) / 1000;
  const leftOut = s.flows - s.kept.flows;
  lines.push(
    `flows      ${formatCount(s.flows)}`,
    `packets    ${formatCount(s.packets)}`,
    `bytes      ${formatBytes(s.ipBytes)} IP (${formatBytes(s.bytes)} payload)`,
    `time span  ${formatDate(first)} to ${formatDate(last)} (${formatDuration(last - first)})`,
    `sample     ${formatCount(s.kept.flows)} kept (${plural(s.secflows, "Secflow")}), ${
      formatCount(leftOut)
    } left out`,
    "",
    "by transport",
    ...countsTable("transport", s.transports.map((t) => [t.transport, t])),
  );
  if (s.leftOut.length > 0) {
    lines.push(
      "",
      "left out of the sample, by reason",
      ...countsTable(
        "reason",
        s.leftOut.map((r) => [r.reason, r]),
        (k) => REASON_TEXT[k as keyof typeof REASON_TEXT] ?? "",
      ),
    );
  }
  lines.push(
    "",
    "top talkers by IP bytes",
    ...countsTable("address", s.topTalkers.map((t) => [t.ip, t])),
  );
  if (s.unrankedAddresses > 0) {
    lines.push(
      `  (at least ${formatCount(s.unrankedAddresses)} more addresses counted but not ranked)`,
    );
  }
  return lines;
}

/** Runs `stats --flows` over `inputs`; returns the exit code. */
export async function flowsStats(
  inputs: string[],
  o: FlowsStatsOptions,
  ctx: { out(line: string): void; err(line: string): void },
): Promise<number> {
  if (inputs.length === 0) throw new UsageError("--flows needs an INPUT (a capture or a conn.log)");
  const tally = new FlowTally();
  let all = 0;
  for (const input of inputs) {
    const batches = readFlowBatches(input, {
      maxFlows: o.maxFlows,
      streaming: true, // order does not matter to totals; flows are freed as they end
      onWarning: o.quiet ? undefined : (w) => ctx.err(`warning: ${w}`),
    });
    for await (const batch of batches) {
      all += batch.length;
      for (const f of batch) if (o.keep === undefined || o.keep(f)) tally.add(f);
    }
  }
  const stats = flowStats(tally.totals, o.top);
  if (o.json) {
    ctx.out(JSON.stringify(stats));
    return 0;
  }
  for (const line of flowStatsLines(stats, all, o.filterText)) ctx.out(line);
  return 0;
}
