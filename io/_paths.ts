/**
 * Absolute paths without Deno's Node `process`: node:path's `resolve()` asks that polyfill for
 * the working directory whenever no segment is absolute, and loading it cost every `convert`
 * ~15 ms of CPU (measured with `/usr/bin/time`, 7 alternating runs: `resolve("x")` 45-70 ms of
 * CPU for the whole process, `resolve(Deno.cwd(), "x")` 40-50 ms, as much as importing node:path
 * without calling `resolve`). `Deno.cwd()` needs no permission.
 * @module
 */
import { resolve } from "node:path";

/**
 * `segments` resolved against the working directory, as node:path's `resolve` does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolve } from "node:path";
 * import { absolutePath } from "./_paths.ts";
 * assert.equal(absolutePath("a/../b.sf"), resolve("b.sf"));
 * assert.equal(absolutePath("/x", "y"), "/x/y");
 * ```
 */
export function absolutePath(...segments: string[]): string {
  return resolve(Deno.cwd(), ...segments);
}
