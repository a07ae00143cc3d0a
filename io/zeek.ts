/**
 * Zeek logs and text inputs from files: gzip looked through (streamed with
 * `DecompressionStream`, never read whole), the conn.log / dns.log roles checked from content, and
 * the `.sf` text written piece by piece (asynchronously, while the next piece is made).
 *
 * A large uncompressed conn.log is read on a worker thread (this module is also the worker's
 * entry point) into row columns in shared memory, while this thread reads the dns.log, touches
 * the row pages ahead of the worker and groups each row as soon as it is stored. Anything that
 * stops the worker from running makes this thread read the conn.log itself: same result.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { InputError } from "../secflow/errors.ts";
import {
  analyzeZeek,
  feedReader,
  RowStore,
  type ZeekAnalysis,
  ZeekConnReader,
  ZeekDnsReader,
  type ZeekReaderOptions,
  type ZeekShape,
  type ZeekStats,
} from "../secflow/zeek.ts";
import { ZeekNames } from "../secflow/zeek_names.ts";
import type { ZeekSampleText } from "../secflow/zeek_sample.ts";
import { sniffText, type TextSniff } from "../secflow/zeek_parse.ts";
import { inputChunks, isGzip, openInput, readContentHead, readHead } from "./files.ts";

export { inputChunks, isGzip, readContentHead };

/** What a text file is, from its (decompressed) content. */
export async function sniffTextFile(path: string): Promise<TextSniff | undefined> {
  return sniffText(await readContentHead(path));
}

/**
 * Reads a conn.log (and a dns.log) from files and applies section 5. A dns.log given as the
 * conn.log, or a conn.log given as the dns.log, is an {@link InputError} that says so.
 */
export async function analyzeZeekFiles(
  connPath: string,
  dnsPath: string | undefined,
  options: ZeekFileOptions = {},
): Promise<ZeekAnalysis> {
  const conn = await sniffTextFile(connPath);
  if (conn?.format === "zeek" && conn.kind === "dns") {
    throw new InputError(
      `${connPath}: this is a Zeek dns.log, not a conn.log; give the conn.log as INPUT and this file with --dns`,
    );
  }
  if (dnsPath !== undefined) {
    const dns = await sniffTextFile(dnsPath);
    if (dns?.format === "zeek" && dns.kind === "conn") {
      throw new InputError(
        `${dnsPath}: this is a Zeek conn.log, not a dns.log; --dns takes the dns.log (give the conn.log as INPUT)`,
      );
    }
    if (!dns || dns.format !== "zeek") {
      const head = await readContentHead(dnsPath, 64);
      throw new InputError(
        head.length === 0
          ? `${dnsPath}: the file is empty, not a Zeek dns.log`
          : `${dnsPath}: not a Zeek dns.log`,
      );
    }
  }
  const file = await openInput(connPath); // one-line errors for missing files
  file.close();
  if (dnsPath !== undefined) (await openInput(dnsPath)).close();
  const gzip = isGzip(await readHead(connPath, 2));
  const size = (await Deno.stat(connPath)).size;
  // gzip'd logs shrink about 8 times.
  const bytesHint = options.bytesHint ?? (gzip ? size * 8 : size);
  // About 60 bytes is the shortest real TSV row; unused capacity costs address space only.
  const rowsHint = options.rowsHint ?? Math.ceil(bytesHint / 60);
  const parallel = options.parallel ?? (!gzip && size >= PARALLEL_BYTES);
  if (parallel && !gzip) {
    const analysis = await analyzeInParallel(connPath, dnsPath, size, {
      ...options,
      bytesHint,
      rowsHint,
    });
    if (analysis) return analysis;
  }
  return await analyzeZeek(
    {
      conn: inputChunks(connPath),
      dns: dnsPath === undefined ? undefined : inputChunks(dnsPath),
      connName: connPath,
      dnsName: dnsPath,
    },
    { ...options, rowsHint, bytesHint },
  );
}

/** Options of {@link analyzeZeekFiles}. */
export interface ZeekFileOptions extends ZeekReaderOptions {
  /**
   * Read the conn.log on a second thread while this one reads the dns.log and groups the rows
   * as they come (default: for uncompressed logs of {@link PARALLEL_BYTES} or more).
   */
  parallel?: boolean;
}

/** conn.logs at least this big are read on a second thread (see {@link ZeekFileOptions}). */
export const PARALLEL_BYTES = 16 << 20;

const WORKER_NAME = "networksage-zeek-conn";

/** What the conn.log thread is given. */
interface ConnJob {
  path: string;
  capacity: number;
  buffers: ArrayBufferLike[];
  /** [rows stored, finished (1), bytes read / 1024, job taken (1)] */
  progress: Int32Array;
}

