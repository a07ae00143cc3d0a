/**
 * The one error type of the API client.
 * @module
 */

/**
 * A call to the NetworkSage API failed: the HTTP status was not 200, the envelope said `error`,
 * the network failed (status 0), or the call was aborted or timed out (status 0). The message is
 * the server's; the API key never appears in it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NetworkSageError } from "./errors.ts";
 * const e = new NetworkSageError(404, "GET /sec/v1.0/samples/x", "no such sample");
 * assert.equal(e.message, "GET /sec/v1.0/samples/x: 404 no such sample");
 * assert.equal(e.status, 404);
 * ```
 */
export class NetworkSageError extends Error {
  /** Always `"NetworkSageError"`. */
  override name = "NetworkSageError";
  /** Exit code the CLI uses for this error. */
  readonly exitCode = 1;
  /** HTTP status, or 0 when no answer came (network error, timeout, abort). */
  readonly status: number;
  /** Method and path of the call, e.g. `GET /sec/v1.0/samples/{uuid}` with the uuid filled in. */
  readonly endpoint: string;
  /** The server's message (the envelope's `body` or the raw text), or the local reason. */
  readonly serverMessage: string;

  /** An error of the call `endpoint` that got `status` (0: no answer) and `message`. */
  constructor(status: number, endpoint: string, message: string, options?: ErrorOptions) {
    super(`${endpoint}: ${status ? status + " " : ""}${message}`, options);
    this.status = status;
    this.endpoint = endpoint;
    this.serverMessage = message;
  }
}
