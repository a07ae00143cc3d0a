/**
 * Messages between the collector (main thread) and the capture worker.
 * @module
 */
/** Main → worker. */
export type ToWorker =
  | { type: "init"; platform: string; cache: [number, string][] }
  | { type: "batch"; buf: ArrayBuffer; bytes: number; linkType: number }
  | { type: "close"; id: number; windowEndSeconds: number }
  /** Asks how many sessions the current window holds so far (progress). */
  | { type: "peek" };

/** Worker → main. */
export type FromWorker =
  | { type: "buffer"; buf: ArrayBuffer }
  | {
    type: "closed";
    id: number;
    /** The sample as UTF-8 JSON (transferred), or null when the window has no Secflows. */
    json: ArrayBuffer | null;
    fileName: string | null;
    flashes: number;
    startTime: number | undefined;
    packets: number;
    cacheUpdates: [number, string][];
  }
  | { type: "sessions"; count: number }
  | { type: "error"; message: string };

/** The `.sf` file name of a sample that starts at `startTime` seconds (section 6). */
export function sampleName(platform: string, startTime: number): string {
  return `${platform}_${Math.floor(startTime)}.sf`;
}