/** What the conn.log thread answers. */
interface ConnDone {
  ok: boolean;
  /** The rows did not fit: read the log on one thread instead. */
  overflow?: boolean;
  error?: string;
  inputError?: boolean;
  size?: number;
  big?: [number, number][];
  stats?: ZeekStats;
  startTime?: number;
  shape?: ZeekShape;
  warnings?: string[];
}

/**
 * Whether a worker can load this module: a local module needs read access to its own file (a
 * run with `--allow-read=conn.log` alone has none, and Deno would print the worker's failure).
 */
function canLoadWorker(): boolean {
  const url = new URL(import.meta.url);
  if (url.protocol !== "file:") return true;
  return Deno.permissions.querySync({ name: "read", path: url }).state === "granted";
}

/**
 * The conn.log read on a worker thread into shared row columns, while this thread reads the
 * dns.log and then groups each row as soon as it is stored (the grouping is what must stay in
 * order; parsing and storing is most of the work). Undefined when a worker cannot be used (the
 * caller then reads on one thread); the result equals {@link analyzeZeek}'s.
 */
async function analyzeInParallel(
  connPath: string,
  dnsPath: string | undefined,
  size: number,
  options: ZeekReaderOptions,
): Promise<ZeekAnalysis | undefined> {
  // The shortest conn row with the six required fields takes 24 bytes: every row fits. The
  // capacity is address space; pages are touched as rows are stored.
  const capacity = Math.ceil(size / 20) + 1024;
  if (!canLoadWorker()) return undefined;
  let rows: RowStore;
  let worker: Worker;
  try {
    rows = new RowStore(capacity, "shared");
    worker = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
  } catch {
    return undefined;
  }
  const progress = new Int32Array(new SharedArrayBuffer(16));
  let settled = false;
  const done = new Promise<ConnDone>((resolve) => {
    worker.onmessage = (e: MessageEvent<ConnDone>) => {
      settled = true;
      resolve(e.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      // The worker could not run (or crashed): one thread does it all instead.
      e.preventDefault();
      settled = true;
      resolve({ ok: false, overflow: true });
    };
  });
  try {
    const job: ConnJob = { path: connPath, capacity, buffers: rows.buffers(), progress };
    worker.postMessage(job);
    const posted = performance.now();
    let silent = false;
    // Fresh pages cost a fault each (slow on VMs): this thread touches the row columns ahead of
    // the worker, which then writes into pages that are already there.
    const prefault = new Prefaulter(rows);
    while (prefault.upTo(Math.min(capacity, PREFAULT_AHEAD))) { /* the first rows */ }
    const warnings: string[] = [];
    const onWarning = (w: string) => {
      warnings.push(w);
      options.onWarning?.(w);
    };
    let names = new ZeekNames();
    if (dnsPath !== undefined) {
      const dns = new ZeekDnsReader(dnsPath, { onWarning });
      await feedReader(dns, inputChunks(dnsPath));
      names = dns.harvest;
    }
    const conn = new ZeekConnReader(connPath, { rows, rowsHint: options.rowsHint });
    let grouped = 0;
    let reserved = false;
    let finished = false;
    while (true) {
      // Seen before the count: a finished worker has published its last rows.
      if (!finished) finished = Atomics.load(progress, 1) !== 0;
      const stored = Atomics.load(progress, 0);
      if (!reserved && stored >= 4096 && options.bytesHint !== undefined) {
        // Size the key table for the whole log from the rows per byte so far.
        const kib = Math.max(1, Atomics.load(progress, 2));
        conn.keys.reserve(Math.min((stored / (kib * 1024)) * options.bytesHint, 1 << 26));
        reserved = true;
      }
      while (grouped < stored) conn.groupRow(grouped++);
      if (finished) break;
      if (prefault.upTo(Math.min(capacity, stored + PREFAULT_AHEAD))) continue;
      if (Atomics.wait(progress, 0, stored, 20) === "timed-out") {
        // Let the worker's messages in (an error ends the wait).
        await new Promise((r) => setTimeout(r, 0));
        if (settled && Atomics.load(progress, 1) === 0) break;
        if (Atomics.load(progress, 3) === 0 && performance.now() - posted > 10_000) {
          silent = true; // the worker never took the job
          break;
        }
      }
    }
    const result: ConnDone = silent ? { ok: false, overflow: true } : await done;
    if (!result.ok) {
      if (result.overflow) {
        // No worker after all: the conn.log on this thread (the dns.log is read already).
        worker.terminate();
        const alone = new ZeekConnReader(connPath, {
          onWarning,
          rowsHint: options.rowsHint,
          bytesHint: options.bytesHint,
        });
        await feedReader(alone, inputChunks(connPath));
        const sessions = alone.sessions();
        return {
          sessions,
          startTime: alone.startTime,
          harvest: names,
          get names() {
            return names.toMap();
          },
          stats: alone.stats,
          warnings,
          shape: alone.shape,
        };
      }
      throw result.inputError ? new InputError(result.error!) : new Error(result.error);
    }
    while (grouped < result.size!) conn.groupRow(grouped++);
    rows.size = result.size!;
    for (const [k, v] of result.big!) rows.big.set(k, v);
    Object.assign(conn.stats, result.stats);
    conn.startTime = result.startTime;
    for (const w of result.warnings!) onWarning(w);
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
      shape: result.shape,
    };
  } finally {
    worker.terminate();
  }
}

