/**
 * The session side of the collector: packet batches in, one sample per window out. Used by the
 * capture worker (`worker.ts`) and, in inline mode, on the reading thread itself.
 * @module
 */
import { FlowEngine } from "../secflow/engine.ts";
import { formatSample } from "../secflow/sample.ts";
import { closeWindow, NameMemory } from "./_window.ts";
import type { FromWorker, ToWorker } from "./_protocol.ts";

/** Handles {@link ToWorker} messages; replies through `reply`. */
export class Aggregator {
  #platform = "linux";
  #memory = new NameMemory();
  #engine = new FlowEngine({ arrivalOrder: true });
  readonly #reply: (message: FromWorker, transfer: Transferable[]) => void;

  constructor(reply: (message: FromWorker, transfer: Transferable[]) => void) {
    this.#reply = reply;
  }

  /** Feeds a batch of records `[micros f64][caplen u32][origLen u32][bytes]`. */
  feed(buf: ArrayBuffer, bytes: number, linkType: number): void {
    const engine = this.#engine;
    const u8 = new Uint8Array(buf);
    const view = new DataView(buf);
    let off = 0;
    while (off + 16 <= bytes) {
      const micros = view.getFloat64(off, true);
      const caplen = view.getUint32(off + 8, true);
      const origLen = view.getUint32(off + 12, true);
      engine.packet(u8, off + 16, caplen, origLen, linkType, micros);
      off += 16 + caplen;
    }
  }

  /** Handles one message. */
  handle(msg: ToWorker): void {
    try {
      if (msg.type === "batch") {
        this.feed(msg.buf, msg.bytes, msg.linkType);
        this.#reply({ type: "buffer", buf: msg.buf }, [msg.buf]);
      } else if (msg.type === "close") {
        const { sample, startTime, cacheUpdates, packets } = closeWindow(
          this.#engine,
          this.#memory,
          this.#platform,
          msg.windowEndSeconds,
        );
        this.#engine = new FlowEngine({ arrivalOrder: true });
        // The sample crosses as `.sf` bytes (transferred): far cheaper than a structured clone
        // of thousands of objects, and exactly what gets written.
        const json = sample ? new TextEncoder().encode(formatSample(sample)).buffer : null;
        this.#reply({
          type: "closed",
          id: msg.id,
          json,
          fileName: sample?.fileName ?? null,
          flashes: sample?.flashes.length ?? 0,
          startTime,
          packets,
          cacheUpdates,
        }, json ? [json] : []);
      } else if (msg.type === "peek") {
        this.#reply({ type: "sessions", count: this.#engine.sessionCount }, []);
      } else if (msg.type === "init") {
        this.#platform = msg.platform;
        this.#memory = new NameMemory(new Map(msg.cache));
      }
    } catch (err) {
      this.#reply({ type: "error", message: err instanceof Error ? err.message : String(err) }, []);
    }
  }
}

/**
 * A stand-in for the capture worker that aggregates on the calling thread, synchronously (inline
 * mode: one thread instead of two, for the smallest CPU and memory footprint).
 */
export class InlineWorker {
  onmessage: ((e: MessageEvent<FromWorker>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  readonly #aggregator = new Aggregator((data) =>
    this.onmessage?.({ data } as MessageEvent<FromWorker>)
  );

  postMessage(message: ToWorker, _transfer?: Transferable[]): void {
    this.#aggregator.handle(message);
  }

  terminate(): void {}
}
