/**
 * Byte-buffer helpers the streaming parsers on both sides of the API share (the multipart reader,
 * the server's HTTP/1.1 framing).
 * @module
 */

/**
 * `a` followed by `b` in a fresh buffer; `b` itself when `a` is empty (so a caller that only ever
 * appends pays no copy for its first chunk).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concat } from "./_bytes.ts";
 * assert.deepEqual(concat(new Uint8Array([1]), new Uint8Array([2, 3])), new Uint8Array([1, 2, 3]));
 * const b = new Uint8Array([4]);
 * assert.equal(concat(new Uint8Array(0), b), b);
 * ```
 */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.length === 0 ? b : concatFresh(a, b);
}

/**
 * `a` followed by `b`, always in a fresh buffer: for a `b` that is a reused read buffer (the
 * HTTP/1.1 listener reads into one scratch array), which must not be kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatFresh } from "./_bytes.ts";
 * const b = new Uint8Array([4]);
 * const out = concatFresh(new Uint8Array(0), b);
 * assert.deepEqual(out, b);
 * assert.notEqual(out, b);
 * ```
 */
export function concatFresh(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
