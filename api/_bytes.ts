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
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
