/**
 * File-level conversion: open the input once (a file, standard input, or a Zeek folder), detect
 * what it is from its first bytes (`secflow/detect.ts`), stream it through the pure core, apply
 * the optional persistent name cache, and write the sample with `io/output.ts`.
 * @module
 */
import { basename, dirname, extname, join } from "node:path";
import { absolutePath } from "./_paths.ts";
import { describeStart } from "../secflow/capture_reader.ts";
import { gunzipIfNeeded } from "../secflow/gzip.ts";
import { convertCapture } from "../secflow/convert_capture.ts";
import { detect, type Detection } from "../secflow/detect.ts";
import { InputError } from "../secflow/errors.ts";
import { printable } from "../secflow/printable.ts";
import {
  buildSample,
  flashText,
  newSampleHash,
  sampleChunks,
  SampleError,
  sampleHeadText,
  type SampleProblem,
  validateSample,
} from "../secflow/sample.ts";
import { type SampleHead, SampleReader } from "../secflow/sample_reader.ts";
import type { Flash, NameSource, Sample } from "../secflow/types.ts";
import type { EngineStats } from "../secflow/engine.ts";
import type { PacketCounts } from "../secflow/packet_counts.ts";
import type { ZeekAnalysis, ZeekStats } from "../secflow/zeek/mod.ts";
import { inputChunks, type InputSource, isStdin, openInput, openSource } from "./files.ts";
import { readNameCache, updateNameCache } from "./name_cache.ts";
import { isStdout, writeOutput } from "./output.ts";

// The Zeek reader and writer are large: loaded only for text inputs, so converting a capture
// does not pay for compiling them. Literal specifiers keep them in `deno compile` binaries.
const zeekFiles = () => import("./_zeek.ts");
const zeekText = () => import("../secflow/zeek/sample_text.ts");
const zeekCore = () => import("../secflow/zeek/mod.ts");

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
  /**
   * `fileName` written into the sample (default: the input's base name with `.sf`; for
   * {@link convertFileTo}, the output's base name).
   */
  fileName?: string;
  /** Called for every warning as it happens (they are also returned). */
  onWarning?: (message: string) => void;
  /** Called once the input is open (for progress: `bytesRead` of `size`). */
  onOpen?: (source: InputSource) => void;
  /**
   * At most this many Secflows: more is an `InputError` of kind `too-large`, thrown as soon as a
   * `.sf` input passes it while being read, and once a capture or log is converted. For callers
   * that keep the whole sample in memory, and more beside it (a table, a page).
   */
  maxSecflows?: number;
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
  /** For captures: where every packet went, in detail. */
  packets?: PacketCounts;
  /** Row counters, for Zeek logs. */
  zeek?: ZeekStats;
  /** How destinations were named. */
  naming?: NamingSummary;
}

/** How the destinations of a sample were named: flashes by name source. */
export interface NamingSummary {
  /** Flashes (each has one destination). */
  total: number;
  /** From the input's own DNS answers (a capture's, or the dns.log's). */
  passive: number;
  /** From the persistent name cache. */
  cache: number;
  /** Left as the address. */
  original: number;
  /** Named by the session rule. */
  session: number;
  /** Whether the passive names came from a Zeek dns.log. */
  fromDnsLog: boolean;
  /** DNS answers skipped because a resolver would reject their name. */
  rejectedNames: number;
}

/**
 * The default output path: next to the input, its extension replaced by `.sf`; a `.gz` goes
 * with the extension before it (`x.pcap.gz` → `x.sf`, `z.sf.gz` → `z.sf`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultOutputPath } from "./convert.ts";
 * assert.equal(defaultOutputPath("caps/x.pcap"), "caps/x.sf");
 * assert.equal(defaultOutputPath("caps/x.pcap.gz"), "caps/x.sf");
 * assert.equal(defaultOutputPath("conn.log.GZ"), "conn.sf");
 * assert.equal(defaultOutputPath("noext"), "noext.sf");
 * ```
 */
export function defaultOutputPath(input: string): string {
  let base = basename(input);
  if (/\.gz$/i.test(base) && base.length > 3) base = base.slice(0, -3);
  const ext = extname(base);
  return join(dirname(input), `${ext ? base.slice(0, -ext.length) : base}.sf`);
}

