/**
 * Sessions to a Secflow sample, and the `.sf` text format both ways: the writer produces exactly
 * what Python's `json.dumps` writes for the platform's converter; the reader validates every key,
 * type and order and reports problems with their JSON paths.
 * @module
 */
import { pyFloat, round6 } from "./format.ts";
import { printable } from "./printable.ts";
import { MAX_STRING_BYTES, SampleReader } from "./sample_reader.ts";
import { ipToString } from "./net.ts";
import type { HarvestedName } from "./dns.ts";
import { type NameSources, PassiveNames } from "./naming.ts";
import type { SessionRecord } from "./session.ts";
import { type Flash, FLASH_KEYS, type NameSource, type Sample, SAMPLE_KEYS } from "./types.ts";

/** What naming and sample building need from a converted input. */
export interface SampleInput {
  /** Sessions in creation order. */
  sessions: readonly SessionRecord[];
  /** The start time (trafficDate) in seconds; undefined when nothing qualified. */
  startTime: number | undefined;
  /** External addresses of the kept traffic (only they receive passive names). */
  active: ReadonlySet<number>;
  /** Harvested A answers by address. */
  names: ReadonlyMap<number, HarvestedName[]>;
}

/** Options of {@link buildSample}. */
export interface BuildOptions extends NameSources {
  /** The `fileName` written into the sample. */
  fileName: string;
  /** The sample hash (default: a new random UUIDv4 without dashes). */
  hash?: string;
}

/** A built sample and what the persistent cache learns from it. */
export interface BuiltSample {
  /** null when there are no sessions. */
  sample: Sample | null;
  /** Addresses whose names in this input are all one name: write them to the cache. */
  cacheUpdates: Map<number, string>;
}

/**
 * Names every session and assembles the sample: flashes ordered by `relativeStart`, ties in
 * creation order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildSample } from "./sample.ts";
 * const { sample } = buildSample(
 *   { sessions: [], startTime: undefined, active: new Set(), names: new Map() },
 *   { fileName: "x.sf" },
 * );
 * assert.equal(sample, null);
 * ```
 */
export function buildSample(input: SampleInput, options: BuildOptions): BuiltSample {
  const passive = new PassiveNames(input.names, input.active);
  let updates: Map<number, string> | undefined;
  const withUpdates = (sample: Sample | null): BuiltSample => ({
    sample,
    get cacheUpdates() {
      return updates ??= passive.unambiguous();
    },
  });
  if (input.sessions.length === 0 || input.startTime === undefined) {
    return withUpdates(null);
  }
  const start = input.startTime;
  const flashes: Flash[] = input.sessions.map((s) => {
    const chosen = passive.choose(s.dstIp, s.first, options);
    const src = ipToString(s.srcIp);
    return {
      src: s.icmp ? src : `${src}:${s.srcPort}`,
      dst: s.icmp ? chosen.name : `${chosen.name}:${s.dstPort}`,
      destinationNameSource: chosen.source,
      srcPkts: s.srcPkts,
      srcBytes: s.srcBytes,
      dstPkts: s.dstPkts,
      dstBytes: s.dstBytes,
      relativeStart: round6(s.first - start),
      protocolInformation: s.icmp ? "ICMP" : "",
      duration: round6(s.last - s.first),
    };
  });
  // Array.prototype.sort is stable: ties keep creation order.
  flashes.sort((a, b) => a.relativeStart - b.relativeStart);
  return withUpdates({
    hash: options.hash ?? newSampleHash(),
    trafficDate: pyFloat(start),
    fileName: options.fileName,
    flashes,
  });
}

