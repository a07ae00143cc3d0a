/**
 * File-level conversion: detect the input's format from its content, stream it through the pure
 * core, apply the optional persistent name cache, write the sample.
 * @module
 */
import { basename, dirname, extname, join } from "node:path";
import { describeStart, sniffCapture } from "../secflow/capture_reader.ts";
import { convertCapture } from "../secflow/convert_capture.ts";
import { InputError } from "../secflow/errors.ts";
import { formatSample } from "../secflow/sample.ts";
import type { Sample } from "../secflow/types.ts";
import type { EngineStats } from "../secflow/engine.ts";
import { fileChunks, readHead, writeTextAtomic } from "./files.ts";
import { readNameCache, updateNameCache } from "./name_cache.ts";

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
}

/** The default output path: next to the input, its last extension replaced by `.sf`. */
export function defaultOutputPath(input: string): string {
  const base = basename(input);
  const ext = extname(base);
  return join(dirname(input), `${ext ? base.slice(0, -ext.length) : base}.sf`);
}

/** Detects the format of the file at `path` from its first bytes. */
export async function detectFormat(path: string): Promise<InputFormat> {
  const head = await readHead(path, 4096);
  if (head.length === 0) throw new InputError(`${path}: the file is empty`);
  const capture = sniffCapture(head);
  if (capture) return capture;
  throw new InputError(`${path}: not a pcap or pcapng capture (${describeStart(head)})`);
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
    const result = await convertCapture(() => fileChunks(path), path, { fileName, cache });
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
  throw new InputError(`${path}: ${format} input is not supported yet`);
}

/** Writes a sample as `.sf` text, atomically. */
export async function writeSample(path: string, sample: Sample): Promise<void> {
  await writeTextAtomic(path, formatSample(sample));
}