const WHAT = "not a pcap or pcapng capture, Zeek log or Secflow sample";

/** The input format of a detection, or an {@link InputError} that says what the input is not. */
export function formatOf(name: string, d: Detection, rawHead: Uint8Array): InputFormat {
  const shown = printable(name);
  if (rawHead.length === 0) {
    throw new InputError(`${shown}: the file is empty, ${WHAT}`, { kind: "empty", file: name });
  }
  switch (d.kind) {
    case "pcap":
    case "pcapng":
    case "secflow":
      return d.kind;
    case "zeek":
    case "zeek-conn":
    case "zeek-dns":
      return "zeek";
  }
  if (d.gzip && d.content.length === 0) {
    throw new InputError(`${shown}: gzip data that cannot be read (damaged or cut short)`, {
      kind: "damaged",
      file: name,
    });
  }
  throw new InputError(`${shown}: ${WHAT} (${describeStart(d.gzip ? d.content : rawHead)})`, {
    kind: "unrecognised",
    file: name,
  });
}

/**
 * The format to read `source` as: the detected one, or the one asked for, which must not
 * contradict a format the content shows for certain (a pcap read as a Zeek log gave a "malformed
 * record" and nothing else). Content nothing recognises is read as asked.
 */
async function formatFor(
  source: InputSource,
  asked?: InputFormat,
  detection?: Detection,
): Promise<InputFormat> {
  detection ??= await detect(source.head);
  if (detection.gzip && detection.content.length === 0) await throwGzipFault(source);
  if (asked === undefined) return formatOf(source.name, detection, source.head);
  const kind = detection.kind;
  const shown: InputFormat | undefined = kind === "unknown"
    ? undefined
    : kind.startsWith("zeek")
    ? "zeek"
    : kind as InputFormat;
  // pcap and pcapng are told apart by the capture reader, with its own message.
  const captures = (f?: InputFormat) => f === "pcap" || f === "pcapng";
  if (shown !== undefined && shown !== asked && !(captures(shown) && captures(asked))) {
    throw new InputError(
      `${printable(source.name)}: asked to read it as ${describeFormat(asked)}, but the content ` +
        `is ${describeFormat(shown)}`,
      { kind: "mismatch", file: source.name, value: shown },
    );
  }
  return asked;
}

/**
 * A gzip input whose head gave no content at all: the decompressor's own error, with its offset
 * and (for gzip files joined with `cat`) its advice. Detection alone only knows that nothing came
 * out, and a small file is all head.
 */
async function throwGzipFault(source: InputSource): Promise<void> {
  for await (const _ of gunzipIfNeeded([source.head], source.name)) return;
}

function describeFormat(format: InputFormat): string {
  return format === "zeek"
    ? "a Zeek log"
    : format === "secflow"
    ? "a Secflow sample"
    : `a ${format} capture`;
}

/**
 * Detects the format of the file at `path` from its content (never its name): pcap, pcapng, Zeek
 * TSV or JSON, or a Secflow sample; gzip-compressed files are looked through. With `asked`, the
 * file is to be read as that format: it is returned unless the content is certainly another one
 * (an `InputError` of kind `mismatch`, as {@link convertFile} with that `format` throws).
 */
export async function detectFormat(path: string, asked?: InputFormat): Promise<InputFormat> {
  return await formatFor(await openSource(path), asked);
}

/**
 * {@link detectFormat} for a file to be converted on its own (an upload): a Zeek dns.log alone
 * is refused as {@link convertFile} refuses it (it names destinations; Secflows come from the
 * conn.log).
 */
export async function detectConvertible(path: string, asked?: InputFormat): Promise<InputFormat> {
  const source = await openSource(path);
  const detection = await detect(source.head);
  const format = await formatFor(source, asked, detection);
  if (format === "zeek" && detection.kind === "zeek-dns") {
    const { wrongLog } = await import("../secflow/zeek/_log_reader.ts");
    throw wrongLog(source.name, "dns", "conn");
  }
  return format;
}

