/**
 * The flows API: every flow of a capture (or every row of a Zeek conn.log) as {@link Flow}
 * records, streamed while the input is read. Beside `convertFile` and independent of it: the
 * Secflow pipeline is not run, and nothing is written.
 * @module
 */
import { CaptureReader } from "../secflow/capture_reader.ts";
import type { ChunkSource } from "../secflow/convert_capture.ts";
import { detect } from "../secflow/detect.ts";
import { InputError } from "../secflow/errors.ts";
import { FlowsEngine } from "../secflow/flows/engine.ts";
import { FlowRow } from "../secflow/flows/_flow_row.ts";
import { FLOW_LINK_TYPES } from "../secflow/flows/decode.ts";
import { ConnLogFlows } from "../secflow/flows/zeek_conn.ts";
import type { Flow, FlowOptions, FlowSummary } from "../secflow/flows/types.ts";
import { printable } from "../secflow/printable.ts";
import { formatOf } from "./input_format.ts";
import { type InputSource, openSource } from "./files.ts";

/**
 * Every flow of the capture or Zeek conn.log at `path` (gzip looked through; `-` is standard
 * input). The generator's return value is the run's {@link FlowSummary}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFlows } from "./flows.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(
 *   `${dir}/one.pcap`,
 *   Uint8Array.fromHex(
 *     "d4c3b2a1020004000000000000000000ffff000001000000" +
 *       "00f15365000000002a0000002a000000" +
 *       "0000000000020000000000010800" +
 *       "4500001c0000000040110000" + "0a0000025db8d822" +
 *       "c35001bb00080000",
 *   ),
 * );
 * const flows = [];
 * for await (const flow of readFlows(`${dir}/one.pcap`)) flows.push(flow);
 * assert.equal(flows.length, 1);
 * assert.equal(flows[0].srcIp, "10.0.0.2");
 * assert.equal(flows[0].startTime, "2023-11-14T22:13:20.000000Z");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function* readFlows(
  path: string,
  options: FlowOptions = {},
): AsyncGenerator<Flow, FlowSummary, undefined> {
  return yield* each(readFlowBatches(path, options));
}

/**
 * {@link readFlows} in batches (arrays of flows as they are ready): the same flows in the same
 * order, for consumers that handle many of them (one `await` per batch, not per flow).
 */
export async function* readFlowBatches(
  path: string,
  options: FlowOptions = {},
): AsyncGenerator<Flow[], FlowSummary, undefined> {
  const { source, format } = await openChecked(path);
  if (format === "zeek") {
    return yield* batched(zeekFlows(() => source.content(), source.name, options));
  }
  return yield* flowBatchesOf(() => source.content(), source.name, options);
}

/**
 * Every flow of `path` (as {@link readFlows} gives them, in the same order) handed to `visit`
 * as it is ready; resolves to the run's summary. The object `visit` gets is reused for the next
 * flow once it returns, so read what you need in the call and copy what you keep (`{ ...flow }`):
 * no object per flow is made, which makes this the fastest way through a big capture.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visitFlows } from "./flows.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(
 *   `${dir}/one.pcap`,
 *   Uint8Array.fromHex(
 *     "d4c3b2a1020004000000000000000000ffff000001000000" +
 *       "00f15365000000002a0000002a000000" +
 *       "0000000000020000000000010800" +
 *       "4500001c0000000040110000" + "0a0000025db8d822" +
 *       "c35001bb00080000",
 *   ),
 * );
 * const ports: number[] = [];
 * const summary = await visitFlows(`${dir}/one.pcap`, (flow) => ports.push(flow.dstPort));
 * assert.deepEqual(ports, [443]);
 * assert.equal(summary.flows, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function visitFlows(
  path: string,
  visit: (flow: Flow) => void,
  options: FlowOptions = {},
): Promise<FlowSummary> {
  const reused = {} as Flow;
  return visitFlowViews(
    path,
    (flow) => visit(flow instanceof FlowRow ? flow.toFlow(reused) : flow),
    options,
  );
}

/**
 * {@link visitFlows} without even the copy into a plain object: a flow of a capture is the flow
 * engine's row itself (its fields getters over the engine's columns, valid during the call;
 * `JSON.stringify` gives the flow, spreading does not copy it). What `view --ndjson` and `--ecs`
 * use: the ECS byte writer writes a row's times, addresses and Community ID from its numbers.
 */
export async function visitFlowViews(
  path: string,
  visit: (flow: Flow) => void,
  options: FlowOptions = {},
): Promise<FlowSummary> {
  const { source, format } = await openChecked(path);
  if (format === "zeek") {
    const rows = zeekFlows(() => source.content(), source.name, options);
    while (true) {
      const r = await rows.next();
      if (r.done) return r.value;
      visit(r.value);
    }
  }
  const run = pump(() => source.content(), source.name, options, visit);
  while (true) {
    const r = await run.next();
    if (r.done) return r.value;
  }
}

/** The input at `path` opened, and its format (a Secflow sample is refused: it holds no flows). */
async function openChecked(path: string): Promise<{ source: InputSource; format: string }> {
  if (typeof path !== "string" || path === "") {
    throw new TypeError("readFlows: path must be a non-empty string");
  }
  const source = await openSource(path);
  const detection = await detect(source.head);
  const format = formatOf(source.name, detection, source.head);
  if (format === "secflow") {
    throw new InputError(
      `${
        printable(source.name)
      }: a Secflow sample holds Secflows, not flows (give the capture or the conn.log it came from)`,
      { kind: "mismatch", file: source.name, value: "secflow" },
    );
  }
  return { source, format };
}

