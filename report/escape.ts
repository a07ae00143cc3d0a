/**
 * Escaping for the report's HTML. Every string that comes from traffic (DNS names can hold any
 * byte a packet carries, `<` included), from a file or from an annotation goes through
 * {@link escapeHtml} before it is put into a page, in text and in attribute values alike.
 * @module
 */

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

// Control characters except tab and newline.
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

/**
 * Text made safe for HTML text and quoted attribute values (SVG included): `& < > " '` become
 * entities, and control characters other than tab and newline become U+FFFD so a name cannot
 * hide text from the reader.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./escape.ts";
 * assert.equal(
 *   escapeHtml("x<img src=q onerror=alert(1)>.example"),
 *   "x&lt;img src=q onerror=alert(1)&gt;.example",
 * );
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]).replace(CONTROL, "\ufffd");
}