/** A Zeek folder: its conn.log (or rotated pieces, in order) and its dns.log. */
export interface ZeekFolder {
  dir: string;
  conn: string[];
  dns?: string;
}

const CONN_NAME = /^conn(\.[^/]*)?\.log(\.gz)?$/;
const DNS_NAME = /^dns(\.[^/]*)?\.log(\.gz)?$/;

/**
 * The Zeek folder at `dir`, or undefined when it holds no conn.log: `conn.log` plain or `.gz`,
 * or Zeek's rotated `conn.*.log[.gz]` (read in name order, which is time order), with `dns.log`
 * (or `dns.log.gz`) when there is one.
 */
export async function zeekFolder(dir: string): Promise<ZeekFolder | undefined> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) names.push(e.name);
  names.sort();
  const conn = names.filter((n) => CONN_NAME.test(n));
  if (conn.length === 0) return undefined;
  // A plain conn.log and its own .gz copy would count twice: the plain one wins.
  const unique = conn.filter((n) => !(n.endsWith(".gz") && conn.includes(n.slice(0, -3))));
  const dnsNames = names.filter((n) => DNS_NAME.test(n));
  const dns = dnsNames.find((n) => n === "dns.log") ?? dnsNames.find((n) => n === "dns.log.gz");
  return { dir, conn: unique.map((n) => join(dir, n)), dns: dns ? join(dir, dns) : undefined };
}

/** A dns.log beside a conn.log (for the hint when `--dns` was not given). */
export async function dnsLogBeside(connPath: string): Promise<string | undefined> {
  for (const name of ["dns.log", "dns.log.gz"]) {
    const p = join(dirname(connPath), name);
    if (Deno.permissions.querySync({ name: "read", path: p }).state !== "granted") continue;
    try {
      if ((await Deno.stat(p)).isFile) return p;
    } catch { /* not there */ }
  }
  return undefined;
}

/**
 * Converts the file at `path` into a Secflow sample (held in memory; {@link convertFileTo}
 * streams instead).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convertFile } from "./convert.ts";
 * // A pcap of one UDP packet, 10.0.0.2:50000 -> 93.184.216.34:443.
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(
 *   `${dir}/capture.pcap`,
 *   Uint8Array.fromHex(
 *     "d4c3b2a1020004000000000000000000ffff000001000000" + // file header: Ethernet
 *       "00f15365000000002a0000002a000000" + // record header: 1700000000 s, 42 bytes
 *       "0000000000020000000000010800" + // Ethernet header: IPv4
 *       "4500001c0000000040110000" + "0a0000025db8d822" + // IPv4 header: UDP, addresses
 *       "c35001bb00080000", // UDP header: ports 50000 -> 443
 *   ),
 * );
 * const { format, sample } = await convertFile(`${dir}/capture.pcap`);
 * assert.equal(format, "pcap");
 * assert.equal(sample?.fileName, "capture.sf");
 * assert.equal(sample?.trafficDate, "1700000000.0");
 * assert.deepEqual(sample?.flashes.map((f) => [f.src, f.dst]), [
 *   ["10.0.0.2:50000", "93.184.216.34:443"],
 * ]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function convertFile(
  path: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  checkPath("convertFile", "path", path);
  options = checkedOptions("convertFile", options);
  const folder = await folderAt(path);
  if (folder) {
    const warnings: string[] = [];
    const dnsLog = options.dnsLog ?? folder.dns;
    const analysis = await analyzeFolder(folder, dnsLog, (w) => {
      warnings.push(w);
      options.onWarning?.(w);
    });
    const fileName = options.fileName ?? basename(defaultOutputPath(path));
    return await zeekResult(path, analysis, { ...options, dnsLog }, fileName, warnings);
  }
  const source = await openSource(path);
  options.onOpen?.(source);
  return await convertSource(source, options);
}

/** {@link convertFile} on an opened input. */
async function convertSource(
  source: InputSource,
  options: ConvertOptions,
): Promise<ConvertResult> {
  const path = source.path ?? "stdin";
  const format = await formatFor(source, options.format);
  const fileName = options.fileName ?? basename(defaultOutputPath(path));
  const warnings: string[] = [];
  const warn = (w: string) => {
    warnings.push(w);
    options.onWarning?.(w);
  };
  if (format === "secflow") {
    rejectDnsLog(options, "a Secflow sample");
    const sample = await readSecflowSource(source, fileName, options.maxSecflows);
    return { sample, format, warnings, naming: summarize(sample, false, 0) };
  }
  if (format === "pcap" || format === "pcapng") {
    rejectDnsLog(options, `a ${format} capture`);
    const cache = options.dnsCache ? await readNameCache(options.dnsCache) : undefined;
    const result = await convertCapture(() => source.content(), source.name, { fileName, cache });
    if (result.format !== format) {
      throw new InputError(
        `${printable(source.name)}: not a ${format} capture (it is ${result.format})`,
        { kind: "mismatch", file: source.name, value: result.format },
      );
    }
    result.warnings.forEach(warn);
    checkSecflowCount(source.name, result.sample, options.maxSecflows);
    if (options.dnsCache && cache) {
      await updateNameCache(options.dnsCache, cache, result.cacheUpdates, warn);
    }
    return {
      sample: result.sample,
      format,
      warnings,
      stats: { ...result.analysis.stats, records: result.records },
      packets: result.packets,
      naming: summarize(result.sample, false, result.analysis.harvest.rejectedNames),
    };
  }
  const analysis = await analyzeZeekSource(source, options.dnsLog, warn);
  return await zeekResult(source.name, analysis, options, fileName, warnings);
}

