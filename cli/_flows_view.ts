/**
 * `view --flows`: every flow of captures or Zeek conn.logs, as a table (with a protocol and a
 * sample column), a JSON array, CSV, NDJSON (one flow a line, written as flows end) or ECS NDJSON.
 * @module
 */
import { readFlowBatches, visitFlowViews } from "../io/flows.ts";
import {
  FLOW_CSV_KEYS,
  flowCells,
  flowEcs,
  flowJson,
  hasPorts,
  tunnelText,
} from "../secflow/flows/format.ts";
import { EcsWriter } from "../secflow/flows/ecs_bytes.ts";
import type { Flow } from "../secflow/flows/types.ts";
import { printable } from "../secflow/printable.ts";
import {
  type Column,
  csvLine,
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  plural,
  renderTable,
} from "./_format.ts";
import { UsageError } from "./command.ts";
import { ROWS_LIMIT } from "./_rows.ts";
import { InputError } from "../secflow/errors.ts";

/** Options of {@link flowsView}. */
export interface FlowsViewOptions {
  json?: boolean;
  csv?: boolean;
  ndjson?: boolean;
  ecs?: boolean;
  top?: number;
  match?: string;
  maxFlows?: number;
  quiet?: boolean;
  /** Keeps only the flows it returns true for (the filters' hook). */
  keep?: (flow: Flow) => boolean;
}

/** Output sink of a command. */
export interface FlowsOut {
  out(line: string): void;
  err(line: string): void;
  /**
   * Writes bytes to stdout as they are (no newline added), when the sink can: `--ecs` then
   * writes its lines as bytes ({@link EcsWriter}) instead of strings.
   */
  outBytes?(bytes: Uint8Array): void;
}

function endpoint(ip: string, port: number, proto: number): string {
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return hasPorts(proto) ? `${host}:${port}` : host;
}

/** The table of flows. */
export function flowsTable(flows: Flow[], width?: number): string[] {
  const columns: Column[] = [
    { header: "proto" },
    { header: "src", shrink: true, min: 21 },
    { header: "dst", shrink: true, min: 24 },
    { header: "name", shrink: true, drop: 8 },
    { header: "pkts out", align: "right", drop: 5 },
    { header: "bytes out", align: "right" },
    { header: "pkts in", align: "right", drop: 5 },
    { header: "bytes in", align: "right" },
    { header: "start", drop: 4 },
    { header: "duration", align: "right", drop: 6 },
    { header: "sample", drop: 3 },
    { header: "tunnel", shrink: true, drop: 2 },
  ];
  const cells = flows.map((f) => [
    f.transport,
    endpoint(f.srcIp, f.srcPort, f.protocol),
    endpoint(f.dstIp, f.dstPort, f.protocol),
    printable(f.names[0]?.name ?? "", 80),
    formatCount(f.srcPackets),
    formatBytes(f.srcIpBytes),
    formatCount(f.dstPackets),
    formatBytes(f.dstIpBytes),
    formatDate(f.start / 1e6),
    formatDuration(f.duration / 1e6),
    f.sample,
    tunnelText(f.tunnel),
  ]);
  return renderTable(columns, cells, width);
}

function matches(f: Flow, needle: string): boolean {
  return f.srcIp.toLowerCase().includes(needle) || f.dstIp.toLowerCase().includes(needle) ||
    f.names.some((n) => n.name.toLowerCase().includes(needle));
}

/** Runs `view --flows` over `inputs`; returns the exit code. */
export async function flowsView(
  inputs: string[],
  o: FlowsViewOptions,
  ctx: FlowsOut,
  width?: number,
): Promise<number> {
  const modes = [o.json, o.csv, o.ndjson, o.ecs].filter(Boolean).length;
  if (modes > 1) throw new UsageError("--json, --csv, --ndjson and --ecs exclude each other");
  if (inputs.length === 0) throw new UsageError("--flows needs an INPUT (a capture or a conn.log)");
  const needle = o.match?.toLowerCase();
  const keep = (f: Flow) =>
    (needle === undefined || matches(f, needle)) && (o.keep === undefined || o.keep(f));
  const streamed = o.ndjson || o.ecs;
  const line = o.ecs ? flowEcs : flowJson;
  const buffer: string[] = [];
  const outBytes = ctx.outBytes?.bind(ctx);
  const bytes = o.ecs && outBytes ? new EcsWriter(outBytes) : undefined;
  const flush = () => {
    if (bytes) bytes.flush();
    else if (buffer.length > 0) ctx.out(buffer.splice(0).join("\n"));
  };
  const all: Flow[] = [];
  let total = 0;
  let shown = 0;
  // Streamed lines are written as each flow ends, from the engine's row (no flow object).
  const writeLine = (f: Flow) => {
    total++;
    if (!keep(f) || (o.top !== undefined && shown >= o.top)) return;
    shown++;
    if (bytes) return bytes.write(f); // flushes itself a megabyte at a time
    buffer.push(line(f));
    // Small writes: a few hundred kilobytes of text at a time, never a big string.
    if (buffer.length >= 256) flush();
  };
  for (const input of inputs) {
    const options = {
      maxFlows: o.maxFlows,
      onWarning: o.quiet ? undefined : (w: string) => ctx.err(`warning: ${w}`),
    };
    if (streamed) {
      await visitFlowViews(input, writeLine, { ...options, streaming: true });
      continue;
    }
    const it = readFlowBatches(input, { ...options, streaming: false });
    while (true) {
      const r = await it.next();
      if (r.done) break;
      for (const f of r.value) {
        total++;
        if (!keep(f)) continue;
        // The table, JSON and CSV hold every flow in memory: bounded, as Secflows are.
        if (all.length >= ROWS_LIMIT) {
          throw new InputError(
            `${printable(input)}: ${
              inputs.length > 1 ? "with the inputs before it, " : ""
            }more than ${
              formatCount(ROWS_LIMIT)
            } flows, more than the table, --json or --csv hold in memory (--ndjson and --ecs stream any number)`,
            { kind: "too-large", file: input },
          );
        }
        all.push(f);
      }
    }
  }
  if (streamed) {
    flush();
    return 0;
  }
  const rows = o.top === undefined ? all : all.slice(0, o.top);
  // JSON and CSV text is made and written a few thousand flows at a time, never as one text for
  // all of them (that text, its lines and its bytes were most of --json's memory).
  if (o.json) {
    if (rows.length === 0) ctx.out("[]");
    for (let i = 0; i < rows.length; i += 4096) {
      const part = rows.slice(i, i + 4096).map(flowJson).join(",\n");
      ctx.out(`${i === 0 ? "[" : ""}${part}${i + 4096 >= rows.length ? "]" : ","}`);
    }
    return 0;
  }
  if (o.csv) {
    ctx.out(csvLine([...FLOW_CSV_KEYS]));
    for (let i = 0; i < rows.length; i += 4096) {
      ctx.out(rows.slice(i, i + 4096).map((f) => csvLine(flowCells(f))).join("\n"));
    }
    return 0;
  }
  if (rows.length === 0) {
    ctx.out(total === 0 ? "(no flows)" : `(no flows match; ${plural(total, "flow")} in all)`);
    return 0;
  }
  const lines = flowsTable(rows, width);
  for (let i = 0; i < lines.length; i += 4096) ctx.out(lines.slice(i, i + 4096).join("\n"));
  if (rows.length < total && !o.quiet) {
    ctx.err(`${formatCount(rows.length)} of ${plural(total, "flow")} shown`);
  }
  return 0;
}
