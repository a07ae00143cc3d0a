/**
 * File-level conversion: detect the input's format from its content, stream it through the pure
 * core, apply the optional persistent name cache, write the sample.
 * @module
 */
import { basename, dirname, extname, join } from "node:path";
import { describeStart, sniffCapture } from "../secflow/capture_reader.ts";
import { convertCapture } from "../secflow/convert_capture.ts";
import { InputError } from "../secflow/errors.ts";
import {
  buildSample,
  newSampleHash,
  parseSample,
  sampleChunks,
  type SampleProblem,
  validateSample,
} from "../secflow/sample.ts";
import type { Sample } from "../secflow/types.ts";
import type { EngineStats } from "../secflow/engine.ts";
import type { ZeekStats } from "../secflow/zeek/mod.ts";
import {
  fileChunks,
  inputChunks,
  isGzip,
  readContentHead,
  readHead,
  writeChunksAtomic,
} from "./files.ts";
import { readNameCache, updateNameCache } from "./name_cache.ts";

// The Zeek reader and writer are large: loaded only for text inputs, so converting a capture
// does not pay for compiling them. Literal specifiers keep them in `deno compile` binaries.
const zeekFiles = () => import("./_zeek.ts");
const zeekText = () => import("../secflow/zeek/sample_text.ts");
const zeekSniff = () => import("../secflow/zeek/sniff.ts");

/** Input formats the converter accepts. */
export type InputFormat = "pcap" | "pcapng" | "zeek" | "secflow";

/** Options of {@link convertFile}. */
export interface ConvertOptions {
  /** Force a format instead of detecting it from the content. */
  format?: InputFormat;
  /** Zeek `dns.log` path to go with a `conn.log`. */
  dnsLog?: string;
  /** Persistent name cache file (`ip name` lines), read before naming and updated after. */
  dnsCache?: string;
  /** `fileName` written into the sample (default: the input's base name with `.sf`). */
  fileName?: string;
  /** Called for every warning as it happens (they are also returned). */
  onWarning?: (message: string) => void;
}

/** What a conversion produced. */
export interface ConvertResult {
  /** The sample, or null when no Secflows resulted. */
  sample: Sample | null;
  /** The detected (or forced) input format. */
  format: InputFormat;
  /** Every warning, one line each. */
  warnings: string[];
  /** Packet counters, for captures. */
  stats?: EngineStats & { records: number };
  /** Row counters, for Zeek logs. */
  zeek?: ZeekStats;
}

/** The default output path: next to the input, its last extension replaced by `.sf`. */
export function defaultOutputPath(input: string): string {
  const base = basename(input);
  const ext = extname(base);
  return join(dirname(input), `${ext ? base.slice(0, -ext.length) : base}.sf`);
}

/**
 * Detects the format of the file at `path` from its content (never its name): pcap, pcapng, Zeek
 * TSV or JSON, or a Secflow sample; gzip-compressed files are looked through.
 */
export async function detectFormat(path: string): Promise<InputFormat> {
  const raw = await readHead(path, 4096);
  if (raw.length === 0) {
    throw new InputError(
      `${path}: the file is empty, not a pcap or pcapng capture, Zeek log or Secflow sample`,
    );
  }
  const plain = sniffCapture(raw);
  if (plain) return plain;
  const head = await readContentHead(path);
  if (head.length === 0) throw new InputError(`${path}: the file is empty (once decompressed)`);
  const capture = sniffCapture(head);
  if (capture) return capture;
  const text = (await zeekSniff()).sniffText(head);
  if (text) return text.format;
  throw new InputError(
    `${path}: not a pcap or pcapng capture, Zeek log or Secflow sample (${describeStart(head)})`,
  );
}

/**
 * Converts the file at `path` into a Secflow sample.
 *
 * @example
 * ```ts ignore
 * import { convertFile } from "./convert.ts";
 * const { sample } = await convertFile("capture.pcap");
 * console.log(sample?.flashes.length ?? 0);
 * ```
 */
