/**
 * Zeek `conn.log` (+ optional `dns.log`) to Secflows, exactly as SECFLOW.md section 5 describes
 * the platform's converter, in any shape Zeek writes (TSV with or without `#fields`, JSON lines,
 * JSON arrays, flat or nested `id` keys, epoch or ISO-8601 `ts`), from text, bytes (gzip or
 * not), a stream or chunks. Pure: chunks in, sessions and samples out, no I/O.
 *
 * The parts: `conn_reader.ts` and `dns_reader.ts` parse, `rules.ts` is section 5,
 * `sessions.ts` holds its result, `names.ts` the dns.log's names, `sample_text.ts` streams the
 * `.sf`, `sniff.ts` recognises a log from its first bytes.
 * @module
 */
import type { HarvestedName } from "../dns.ts";
import { InputError } from "../errors.ts";
import { gunzipIfNeeded } from "../gzip.ts";
import { type BuildOptions, buildSample, type BuiltSample } from "../sample.ts";
import type { ZeekReaderOptions } from "./_log_reader.ts";
import type { ZeekLogReader } from "./_log_reader.ts";
import { ZeekConnReader, type ZeekStats } from "./conn_reader.ts";
import { ZeekDnsReader } from "./dns_reader.ts";
import { ZeekNames } from "./names.ts";
import type { ZeekSessions } from "./sessions.ts";
import type { ZeekShape } from "./_fields.ts";

export type { ZeekKind, ZeekShape } from "./_fields.ts";
export { MAX_LINE_BYTES } from "./_lines.ts";
export {
  MAX_LINE_WARNINGS,
  NO_RECORD_LIMIT,
  wrongLog,
  type ZeekReaderOptions,
} from "./_log_reader.ts";
export { ZeekConnReader, type ZeekStats } from "./conn_reader.ts";
export { ZeekDnsReader } from "./dns_reader.ts";
export { ZeekNames } from "./names.ts";
export { ZeekSessions } from "./sessions.ts";
export { sniffText, type TextSniff } from "./sniff.ts";

/** Text, bytes, a stream or an iterable of chunks; gzip is recognised and decompressed. */
export type ZeekSource =
  | string
  | Uint8Array
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>;

/** Input of {@link convertZeek}. */
export interface ZeekInput {
  /** The conn.log. */
  conn: ZeekSource;
  /** The dns.log that goes with it, if any. */
  dns?: ZeekSource;
  /** Name of the conn.log in warnings and errors (default "conn.log"). */
  connName?: string;
  /** Name of the dns.log in warnings and errors (default "dns.log"). */
  dnsName?: string;
}

/** A conn.log (+ dns.log) read and grouped: sessions, names, start time. */
export interface ZeekAnalysis {
  sessions: ZeekSessions;
  startTime: number | undefined;
  /** dns.log A answers by address (built on first use from {@link harvest}). */
  readonly names: Map<number, HarvestedName[]>;
  /** dns.log A answers, compact (when absent, {@link names} is used). */
  harvest?: ZeekNames;
  /** What the conn.log held. */
  stats: ZeekStats;
  /** Every warning, one line each. */
  warnings: string[];
  /** Shape of the conn.log. */
  shape: ZeekShape | undefined;
}

/** Chunks of any {@link ZeekSource}, gzip decompressed when the bytes start with 1f 8b. */
export async function* sourceChunks(source: ZeekSource): AsyncGenerator<Uint8Array> {
  if (typeof source === "string") {
    yield new TextEncoder().encode(source);
    return;
  }
  let iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = source instanceof Uint8Array
    ? [source]
    : source as AsyncIterable<Uint8Array>;
  if (source instanceof ReadableStream) iterable = source as unknown as AsyncIterable<Uint8Array>;
  yield* gunzipIfNeeded(iterable);
}

/** Feeds a source into a reader (then ends it), naming the log in errors. */
export async function feedReader(reader: ZeekLogReader, source: ZeekSource): Promise<void> {
  try {
    for await (const chunk of sourceChunks(source)) reader.push(chunk);
  } catch (e) {
    if (e instanceof InputError && !e.message.startsWith(reader.name)) {
      throw new InputError(`${reader.name}: ${e.message}`, { ...e.facts, file: reader.name });
    }
    throw e;
  }
  reader.end();
}

/** Reads a conn.log and optional dns.log and applies section 5 (names not yet chosen). */
export async function analyzeZeek(
  input: ZeekInput,
  options: ZeekReaderOptions = {},
): Promise<ZeekAnalysis> {
  const warnings: string[] = [];
  const onWarning = (w: string) => {
    warnings.push(w);
    options.onWarning?.(w);
  };
  // The conn.log's columns are allocated first, while the heap is small: their size makes V8
  // collect garbage, and a collection costs more once the dns.log's names are in the heap.
  const conn = new ZeekConnReader(input.connName ?? "conn.log", {
    onWarning,
    rowsHint: options.rowsHint,
    bytesHint: options.bytesHint,
    fastPath: options.fastPath,
    maxLineBytes: options.maxLineBytes,
  });
  const harvest = input.dns === undefined ? new ZeekNames() : undefined;
  let dnsReader: ZeekDnsReader | undefined;
  if (input.dns !== undefined) {
    dnsReader = new ZeekDnsReader(input.dnsName ?? "dns.log", {
      onWarning,
      fastPath: options.fastPath,
      maxLineBytes: options.maxLineBytes,
    });
    await feedReader(dnsReader, input.dns);
  }
  const names = dnsReader?.harvest ?? harvest!;
  await feedReader(conn, input.conn);
  const sessions = conn.sessions();
  return {
    sessions,
    startTime: conn.startTime,
    harvest: names,
    get names() {
      return names.toMap();
    },
    stats: conn.stats,
    warnings,
    shape: conn.shape,
  };
}

/** A converted Zeek log: the sample (null when no Secflows) and what the cache learns. */
export interface ZeekConversion extends BuiltSample {
  /** What the conn.log held. */
  stats: ZeekStats;
  /** Every warning, one line each. */
  warnings: string[];
}

/**
 * Converts a Zeek conn.log (and optional dns.log), given as text, bytes (gzip or not), a stream
 * or chunks, into a Secflow sample.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convertZeek } from "./mod.ts";
 * const conn = "1700000000.5\tC1\t10.0.0.2\t50000\t93.184.216.34\t443\ttcp\tssl\t1.5\t100\t2000" +
 *   "\tSF\t-\t-\t0\tShADadFf\t10\t600\t12\t2600\t-\n";
 * const { sample } = await convertZeek({ conn }, { fileName: "x.sf" });
 * assert.equal(sample?.flashes[0].dst, "93.184.216.34:443");
 * assert.equal(sample?.flashes[0].duration, 1.5);
 * ```
 */
export async function convertZeek(
  input: ZeekInput,
  options: BuildOptions & ZeekReaderOptions,
): Promise<ZeekConversion> {
  const analysis = await analyzeZeek(input, options);
  const built = buildSample(
    {
      sessions: analysis.sessions.records(),
      startTime: analysis.startTime,
      active: analysis.sessions.active(),
      names: analysis.names,
    },
    options,
  );
  return {
    sample: built.sample,
    get cacheUpdates() {
      return built.cacheUpdates;
    },
    stats: analysis.stats,
    warnings: analysis.warnings,
  };
}