/** A Zeek analysis as a sample in memory (the name cache updated when one is given). */
async function zeekResult(
  name: string,
  analysis: ZeekAnalysis,
  options: ConvertOptions,
  fileName: string,
  warnings: string[],
): Promise<ConvertResult> {
  const cache = options.dnsCache ? await readNameCache(options.dnsCache) : undefined;
  const built = buildSample(
    {
      sessions: analysis.sessions.records(),
      startTime: analysis.startTime,
      active: analysis.sessions.active(),
      names: analysis.names,
    },
    { fileName, cache },
  );
  checkSecflowCount(name, built.sample, options.maxSecflows);
  if (options.dnsCache && cache) {
    await updateNameCache(options.dnsCache, cache, built.cacheUpdates, (w) => {
      warnings.push(w);
      options.onWarning?.(w);
    });
  }
  return {
    sample: built.sample,
    format: "zeek",
    warnings,
    zeek: analysis.stats,
    naming: summarize(built.sample, options.dnsLog !== undefined, analysis.harvest?.rejected ?? 0),
  };
}

function rejectDnsLog(options: ConvertOptions, what: string): void {
  if (options.dnsLog) {
    throw new InputError(
      `${printable(options.dnsLog)}: a dns.log goes with a Zeek conn.log, not with ${what}`,
      { kind: "mismatch", file: options.dnsLog },
    );
  }
}

function summarize(
  sample: Sample | null,
  fromDnsLog: boolean,
  rejectedNames: number,
): NamingSummary {
  const counts = { passive: 0, cache: 0, original: 0, session: 0 } as Record<NameSource, number>;
  for (const f of sample?.flashes ?? []) counts[f.destinationNameSource]++;
  return { total: sample?.flashes.length ?? 0, ...counts, fromDnsLog, rejectedNames };
}

/** A Zeek conn.log from a source (stdin, or a file) with an optional dns.log file. */
async function analyzeZeekSource(
  source: InputSource,
  dnsLog: string | undefined,
  warn: (w: string) => void,
): Promise<ZeekAnalysis> {
  if (source.path !== undefined && !isStdin(source.path) && source.size !== undefined) {
    const { analyzeZeekFiles } = await zeekFiles();
    return await analyzeZeekFiles(source.path, dnsLog, { onWarning: warn });
  }
  if (dnsLog !== undefined) (await openInput(dnsLog)).close();
  const { analyzeZeek } = await zeekCore();
  return await analyzeZeek(
    {
      conn: source.content(),
      connName: source.name,
      dns: dnsLog === undefined ? undefined : inputChunks(dnsLog),
      dnsName: dnsLog,
    },
    { onWarning: warn },
  );
}

