/**
 * Live collection: libpcap through Deno FFI, packets in batches to a worker that aggregates
 * them, one Secflow sample per window, uploaded or spooled to disk. Needs `--allow-ffi` (and
 * the privileges to capture on the interface).
 *
 * @example The capture filter every collector installs
 * ```ts
 * import assert from "node:assert/strict";
 * import { CAPTURE_FILTER } from "./capture.ts";
 * assert.ok(CAPTURE_FILTER.startsWith("ip and not port"));
 * ```
 * @module
 */
export {
  CAPTURE_FILTER,
  collect,
  Collector,
  type CollectorOptions,
  type CollectorSummary,
  DEFAULT_WINDOW_SECONDS,
  defaultStateDir,
  everythingArrived,
  MIN_WINDOW_SECONDS,
  type SampleStream,
  windowLine,
  type WindowProgress,
  type WindowReport,
} from "./capture/collector.ts";
export {
  apiUploader,
  type ApiUploaderOptions,
  type AttemptRecord,
  type SampleUploader,
  Spool,
  type SpoolOptions,
  type UploadedCopy,
} from "./capture/spool.ts";
export {
  CaptureError,
  findAllDevices,
  libpcapVersion,
  type PcapDevice,
  type PcapStats,
} from "./capture/libpcap.ts";
// Types the collector's API mentions (types only: nothing more is loaded).
export type { Flash, NameSource, Sample } from "./secflow/types.ts";
export type * from "./client.ts";
