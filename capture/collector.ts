/**
 * The live Secflow collector (SECFLOW.md section 6): libpcap → batches of raw packets → the
 * capture worker (arrival-order sessions) → one sample per window → output directory → spool →
 * upload. A capture file (`pcap_open_offline`) feeds the very same pipeline, windows by packet time.
 * Iterate a {@link Collector} for its windows (or await its `run()`); {@link collect} yields the
 * samples, and its example runs one on a capture file.
 *
 * @example Making a collector checks its options and starts nothing (no libpcap needed)
 * ```ts
 * import assert from "node:assert/strict";
 * import { Collector, windowLine } from "./collector.ts";
 * const collector = new Collector({ file: "trace.pcap", windowSeconds: 60, outputDir: "out" });
 * assert.equal(collector.windowSeconds, 60);
 * assert.throws(() => new Collector({ interface: "eth0", windowSeconds: 5 }), /at least 10 s/);
 * assert.throws(() => new Collector({ windowSeconds: 60 }), /exactly one of/);
 * // The line the CLI prints for each closed window:
 * assert.equal(
 *   windowLine({
 *     name: "linux_1700000000.sf", secflows: 3, sample: null, path: "out/linux_1700000000.sf",
 *     packets: 120, dropped: 0, ifDropped: 0, status: "saved",
 *   }),
 *   "window linux_1700000000.sf: 3 secflows, packets 120, dropped 0, if-dropped 0, saved",
 * );
 * ```
 * @module
 */
import { CaptureError, listProcDir, lowerPriority, Pcap, type PcapStats } from "./libpcap.ts";
import { type SampleUploader, Spool } from "./spool.ts";
import { sampleName } from "./_protocol.ts";
import { BatchPool, type ClosedWindow, WorkerLink } from "./_batches.ts";
import { WindowClock } from "./_clock.ts";
import { type WindowMeta, WindowOutput } from "./_output.ts";
import { WindowSink } from "./_sink.ts";
import { Uploader, type UploaderOptions } from "./_uploader.ts";
import { ensureDir, errorLine } from "./_durable.ts";
import type { Sample } from "../secflow/types.ts";
import { readNameCache, updateNameCache } from "../io/name_cache.ts";
import { envVar } from "../io/env.ts";

/** The built-in kernel filter of section 6. */
export const CAPTURE_FILTER: string =
  "ip and not port (445 or 5355 or 139 or 137 or 5353 or 389 or 636 " +
  "or 67 or 68 or 1900) and not ((src net 0.0.0.0/32 or src net 10.0.0.0/8 or " +
  "src net 127.0.0.0/8 or src net 172.16.0.0/12 or src net 192.168.0.0/16 or " +
  "src net 224.0.0.0/4 or src net 239.255.255.250/32 or src net 255.255.255.255/32) and " +
  "(dst net 0.0.0.0/32 or dst net 10.0.0.0/8 or dst net 127.0.0.0/8 or dst net 172.16.0.0/12 " +
  "or dst net 192.168.0.0/16 or dst net 224.0.0.0/4 or dst net 239.255.255.250/32 or " +
  "dst net 255.255.255.255/32) and not port 53) and not ip6";

/** Default window length in seconds, and the smallest allowed. */
export const DEFAULT_WINDOW_SECONDS = 300;
/** The shortest window allowed, in seconds. */
export const MIN_WINDOW_SECONDS = 10;
/**
 * Default niceness of the live collector: normal priority. A lowered priority lets a busy machine
 * starve the collector while the kernel buffer overflows (measured at load 5-8: niceness 10 dropped
 * 163k of 300k replayed packets where niceness 0 dropped none, docs/BENCHMARKS.md); a sensor that
 * must yield to other work asks for it with `--nice`.
 */
export const DEFAULT_NICE = 0;