/** The conn.log pieces of a Zeek folder, one after the other, each ending in a newline. */
async function* concatenated(paths: string[]): AsyncGenerator<Uint8Array> {
  const newline = new Uint8Array([10]);
  for (const p of paths) {
    let last = 10;
    for await (const chunk of inputChunks(p)) {
      if (chunk.length > 0) last = chunk[chunk.length - 1];
      yield chunk;
    }
    if (last !== 10) yield newline;
  }
}

/** A `.sf` source read and validated, with a new hash and `fileName`; flashes kept in memory. */
async function readSecflowSource(
  source: InputSource,
  fileName: string,
  maxSecflows = Infinity,
): Promise<Sample | null> {
  const flashes: Flash[] = [];
  let head: SampleHead | undefined;
  const reader = new SampleReader({
    onHead: (h) => head = h,
    onFlash: (f) => flashes.push(f),
  });
  await feedSample(reader, source, () => flashes.length > maxSecflows);
  if (reader.failed) throw new SampleError(source.name, reader.problems, reader.problemCount);
  if (flashes.length > maxSecflows) throw tooManySecflows(source.name, maxSecflows);
  const trafficDate = (head?.fields.get("trafficDate") as string | undefined) ?? "0.0";
  return { hash: newSampleHash(), trafficDate, fileName, flashes };
}

/**
 * Conversion stops at the first problem (validation reads on to list them all), or when `stop`
 * says so.
 */
async function feedSample(
  reader: SampleReader,
  source: InputSource,
  stop: () => boolean = () => false,
): Promise<void> {
  const chunks = source.content()[Symbol.asyncIterator]();
  for (let r = await chunks.next(); !r.done; r = await chunks.next()) {
    reader.push(r.value);
    if (reader.failed) return await endIfNothingFollows(reader, chunks);
    if (stop()) return void await chunks.return?.();
  }
  reader.end();
}

/**
 * Ends `reader` if its input has nothing after what it was given: a reader that stopped at its
 * first problem must not be ended in the middle of the text (its end would add a "cut short" that
 * is not true, and show it first), but a text that really ends there is cut short.
 */
export async function endIfNothingFollows(
  reader: SampleReader,
  rest: AsyncIterator<Uint8Array>,
): Promise<void> {
  if (!reader.failed) return reader.end();
  for (let r = await rest.next(); !r.done; r = await rest.next()) {
    if (r.value.length > 0) return void await rest.return?.();
  }
  reader.end();
}

/** A path argument: a non-empty string (`convertFile(undefined)` looked for a file "undefined"). */
function checkPath(fn: string, name: string, path: unknown): void {
  if (typeof path !== "string" || path === "") {
    throw new TypeError(`${fn}: ${name} must be a file path, not ${JSON.stringify(path) ?? path}`);
  }
}

/** Every {@link InputFormat}, in the order help texts list them. */
export const INPUT_FORMATS: readonly InputFormat[] = ["pcap", "pcapng", "zeek", "secflow"];

/**
 * Conversion options as given by a plain JavaScript caller, checked: null is none, and a value of
 * the wrong kind is a TypeError naming it (a `fileName` of `{}` was written as "[object Object]").
 */
function checkedOptions(fn: string, options: ConvertOptions | null | undefined): ConvertOptions {
  if (options === null || options === undefined) return {};
  if (typeof options !== "object") throw new TypeError(`${fn}: options must be an object`);
  for (const key of ["fileName", "dnsLog", "dnsCache"] as const) {
    const v = options[key];
    if (v !== undefined && (typeof v !== "string" || v === "")) {
      throw new TypeError(`${fn}: ${key} must be a non-empty string, not ${JSON.stringify(v)}`);
    }
  }
  if (options.format !== undefined && !INPUT_FORMATS.includes(options.format)) {
    throw new TypeError(
      `${fn}: format must be one of ${INPUT_FORMATS.join(", ")}, not ${
        JSON.stringify(options.format)
      }`,
    );
  }
  const max = options.maxSecflows;
  if (max !== undefined && !(typeof max === "number" && max >= 0)) {
    throw new RangeError(`${fn}: maxSecflows must be a number of at least 0, not ${max}`);
  }
  return options;
}

