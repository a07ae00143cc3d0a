/**
 * Any input as a Secflow sample in memory, nothing written: a `.sf` file as it is (its hash,
 * file name and flashes untouched), a capture or a Zeek log converted exactly as `convert` would
 * (same detection, same pipeline) but never saved and with no name cache touched. What `view`,
 * `stats` and `report` look at.
 * @module
 */
import { basename } from "node:path";
import { InputError } from "../secflow/errors.ts";
import { parseSample } from "../secflow/sample.ts";
import type { Sample } from "../secflow/types.ts";
import { convertFile, defaultOutputPath, detectFormat, type InputFormat } from "./convert.ts";
import { inputChunks } from "./files.ts";

/** Options of {@link loadSample}. */
export interface LoadOptions {
  /** Force the input format instead of detecting it from the content. */
  format?: InputFormat;
  /** Zeek `dns.log` that goes with a `conn.log` input. */
  dnsLog?: string;
  /** Called for every warning as it happens (they are also returned). */
  onWarning?: (message: string) => void;
}

/** A loaded input. */
export interface LoadedSample {
  /** The path given. */
  path: string;
  format: InputFormat;
  /** null when the input holds no Secflows (a capture with no IPv4 traffic, an empty log). */
  sample: Sample | null;
  warnings: string[];
}

/**
 * Loads the file at `path` as a sample in memory (see the module comment).
 *
 * @example
 * ```ts ignore
 * import { loadSample } from "./load.ts";
 * const { sample } = await loadSample("capture.pcap");
 * console.log(sample?.flashes.length ?? 0);
 * ```
 */
export async function loadSample(path: string, options: LoadOptions = {}): Promise<LoadedSample> {
  const format = options.format ?? await detectFormat(path);
  if (format === "secflow") {
    if (options.dnsLog) {
      throw new InputError(
        `${options.dnsLog}: --dns goes with a Zeek conn.log, not with a Secflow sample`,
      );
    }
    return { path, format, sample: await readSampleAsIs(path), warnings: [] };
  }
  const result = await convertFile(path, {
    format,
    dnsLog: options.dnsLog,
    fileName: basename(defaultOutputPath(path)),
    onWarning: options.onWarning,
  });
  return { path, format, sample: result.sample, warnings: result.warnings };
}

/** A `.sf` file (gzip looked through), validated, exactly as written. */
export async function readSampleAsIs(path: string): Promise<Sample> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of inputChunks(path)) text += decoder.decode(chunk, { stream: true });
  text += decoder.decode();
  return parseSample(text, path);
}
