/**
 * Any input as a Secflow sample in memory, nothing written: a capture or a Zeek log converted
 * exactly as `convert` converts it (same detection, same pipeline, same `.sf` reader and its
 * bounds), but never saved and with no name cache read or updated. A `.sf` input keeps its
 * flashes and trafficDate as they are (like `convert`, the sample gets a new hash). What `view`
 * and `stats` look at, and what `report` can.
 * @module
 */
import { basename } from "node:path";
import type { Sample } from "../secflow/types.ts";
import { convertFile, defaultOutputPath, type InputFormat } from "./convert.ts";

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
  const result = await convertFile(path, {
    format: options.format,
    dnsLog: options.dnsLog,
    fileName: basename(defaultOutputPath(path)),
    onWarning: options.onWarning,
  });
  return { path, format: result.format, sample: result.sample, warnings: result.warnings };
}
