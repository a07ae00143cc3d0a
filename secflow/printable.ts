/**
 * Text from an input file or from traffic, made safe to print on a terminal. A DNS name or a Zeek
 * field can hold any byte, including ESC: printed raw, `\x1b[2J` clears the user's screen and an
 * OSC sequence can retitle it or worse. Every message that quotes input goes through
 * {@link printable}; control characters (C0, DEL, C1) and backslash are escaped, and so are the
 * invisible ones that change how the rest reads: bidirectional overrides and isolates (U+202E
 * shows `moc.exe` for `exe.com`) and zero-width characters. The rest is kept.
 * @module
 */

/**
 * The invisible characters that change how the text around them reads, as a regular expression
 * character class: the bidirectional marks, overrides and isolates (U+202E shows `moc.exe` for
 * `exe.com`), and the zero-width ones (two names that differ only by one look the same). Every
 * place that shows input text, on a terminal or in a page, makes these visible.
 */
export const HIDDEN_MARKS = "\\u061c\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2069\\ufeff";

/** What {@link printable} escapes: C0, DEL, C1, backslash, and the {@link HIDDEN_MARKS}. */
const UNPRINTABLE = new RegExp(`[\\x00-\\x1f\\x7f-\\x9f\\\\${HIDDEN_MARKS}]`, "g");

/**
 * `text` with control characters shown as `\xNN`, bidirectional and zero-width characters as
 * `\uNNNN` (and `\\` for a backslash, so the escaping is unambiguous), cut to `max` characters
 * with `…` when longer.
 *
 * @example Escaping a terminal sequence
 * ```ts
 * import { printable } from "./printable.ts";
 * import assert from "node:assert/strict";
 * assert.equal(printable("ts\x1b[2J"), "ts\\x1b[2J");
 * assert.equal(printable("a".repeat(10), 4), "aaaa…");
 * assert.equal(printable("\u202eexe.com"), "\\u202eexe.com"); // would show as "moc.exe"
 * ```
 */
export function printable(text: string, max = 200): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const escaped = cut.replace(UNPRINTABLE, (c) => {
    if (c === "\\") return "\\\\";
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
  return cut.length < text.length ? `${escaped}…` : escaped;
}

/**
 * `text` made {@link printable} and quoted so that quotes inside it read right: in double quotes;
 * in single quotes when it holds a double quote and no single one; else in double quotes with the
 * inner ones escaped as `\"` (unambiguous: {@link printable} writes a backslash as `\\`).
 *
 * @example A snippet that starts with quotes
 * ```ts
 * import { quoted } from "./printable.ts";
 * import assert from "node:assert/strict";
 * assert.equal(quoted('"""Gener'), `'"""Gener'`);
 * assert.equal(quoted("ts"), '"ts"');
 * assert.equal(quoted(`it's "x"`), '"it\'s \\"x\\""');
 * ```
 */
export function quoted(text: string, max = 200): string {
  const shown = printable(text, max);
  if (!shown.includes('"')) return `"${shown}"`;
  if (!shown.includes("'")) return `'${shown}'`;
  return `"${shown.replaceAll('"', '\\"')}"`;
}

/**
 * A line made safe for the terminal as a last guard, without escaping it twice: control, bidi
 * and zero-width characters are escaped as {@link printable} does, backslashes are kept (parts
 * already passed through {@link printable} stay as they are).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { controlsEscaped, printable } from "./printable.ts";
 * assert.equal(controlsEscaped(`a ${printable("b\x1b")} c\x07`), "a b\\x1b c\\x07");
 * ```
 */
export function controlsEscaped(text: string): string {
  return text.replace(UNPRINTABLE, (c) => c === "\\" ? c : printable(c));
}