/** A new sample hash: a random UUIDv4 without dashes. */
export function newSampleHash(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/**
 * The `.sf` text of a sample, byte for byte what the platform's converter writes (Python's
 * `json.dumps` with its default separators and ASCII escaping). A flash with a NaN or infinite
 * number is a RangeError: JSON has no text for it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSample } from "./sample.ts";
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
function pyString(s: string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  // Python escapes everything outside " " to "~", DEL included.
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** One problem found in a `.sf` file. */
export interface SampleProblem {
  /** JSON path of the offending value, e.g. `$.flashes[3].srcPkts`. */
  path: string;
  /** What is wrong there, one line. */
  message: string;
}

const NAME_SOURCES: readonly NameSource[] = ["passive", "cache", "original", "session"];

/**
 * Validates a parsed `.sf` value against section 1: keys, their order, types and formats.
 * Returns every problem found (empty when valid).
 */
export function validateSample(value: unknown): SampleProblem[] {
  const problems: SampleProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (!isRecord(value)) {
    add("$", `must be an object, found ${kind(value)}`);
    return problems;
  }
  checkKeys(value, SAMPLE_KEYS, "$", add);
  if ("hash" in value && !(typeof value.hash === "string" && /^[0-9a-f]{32}$/.test(value.hash))) {
    add("$.hash", `must be 32 lowercase hex digits, found ${show(value.hash)}`);
  }
  if ("trafficDate" in value) {
    const td = value.trafficDate;
    if (typeof td !== "string" || !/^-?\d+(\.\d+)?(e[+-]?\d+)?$/.test(td) || !td.match(/[.e]/)) {
      add(
        "$.trafficDate",
        `must be a string holding a float such as "1700000003.0", found ${show(td)}`,
      );
    }
  }
  if ("fileName" in value && typeof value.fileName !== "string") {
    add("$.fileName", `must be a string, found ${kind(value.fileName)}`);
  } else if (tooLong(value.fileName)) {
    add("$.fileName", `is a string longer than ${MAX_STRING_BYTES} bytes`);
  } else if (typeof value.fileName === "string" && !value.fileName.isWellFormed()) {
    add("$.fileName", "holds a lone surrogate (not valid Unicode)");
  }
  if ("flashes" in value) {
    if (!Array.isArray(value.flashes)) {
      add("$.flashes", `must be an array, found ${kind(value.flashes)}`);
    } else {
      let previous = -Infinity;
      // By index, not forEach: forEach skips the holes of a sparse array, which formatSample
      // then met as undefined.
      const flashes = value.flashes as unknown[];
      for (let i = 0; i < flashes.length; i++) {
        if (!(i in flashes)) {
          add(`$.flashes[${i}]`, "is missing (a hole in the array)");
          continue;
        }
        const found = validateFlash(flashes[i], `$.flashes[${i}]`, previous);
        problems.push(...found.problems);
        previous = found.relativeStart;
      }
    }
  }
  return problems;
}

/**
 * Whether `v` is a string the `.sf` reader would refuse as longer than {@link MAX_STRING_BYTES}
 * once written (escaped as formatSample writes it), so that what validates also reads back.
 */
function tooLong(v: unknown): boolean {
  // Written, a character takes at most 6 bytes (`\uXXXX`): short strings need no measuring.
  return typeof v === "string" && v.length * 6 > MAX_STRING_BYTES &&
    pyString(v).length - 2 > MAX_STRING_BYTES;
}

/**
 * Validates one flash at JSON path `at`. `previous` is the relativeStart of the flash before it
 * (flashes are ordered by it); the answer carries this flash's, for the next call. `extraKeys`
 * may follow the section 1 keys, each a string (a local server's `eventId`).
 */
export function validateFlash(
  flash: unknown,
  at: string,
  previous: number,
  extraKeys: readonly string[] = [],
): { problems: SampleProblem[]; relativeStart: number } {
  const problems: SampleProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (!isRecord(flash)) {
    add(at, `must be an object, found ${kind(flash)}`);
    return { problems, relativeStart: previous };
  }
  const extras = extraKeys.filter((k) => Object.hasOwn(flash, k));
  for (const key of extras) {
    if (typeof flash[key] !== "string") {
      add(`${at}.${key}`, `must be a string, found ${kind(flash[key])}`);
    }
  }
  checkKeys(
    extras.length === 0 ? flash : Object.fromEntries(
      Object.entries(flash).filter(([k]) => !extras.includes(k)),
    ),
    FLASH_KEYS,
    at,
    add,
  );
  for (const key of ["src", "dst", "protocolInformation"] as const) {
    if (key in flash && typeof flash[key] !== "string") {
      add(`${at}.${key}`, `must be a string, found ${kind(flash[key])}`);
    } else if (tooLong(flash[key])) {
      add(`${at}.${key}`, `is a string longer than ${MAX_STRING_BYTES} bytes`);
    }
  }
  if (
    "destinationNameSource" in flash &&
    !NAME_SOURCES.includes(flash.destinationNameSource as NameSource)
  ) {
    add(
      `${at}.destinationNameSource`,
      `must be one of ${NAME_SOURCES.join(", ")}, found ${show(flash.destinationNameSource)}`,
    );
  }
  for (const key of ["srcPkts", "srcBytes", "dstPkts", "dstBytes"] as const) {
    if (key in flash && !(Number.isSafeInteger(flash[key]) && (flash[key] as number) >= 0)) {
      add(`${at}.${key}`, `must be a whole number from 0 to 2^53-1, found ${show(flash[key])}`);
    }
  }
  for (const key of ["relativeStart", "duration"] as const) {
    const v = flash[key];
    if (key in flash && !(typeof v === "number" && Number.isFinite(v) && v >= 0)) {
      add(`${at}.${key}`, `must be a finite number >= 0, found ${show(v)}`);
    }
  }
  const icmp = flash.protocolInformation === "ICMP";
  if ("protocolInformation" in flash && flash.protocolInformation !== "" && !icmp) {
    add(
      `${at}.protocolInformation`,
      `must be "" or "ICMP", found ${show(flash.protocolInformation)}`,
    );
  }
  if (typeof flash.src === "string") {
    const m = (icmp ? /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/ : /^(\d+)\.(\d+)\.(\d+)\.(\d+):(\d+)$/)
      .exec(flash.src);
    if (!m) {
      add(`${at}.src`, `must be ${icmp ? '"ip"' : '"ip:port"'}, found ${show(flash.src)}`);
    } else if (m.slice(1, 5).some((o) => Number(o) > 255) || (m[5] && Number(m[5]) > 65535)) {
      add(`${at}.src`, `has an address or port out of range: ${show(flash.src)}`);
    }
  }
  if (typeof flash.dst === "string") {
    const m = icmp ? [flash.dst, flash.dst] : /^(.*):(\d+)$/s.exec(flash.dst);
    if (!m || (!icmp && !/^[^:\s]+$/.test(m[1]))) {
      add(`${at}.dst`, `must be "name:port", found ${show(flash.dst)}`);
    } else {
      const name = m[1];
      const bad = name.length === 0
        ? "is empty"
        : name.length > 253
        ? `is ${name.length} characters long (at most 253)`
        // deno-lint-ignore no-control-regex
        : /[\x00-\x1f\x7f-\x9f]/.test(name)
        ? "holds control characters"
        // Written as UTF-8 it would come back as U+FFFD: another name.
        : !name.isWellFormed()
        ? "holds a lone surrogate (not valid Unicode)"
        : undefined;
      if (bad) add(`${at}.dst`, `the name ${bad}: ${show(flash.dst)}`);
      else if (!icmp && Number(m[2]) > 65535) {
        add(`${at}.dst`, `has a port out of range: ${show(flash.dst)}`);
      }
    }
  }
  let relativeStart = previous;
  if (typeof flash.relativeStart === "number") {
    if (flash.relativeStart < previous) {
      add(
        `${at}.relativeStart`,
        `flashes must be ordered by relativeStart (${flash.relativeStart} < ${previous})`,
      );
    }
    relativeStart = flash.relativeStart;
  }
  return { problems, relativeStart };
}

/**
 * Parses and validates `.sf` text with the streaming reader (so numbers out of range and
 * integers beyond 2^53 are caught, which `JSON.parse` hides). Throws a {@link SampleError}
 * listing the problems when it is not a valid sample.
 */
export function parseSample(text: string, name = "sample"): Sample {
  const flashes: Flash[] = [];
  let head: Map<string, unknown> | undefined;
  const reader = new SampleReader({
    onHead: (h) => head = h.fields,
    onFlash: (f) => flashes.push(f),
  });
  reader.push(new TextEncoder().encode(text));
  reader.end();
  if (reader.failed) throw new SampleError(name, reader.problems, reader.problemCount);
  return {
    hash: head!.get("hash") as string,
    trafficDate: head!.get("trafficDate") as string,
    fileName: head!.get("fileName") as string,
    flashes,
  };
}

/** An invalid `.sf` file; `problems` lists each one with its JSON path. CLI exit code 2. */
export class SampleError extends Error {
  /** Always `"SampleError"`. */
  override name = "SampleError";
  /** An error for `file`, naming its first problem and counting the rest (`count` in all). */
  constructor(
    readonly file: string,
    readonly problems: SampleProblem[],
    count: number = problems.length,
  ) {
    // Once the JSON itself is broken (cut short, a stray byte) that is what the user must hear
    // first: keys "missing" from a sample cut in half follow from it.
    const first = problems.find((p) => p.message.startsWith("not JSON")) ?? problems[0];
    const more = count > 1 ? ` (and ${count - 1} more problem${count > 2 ? "s" : ""})` : "";
    super(
      `${printable(file)}: not a valid Secflow sample: ${first.path}: ${
        printable(first.message)
      }${more}`,
    );
  }
}

function checkKeys(
  obj: Record<string, unknown>,
  expected: readonly string[],
  at: string,
  add: (path: string, message: string) => void,
): void {
  const keys = Object.keys(obj);
  // The common case, every key in order: one pass.
  if (keys.length === expected.length && keys.every((k, i) => k === expected[i])) return;
  for (const key of expected) if (!keys.includes(key)) add(`${at}.${key}`, "is missing");
  for (const key of keys) if (!expected.includes(key)) add(`${at}.${key}`, "is not a known key");
  const present = keys.filter((k) => expected.includes(k));
  const wanted = expected.filter((k) => keys.includes(k));
  if (present.join() !== wanted.join()) {
    add(at, `keys must be in the order ${expected.join(", ")}; found ${keys.join(", ")}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function kind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

function show(v: unknown): string {
  const text = typeof v === "number" && !Number.isFinite(v)
    ? String(v)
    : JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