function tooManySecflows(name: string, max: number): InputError {
  return new InputError(
    `${printable(name)}: more than ${max.toLocaleString("en-US")} Secflows, the most asked for`,
    { kind: "too-large", file: name, value: String(max) },
  );
}

/** Throws {@link tooManySecflows} when `sample` holds more than `max` Secflows. */
function checkSecflowCount(name: string, sample: Sample | null, max = Infinity): void {
  if (sample && sample.flashes.length > max) throw tooManySecflows(name, max);
}

/** A `.sf` file read and validated against section 1, with a new hash and `fileName`. */
export async function readSecflow(path: string, fileName: string): Promise<Sample | null> {
  return await readSecflowSource(await openSource(path), fileName);
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
  /** For captures: where every packet went, in detail. */
  packets?: PacketCounts;
  /** Row counters, for Zeek logs. */
  zeek?: ZeekStats;
  /** How destinations were named. */
  naming?: NamingSummary;
  /** For a conn.log converted without `--dns`: a dns.log found beside it. */
  dnsLogBeside?: string;
  /** The input's name in messages (`standard input` for `-`). */
  name: string;
}

/**
 * Converts `input` (a file, `-` or `/dev/stdin` for standard input, or a Zeek folder) and writes
 * the sample to `output` (see `io/output.ts`; nothing is written when no Secflows result).
 * Zeek logs and `.sf` inputs are written piece by piece, so a million sessions never exist as one
 * object graph or one string.
 */
export async function convertFileTo(
  input: string,
  output: string,
  options: ConvertOptions = {},
): Promise<WriteResult> {
  checkPath("convertFileTo", "input", input);
  checkPath("convertFileTo", "output", output);
  options = checkedOptions("convertFileTo", options);
  const folder = await folderAt(input);
  if (folder) return await convertZeekFolder(folder, output, options);
  const source = await openSource(input);
  options.onOpen?.(source);
  const format = await formatFor(source, options.format);
  if (format === "secflow") {
    rejectDnsLog(options, "a Secflow sample");
    // Written over itself: read whole first (streaming would overwrite what is still unread
    // when the output cannot be replaced atomically).
    if (!(await sameFile(source, output))) return await rewriteSecflow(source, output, options);
  }
  // A capture or log written over with its own sample would be gone: refuse before reading.
  if (format !== "secflow" && await sameFile(source, output)) {
    throw new InputError(
      `${printable(output)}: is the input itself; the sample would replace the ${format} ` +
        `data it is made from: write it elsewhere`,
    );
  }
  if (options.dnsLog !== undefined && await samePath(options.dnsLog, output)) {
    throw new InputError(
      `${
        printable(output)
      }: is the dns.log given with the conn.log; the sample would replace it: ` +
        `write it elsewhere`,
    );
  }
  if (format !== "zeek") {
    // The sample is named after the file it is written to, whatever the format (a capture's was
    // named after the input, a log's or a sample's after the output).
    const result = await convertSource(source, {
      ...options,
      format,
      fileName: options.fileName ?? basename(output),
    });
    const flashes = result.sample?.flashes.length ?? 0;
    // Built here, so valid by construction: writeSample's check (for callers' samples) would
    // cost ~10 ms per 7,700 flashes of the 300k benchmark for nothing.
    if (result.sample && flashes > 0) await writeOutput(output, sampleChunks(result.sample));
    return {
      format,
      warnings: result.warnings,
      flashes,
      stats: result.stats,
      packets: result.packets,
      naming: result.naming,
      name: source.name,
    };
  }
  const warnings: string[] = [];
  const warn = (w: string) => {
    warnings.push(w);
    options.onWarning?.(w);
  };
  const analysis = await analyzeZeekSource(source, options.dnsLog, warn);
  const written = await writeZeek(analysis, output, options);
  const beside = options.dnsLog === undefined && source.path !== undefined
    ? await dnsLogBeside(source.path)
    : undefined;
  return {
    format,
    warnings,
    flashes: written.flashes,
    zeek: analysis.stats,
    naming: { ...written.naming, fromDnsLog: options.dnsLog !== undefined },
    dnsLogBeside: beside,
    name: source.name,
  };
}

