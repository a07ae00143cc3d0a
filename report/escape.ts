/**
 * Escaping for the report's HTML. Every string that comes from traffic (DNS names can hold any
 * byte a packet carries, `<` included), from a file or from an annotation goes through
 * {@link escapeHtml} before it is put into a page, in text and in attribute values alike.
 * @module
 */
import { HIDDEN_MARKS } from "../secflow/printable.ts";

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * What a reader could not see, or would read wrongly: control characters except tab and newline
 * (C0, DEL, C1) and the bidirectional and zero-width marks (`\u202e` turns `evil.com:443`
 * around; the terminal shows the same characters escaped, see `printable`).
 */
const HIDDEN = new RegExp(`[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f${HIDDEN_MARKS}]`, "g");

/**
 * Text made safe for HTML text and quoted attribute values (SVG included): `& < > " '` become
 * entities, and control characters other than tab and newline, bidirectional and zero-width marks
 * become U+FFFD, so that a name can neither hide text from the reader nor pass for another one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./escape.ts";
 * assert.equal(
 *   escapeHtml("x<img src=q onerror=alert(1)>.example"),
 *   "x&lt;img src=q onerror=alert(1)&gt;.example",
 * );
 * assert.equal(escapeHtml("\u202emoc.elgoog.evil:443"), "\ufffdmoc.elgoog.evil:443");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]).replace(HIDDEN, "\ufffd");
}
