/**
 * What `serve` does to a stored upload: the converter's contract and the default converter.
 * Kept apart from the server so that the conversion subprocess loads neither SQLite nor HTTP.
 * @module
 */
import type { FlashLike } from "./classify.ts";
import type { PlatformSecflow, UploadType } from "./types.ts";
import { convertFile } from "../io/convert.ts";

/** What a converter gives `serve` for one upload. */
export interface ConversionOutput {
  /** The converted sample, or null when no Secflows resulted. */
  sample: { hash: string; trafficDate: string; flashes: FlashLike[] } | null;
  /** Warnings of the conversion, one line each. */
  warnings: string[];
  /** The flashes already as platform Secflows (a conversion subprocess classifies them). */
  secflows?: PlatformSecflow[];
}

/** Turns a stored upload into Secflows. `signal` aborts it (shutdown). */
export type Converter = (
  path: string,
  options: { format: UploadType; dnsLog?: string; fileName: string; signal?: AbortSignal },
) => Promise<ConversionOutput>;

/**
 * The default converter: Secflow samples (`.sf`) are validated and kept as they are (extra flash
 * keys such as `eventId` survive); everything else goes through `io/convert.ts`'s `convertFile`.
 */
export const defaultConverter: Converter = async (path, options) => {
  if (options.format === "secflow") return readSecflowSample(path);
  const result = await convertFile(path, {
    format: options.format,
    dnsLog: options.dnsLog,
  });
  return { sample: result.sample, warnings: result.warnings };
};

async function readSecflowSample(path: string): Promise<ConversionOutput> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`not a Secflow sample: ${e instanceof Error ? e.message : e}`);
  }
  const obj = parsed as Record<string, unknown>;
  if (!obj || typeof obj !== "object" || !Array.isArray(obj.flashes)) {
    throw new Error("not a Secflow sample: no 'flashes' array");
  }
  const flashes = obj.flashes as FlashLike[];
  flashes.forEach((f, i) => {
    if (
      !f || typeof f !== "object" || typeof f.src !== "string" || typeof f.dst !== "string" ||
      typeof f.srcBytes !== "number" || typeof f.dstBytes !== "number"
    ) {
      throw new Error(`not a Secflow sample: flash ${i} lacks src, dst, srcBytes or dstBytes`);
    }
  });
  const hash = typeof obj.hash === "string" && /^[0-9a-f]{32}$/.test(obj.hash)
    ? obj.hash
    : crypto.randomUUID().replaceAll("-", "");
  const trafficDate = typeof obj.trafficDate === "string" || typeof obj.trafficDate === "number"
    ? String(obj.trafficDate)
    : "";
  if (flashes.length === 0) return { sample: null, warnings: ["the sample has no flashes"] };
  return { sample: { hash, trafficDate, flashes }, warnings: [] };
}