/** Whether `output` is the input file itself (by path, or by inode when both can be seen). */
async function sameFile(source: InputSource, output: string): Promise<boolean> {
  if (source.path === undefined || isStdin(source.path)) return false;
  return await samePath(source.path, output);
}

/** Whether two paths name one file (the same path, or links to one file). */
async function samePath(path: string, output: string): Promise<boolean> {
  if (isStdin(path) || isStdout(output)) return false;
  if (absolutePath(path) === absolutePath(output)) return true;
  if (Deno.permissions.querySync({ name: "read", path: output }).state !== "granted") return false;
  try {
    const [a, b] = await Promise.all([Deno.stat(path), Deno.stat(output)]);
    return a.dev === b.dev && a.ino !== null && a.ino === b.ino;
  } catch {
    return false;
  }
}

/**
 * The Zeek folder `path` names, or undefined when `path` is not a directory (standard input, a
 * file); a directory without a conn.log is an {@link InputError}.
 */
async function folderAt(path: string): Promise<ZeekFolder | undefined> {
  if (isStdin(path)) return undefined;
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(path);
  } catch { /* openSource says what is wrong */ }
  if (!info?.isDirectory) return undefined;
  const folder = await zeekFolder(path);
  if (!folder) {
    throw new InputError(
      `${
        printable(path)
      }: is a directory without a Zeek conn.log (give its files, or several inputs)`,
      { kind: "unrecognised", file: path },
    );
  }
  return folder;
}

/** A folder's conn.log (or its rotated pieces, as one stream) analysed with `dnsLog`. */
async function analyzeFolder(
  folder: ZeekFolder,
  dnsLog: string | undefined,
  warn: (w: string) => void,
): Promise<ZeekAnalysis> {
  if (folder.conn.length === 1) {
    const { analyzeZeekFiles } = await zeekFiles();
    return await analyzeZeekFiles(folder.conn[0], dnsLog, { onWarning: warn });
  }
  if (dnsLog !== undefined) (await openInput(dnsLog)).close();
  const { analyzeZeek } = await zeekCore();
  return await analyzeZeek(
    {
      conn: concatenated(folder.conn),
      connName: `${folder.dir}/conn.*.log`,
      dns: dnsLog === undefined ? undefined : inputChunks(dnsLog),
      dnsName: dnsLog,
    },
    { onWarning: warn },
  );
}

async function convertZeekFolder(
  folder: ZeekFolder,
  output: string,
  options: ConvertOptions,
): Promise<WriteResult> {
  const dnsLog = options.dnsLog ?? folder.dns;
  for (const log of dnsLog === undefined ? folder.conn : [...folder.conn, dnsLog]) {
    if (await samePath(log, output)) {
      throw new InputError(
        `${printable(output)}: is the folder's ${basename(log)}; the sample would replace it: ` +
          `write it elsewhere`,
      );
    }
  }
  const warnings: string[] = [];
  const warn = (w: string) => {
    warnings.push(w);
    options.onWarning?.(w);
  };
  const analysis = await analyzeFolder(folder, dnsLog, warn);
  const written = await writeZeek(analysis, output, options);
  return {
    format: "zeek",
    warnings,
    flashes: written.flashes,
    zeek: analysis.stats,
    naming: { ...written.naming, fromDnsLog: dnsLog !== undefined },
    name: folder.dir,
  };
}

async function writeZeek(
  analysis: ZeekAnalysis,
  output: string,
  options: ConvertOptions,
): Promise<{ flashes: number; naming: NamingSummary }> {
  const fileName = options.fileName ?? basename(output);
  const cache = options.dnsCache ? await readNameCache(options.dnsCache) : undefined;
  const { zeekSampleText } = await zeekText();
  const text = zeekSampleText(analysis, { fileName, cache });
  if (text.flashes > 0) await writeOutput(output, text.chunks(2), { twoBuffers: true });
  if (options.dnsCache && cache) {
    await updateNameCache(options.dnsCache, cache, text.cacheUpdates, options.onWarning);
  }
  const [passive, fromCache, original, session] = text.sourceCounts;
  return {
    flashes: text.flashes,
    naming: {
      total: text.flashes,
      passive,
      cache: fromCache,
      original,
      session,
      fromDnsLog: false,
      rejectedNames: analysis.harvest?.rejected ?? 0,
    },
  };
}