export async function convertFile(
  path: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  const format = options.format ?? await detectFormat(path);
  const fileName = options.fileName ?? basename(defaultOutputPath(path));
  const cache = options.dnsCache ? await readNameCache(options.dnsCache) : undefined;
  const warnings: string[] = [];
  const warn = (w: string) => {
    warnings.push(w);
    options.onWarning?.(w);
  };
  if (format === "pcap" || format === "pcapng") {
    if (options.dnsLog) {
      throw new InputError(
        `${options.dnsLog}: --dns goes with a Zeek conn.log, not with a ${format} capture`,
      );
    }
    // Gzip-compressed captures are read through a decompressor; plain ones as before.
    const gzip = isGzip(await readHead(path, 2));
    const source = gzip ? () => inputChunks(path) : () => fileChunks(path);
    const result = await convertCapture(source, path, { fileName, cache });
    if (result.format !== format) {
      throw new InputError(`${path}: not a ${format} capture (it is ${result.format})`);
    }
    result.warnings.forEach(warn);
    if (options.dnsCache && cache) {
      await updateNameCache(options.dnsCache, cache, result.cacheUpdates);
    }
    return {
      sample: result.sample,
      format,
      warnings,
      stats: { ...result.analysis.stats, records: result.records },
    };
  }
  if (format === "zeek") {
    const { analyzeZeekFiles } = await zeekFiles();
    const analysis = await analyzeZeekFiles(path, options.dnsLog, { onWarning: warn });
    const built = buildSample(
      {
        sessions: analysis.sessions.records(),
        startTime: analysis.startTime,
        active: analysis.sessions.active(),
        names: analysis.names,
      },
      { fileName, cache },
    );
    if (options.dnsCache && cache) {
      await updateNameCache(options.dnsCache, cache, built.cacheUpdates);
    }
    return { sample: built.sample, format, warnings, zeek: analysis.stats };
  }
  if (options.dnsLog) {
    throw new InputError(
      `${options.dnsLog}: --dns goes with a Zeek conn.log, not with a Secflow sample`,
    );
  }
  return { sample: await readSecflow(path, fileName), format, warnings };
}

/** A `.sf` file read and validated against section 1, with a new hash and `fileName`. */
export async function readSecflow(path: string, fileName: string): Promise<Sample | null> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of inputChunks(path)) text += decoder.decode(chunk, { stream: true });
  text += decoder.decode();
  const sample = parseSample(text, path);
  return { ...sample, hash: newSampleHash(), fileName };
}

/** What {@link convertFileTo} wrote. */
export interface WriteResult {
  /** The detected (or forced) input format. */
  format: InputFormat;
  /** Every warning, one line each. */
  warnings: string[];
  /** Flashes written; 0 means nothing was written. */
  flashes: number;
  /** Packet counters, for captures. */
  stats?: EngineStats & { records: number };
  /** Row counters, for Zeek logs. */
  zeek?: ZeekStats;
}

/**
 * Converts the file at `path` and writes the sample to `output` (nothing is written when no
 * Secflows result). Zeek logs are written piece by piece, so a million sessions never exist as
 * one object graph or one string.
 */
export async function convertFileTo(
  path: string,
  output: string,
  options: ConvertOptions = {},
): Promise<WriteResult> {
  const format = options.format ?? await detectFormat(path);
  if (format !== "zeek") {
    const result = await convertFile(path, { ...options, format });
    const flashes = result.sample?.flashes.length ?? 0;
    if (result.sample && flashes > 0) await writeSample(output, result.sample);
    return { format, warnings: result.warnings, flashes, stats: result.stats, zeek: result.zeek };
  }
  const fileName = options.fileName ?? basename(output);
  const cache = options.dnsCache ? await readNameCache(options.dnsCache) : undefined;
  const warnings: string[] = [];
  const [{ analyzeZeekFiles, writeSampleText }, { zeekSampleText }] = await Promise.all([
    zeekFiles(),
    zeekText(),
  ]);
  const analysis = await analyzeZeekFiles(path, options.dnsLog, {
    onWarning: (w) => {
      warnings.push(w);
      options.onWarning?.(w);
    },
  });
  const text = zeekSampleText(analysis, { fileName, cache });
  if (text.flashes > 0) await writeSampleText(output, text);
  if (options.dnsCache && cache) await updateNameCache(options.dnsCache, cache, text.cacheUpdates);
  return { format, warnings, flashes: text.flashes, zeek: analysis.stats };
}

/** Writes a sample as `.sf` text, atomically. */
export async function writeSample(path: string, sample: Sample): Promise<void> {
  await writeChunksAtomic(path, sampleChunks(sample));
}

/** The outcome of validating one `.sf` file. */
export interface ValidationReport {
  /** Every problem found, each with its JSON path; empty when the file is a valid sample. */
  problems: SampleProblem[];
  /** Number of flashes (when `flashes` is an array). */
  flashes: number;
}

/**
 * Validates the `.sf` file at `path` (gzip looked through) against section 1. A file that cannot
 * be read or is not JSON is reported as a problem at `$`, not thrown.
 */
export async function validateSampleFile(path: string): Promise<ValidationReport> {
  let text = "";
  try {
    const decoder = new TextDecoder("utf-8", { fatal: true });
    for await (const chunk of inputChunks(path)) text += decoder.decode(chunk, { stream: true });
    text += decoder.decode();
  } catch (e) {
    return { problems: [{ path: "$", message: `cannot read: ${firstLine(e)}` }], flashes: 0 };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { problems: [{ path: "$", message: `not JSON: ${firstLine(e)}` }], flashes: 0 };
  }
  const flashes = (value as { flashes?: unknown } | null)?.flashes;
  return { problems: validateSample(value), flashes: Array.isArray(flashes) ? flashes.length : 0 };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
