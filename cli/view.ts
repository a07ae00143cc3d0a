/**
 * `view INPUT... | --uuid UUID [--sort K] [--top N] [--match TEXT] [filters] [--json|--csv]`:
 * Secflows as a table sized to the terminal, or as full values (JSON exactly as in the `.sf`, or
 * CSV). The filters (`cli/_filter.ts`) select before sorting and `--top`.
 * @module
 */
import { PLATFORM_SECFLOW_KEYS } from "../api/_shapes.ts";
import { type Command, parseCommandArgs, positiveInt, UsageError } from "./command.ts";
import { privatePermissions } from "./_api.ts";
import {
  INPUT_HELP,
  INPUT_OPTIONS,
  inputRows,
  type SecflowRow,
  selectRows,
  SORT_KEYS,
  type SortKey,
} from "./_rows.ts";
import {
  type Column,
  csvLine,
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  isoTimestamp,
  plural,
  renderTable,
} from "./_format.ts";
import type { Flash } from "../secflow/types.ts";
import { FLASH_KEYS } from "../secflow/types.ts";
import type { PlatformSecflow } from "../api/types.ts";
import { formatSample } from "../secflow/sample.ts";
import { printable } from "../secflow/printable.ts";
import {
  fillRowAddresses,
  fillRowKey,
  FILTER_OPTIONS,
  filterHelp,
  filterOf,
  flowTest,
  keep,
} from "./_filter.ts";

/** The flashes as a JSON array, each written exactly as the `.sf` writer writes it. */
export function flashesJson(flashes: Flash[]): string {
  // formatSample is the one writer of flash text; the array is what follows its fixed head.
  const empty = { hash: "", trafficDate: "", fileName: "", flashes: [] };
  const head = formatSample(empty).length - 3; // the head before "[]}"
  return formatSample({ ...empty, flashes }).slice(head, -1);
}

/** The table columns and cells of `rows` (platform rows get category and count). */
export function tableOf(rows: SecflowRow[], platform: boolean): [Column[], string[][]] {
  const columns: Column[] = [
    { header: "src", shrink: true, min: 21 },
    { header: "dst", shrink: true, min: 24 },
    { header: "named", drop: 8 },
    { header: "pkts out", align: "right", drop: 5 },
    { header: "bytes out", align: "right" },
    { header: "pkts in", align: "right", drop: 5 },
    { header: "bytes in", align: "right" },
    { header: "start", drop: 4 },
    { header: "duration", align: "right", drop: 6 },
    { header: "proto", drop: 9 },
  ];
  if (platform) {
    columns.push({ header: "category", shrink: true, drop: 3 }, {
      header: "count",
      align: "right",
      drop: 7,
    });
  }
  const cells = rows.map((r) => {
    const line = [
      r.src,
      r.dst,
      r.nameSource,
      formatCount(r.srcPkts),
      formatBytes(r.srcBytes),
      formatCount(r.dstPkts),
      formatBytes(r.dstBytes),
      formatDate(r.start),
      formatDuration(r.duration),
      r.protocol || "tcp/udp",
    ];
    if (platform) line.push(r.category ?? "", r.count === undefined ? "" : formatCount(r.count));
    return line;
  });
  return [columns, cells];
}

/** Prints many lines with one write per few thousand (a line per write is most of the time). */
export function outLines(ctx: { out(line: string): void }, lines: string[]): void {
  for (let i = 0; i < lines.length; i += 4096) ctx.out(lines.slice(i, i + 4096).join("\n"));
}

/** The width of the terminal stdout is, or undefined (a pipe or file: nothing is cut). */
export function terminalColumns(): number | undefined {
  if (!Deno.stdout.isTerminal()) return undefined;
  try {
    return Deno.consoleSize().columns || undefined;
  } catch {
    return undefined;
  }
}

/** The columns of platform Secflows: every Secflow's keys, and the Event's when there is one. */
const PLATFORM_KEYS = [...PLATFORM_SECFLOW_KEYS, "eventId"] as const;