/** The flows of batches, one by one. */
async function* each(
  batches: AsyncGenerator<Flow[], FlowSummary, undefined>,
): AsyncGenerator<Flow, FlowSummary, undefined> {
  while (true) {
    const r = await batches.next();
    if (r.done) return r.value;
    yield* r.value;
  }
}

/** Flows in batches of up to 4096. */
async function* batched(
  flows: AsyncGenerator<Flow, FlowSummary, undefined>,
): AsyncGenerator<Flow[], FlowSummary, undefined> {
  let batch: Flow[] = [];
  while (true) {
    const r = await flows.next();
    if (r.done) {
      if (batch.length > 0) yield batch;
      return r.value;
    }
    batch.push(r.value);
    if (batch.length >= 4096) {
      yield batch;
      batch = [];
    }
  }
}

/**
 * Every flow of a pcap or pcapng capture given as bytes or as a chunk source (read once); `name`
 * is used in warnings and errors.
 */
export async function* flowsOf(
  data: Uint8Array | ChunkSource,
  name: string,
  options: FlowOptions = {},
): AsyncGenerator<Flow, FlowSummary, undefined> {
  return yield* each(flowBatchesOf(data, name, options));
}

/** {@link flowsOf} in batches (see {@link readFlowBatches}). */
export async function* flowBatchesOf(
  data: Uint8Array | ChunkSource,
  name: string,
  options: FlowOptions = {},
): AsyncGenerator<Flow[], FlowSummary, undefined> {
  const source: ChunkSource = data instanceof Uint8Array ? () => [data] : data;
  const ready: Flow[] = [];
  const run = pump(source, name, options, (row) => ready.push(row.toFlow()));
  while (true) {
    const r = await run.next();
    if (ready.length > 0) yield ready.splice(0);
    if (r.done) return r.value;
  }
}

/**
 * Reads a capture through the flow engine into `emit` (one row, pointed at each flow in turn),
 * pausing (a `yield`) after each chunk and each part of the end, where a consumer takes what was
 * emitted: the end of a big capture is not one burst held in memory.
 */
async function* pump(
  source: ChunkSource,
  name: string,
  options: FlowOptions,
  emit: (row: FlowRow) => void,
): AsyncGenerator<void, FlowSummary, undefined> {
  let flows = 0;
  const engine = new FlowsEngine((row) => {
    flows++;
    emit(row);
  }, options);
  const reader = new CaptureReader(engine, name);
  let warned = 0;
  const warnings: string[] = [];
  const warn = (w: string) => {
    warnings.push(w);
    options.onWarning?.(w);
  };
  const drainWarnings = () => {
    while (warned < engine.warnings.length) warn(`${name}: ${engine.warnings[warned++]}`);
  };
  for await (const chunk of source()) {
    options.signal?.throwIfAborted();
    reader.push(chunk);
    drainWarnings();
    yield;
    if (reader.stopped) break;
  }
  reader.end();
  while (!engine.finishSome(256)) yield;
  engine.finish();
  reader.warnings.forEach(warn);
  drainWarnings();
  for (const [link, count] of engine.unknownLinkTypes) {
    warn(
      `${name}: skipped ${count} packets of link type ${link}, which the flow reader does not read`,
    );
  }
  const s = engine.stats;
  return {
    format: reader.format!,
    packets: reader.packets,
    flows,
    notIp: s.notIp + s.unknownLink,
    truncated: s.truncated,
    overflowPackets: s.overflowPackets,
    tooDeep: s.tooDeep,
    warnings,
  };
}

/** The rows of a Zeek conn.log as flows (other logs give none). */
export async function* zeekFlows(
  source: ChunkSource,
  name: string,
  options: FlowOptions = {},
): AsyncGenerator<Flow, FlowSummary, undefined> {
  const rows = new ConnLogFlows();
  const decoder = new TextDecoder();
  let rest = "";
  let flows = 0;
  const MAX_LINE = 1 << 20;
  for await (const chunk of source()) {
    options.signal?.throwIfAborted();
    const text = rest + decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    if (rest.length > MAX_LINE) rest = "";
    for (const line of lines) {
      const flow = rows.line(line.endsWith("\r") ? line.slice(0, -1) : line);
      if (flow) {
        flows++;
        yield flow;
      }
    }
  }
  const last = rows.line(rest + decoder.decode());
  if (last) {
    flows++;
    yield last;
  }
  const warnings: string[] = [];
  if (rows.skipped > 0) {
    const w = `${name}: skipped ${rows.skipped} lines that are no conn.log row`;
    warnings.push(w);
    options.onWarning?.(w);
  }
  return {
    format: "zeek",
    packets: rows.rows,
    flows,
    notIp: 0,
    truncated: 0,
    overflowPackets: 0,
    tooDeep: 0,
    warnings,
  };
}

/** All flows of `path` in an array, with the summary (see {@link readFlows}). */
export async function collectFlows(
  path: string,
  options: FlowOptions = {},
): Promise<{ flows: Flow[]; summary: FlowSummary }> {
  const flows: Flow[] = [];
  const it = readFlows(path, options);
  while (true) {
    const r = await it.next();
    if (r.done) return { flows, summary: r.value };
    flows.push(r.value);
  }
}

export { FLOW_LINK_TYPES };
