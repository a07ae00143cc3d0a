/**
 * The window output queue: closed windows are handed over in order as the worker answers, each
 * written by the collector's writer while capture goes on; the first failure is kept and raised
 * by the read loop.
 * @module
 */
import type { ClosedWindow } from "./_batches.ts";

/** What the read loop knows of a window when it closes it. */
export interface WindowMeta {
  /** Packets read in the window. */
  packets: number;
  /** libpcap drop counters during the window. */
  dropped: number;
  ifDropped: number;
  /** Start of the window (µs), for the name of a window without a qualifying packet. */
  fallbackStartMicros: number;
}

/** Writes one closed window; resolves to whether it made a sample. */
export type WindowWriter = (closed: ClosedWindow, meta: WindowMeta) => Promise<boolean>;

/** Closed windows, written in order; see the module comment. */
export class WindowOutput {
  readonly #write: WindowWriter;
  #chain: Promise<void> = Promise.resolve();
  #error: unknown;
  #failed = false;
  /** Windows closed so far. */
  windows = 0;
  /** Windows written that had a sample. */
  samples = 0;

  constructor(write: WindowWriter) {
    this.#write = write;
  }

  /** Queues a window: `reply` is the worker's answer to its close request. */
  add(reply: Promise<ClosedWindow>, meta: WindowMeta): void {
    this.windows++;
    const prev = this.#chain;
    this.#chain = (async () => {
      const closed = await reply;
      await prev;
      if (this.#failed) return;
      if (await this.#write(closed, meta)) this.samples++;
    })().catch((e) => {
      if (!this.#failed) [this.#failed, this.#error] = [true, e];
    });
  }

  /** Raises the first failure of an earlier window, if any. */
  throwIfFailed(): void {
    if (this.#failed) throw this.#error;
  }

  /** Waits for every queued window, whatever happened to them. */
  async settle(): Promise<void> {
    await this.#chain;
  }

  /** Waits for every queued window; raises the first failure. */
  async finish(): Promise<{ windows: number; samples: number }> {
    await this.#chain;
    this.throwIfFailed();
    return { windows: this.windows, samples: this.samples };
  }
}