/** Options of {@link Collector}. Give exactly one of `interface` and `file`. */
export interface CollectorOptions {
  /** Live interface to capture on. */
  interface?: string;
  /** Capture file (pcap/pcapng) to run through the same pipeline, windows by packet time. */
  file?: string;
  /** Extra BPF expression that narrows the built-in filter. */
  expression?: string;
  /** Window length in seconds (default 300, at least 10). */
  windowSeconds?: number;
  /** Stop after this many windows (default: until {@link Collector.stop}, or the file's end). */
  windows?: number;
  /** Where samples are written (default `./secflows`); null writes none. */
  outputDir?: string | null;
  /** State directory: persistent name cache and upload spool (default {@link defaultStateDir}). */
  stateDir?: string;
  /** Uploads closed samples (through the spool) when given. */
  uploader?: SampleUploader | null;
  /** Upload retry settings (backoff, lookups). */
  spool?: UploaderOptions;
  /** Samples kept in memory when no directory can take them (default 8). */
  memoryWindows?: number;
  /** Niceness the live collector lowers itself to (default 0: the priority is left alone). */
  nice?: number;
  /** Kernel buffer size in bytes (default 16 MiB). */
  bufferSize?: number;
  /**
   * Aggregate on the reading thread instead of in the capture worker (default false): one
   * thread and one JavaScript heap less, for the smallest CPU and memory footprint.
   */
  inline?: boolean;
  /** libpcap immediate mode (default false: buffered with a 100 ms timeout). */
  immediate?: boolean;
  /** Called once capture is running (the kernel filter is in place). */
  onStart?: (info: { linkType: number; source: string }) => void;
  /** Called for each closed window (the CLI prints its line). */
  onWindow?: (report: WindowReport) => void;
  /** Called with one line per event worth telling (uploads, write failures, retries). */
  onEvent?: (line: string) => void;
  /** Called every second with the current window's counters (a progress line). */
  onProgress?: (progress: WindowProgress) => void;
}

/** One closed window. */
export interface WindowReport {
  /** Sample file name (`<os>_<trafficDate seconds>.sf`; `-N` before `.sf` when the output directory
   * already had a different file of that name). */
  name: string;
  /** Number of Secflows in the sample. */
  secflows: number;
  /** The sample, or null when the window had no Secflows (parsed on first access). */
  readonly sample: Sample | null;
  /** Path written, when any. */
  path: string | null;
  /** Packets captured in the window. */
  packets: number;
  /** libpcap drop counters during the window. */
  dropped: number;
  /** Packets the interface (driver) dropped during the window. */
  ifDropped: number;
  /**
   * Where the sample went: `spooled` (the spool has it, the uploader will send it), `saved`
   * (the output directory has it; uploads off, or the spool could not take it), `held` (uploads
   * off and the output directory could not take it: `<state>/held/`), `memory` (no directory
   * could take it yet: retried), `empty` (no Secflows).
   */
  status: "saved" | "spooled" | "held" | "memory" | "empty";
}

/** The stderr line of a window. */
export function windowLine(r: WindowReport): string {
  return `window ${r.name}: ${r.secflows} secflows, packets ${r.packets}, ` +
    `dropped ${r.dropped}, if-dropped ${r.ifDropped}, ${r.status}`;
}

/** The per-user state directory (`NETWORKSAGE_STATE_DIR`, else the platform's convention). */
export function defaultStateDir(): string {
  const env = envVar; // unset when not granted: stateDirKnown in cli/capture.ts says so first
  const own = env("NETWORKSAGE_STATE_DIR");
  if (own) return own;
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  if (Deno.build.os === "windows") {
    return `${env("LOCALAPPDATA") ?? `${home}\\AppData\\Local`}\\networksage`;
  }
  if (Deno.build.os === "darwin") return `${home}/Library/Application Support/networksage`;
  return `${env("XDG_STATE_HOME") ?? `${home}/.local/state`}/networksage`;
}

/**
 * Bytes per batch. Live packets are cut at the snapshot length (350), so live batches are 256 KiB;
 * a file's packets can be as large as libpcap allows (262144 bytes), so file batches have room for
 * one of those and its record header.
 */
