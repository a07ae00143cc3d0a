/**
 * The local NetworkSage-compatible server: the platform's API from SQLite (`node:sqlite`), for
 * one machine or a lab. Needs `--allow-net` for its address and `--allow-read`/`--allow-write`
 * for its data directory.
 *
 * @example The default upload limit
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_MAX_UPLOAD } from "./serve.ts";
 * assert.equal(DEFAULT_MAX_UPLOAD, 1024 ** 3);
 * ```
 *
 * @example Serving a data directory on a free port of 127.0.0.1
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "./serve.ts";
 * const dataDir = await Deno.makeTempDir();
 * const server = await serve({ dataDir, apiKeys: ["example-key"], port: 0, onLog() {} });
 * const answer = await fetch(`${server.url}/upload/v1.0/uploads/list`, {
 *   headers: { apikey: "example-key" },
 * });
 * assert.equal(answer.status, 200);
 * assert.deepEqual(await answer.json(), { error: false, body: [] });
 * await server.shutdown();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 * @module
 */
export {
  type ConversionOutput,
  type Converter,
  createService,
  DEFAULT_MAX_UPLOAD,
  defaultConverter,
  ListenError,
  type RunningServer,
  serve,
  type ServeOptions,
  type Service,
} from "./api/server.ts";
export type { ApiKey, KeyOwner, Route, RouteAuth, RouteContext } from "./api/server.ts";
export { DataDirError } from "./api/_data_dir.ts";
export type { ClassifierInput, FlashLike } from "./api/classify.ts";
// The platform's record types the storage and converter interfaces mention.
export type { Activity, Metadata, PlatformSecflow, UploadType } from "./api/types.ts";
export type { Claim, ConversionResult, NewUpload, Storage, StorageOptions } from "./api/storage.ts";
export type { AnnotationKind, KeyRecord, SampleRow } from "./api/store.ts";
export type { KeyRecordStore } from "./api/_keys.ts";
