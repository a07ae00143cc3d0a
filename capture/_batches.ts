/**
 * The batch pool and the worker link: packet buffers cycle main → worker → main (transferred,
 * never copied), at most a bounded number in flight, so that a worker that falls behind slows the
 * reader down instead of growing memory (the kernel buffer holds the rest meanwhile).
 * @module
 */
import { CaptureError } from "./libpcap.ts";
import type { FromWorker, ToWorker } from "./_protocol.ts";

/** A window the worker closed. */
export type ClosedWindow = FromWorker & { type: "closed" };

/**
 * Batches made at the start, and at most: a worker that falls behind (not scheduled for a moment
 * on a busy machine) gets more, up to the cap, so that the kernel buffer keeps being drained;
 * past that, back-pressure. Made only when needed: a worker that keeps up never sees more than a
 * few.
 */
export const BATCHES = 4;
export const MAX_BATCHES = 48;

/** Free packet buffers of one size; see the module comment. */
export class BatchPool {
  readonly batchBytes: number;
  readonly #max: number;
  readonly #free: ArrayBuffer[] = [];
  #allocated: number;
  #waiter: (() => void) | undefined;
  #error: Error | undefined;

  constructor(batchBytes: number, initial = BATCHES, max = MAX_BATCHES) {
    this.batchBytes = batchBytes;
    this.#max = max;
    this.#allocated = initial;
    for (let i = 0; i < initial; i++) this.#free.push(new ArrayBuffer(batchBytes));
  }

  /** Buffers made so far. */
  get allocated(): number {
    return this.#allocated;
  }

  /** A buffer back from the worker. */
  give(buf: ArrayBuffer): void {
    this.#free.push(buf);
    this.#wakeWaiter();
  }

  /** The worker failed: every {@link take} from now on throws `error`. */
  fail(error: Error): void {
    this.#error ??= error;
    this.#wakeWaiter();
  }

  /** A free buffer; waits (back-pressure) when the cap is reached and none is free. */
  async take(): Promise<ArrayBuffer> {
    if (this.#free.length === 0 && this.#allocated < this.#max) {
      this.#allocated++;
      return new ArrayBuffer(this.batchBytes);
    }
    while (this.#free.length === 0) {
      if (this.#error) throw this.#error;
      await new Promise<void>((r) => this.#waiter = r);
      this.#waiter = undefined;
    }
    if (this.#error) throw this.#error;
    return this.#free.pop()!;
  }

  #wakeWaiter(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }
}

/**
 * The collector's side of the capture worker: sends batches and close requests, routes the
 * replies (buffers to the pool, closed windows to their requests), and turns a worker failure into
 * one error that every waiter sees.
 */
export class WorkerLink {
  readonly #worker: Worker;
  readonly #pool: BatchPool;
  readonly #linkType: number;
  readonly #closes = new Map<number, (m: ClosedWindow | Error) => void>();
  #nextId = 0;
  #batch: Uint8Array | undefined;
  #used = 0;
  #peek: ((sessions: number) => void) | undefined;
  /** The worker's failure, once it failed. */
  error: Error | undefined;

  constructor(worker: Worker, pool: BatchPool, linkType: number) {
    this.#worker = worker;
    this.#pool = pool;
    this.#linkType = linkType;
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.type === "buffer") pool.give(m.buf);
      else if (m.type === "closed") {
        this.#closes.get(m.id)?.(m);
        this.#closes.delete(m.id);
      } else if (m.type === "sessions") {
        this.#peek?.(m.count);
        this.#peek = undefined;
      } else this.#fail(m.message);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.#fail(e.message);
    };
  }

  /** Tells the worker the platform and the persistent name cache. */
  init(platform: string, cache: Map<number, string>): void {
    this.#post({ type: "init", platform, cache: [...cache] });
  }

  /** The batch being filled (taken from the pool when none is). */
  async batch(): Promise<Uint8Array> {
    this.#batch ??= new Uint8Array(await this.#pool.take());
    return this.#batch;
  }

  /** Bytes used in the current batch. */
  get used(): number {
    return this.#used;
  }

  /** Records that `bytes` more of the current batch hold packets. */
  filled(bytes: number): void {
    this.#used += bytes;
  }

  /** Sends the current batch to the worker, if it holds anything. */
  flush(): void {
    const b = this.#batch;
    if (!b || this.#used === 0) return;
    const buf = b.buffer as ArrayBuffer;
    this.#post({ type: "batch", buf, bytes: this.#used, linkType: this.#linkType }, [buf]);
    this.#batch = undefined;
    this.#used = 0;
  }

  /** Flushes, then asks the worker to close the window; resolves with the closed window. */
  close(windowEndSeconds: number): Promise<ClosedWindow> {
    this.flush();
    const id = this.#nextId++;
    const reply = new Promise<ClosedWindow | Error>((r) => this.#closes.set(id, r));
    this.#post({ type: "close", id, windowEndSeconds });
    return reply.then((m) => {
      if (m instanceof Error) throw m;
      return m;
    });
  }

  /** Sessions in the worker's current window so far (for progress), or null if it fails. */
  sessions(): Promise<number | null> {
    if (this.error || this.#peek) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#peek = resolve;
      this.#post({ type: "peek" });
    });
  }

  #post(m: ToWorker, transfer: Transferable[] = []): void {
    this.#worker.postMessage(m, transfer);
  }

  #fail(message: string): void {
    const error = new CaptureError(`capture worker: ${message}`, 1);
    this.error ??= error;
    this.#pool.fail(error);
    // A window the worker failed to close must not be waited for forever.
    for (const w of this.#closes.values()) w(error);
    this.#closes.clear();
    this.#peek?.(-1);
    this.#peek = undefined;
  }
}