const LIVE_BATCH_BYTES = 256 * 1024;
const FILE_BATCH_BYTES = 320 * 1024;
/**
 * Live reads are paced: after a read that found packets, the next one comes at least this much
 * later (a timer, not a poll), so each wake-up drains several kernel blocks at once instead of one
 * per block. The kernel buffer (16 MiB, about 200 ms of a 300k packets/s replay) holds them
 * meanwhile.
 */
const READ_INTERVAL_MS = 20;
/** Longest single poll: with an eventfd to interrupt it, and without one. */
const POLL_MS = 5000;
const POLL_MS_UNWAKEABLE = 250;
/** How often {@link CollectorOptions.onProgress} is called. */
const PROGRESS_MS = 1000;

/** The current window's counters, for a progress line. */
export interface WindowProgress {
  /** Packets read in the current window so far. */
  packets: number;
  /** Sessions (future Secflows) in the current window so far, or null when unknown. */
  secflows: number | null;
  /** Packets libpcap dropped since the window opened (its buffer was full). */
  dropped: number;
  /** Packets the interface or its driver dropped since the window opened. */
  ifDropped: number;
}

/** What a run did, for its summary and exit code. */
export interface CollectorSummary {
  /** Windows closed. */
  windows: number;
  /** Windows that had Secflows (samples made). */
  samples: number;
  /** Uploads the platform acknowledged in this run. */
  uploaded: number;
  /** Samples an earlier attempt had already delivered (found on the platform by hash, dropped). */
  found: number;
  /** Samples the platform refused for good in this run (moved to `spool/rejected/`). */
  rejected: number;
  /** Whether the platform refused the API key. */
  keyRefused: boolean;
  /** Samples still waiting in the spool at the end (null when not uploading). */
  spooled: number | null;
  /** The spool directory (null when not uploading). */
  spoolDir: string | null;
  /** Samples kept in `<state>/held/` (uploads off, the output directory could not take them). */
  held: number;
  /** The held directory. */
  heldDir: string;
  /** Samples written to the output directory but never spooled (uploads on). */
  unspooled: number;
  /** Samples no directory could take before the memory bound or the exit: lost. */
  lost: number;
}

/** Whether everything this run made arrived where it must (the CLI exits 0 only then). */
export function everythingArrived(s: CollectorSummary): boolean {
  return s.rejected === 0 && !s.keyRefused && (s.spooled ?? 0) === 0 && s.held === 0 &&
    s.unspooled === 0 && s.lost === 0;
}

/**
 * Collects Secflows from an interface or a capture file, one sample per window. Iterate it for
 * the windows (async iterator) or await {@link run}; {@link stop} closes the current window
 * (written and spooled; the uploader gets one last pass) and ends.
 */
export class Collector implements AsyncIterable<WindowReport> {
  /** The options it was made with. */
  readonly options: CollectorOptions;
  /** Window length in seconds. */
  readonly windowSeconds: number;
  #stopping = false;
  #wake: (() => void) | undefined;
  #pcap: Pcap | undefined;
  #uploader: Uploader | undefined;
  #running: Promise<CollectorSummary> | undefined;
  #queue: WindowReport[] = [];
  #waiters: ((r: IteratorResult<WindowReport>) => void)[] = [];
  #done = false;
  #error: unknown;

  /** A collector on an interface or a capture file (exactly one of the two); nothing runs until it is iterated or {@link run} is called. */
  constructor(options: CollectorOptions) {
    if ((options.interface === undefined) === (options.file === undefined)) {
      throw new CaptureError("give exactly one of an interface and a capture file");
    }
    const w = options.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
    if (!(w >= MIN_WINDOW_SECONDS)) {
      throw new CaptureError(`window length must be at least ${MIN_WINDOW_SECONDS} s (got ${w})`);
    }
    const k = options.windows;
    if (k !== undefined && !(Number.isInteger(k) && k >= 1)) {
      // 0, -1 and NaN were accepted (and ran until the file's end or a signal).
      throw new CaptureError(`windows must be a whole number of at least 1 (got ${k})`);
    }
    // An empty path is the root's children (`${dir}/NAME`): never what was meant.
    for (const [name, dir] of [["outputDir", options.outputDir], ["stateDir", options.stateDir]]) {
      if (dir === "") throw new CaptureError(`${name} must be a directory, not an empty string`);
    }
    this.options = options;
    this.windowSeconds = w;
  }

