/**
 * The live Secflow collector (SECFLOW.md section 6): libpcap → batches of raw packets → the
 * capture worker (arrival-order sessions) → one sample per window → output directory → spool →
 * upload. A capture file (`pcap_open_offline`) feeds the very same pipeline, windows by packet time.
 *
 * @example
 * ```ts ignore
 * import { Collector } from "./collector.ts";
 * const collector = new Collector({ file: "trace.pcap", windowSeconds: 300, outputDir: "out" });
 * for await (const w of collector) console.log(w.name, w.sample?.flashes.length ?? 0);
 * ```
 * @module
 */
import { CaptureError, lowerPriority, Pcap, type PcapStats } from "./libpcap.ts";
import { type SampleUploader, Spool, type SpoolOptions } from "./spool.ts";
import { type FromWorker, sampleName, type ToWorker } from "./_protocol.ts";
import type { Sample } from "../secflow/types.ts";
import { readNameCache, updateNameCache } from "../io/name_cache.ts";

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
/** Default niceness of the live collector. */
export const DEFAULT_NICE = 10;

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
  /** Spool retry settings. */
  spool?: SpoolOptions;
  /** Niceness the live collector lowers itself to (default 10; 0 leaves the priority alone). */
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
  /** Called with one line per event worth telling (spool retries). */
  onEvent?: (line: string) => void;
}

/** One closed window. */
export interface WindowReport {
  /** Sample file name (`<os>_<trafficDate seconds>.sf`). */
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
  /** What happened to the sample. */
  status: "saved" | "uploaded" | "spooled" | "empty";
}

/** The stderr line of a window. */
export function windowLine(r: WindowReport): string {
  return `window ${r.name}: ${r.secflows} secflows, packets ${r.packets}, ` +
    `dropped ${r.dropped}, if-dropped ${r.ifDropped}, ${r.status}`;
}

/** The per-user state directory (`NETWORKSAGE_STATE_DIR`, else the platform's convention). */
export function defaultStateDir(): string {
  const env = (k: string) => {
    try {
      return Deno.env.get(k) || undefined;
    } catch {
      return undefined;
    }
  };
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
 * Batches made at the start (1 MiB live), and at most: a worker that falls behind (not scheduled
 * for a moment on a busy machine) gets more, up to 12 MiB live, so that the kernel buffer keeps
 * being drained; past that, back-pressure (the kernel buffer holds the rest). Made only when
 * needed: a worker that keeps up never sees more than a few.
 */
const BATCHES = 4;
const MAX_BATCHES = 48;
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

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, path);
}

/**
 * Collects Secflows from an interface or a capture file, one sample per window. Iterate it for
 * the windows (async iterator) or await {@link run}; {@link stop} closes the current window
 * (written, then uploaded) and ends.
 */
