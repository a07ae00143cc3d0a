/**
 * A Secflow sample as `.sf` text, exactly what Python's `json.dumps` writes for the platform's
 * converter: as one string, or chunk by chunk into one reused buffer.
 * @module
 */
import { pyFloat } from "./format.ts";
import type { Flash, Sample } from "./types.ts";

/**
 * The `.sf` text of a sample, byte for byte what the platform's converter writes (Python's
 * `json.dumps` with its default separators and ASCII escaping). A flash with a NaN or infinite
 * number is a RangeError: JSON has no text for it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSample } from "./sample_format.ts";
 * const hash = "0".repeat(32);
 * assert.equal(
 *   formatSample({ hash, trafficDate: "1.0", fileName: "a.sf", flashes: [] }),
 *   `{"hash": "${hash}", "trafficDate": "1.0", "fileName": "a.sf", "flashes": []}`,
 * );
 * ```
 */
export function formatSample(sample: Sample): string {
  const parts: string[] = new Array(sample.flashes.length);
  for (let i = 0; i < parts.length; i++) parts[i] = formatFlash(sample.flashes[i]);
  return sampleHead(sample) + parts.join(", ") + "]}";
}

/**
 * The bytes of {@link formatSample}, produced into one reused buffer of `chunkBytes` and handed
 * out chunk by chunk (each valid until the next is requested): no string of the whole sample and
 * no second copy of it are ever made.
 */
export function* sampleChunks(sample: Sample, chunkBytes = 256 * 1024): Generator<Uint8Array> {
  const buf = new Uint8Array(chunkBytes);
  let used = 0;
  // Flash texts are gathered into batches of at most BATCH_CHARS and each batch is encoded into
  // the buffer with one call: an encode call per flash costs more than the formatting. Batches
  // stay small because the joined text of one is a fresh string: at 256K characters (the buffer's
  // size, as it was) each went to V8's large-object space, which counts as old generation and
  // hastens a full mark-compact. Converting and writing the 300k benchmark through the library
  // in a fresh process, 16K-character batches made the write phase ~35% shorter and the process
  // ~10% less CPU (11 paired runs, twice); in the CLI, whose heap reaches that mark-compact
  // anyway, ~1% (docs/BENCHMARKS.md, issue 25). Every character formatFlash and pyString write
  // is ASCII, so a batch's length is its UTF-8 length.
  const batchChars = Math.min(BATCH_CHARS, chunkBytes);
  let batch: string[] = [sampleHead(sample)];
  let batchLength = batch[0].length;
  const flush = function* (): Generator<Uint8Array> {
    const text = batch.join("");
    batch = [];
    batchLength = 0;
    if (used > 0 && text.length > buf.length - used) {
      yield buf.subarray(0, used);
      used = 0;
    }
    if (text.length > buf.length) yield encoder.encode(text);
    else if (text.length > 0) used += encoder.encodeInto(text, buf.subarray(used)).written;
  };
  const flashes = sample.flashes;
  for (let i = 0; i < flashes.length; i++) {
    const text = i === 0 ? formatFlash(flashes[0]) : ", " + formatFlash(flashes[i]);
    if (batchLength + text.length > batchChars && batchLength > 0) yield* flush();
    batch.push(text);
    batchLength += text.length;
  }
  batch.push("]}");
  yield* flush();
  if (used > 0) yield buf.subarray(0, used);
}

/** Characters of flash text encoded at once by {@link sampleChunks}. */
const BATCH_CHARS = 16 * 1024;

const encoder = new TextEncoder();

/** The text of a sample up to its first flash: `{"hash": ..., "flashes": [`. */
export function sampleHeadText(sample: Omit<Sample, "flashes">): string {
  return sampleHead(sample);
}

/** The text of one flash, as {@link formatSample} writes it. */
export function flashText(flash: Flash): string {
  return formatFlash(flash);
}

function sampleHead(sample: Omit<Sample, "flashes">): string {
  return `{"hash": ${pyString(sample.hash)}, "trafficDate": ${pyString(sample.trafficDate)}, ` +
    `"fileName": ${pyString(sample.fileName)}, "flashes": [`;
}

/** The quoted name sources: constants, so no escaping work per flash. */
const QUOTED_SOURCES: Record<string, string> = {
  passive: '"passive"',
  cache: '"cache"',
  original: '"original"',
  session: '"session"',
};

function formatFlash(f: Flash): string {
  // NaN and Infinity have no JSON text: Python writes `NaN`, which no JSON reader takes. A flash
  // made here never holds one; one a caller built is refused, not written as a broken sample.
  if (
    !(Number.isFinite(f.srcPkts) && Number.isFinite(f.srcBytes) && Number.isFinite(f.dstPkts) &&
      Number.isFinite(f.dstBytes) && Number.isFinite(f.relativeStart) &&
      Number.isFinite(f.duration))
  ) {
    throw new RangeError(
      `flash ${pyString(f.src)} -> ${pyString(f.dst)}: a count or time is not finite`,
    );
  }
  const source = QUOTED_SOURCES[f.destinationNameSource] ?? pyString(f.destinationNameSource);
  return `{"src": ${pyString(f.src)}, "dst": ${pyString(f.dst)}, ` +
    `"destinationNameSource": ${source}, ` +
    `"srcPkts": ${pyNumber(f.srcPkts)}, "srcBytes": ${pyNumber(f.srcBytes)}, ` +
    `"dstPkts": ${pyNumber(f.dstPkts)}, "dstBytes": ${pyNumber(f.dstBytes)}, ` +
    `"relativeStart": ${pyFloat(f.relativeStart)}, ` +
    `"protocolInformation": ${
      f.protocolInformation === "" ? '""' : pyString(f.protocolInformation)
    }, "duration": ${pyFloat(f.duration)}}`;
}

/** Counts are Python ints: written without a decimal point. */
function pyNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : pyFloat(n);
}

const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string as Python writes it with `ensure_ascii`: non-ASCII as `\uXXXX` escapes. */
export function pyString(s: string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  // Python escapes everything outside " " to "~", DEL included.
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
