/**
 * Environment variables read without ever prompting. A variable is read only when env access to
 * it was granted (`--allow-env` or `--allow-env=NAME`), and otherwise counts as unset: reading it
 * would stop at a permission prompt on a terminal, and throw without one, for a variable the user
 * may never have meant to set (a library call given every option, a command run with the
 * permissions its help lists).
 * @module
 */

/**
 * The value of `name`, or undefined when it is unset, empty, or env access to it is not granted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { envVar } from "./env.ts";
 * // Run without --allow-env: unset, and no prompt.
 * assert.equal(envVar("NETWORKSAGE_SURELY_UNSET"), undefined);
 * ```
 */
export function envVar(name: string): string | undefined {
  const state = Deno.permissions.querySync({ name: "env", variable: name }).state;
  return state === "granted" ? Deno.env.get(name) || undefined : undefined;
}

/** Whether env access to `name` is granted (so {@link envVar} sees its value). */
export function envGranted(name: string): boolean {
  return Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
}