/** Rows the grouping thread keeps the row columns touched ahead of the worker's progress. */
const PREFAULT_AHEAD = 1 << 17;

/**
 * Touches the pages of shared row columns, row range by row range, with an atomic add of 0 on
 * one int32 per page: the page is faulted in here, and a value the other thread has already
 * stored there is left as it is.
 */
class Prefaulter {
  #columns: { view: Int32Array; bytesPerRow: number }[];
  #done = 0;

  constructor(rows: RowStore) {
    this.#columns = rows.buffers().map((b) => ({
      view: new Int32Array(b, 0, b.byteLength >> 2),
      bytesPerRow: b.byteLength / rows.capacity,
    }));
  }

  /** Touches rows up to `end` (in steps); true when it did some work. */
  upTo(end: number): boolean {
    if (this.#done >= end) return false;
    const to = Math.min(end, this.#done + 16384);
    for (const { view, bytesPerRow } of this.#columns) {
      const first = Math.ceil((this.#done * bytesPerRow) / 4096) * 4096;
      const last = to * bytesPerRow;
      for (let b = first; b < last; b += 4096) Atomics.add(view, b >> 2, 0);
    }
    this.#done = to;
    return true;
  }
}

/** The worker side: reads the conn.log into the shared rows, publishing progress per chunk. */
async function connWorker(job: ConnJob): Promise<ConnDone> {
  const { progress } = job;
  const rows = new RowStore(job.capacity, job.buffers);
  const warnings: string[] = [];
  const reader = new ZeekConnReader(job.path, {
    rows,
    groupRows: false,
    rowsHint: 1024,
    onWarning: (w) => warnings.push(w),
  });
  let bytes = 0;
  async function* publishing(chunks: AsyncIterable<Uint8Array>) {
    for await (const chunk of chunks) {
      bytes += chunk.length;
      yield chunk;
      // The chunk's rows are stored once the reader asks for the next one.
      Atomics.store(progress, 2, Math.floor(bytes / 1024));
      Atomics.store(progress, 0, rows.size);
      Atomics.notify(progress, 0);
    }
  }
  try {
    await feedReader(reader, publishing(inputChunks(job.path)));
  } catch (e) {
    if (e instanceof RangeError && e.message.includes("shared row store")) {
      return { ok: false, overflow: true };
    }
    return { ok: false, error: (e as Error).message, inputError: e instanceof InputError };
  }
  return {
    ok: true,
    size: rows.size,
    big: [...rows.big],
    stats: reader.stats,
    startTime: reader.startTime,
    shape: reader.shape,
    warnings,
  };
}

if (import.meta.main && (globalThis as { name?: string }).name === WORKER_NAME) {
  const scope = globalThis as unknown as {
    onmessage: (e: MessageEvent<ConnJob>) => void;
    postMessage: (m: ConnDone) => void;
  };
  scope.onmessage = async (e: MessageEvent<ConnJob>) => {
    Atomics.store(e.data.progress, 3, 1); // taken
    const result = await connWorker(e.data);
    // The last rows are published before "finished".
    Atomics.store(e.data.progress, 0, result.size ?? Atomics.load(e.data.progress, 0));
    scope.postMessage(result);
    Atomics.store(e.data.progress, 1, 1);
    Atomics.notify(e.data.progress, 0);
  };
}

/** Writes a streamed `.sf` to `path` atomically: a temporary file beside it, then a rename. */
export async function writeSampleText(path: string, text: ZeekSampleText): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  const writeAll = async (chunk: Uint8Array) => {
    let off = 0;
    while (off < chunk.length) off += await file.write(chunk.subarray(off));
  };
  let pending: Promise<void> | undefined;
  try {
    // Each chunk is written asynchronously (the copy into the kernel happens off this thread)
    // while the next one is made in the other of two buffers.
    for (const chunk of text.chunks(2)) {
      if (pending) await pending;
      pending = writeAll(chunk);
      pending.catch(() => {}); // awaited below; no unhandled rejection meanwhile
    }
    if (pending) await pending;
    file.close();
    await Deno.rename(tmp, path);
  } catch (e) {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