  /** Closes the current window and ends the run (idempotent). */
  stop(): void {
    this.#stopping = true;
    this.#wake?.();
    this.#pcap?.wake();
  }

  /**
   * Aborts the upload or lookup in flight and skips the last upload pass (a second interrupt):
   * every sample not yet acknowledged stays in the spool for the next start.
   */
  abortUploads(): void {
    this.stop();
    this.#uploader?.abort();
  }

  /** Runs until stopped, the window count is reached, or the file ends. */
  run(): Promise<CollectorSummary> {
    this.#running ??= this.#run().then(
      (summary) => {
        this.#finish();
        return summary;
      },
      (e) => {
        this.#error = e;
        this.#finish();
        throw e;
      },
    );
    return this.#running;
  }

  #finish(): void {
    this.#done = true;
    for (const w of this.#waiters.splice(0)) w({ done: true, value: undefined });
  }

  /** Starts collecting (if not yet) and yields a report per closed window. */
  [Symbol.asyncIterator](): AsyncIterator<WindowReport> {
    this.run().catch(() => {});
    return {
      next: () => {
        const value = this.#queue.shift();
        if (value) return Promise.resolve({ done: false, value });
        if (this.#error) return Promise.reject(this.#error);
        if (this.#done) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: () => {
        this.stop();
        return this.run().then(() => ({ done: true, value: undefined }));
      },
    };
  }

  #emit(report: WindowReport): void {
    this.options.onWindow?.(report);
    const w = this.#waiters.shift();
    if (w) w({ done: false, value: report });
    else this.#queue.push(report);
  }

  async #run(): Promise<CollectorSummary> {
    const o = this.options;
    const event = (line: string) => o.onEvent?.(line);
    const live = o.interface !== undefined;
    const stateDir = o.stateDir ?? defaultStateDir();
    const outputDir = o.outputDir === undefined ? "./secflows" : o.outputDir;
    let cachePath: string | null = `${stateDir}/names.cache`;
    let cache = new Map<number, string>();
    try {
      cache = await readNameCache(cachePath);
    } catch (e) {
      // Left exactly as it is: rewritten from what this run learns, one bad line or a size over
      // the limit wiped the whole cache.
      event(`name cache ignored and left as it is: ${errorLine(e)}`);
      cachePath = null;
    }
    const nice = live ? o.nice ?? DEFAULT_NICE : 0;
    if (nice > 0) lowerPriority(nice);

    const pcap = live
      ? Pcap.openLive(o.interface!, { bufferSize: o.bufferSize, immediate: o.immediate })
      : Pcap.openOffline(o.file!);
    // Inline mode loads the session modules on this thread; otherwise only the worker loads them.
    const workerModule = new URL("./worker.ts", import.meta.url);
    const inline = o.inline || !mayLoad(workerModule);
    if (inline && !o.inline) {
      event(
        `aggregating on the reading thread (as --inline does): the capture worker's module ` +
          `${decodeURIComponent(workerModule.pathname)} may not be read (--allow-read)`,
      );
    }
    let worker: Worker;
    try {
      worker = inline
        ? new (await import("./_aggregator.ts")).InlineWorker() as unknown as Worker
        : new Worker(workerModule, { type: "module" });
    } catch (e) {
      pcap.close();
      throw e;
    }
    this.#pcap = pcap;
    let spool: Spool | null = null;
    let uploader: Uploader | undefined;
    let sink: WindowSink | undefined;
    let counts = { windows: 0, samples: 0 };
    let spooled: number | null = null;
    try {
      // Files go through the same kernel-style filter, so both paths keep the same packets.
      pcap.setFilter(o.expression ? `(${CAPTURE_FILTER}) and (${o.expression})` : CAPTURE_FILTER);
      if (o.uploader) {
        // Kept only once open: the cleanup below must not ask a spool that never opened (its
        // error replaced the one that said why).
        const opened = new Spool(`${stateDir}/spool`);
        await opened.open();
        spool = opened;
        uploader = this.#uploader = new Uploader(spool, o.uploader, {
          ...o.spool,
          onEvent: o.spool?.onEvent ?? o.onEvent,
        });
        // Samples left by an earlier run go first.
        uploader.notify();
      }
      sink = new WindowSink({
        outputDir,
        spool,
        heldDir: `${stateDir}/held`,
        memoryWindows: o.memoryWindows,
        onSpooled: () => uploader?.notify(),
        onEvent: event,
      });
      await sink.open();
      if (nice > 0 && Deno.build.os === "linux") reniceThreads(nice);
      o.onStart?.({ linkType: pcap.linkType, source: o.interface ?? o.file! });
      const link = new WorkerLink(
        worker,
        new BatchPool(live ? LIVE_BATCH_BYTES : FILE_BATCH_BYTES),
        pcap.linkType,
      );
      link.init(Deno.build.os, cache);
      const output = new WindowOutput((closed, meta) =>
        this.#output(closed, meta, sink!, cache, cachePath, stateDir)
      );
      counts = await this.#pump(pcap, link, output);
      if (pcap.damage) event(`warning: ${pcap.damage}`);
    } finally {
      this.#pcap = undefined;
      pcap.close();
      worker.terminate();
      try {
        await sink?.close();
        await uploader?.finish();
        this.#uploader = undefined;
        spooled = spool ? (await spool.pending()).length : null;
      } finally {
        spool?.close();
      }
    }
    const up = uploader?.counts ?? { uploaded: 0, found: 0, rejected: 0, keyRefused: false };
    const s = sink.counts;
    return {
      ...counts,
      ...up,
      spooled,
      spoolDir: spool?.dir ?? null,
      held: s.held,
      heldDir: `${stateDir}/held`,
      unspooled: s.unspooled,
      lost: s.lost + s.inMemory,
    };
  }

  /**
   * The read loop: packets into batches, batches to the worker, windows closed by the clock.
   * Returns the number of windows closed and of samples made.
   */
  async #pump(
    pcap: Pcap,
    link: WorkerLink,
    output: WindowOutput,
  ): Promise<{ windows: number; samples: number }> {
    const live = !pcap.offline;
    const graceMs = live ? (this.options.immediate ? 20 : 150) : 0;
    const clock = new WindowClock(this.windowSeconds * 1_000_000, graceMs * 1000);
    if (live) clock.openAt(Date.now() * 1000);
    let packets = 0;
    let lastStats: PcapStats = pcap.stats();
    const limit = this.options.windows ?? Infinity;
    let stopArmed = false;
    /** Packets read since the last wait (pacing). */
    let readSinceWait = 0;
    const pollMs = pcap.wakeable ? POLL_MS : POLL_MS_UNWAKEABLE;

    const closeWindow = () => {
      const stats = pcap.stats();
      const meta = {
        packets,
        // A handle that can no longer say (the interface is gone) reads 0: never a negative count.
        dropped: Math.max(0, stats.drop - lastStats.drop),
        ifDropped: Math.max(0, stats.ifdrop - lastStats.ifdrop),
        fallbackStartMicros: clock.start,
      };
      lastStats = stats;
      packets = 0;
      const endMicros = live ? Math.min(clock.end, Date.now() * 1000) : clock.end;
      output.add(link.close(endMicros / 1e6), meta);
    };
    const progress = this.#progressTicker(pcap, link, () => packets, () => lastStats);

    try {
      // Files: the first packet opens the first window.
      if (!live) {
        const buf = await link.batch();
        const r = pcap.readInto(buf, 0, Infinity, 1);
        link.filled(r.bytes);
        packets = r.packets;
        if (r.packets === 0) {
          link.flush();
          return await output.finish();
        }
        clock.openAt(r.lastMicros);
      }

      for (;;) {
        if (link.error) throw link.error;
        output.throwIfFailed();
        if (this.#stopping && !live) {
          closeWindow();
          break;
        }
        if (this.#stopping && !stopArmed) {
          // Live: the window ends now; packets already stamped but still in the kernel's current
          // block (up to the read timeout) are read during the grace period, then it closes.
          stopArmed = true;
          clock.endBy(Date.now() * 1000);
        }
        const buf = await link.batch();
        let r: ReturnType<Pcap["readInto"]>;
        try {
          r = pcap.readInto(buf, link.used, clock.end);
        } catch (e) {
          // The interface went away (or libpcap failed for good): the window so far is closed and
          // written (below, before the error ends the run), not dropped with the process.
          if (live) closeWindow();
          throw e;
        }
        readSinceWait += r.packets;
        link.filled(r.bytes);
        packets += r.packets;
        if (r.state === "eof") {
          closeWindow();
          break;
        }
        if (r.state === "more") {
          const pm = pcap.pendingMicros();
          if (pm >= clock.end) {
            closeWindow();
            if (output.windows >= limit || stopArmed) break;
            clock.next();
            if (!live) clock.skipTo(pm);
          } else {
            link.flush(); // buffer full
          }
          continue;
        }
        // No packet available now (live only).
        link.flush();
        const now = Date.now() * 1000;
        if (clock.due(now)) {
          closeWindow();
          if (output.windows >= limit || stopArmed) break;
          clock.next();
          // After a suspend or a long stall, skip the windows that passed meanwhile.
          clock.skipPast(now);
          continue;
        }
        const waitMs = Math.max(1, Math.min(pollMs, clock.msUntilDue(now)));
        if (this.#stopping && !stopArmed) continue;
        // Packets came since the last wait: more are probably on their way, let them gather.
        const paced = readSinceWait > 0;
        readSinceWait = 0;
        await Promise.race([
          paced
            ? new Promise<void>((r) => setTimeout(r, Math.min(READ_INTERVAL_MS, waitMs)))
            : pcap.wait(waitMs),
          new Promise<void>((r) => this.#wake = r),
        ]);
        this.#wake = undefined;
      }
      return await output.finish();
    } catch (e) {
      // Windows already closed are still written before the error ends the run.
      await output.settle();
      throw e;
    } finally {
      if (progress !== undefined) clearInterval(progress);
    }
  }

  /** Calls onProgress every second with the current window's counters (when asked for). */
  #progressTicker(
    pcap: Pcap,
    link: WorkerLink,
    packets: () => number,
    since: () => PcapStats,
  ): ReturnType<typeof setInterval> | undefined {
    const onProgress = this.options.onProgress;
    if (!onProgress) return undefined;
    return setInterval(async () => {
      const stats = pcap.stats();
      const base = since();
      const n = packets();
      const sessions = await link.sessions();
      onProgress({
        packets: n,
        secflows: sessions === null || sessions < 0 ? null : sessions,
        dropped: stats.drop - base.drop,
        ifDropped: stats.ifdrop - base.ifdrop,
      });
    }, PROGRESS_MS);
  }

  /** A closed window: written (output and spool, see `_sink.ts`), the cache updated, reported. */
  async #output(
    m: ClosedWindow,
    meta: WindowMeta,
    sink: WindowSink,
    cache: Map<number, string>,
    cachePath: string | null,
    stateDir: string,
  ): Promise<boolean> {
    const name = m.fileName ??
      sampleName(Deno.build.os, m.startTime ?? Math.floor(meta.fallbackStartMicros / 1e6));
    let path: string | null = null;
    let status: WindowReport["status"] = "empty";
    const bytes = m.json ? new Uint8Array(m.json) : null;
    if (bytes) ({ status, path } = await sink.write(name, bytes));
    if (m.cacheUpdates.length > 0 && cachePath !== null) {
      try {
        await ensureDir(stateDir); // 0700 when new; an existing one (the user's) keeps its mode
        await updateNameCache(
          cachePath,
          cache,
          new Map(m.cacheUpdates),
          (w) => this.options.onEvent?.(w),
        );
      } catch (e) {
        // The cache only helps naming; a sample is never held back for it.
        this.options.onEvent?.(`name cache ${cachePath} not updated: ${errorLine(e)}`);
      }
    }
    let parsed: Sample | null | undefined = bytes ? undefined : null;
    this.#emit({
      // The name the output directory has it under: NAME-1.sf when NAME held another file.
      name: path === null ? name : path.slice(path.lastIndexOf("/") + 1),
      secflows: m.flashes,
      get sample(): Sample | null {
        parsed ??= JSON.parse(new TextDecoder().decode(bytes!)) as Sample;
        return parsed;
      },
      path,
      packets: meta.packets,
      dropped: meta.dropped,
      ifDropped: meta.ifDropped,
      status,
    });
    return bytes !== null;
  }
}