export const viewCommand: Command = {
  name: "view",
  help:
    `usage: networksage view INPUT... [--sort KEY] [--top N] [--match TEXT] [FILTERS] [--json | --csv]
                        [--dns DNSLOG]
       networksage view --flows INPUT... [--top N] [--match TEXT] [FILTERS]
                        [--json | --csv | --ndjson | --ecs]
       networksage view --uuid UUID [--sort KEY] [--top N] [--match TEXT] [FILTERS] [--json | --csv]

Shows Secflows. INPUT is a .sf sample, a pcap/pcapng capture, a Zeek conn.log or a Zeek folder
(gzip looked through, detected from the content); captures and logs are converted in memory, as
convert would, and nothing is written. With several INPUTs their Secflows are shown together.
--uuid shows a private platform sample's Secflows, with the platform's category and each
Secflow's count (how many samples hold it).

The table (src, dst, name source, packets and bytes each way, start in UTC, duration, protocol)
fits the terminal; packets and bytes are right-aligned with units. --json prints the selected
flashes as one JSON array, each exactly as in the .sf (with --uuid: the platform's Secflows, plus
flowIdCount); --csv prints a header row, then one row per Secflow, full values (text that
starts with = + - @ gets a leading ', so a spreadsheet never runs it as a formula).

options:
  --sort KEY         ${SORT_KEYS.join(", ")} (default start). start and dst ascending;
                     bytes and packets (both directions summed) and duration descending
  --top N            only the first N after sorting
  --match TEXT       only Secflows whose src or dst contains TEXT (ignoring case)
  --json             full values as a JSON array
  --csv              full values as CSV
  --flows            every flow instead of Secflows (IPv6, LAN, tunnels, any protocol): a table
                     with a protocol and a sample column; with --json a JSON array, --csv CSV
  --ndjson           flows as one JSON object a line, written as the capture is read (implies
                     --flows)
  --ecs              the same lines with Elastic Common Schema names (implies --flows)
  --max-flows N      flows tracked at once (default 1,000,000); further new flows are counted
                     as overflow with a warning
${INPUT_HELP}
${filterHelp()}
The filters select before --sort and --top, and keep exactly the rows the unfiltered output shows
that match them (with --ndjson and --ecs, as the flows are read).

examples: networksage view capture.pcap --sort bytes --top 10
          networksage view day.sf --match example.com --csv > example.csv
          networksage view capture.pcap --since 2026-12-01T10:00Z --port 443 --net 10.0.0.0/8
          networksage view capture.pcap --flows --ecs > flows.ndjson
          networksage view capture.pcap --flows --proto udp --net 2001:db8::/32 --ndjson
          NETWORKSAGE_API_KEY=... networksage view --uuid 0b6f3c1e-...

permissions: --allow-read (INPUT, DNSLOG)
  with --uuid: ${privatePermissions().replace(/^permissions: /, "")}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("view", args, {
      ...INPUT_OPTIONS,
      sort: { type: "string" },
      top: { type: "string" },
      match: { type: "string" },
      csv: { type: "boolean" },
      flows: { type: "boolean" },
      ndjson: { type: "boolean" },
      ecs: { type: "boolean" },
      "max-flows": { type: "string" },
      ...FILTER_OPTIONS,
    });
    if (values.flows || values.ndjson || values.ecs) {
      // Flows: a pipeline of their own (cli/_flows_view.ts), Secflows untouched.
      if (values.uuid !== undefined) throw new UsageError("--flows reads local INPUTs, not --uuid");
      if (values.sort !== undefined) throw new UsageError("--flows shows flows in start order");
      const flowFilter = filterOf(values, "flows");
      const { flowsView } = await import("./_flows_view.ts");
      return await flowsView(
        positionals,
        {
          json: values.json,
          csv: values.csv,
          ndjson: values.ndjson,
          ecs: values.ecs,
          top: positiveInt("top", values.top),
          match: values.match,
          maxFlows: positiveInt("max-flows", values["max-flows"]),
          quiet: values.quiet,
          keep: flowFilter && flowTest(flowFilter),
        },
        ctx,
        terminalColumns(),
      );
    }
    if (values.json && values.csv) throw new UsageError("--json and --csv exclude each other");
    const sort = values.sort as SortKey | undefined;
    if (sort !== undefined && !SORT_KEYS.includes(sort)) {
      throw new UsageError(
        `--sort must be one of ${SORT_KEYS.join(", ")}, not '${printable(sort, 40)}'`,
      );
    }
    const top = positiveInt("top", values.top);
    const filter = filterOf(values, "Secflows");
    const all = await inputRows("view", values, positionals, ctx.err);
    const rows = selectRows(keep(all, filter, fillRowKey, fillRowAddresses), {
      sort,
      top,
      match: values.match,
    });
    const platform = values.uuid !== undefined;
    if (values.json) {
      ctx.out(
        platform
          ? JSON.stringify(rows.map((r) => ({ ...r.raw as PlatformSecflow, flowIdCount: r.count })))
          : flashesJson(rows.map((r) => r.raw as Flash)),
      );
      return 0;
    }
    if (values.csv) {
      const keys: readonly string[] = platform ? PLATFORM_KEYS : FLASH_KEYS;
      const extra = platform ? ["flowIdCount", "start"] : ["start"];
      // Full values for programs; on a terminal, like ls, control bytes are shown escaped.
      const safe = Deno.stdout.isTerminal()
        ? (line: string) => printable(line, Infinity)
        : (line: string) => line;
      const lines = [csvLine([...keys, ...extra])];
      for (const r of rows) {
        const raw = r.raw as unknown as Record<string, unknown>;
        const tail = platform ? [r.count, isoTimestamp(r.start)] : [isoTimestamp(r.start)];
        lines.push(safe(csvLine([...keys.map((k) => raw[k]), ...tail])));
      }
      outLines(ctx, lines);
      return 0;
    }
    if (rows.length === 0) {
      ctx.out(
        all.length === 0
          ? "(no Secflows)"
          : `(no Secflows match; ${plural(all.length, "Secflow")} in all)`,
      );
      return 0;
    }
    const [columns, cells] = tableOf(rows, platform);
    outLines(ctx, renderTable(columns, cells, terminalColumns()));
    if (rows.length < all.length && !values.quiet) {
      ctx.err(`${formatCount(rows.length)} of ${plural(all.length, "Secflow")} shown`);
    }
    return 0;
  },
};
