/**
 * What `serve` does to a stored upload: the converter's contract and the default converter.
 * Kept apart from the server so that the conversion subprocess loads neither SQLite nor HTTP.
 * @module
 */
import type { FlashLike } from "../../api/classify.ts";
import type { PlatformSecflow, UploadType } from "../../api/types.ts";
import { convertFile, endIfNothingFollows } from "../../io/convert.ts";
import { openSource } from "../../io/files.ts";
import { SampleError } from "../../secflow/sample.ts";
import { SampleReader } from "../../secflow/sample_reader.ts";

/** What a converter gives `serve` for one upload. */
export interface ConversionOutput {
  /** The converted sample, or null when no Secflows resulted. */
  sample: { hash: string; trafficDate: string; flashes: FlashLike[] } | null;
  /** Warnings of the conversion, one line each. */
  warnings: string[];
  /** The flashes already as platform Secflows (a conversion subprocess classifies them). */
  secflows?: PlatformSecflow[];
}

/**
 * Turns a stored upload into Secflows. `signal` aborts it (shutdown): a subprocess converter is
 * killed; the in-process {@link defaultConverter} stops before it starts and before it answers
 * (a conversion running on this thread cannot be interrupted in between).
 */
export type Converter = (
  path: string,
  options: { format: UploadType; dnsLog?: string; fileName: string; signal?: AbortSignal },
) => Promise<ConversionOutput>;

/**
 * The default converter: Secflow samples (`.sf`) are validated as `validate` does and kept as they
 * are (a flash's `eventId` survives); everything else goes through `io/convert.ts`'s `convertFile`.
 */
export const defaultConverter: Converter = async (path, options): Promise<ConversionOutput> => {
  // An aborted conversion must not answer as done (it returned every Secflow).
  options.signal?.throwIfAborted();
  const output = options.format === "secflow"
    ? await readSecflowSample(path)
    : await convertFile(path, { format: options.format, dnsLog: options.dnsLog })
      .then((r) => ({ sample: r.sample, warnings: r.warnings }));
  options.signal?.throwIfAborted();
  return output;
};

/**
 * A `.sf` upload read by the same streaming reader and rules as `validate` and `convert` (bounded
 * memory, section 1 checks), except that a flash may also carry an `eventId` (a string), which
 * the local server keeps. The sample's own hash is kept when it is one.
 */
async function readSecflowSample(path: string): Promise<ConversionOutput> {
  const flashes: FlashLike[] = [];
  let fields = new Map<string, unknown>();
  const reader = new SampleReader({
    onHead: (head) => fields = head.fields,
    onFlash: (flash) => flashes.push(flash as FlashLike),
    extraFlashKeys: ["eventId"],
  });
  const source = await openSource(path);
  const chunks = source.content()[Symbol.asyncIterator]();
  for (let r = await chunks.next(); !r.done; r = await chunks.next()) {
    reader.push(r.value);
    if (reader.failed) break;
  }
  await endIfNothingFollows(reader, chunks);
  if (reader.failed) throw new SampleError("the sample", reader.problems, reader.problemCount);
  const hash = fields.get("hash");
  const trafficDate = fields.get("trafficDate");
  if (flashes.length === 0) return { sample: null, warnings: ["the sample has no flashes"] };
  return {
    sample: {
      hash: typeof hash === "string" && /^[0-9a-f]{32}$/.test(hash)
        ? hash
        : crypto.randomUUID().replaceAll("-", ""),
      trafficDate: String(trafficDate ?? ""),
      flashes,
    },
    warnings: [],
  };
}
