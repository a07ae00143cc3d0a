/**
 * A typed `fetch` client for the NetworkSage platform's API (and for `networksage serve`, which
 * speaks the same API), with the helpers around it: upload-type detection from content, local
 * classification, and the platform's record types.
 *
 * Loads neither `node:sqlite` nor the libpcap binding: `--allow-net` for the API host (and
 * `--allow-read` for files it uploads) is all it needs. `NETWORKSAGE_API_KEY`,
 * `NETWORKSAGE_API_URL` and `NETWORKSAGE_PUBLIC_URL` fill the options not given, each only when
 * env access to it is granted (never a prompt).
 *
 * @example Constructing a client (nothing is sent until a method is called)
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_API_URL, NetworkSageClient } from "./client.ts";
 * const client = new NetworkSageClient({ apiKey: "example-key", useEnv: false });
 * assert.equal(client.apiUrl, DEFAULT_API_URL);
 * assert.equal(DEFAULT_API_URL, "https://api.seclarity.io");
 * assert.equal(client.hasApiKey, true);
 * // Private endpoints need a key: without one, a call fails before anything is sent.
 * await assert.rejects(
 *   new NetworkSageClient({ useEnv: false }).listUploads(),
 *   /no API key: set NETWORKSAGE_API_KEY \(and let it be read: --allow-env=NETWORKSAGE_API_KEY\) or pass the apiKey option/,
 * );
 * ```
 * @module
 */
export {
  type AggregatedOptions,
  type CallOptions,
  type ClientOptions,
  DEFAULT_API_URL,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_PUBLIC_URL,
  type FindUuidOptions,
  type FoundUpload,
  NetworkSageClient,
  publicUuidOf,
  type UploadAccepted,
  type UploadOptions,
  uploadTimeOf,
  type WaitOptions,
} from "./api/client.ts";
export * from "./api/types.ts";
export { NetworkSageError } from "./api/errors.ts";
export { detectUploadType } from "./api/detect.ts";
export {
  type ClassifierInput,
  classifyLocally,
  type FlashLike,
  flowIdOf,
  toPlatformSecflow,
} from "./api/classify.ts";
