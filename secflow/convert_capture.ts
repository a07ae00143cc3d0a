/**
 * Capture bytes to a Secflow sample, pure: the bytes come from a chunk source, read once whatever
 * the traffic (the engine reproduces the platform's protocol passes in one read; see engine.ts).
 * @module
 */
import { type CaptureFormat, CaptureReader } from "./capture_reader.ts";
import { type Analysis, FlowEngine } from "./engine.ts";
import { LINK_TYPES } from "./decode.ts";
import { type PacketCounts, packetCounts } from "./packet_counts.ts";
import { type BuildOptions, buildSample, type BuiltSample } from "./sample.ts";

/** Something that yields the input's bytes from the start when it is called (once). */
export type ChunkSource = () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** The engine's view of a capture, with the reader's findings. */
export interface CaptureAnalysis {
  analysis: Analysis;
  format: CaptureFormat;
  /** Packet records read. */
  records: number;
  /** How many times the input was read from the start: always 1. */
  reads: number;
  /** Chunks the source yielded (for a file: read calls that returned data). */
  chunks: number;
  warnings: string[];
  /** Where every packet went (see packet_counts.ts). */
  packets: PacketCounts;
}

/**
 * Reads a pcap or pcapng capture into sessions, names not yet applied.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyzeCapture } from "./convert_capture.ts";
 * const header = new Uint8Array(24);
 * new DataView(header.buffer).setUint32(0, 0xa1b2c3d4, true);
 * new DataView(header.buffer).setUint32(20, 1, true);
 * const { analysis } = await analyzeCapture(() => [header], "empty.pcap");
 * assert.equal(analysis.sessions.length, 0);
 * ```
 */
export async function analyzeCapture(source: ChunkSource, name: string): Promise<CaptureAnalysis> {
  const engine = new FlowEngine();
  const reader = new CaptureReader(engine, name);
  let chunks = 0;
  for await (const chunk of source()) {
    chunks++;
    reader.push(chunk);
    if (reader.stopped) break;
  }
  reader.end();
  const analysis = engine.finish();
  const warnings = [...reader.warnings];
  for (const [link, count] of analysis.unknownLinkTypes) {
    const what = LINK_TYPES[link] ?? `link type ${link}`;
    warnings.push(
      `${name}: skipped ${count} packet${
        count === 1 ? "" : "s"
      } of ${what}, which the converter does not read`,
    );
  }
  return {
    analysis,
    format: reader.format!,
    records: reader.packets,
    reads: 1,
    chunks,
    warnings,
    packets: packetCounts(analysis.stats, analysis.fates, reader),
  };
}

/** A converted capture. */
export interface CaptureConversion extends BuiltSample {
  format: CaptureFormat;
  warnings: string[];
  analysis: Analysis;
  records: number;
  /** Where every packet went (see packet_counts.ts). */
  packets: PacketCounts;
}

/** Reads a capture and builds its sample (null when no Secflows result). */
export async function convertCapture(
  source: ChunkSource,
  name: string,
  options: BuildOptions,
): Promise<CaptureConversion> {
  const { analysis, format, warnings, records, packets } = await analyzeCapture(source, name);
  const built = buildSample(
    {
      sessions: analysis.sessions,
      startTime: analysis.startTime,
      active: analysis.active,
      names: analysis.harvest.byAddress,
    },
    options,
  );
  return {
    sample: built.sample,
    // A getter, not a spread: the updates are computed only when a cache asks for them.
    get cacheUpdates() {
      return built.cacheUpdates;
    },
    format,
    warnings,
    analysis,
    records,
    packets,
  };
}