/**
 * A `.sf` input validated and written back with a new hash and `fileName`, flash by flash as it
 * is read: the output starts with the first valid flash, and a problem anywhere drops the
 * temporary file, so nothing is written unless the whole input is valid.
 */
async function rewriteSecflow(
  source: InputSource,
  output: string,
  options: ConvertOptions,
): Promise<WriteResult> {
  const fileName = options.fileName ?? basename(output);
  const counts = { passive: 0, cache: 0, original: 0, session: 0 } as Record<NameSource, number>;
  let flashes = 0;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    let pending: string[] = [];
    let head: SampleHead | undefined;
    const reader = new SampleReader({
      onHead: (h) => head = h,
      onFlash: (f) => {
        counts[f.destinationNameSource]++;
        if (flashes++ === 0) {
          const trafficDate = head?.fields.get("trafficDate") as string;
          pending.push(sampleHeadText({ hash: newSampleHash(), trafficDate, fileName }));
        } else {
          pending.push(", ");
        }
        pending.push(flashText(f));
      },
    });
    const input = source.content()[Symbol.asyncIterator]();
    for (let r = await input.next(); !r.done; r = await input.next()) {
      reader.push(r.value);
      if (reader.failed) break;
      if (pending.length > 0) {
        yield encoder.encode(pending.join(""));
        pending = [];
      }
    }
    await endIfNothingFollows(reader, input);
    if (reader.failed) throw new SampleError(source.name, reader.problems, reader.problemCount);
    if (flashes > 0) yield encoder.encode(pending.join("") + "]}");
  }
  await writeOutput(output, chunks(), { skipEmpty: true });
  return {
    format: "secflow",
    warnings: [],
    flashes,
    naming: { ...counts, total: flashes, fromDnsLog: false, rejectedNames: 0 },
    name: source.name,
  };
}

const encoder = new TextEncoder();

/** Writes a sample as `.sf` text (see `io/output.ts`: `-`, devices, symlinks, atomic files). */
export async function writeSample(path: string, sample: Sample): Promise<void> {
  // Checked first: a caller's sample with a `dst` of the wrong type was written as
  // "[object Object]", a file nothing reads back.
  const problems = validateSample(sample);
  if (problems.length > 0) throw new SampleError(path, problems, problems.length);
  await writeOutput(path, sampleChunks(sample));
}

/** The outcome of validating one `.sf` file. */
export interface ValidationReport {
  /** Every problem found (at most 1000 kept), each with its JSON path; empty when valid. */
  problems: SampleProblem[];
  /** Problems found in all. */
  problemCount: number;
  /** Number of flashes read. */
  flashes: number;
}

/**
 * Validates the `.sf` file at `path` (gzip looked through; `-` is standard input) against
 * section 1, streaming: memory does not grow with the file. A file that cannot be read or is not
 * JSON is reported as a problem at `$`, not thrown; a missing permission is thrown.
 */
export async function validateSampleFile(path: string): Promise<ValidationReport> {
  const reader = new SampleReader();
  try {
    const source = await openSource(path);
    for await (const chunk of source.content()) {
      reader.push(chunk);
      // Every problem of a sample is listed, but past broken JSON nothing more can be (/dev/zero).
      if (reader.stopped) break;
    }
    if (!reader.stopped) reader.end();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || (e as Error)?.name === "NotCapable") throw e;
    const message = firstLine(e).replace(`${path}: `, "");
    return {
      problems: [...reader.problems, { path: "$", message: `cannot read: ${message}` }],
      problemCount: reader.problemCount + 1,
      flashes: reader.flashes,
    };
  }
  return { problems: reader.problems, problemCount: reader.problemCount, flashes: reader.flashes };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