export class Collector implements AsyncIterable<WindowReport> {
  /** The options it was made with. */
  readonly options: CollectorOptions;
  /** Window length in seconds. */
  readonly windowSeconds: number;
  #stopping = false;
  #wake: (() => void) | undefined;
  #pcap: Pcap | undefined;
  #running: Promise<void> | undefined;
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
    this.options = options;
    this.windowSeconds = w;
  }

  /** Closes the current window and ends the run (idempotent). */
  stop(): void {
    this.#stopping = true;
    this.#wake?.();
    this.#pcap?.wake();
  }

  /** Runs until stopped, the window count is reached, or the file ends. */
  run(): Promise<void> {
    this.#running ??= this.#run().then(
      () => this.#finish(),
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

  async #run(): Promise<void> {
    const o = this.options;
    const live = o.interface !== undefined;
    const stateDir = o.stateDir ?? defaultStateDir();
    const outputDir = o.outputDir === undefined ? "./secflows" : o.outputDir;
    const cachePath = `${stateDir}/names.cache`;
    let cache = new Map<number, string>();
    try {
      cache = await readNameCache(cachePath);
    } catch (e) {
      o.onEvent?.(`name cache ignored: ${e instanceof Error ? e.message : e}`);
    }
    const nice = live ? o.nice ?? DEFAULT_NICE : 0;
    if (nice > 0) lowerPriority(nice);

    const pcap = live
      ? Pcap.openLive(o.interface!, { bufferSize: o.bufferSize, immediate: o.immediate })
      : Pcap.openOffline(o.file!);
    // Inline mode loads the session modules on this thread; otherwise only the worker loads them.
    let worker: Worker;
    try {
      worker = o.inline
        ? new (await import("./_aggregator.ts")).InlineWorker() as unknown as Worker
        : new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    } catch (e) {
      pcap.close();
      throw e;
    }
    this.#pcap = pcap;
    let spool: Spool | undefined;
    try {
      // Files go through the same kernel-style filter, so both paths keep the same packets.
      pcap.setFilter(o.expression ? `(${CAPTURE_FILTER}) and (${o.expression})` : CAPTURE_FILTER);
      if (o.uploader) {
        await Deno.mkdir(`${stateDir}/spool`, { recursive: true });
        spool = new Spool(`${stateDir}/spool`, o.uploader, {
          ...o.spool,
          onEvent: o.spool?.onEvent ?? o.onEvent,
        });
        // A non-empty spool from an earlier run is uploaded now.
        if ((await spool.pending()).length > 0) {
          spool.flush().then((names) => {
            for (const n of names) o.onEvent?.(`spooled sample ${n} uploaded`);
          });
        }
      }
      if (outputDir !== null) await Deno.mkdir(outputDir, { recursive: true });
      if (nice > 0 && Deno.build.os === "linux") reniceThreads(nice);
      o.onStart?.({ linkType: pcap.linkType, source: o.interface ?? o.file! });
      await this.#pump(pcap, worker, cache, cachePath, stateDir, outputDir, spool);
    } finally {
      this.#pcap = undefined;
      pcap.close();
      worker.terminate();
      await spool?.close();
    }
  }

  async #pump(
    pcap: Pcap,
    worker: Worker,
    cache: Map<number, string>,
    cachePath: string,
    stateDir: string,
    outputDir: string | null,
    spool: Spool | undefined,
  ): Promise<void> {
    const live = !pcap.offline;
    const post = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
    post({ type: "init", platform: Deno.build.os, cache: [...cache] });

    // Buffers cycle main → worker → main: at most BATCHES in flight (back-pressure).
    const batchBytes = live ? LIVE_BATCH_BYTES : FILE_BATCH_BYTES;
    const free: ArrayBuffer[] = [];
    for (let i = 0; i < BATCHES; i++) free.push(new ArrayBuffer(batchBytes));
    let bufferWaiter: (() => void) | undefined;
    const closeWaiters = new Map<number, (m: FromWorker & { type: "closed" }) => void>();
    let workerError: Error | undefined;
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.type === "buffer") {
        free.push(m.buf);
        bufferWaiter?.();
      } else if (m.type === "closed") {
        closeWaiters.get(m.id)?.(m);
        closeWaiters.delete(m.id);
      } else {
        workerError = new CaptureError(`capture worker: ${m.message}`, 1);
        bufferWaiter?.();
        // A window the worker failed to close must not be waited for forever.
        for (const w of closeWaiters.values()) w({ type: "closed", id: -1 } as never);
        closeWaiters.clear();
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      workerError = new CaptureError(`capture worker: ${e.message}`, 1);
      bufferWaiter?.();
      for (const w of closeWaiters.values()) w({ type: "closed", id: -1 } as never);
    };
    let allocated = BATCHES;
    const takeBuffer = async (): Promise<ArrayBuffer> => {
      // A worker that lags behind (not scheduled for a moment) gets extra buffers, up to a cap,
      // so that the kernel ring keeps being drained; past the cap, back-pressure.
      if (free.length === 0 && allocated < MAX_BATCHES) {
        allocated++;
        return new ArrayBuffer(batchBytes);
      }
      while (free.length === 0) {
        if (workerError) throw workerError;
        await new Promise<void>((r) => bufferWaiter = r);
        bufferWaiter = undefined;
      }
      if (workerError) throw workerError;
      return free.pop()!;
    };

    let buf: Uint8Array | undefined;
    let used = 0;
    const flush = () => {
      if (buf && used > 0) {
        post({
          type: "batch",
          buf: buf.buffer as ArrayBuffer,
          bytes: used,
          linkType: pcap.linkType,
        }, [
          buf.buffer as ArrayBuffer,
        ]);
        buf = undefined;
        used = 0;
      }
    };

    const N = this.windowSeconds * 1_000_000;
    const graceMs = live ? (this.options.immediate ? 20 : 150) : 0;
    let windowStart = live ? Date.now() * 1000 : -1;
    let windowEnd = live ? windowStart + N : Infinity;
    let packets = 0;
    let closed = 0;
    let lastStats: PcapStats = pcap.stats();
    let nextId = 0;
    let outputs: Promise<void> = Promise.resolve();
    let outputError: unknown;
    const limit = this.options.windows ?? Infinity;
    let stopArmed = false;
    /** Packets read since the last wait (pacing). */
    let readSinceWait = 0;
    const pollMs = pcap.wakeable ? POLL_MS : POLL_MS_UNWAKEABLE;

    const closeWindow = () => {
      flush();
      const id = nextId++;
      const stats = pcap.stats();
      const dropped = stats.drop - lastStats.drop;
      const ifDropped = stats.ifdrop - lastStats.ifdrop;
      lastStats = stats;
      const windowPackets = packets;
      const fallbackStart = windowStart;
      packets = 0;
      closed++;
      const reply = new Promise<FromWorker & { type: "closed" }>((r) => closeWaiters.set(id, r));
      const endMicros = live ? Math.min(windowEnd, Date.now() * 1000) : windowEnd;
      post({ type: "close", id, windowEndSeconds: endMicros / 1e6 });
      // Writing and uploading run beside the capture; their order is kept.
      const prev = outputs;
      outputs = (async () => {
        const m = await reply;
        await prev;
        if (workerError) throw workerError;
        await this.#output(m, fallbackStart, windowPackets, dropped, ifDropped, {
          cachePath,
          cache,
          stateDir,
          outputDir,
          spool,
        });
      })().catch((e) => {
        outputError ??= e;
      });
    };

    // Files: the first packet opens the first window.
    if (!live) {
      buf = new Uint8Array(await takeBuffer());
      const r = pcap.readInto(buf, 0, Infinity, 1);
      used = r.bytes;
      packets = r.packets;
      if (r.packets === 0) {
        flush();
        await outputs;
        return;
      }
      windowStart = r.lastMicros;
      windowEnd = windowStart + N;
    }

    for (;;) {
      if (workerError) throw workerError;
      if (outputError) throw outputError;
      if (this.#stopping && !live) {
        closeWindow();
        break;
      }
      if (this.#stopping && !stopArmed) {
        // Live: the window ends now; packets already stamped but still in the kernel's current
        // block (up to the read timeout) are read during the grace period, then it closes.
        stopArmed = true;
        windowEnd = Math.min(windowEnd, Date.now() * 1000);
      }
      buf ??= new Uint8Array(await takeBuffer());
      const r = pcap.readInto(buf, used, windowEnd);
      readSinceWait += r.packets;
      used += r.bytes;
      packets += r.packets;
      if (r.state === "eof") {
        closeWindow();
        break;
      }
      if (r.state === "more") {
        const pm = pcap.pendingMicros();
        if (pm >= windowEnd) {
          closeWindow();
          if (closed >= limit || stopArmed) break;
          windowStart = windowEnd;
          windowEnd += N;
          if (!live) {
            while (pm >= windowEnd) {
              windowStart = windowEnd;
              windowEnd += N;
            }
          }
        } else {
          flush(); // buffer full
        }
        continue;
      }
      // No packet available now (live only).
      flush();
      const now = Date.now() * 1000;
      if (now >= windowEnd + graceMs * 1000) {
        closeWindow();
        if (closed >= limit || stopArmed) break;
        windowStart = windowEnd;
        windowEnd += N;
        // After a suspend or a long stall, skip the windows that passed meanwhile.
        while (windowEnd + graceMs * 1000 <= now) {
          windowStart = windowEnd;
          windowEnd += N;
        }
        continue;
      }
      const waitMs = Math.max(1, Math.min(pollMs, (windowEnd - now) / 1000 + graceMs));
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
    await outputs;
    if (outputError) throw outputError;
  }

  async #output(
    m: FromWorker & { type: "closed" },
    fallbackStartMicros: number,
    packets: number,
    dropped: number,
    ifDropped: number,
    ctx: {
      cachePath: string;
      cache: Map<number, string>;
      stateDir: string;
      outputDir: string | null;
      spool?: Spool;
    },
  ): Promise<void> {
    const name = m.fileName ??
      sampleName(Deno.build.os, m.startTime ?? Math.floor(fallbackStartMicros / 1e6));
    let path: string | null = null;
    let status: WindowReport["status"] = "empty";
    const bytes = m.json ? new Uint8Array(m.json) : null;
    if (bytes) {
      status = "saved";
      if (ctx.outputDir !== null) {
        path = `${ctx.outputDir}/${name}`;
        await writeAtomic(path, bytes);
      }
      if (ctx.spool) {
        const spooled = await ctx.spool.add(name, bytes);
        const uploaded = await ctx.spool.flush();
        status = uploaded.includes(spooled) ? "uploaded" : "spooled";
      }
    }
    if (m.cacheUpdates.length > 0) {
      await Deno.mkdir(ctx.stateDir, { recursive: true });
      await updateNameCache(ctx.cachePath, ctx.cache, new Map(m.cacheUpdates));
    }
    let parsed: Sample | null | undefined = bytes ? undefined : null;
    this.#emit({
      name,
      secflows: m.flashes,
      get sample(): Sample | null {
        parsed ??= JSON.parse(new TextDecoder().decode(bytes!)) as Sample;
        return parsed;
      },
      path,
      packets,
      dropped,
      ifDropped,
      status,
    });
  }
}

/** Lowers the priority of every thread of this process (Linux nice values are per thread). */
function reniceThreads(nice: number): void {
  try {
    for (const t of Deno.readDirSync("/proc/self/task")) lowerPriority(nice, Number(t.name));
  } catch { /* best effort */ }
}

/** A running collector seen as a stream of samples. */
export interface SampleStream extends AsyncIterable<Sample> {
  /** Closes the current window (written, uploaded, yielded) and ends the stream. */
  stop(): void;
  /** Resolves when the collector has finished (rejects with its error). */
  readonly done: Promise<void>;
}

/**
 * Starts a collector and returns its samples as an async iterator (windows without Secflows are
 * skipped) with a `stop()` method. Breaking out of the loop stops the collector too.
 *
 * @example
 * ```ts ignore
 * import { collect } from "./collector.ts";
 * const samples = collect({ interface: "eth0", windowSeconds: 60, outputDir: null });
 * setTimeout(() => samples.stop(), 600_000);
 * for await (const sample of samples) console.log(sample.fileName, sample.flashes.length);
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
