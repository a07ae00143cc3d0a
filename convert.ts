/**
 * Conversion: packet captures (pcap, pcapng), Zeek `conn.log` + `dns.log` (TSV or JSON) and
 * `.sf` files into Secflow samples, exactly as the NetworkSage platform's converter makes them.
 * Files (gzip looked through, format detected from the content) or bytes, text and streams in;
 * samples, or `.sf` files written atomically, out.
 *
 * Loads neither `node:sqlite` nor the libpcap binding: `--allow-read` (and `--allow-write` for
 * the files it writes) is all it needs.
 *
 * @example Converting a Zeek conn.log given as text
 * ```ts
 * import assert from "node:assert/strict";
 * import { convertZeek } from "./convert.ts";
 * const conn = "1700000000.5\tC1\t10.0.0.2\t50000\t93.184.216.34\t443\ttcp\tssl\t1.5\t100\t2000" +
 *   "\tSF\t-\t-\t0\tShADadFf\t10\t600\t12\t2600\t-\n";
 * const { sample } = await convertZeek({ conn }, { fileName: "x.sf" });
 * assert.equal(sample?.flashes.length, 1);
 * assert.equal(sample?.flashes[0].src, "10.0.0.2:50000");
 * ```
 * @module
 */

// Files in, samples (or .sf files) out.
export {
  convertFile,
  convertFileTo,
  type ConvertOptions,
  type ConvertResult,
  defaultOutputPath,
  type NamingSummary,
  readSecflow,
  type WriteResult,
  writeSample,
} from "./io/convert.ts";
export { detectFormat, type InputFormat } from "./io/input_format.ts";
export { validateSampleFile, type ValidationReport } from "./io/validate.ts";
export type { InputSource } from "./io/files.ts";
export { OutputError } from "./io/output.ts";
export { formatNameCache, parseNameCache, readNameCache } from "./io/name_cache.ts";
export { type ContentKind, detect, type Detection } from "./secflow/detect.ts";

// Flows (every conversation, IPv6 and tunnels included): streamed, beside convertFile.
export {
  collectFlows,
  flowBatchesOf,
  flowsOf,
  readFlowBatches,
  readFlows,
  visitFlows,
  zeekFlows,
} from "./io/flows.ts";
export type {
  Flow,
  FlowName,
  FlowNameSource,
  FlowOptions,
  FlowSummary,
  LeftOutReason,
  SampleVerdict,
  Transport,
  TunnelHop,
  TunnelKind,
} from "./secflow/flows/types.ts";
export { DEFAULT_MAX_FLOWS, DEFAULT_MAX_TUNNEL_DEPTH, FLOW_KEYS } from "./secflow/flows/types.ts";
export { communityId } from "./secflow/flows/community_id.ts";

// Zeek logs as text, bytes, streams or chunks.
export {
  convertZeek,
  MAX_LINE_BYTES,
  sniffText,
  type TextSniff,
  type ZeekConversion,
  type ZeekInput,
  type ZeekKind,
  type ZeekReaderOptions,
  type ZeekShape,
  type ZeekSource,
  type ZeekStats,
} from "./secflow/zeek/mod.ts";

// Captures as bytes or chunks.
import { type ChunkSource, convertCapture } from "./secflow/convert_capture.ts";
import type { CaptureFormat } from "./secflow/capture_reader.ts";
import type { EngineStats } from "./secflow/engine.ts";
import type { PacketCounts } from "./secflow/packet_counts.ts";
import type { BuildOptions, BuiltSample } from "./secflow/sample.ts";
export type { ChunkSource } from "./secflow/convert_capture.ts";
export { type CaptureFormat, sniffCapture } from "./secflow/capture_reader.ts";
export type { EngineStats } from "./secflow/engine.ts";
export type { PacketCounts } from "./secflow/packet_counts.ts";

// The sample format and the pure helpers.
export type { Flash, NameSource, Sample } from "./secflow/types.ts";
export {
  type BuildOptions,
  type BuiltSample,
  formatSample,
  parseSample,
  SampleError,
  type SampleProblem,
  validateSample,
} from "./secflow/sample.ts";
export type { HarvestedName } from "./secflow/dns.ts";
export type { NameSources } from "./secflow/naming.ts";
export { InputError, type InputErrorKind, type InputFacts } from "./secflow/errors.ts";
export { ipToString, isLocal, parseIPv4 } from "./secflow/net.ts";
export { pyFloat } from "./secflow/format.ts";
export { printable } from "./secflow/printable.ts";

/** A capture converted from bytes: the sample and what was read. */
export interface CaptureBytesConversion extends BuiltSample {
  /** The capture's format, from its first bytes. */
  format: CaptureFormat;
  /** Every warning, one line each. */
  warnings: string[];
  /** Packet records read. */
  records: number;
  /** What the packets were. */
  stats: EngineStats;
  /** Where every packet went, in detail (the counts `convert`'s summary prints). */
  packets: PacketCounts;
}

/**
 * Converts a pcap or pcapng capture given as bytes (or as a function returning its chunks, read
 * once) into a Secflow sample; `name` is used in warnings and errors.
 *
 * @example An empty capture: valid, no Secflows
 * ```ts
 * import assert from "node:assert/strict";
 * import { convertCaptureBytes } from "./convert.ts";
 * const header = new Uint8Array([
 *   0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
 * ]);
 * const result = await convertCaptureBytes(header, "empty.pcap", { fileName: "empty.sf" });
 * assert.equal(result.format, "pcap");
 * assert.equal(result.records, 0);
 * assert.equal(result.sample, null);
 * ```
 */
export async function convertCaptureBytes(
  data: Uint8Array | ChunkSource,
  name: string,
  options: BuildOptions,
): Promise<CaptureBytesConversion> {
  const source: ChunkSource = data instanceof Uint8Array ? () => [data] : data;
  const result = await convertCapture(source, name, options);
  return {
    sample: result.sample,
    get cacheUpdates() {
      return result.cacheUpdates;
    },
    format: result.format,
    warnings: result.warnings,
    records: result.records,
    stats: result.analysis.stats,
    packets: result.packets,
  };
}