/**
 * Whether a Worker can load `module`: a local module needs read access to its file (Deno checks
 * a worker's imports like reads), and without it Deno prints the worker's failure raw.
 */
function mayLoad(module: URL): boolean {
  if (module.protocol !== "file:") return true;
  const path = decodeURIComponent(module.pathname);
  return Deno.permissions.querySync({ name: "read", path }).state === "granted";
}

/** Lowers the priority of every thread of this process (Linux nice values are per thread). */
function reniceThreads(nice: number): void {
  // Through libc: Deno's readDir of /proc needs --allow-all, so --nice did nothing.
  for (const name of listProcDir("/proc/self/task") ?? []) {
    if (/^\d+$/.test(name)) lowerPriority(nice, Number(name));
  }
}

/** A running collector seen as a stream of samples. */
export interface SampleStream extends AsyncIterable<Sample> {
  /** Closes the current window (written, uploaded, yielded) and ends the stream. */
  stop(): void;
  /** Resolves when the collector has finished, with its summary (rejects with its error). */
  readonly done: Promise<CollectorSummary>;
}

/**
 * Starts a collector and returns its samples as an async iterator (windows without Secflows are
 * skipped) with a `stop()` method. Breaking out of the loop stops the collector too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { collect } from "./collector.ts";
 * import { CaptureError } from "./libpcap.ts";
 * // A pcap of one UDP packet, 10.0.0.2:50000 -> 93.184.216.34:443 (a live run would give
 * // `interface: "eth0"` instead of `file`, and call samples.stop() to end).
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
 * // outputDir null: samples are only yielded; stateDir keeps the name cache.
 * const samples = collect({
 *   file: `${dir}/capture.pcap`,
 *   windowSeconds: 60,
 *   outputDir: null,
 *   stateDir: dir,
 * });
 * try {
 *   const seen = [];
 *   for await (const sample of samples) seen.push(sample);
 *   assert.equal(seen.length, 1);
 *   assert.equal(seen[0].trafficDate, "1700000000.0");
 *   assert.equal(seen[0].flashes[0].dst, "93.184.216.34:443");
 * } catch (e) {
 *   // Without libpcap the run fails with a CaptureError that says how to install it.
 *   if (!(e instanceof CaptureError && e.message.startsWith("libpcap not found"))) throw e;
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function collect(options: CollectorOptions): SampleStream {
  const collector = new Collector(options);
  const done = collector.run();
  done.catch(() => {});
  return {
    stop: () => collector.stop(),
    done,
    async *[Symbol.asyncIterator]() {
      try {
        for await (const report of collector) {
          if (report.sample) yield report.sample;
        }
      } finally {
        collector.stop();
        await done;
      }
    },
  };
}
