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
import type { PacketCounts } from "../secflow/packet_counts.ts";

/** Options of {@link loadSample}. */
export interface LoadOptions {
  /** Force the input format instead of detecting it from the content. */
  format?: InputFormat;
  /** Zeek `dns.log` that goes with a `conn.log` input. */
  dnsLog?: string;
  /** Called for every warning as it happens (they are also returned). */
  onWarning?: (message: string) => void;
  /** At most this many Secflows (see `ConvertOptions.maxSecflows`). */
  maxSecflows?: number;
}

/** A loaded input. */
export interface LoadedSample {
  /** The path given. */
  path: string;
  format: InputFormat;
  /** null when the input holds no Secflows (a capture with no IPv4 traffic, an empty log). */
  sample: Sample | null;
  warnings: string[];
  /** For a capture: where every packet went. */
  packets?: PacketCounts;
}

/**
 * Loads the file at `path` as a sample in memory (see the module comment).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadSample } from "./load.ts";
 * const dir = await Deno.makeTempDir();
 * // A Zeek conn.log of one connection.
 * await Deno.writeTextFile(
 *   `${dir}/conn.log`,
 *   "1700000000.5\tC1\t10.0.0.2\t50000\t93.184.216.34\t443\ttcp\tssl\t1.5\t100\t2000" +
 *     "\tSF\t-\t-\t0\tShADadFf\t10\t600\t12\t2600\t-\n",
 * );
 * const { format, sample } = await loadSample(`${dir}/conn.log`);
 * assert.equal(format, "zeek");
 * assert.equal(sample?.flashes[0].dst, "93.184.216.34:443");
 * assert.equal(sample?.flashes[0].dstBytes, 2000);
 * // Nothing was written beside it.
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["conn.log"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadSample(path: string, options: LoadOptions = {}): Promise<LoadedSample> {
  const result = await convertFile(path, {
    format: options.format,
    dnsLog: options.dnsLog,
    fileName: basename(defaultOutputPath(path)),
    onWarning: options.onWarning,
    maxSecflows: options.maxSecflows,
  });
  return {
    path,
    format: result.format,
    sample: result.sample,
    warnings: result.warnings,
    packets: result.packets,
  };
}
