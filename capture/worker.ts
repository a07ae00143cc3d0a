/**
 * The capture worker: receives packet batches (transferable `ArrayBuffer`s of records
 * `[micros f64][caplen u32][origLen u32][bytes...]`), feeds them in arrival order to the window's
 * engine, hands each emptied buffer back (back-pressure), and closes windows into samples on
 * request. Started by the collector as `new Worker(new URL("./worker.ts", import.meta.url),
 * { type: "module" })`.
 * @module
 */
import { Aggregator } from "./_aggregator.ts";
import type { FromWorker, ToWorker } from "./_protocol.ts";

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
};

const aggregator = new Aggregator((message, transfer) => scope.postMessage(message, transfer));
scope.onmessage = (e: MessageEvent<ToWorker>) => aggregator.handle(e.data);
