/**
 * Text from an input file or from traffic, made safe to print on a terminal. A DNS name or a Zeek
 * field can hold any byte, including ESC: printed raw, `\x1b[2J` clears the user's screen and an
 * OSC sequence can retitle it or worse. Every message that quotes input goes through
 * {@link printable}; control characters (C0, DEL, C1) and backslash are escaped, the rest is kept.
 * @module
 */

/**
 * `text` with control characters shown as `\xNN` (and `\\` for a backslash, so the escaping is
 * unambiguous), cut to `max` characters with `…` when longer.
 *
 * @example Escaping a terminal sequence
 * ```ts
 * import { printable } from "./printable.ts";
 * import assert from "node:assert/strict";
 * assert.equal(printable("ts\x1b[2J"), "ts\\x1b[2J");
 * assert.equal(printable("a".repeat(10), 4), "aaaa…");
 * ```
 */
export function printable(text: string, max = 200): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  // deno-lint-ignore no-control-regex
  const escaped = cut.replace(/[\x00-\x1f\x7f-\x9f\\]/g, (c) => {
    if (c === "\\") return "\\\\";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  return cut.length < text.length ? `${escaped}…` : escaped;
}
