/**
 * Counts for people: `12,988`, and counts with their noun, `1 Secflow`, `2 Secflows`.
 * @module
 */

/**
 * A whole number with thousands separators.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCount } from "./count.ts";
 * assert.equal(formatCount(12988), "12,988");
 * assert.equal(formatCount(-1234567.4), "-1,234,567");
 * assert.equal(formatCount(999), "999");
 * assert.equal(formatCount(NaN), "NaN");
 * ```
 */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const r = Math.round(n);
  // Grouped here: the first toLocaleString call loads ICU's number data (about 25 ms, paid by
  // every `convert` for its summary line), and each later call costs ~10 µs (a report of 13,702
  // Secflows spent 0.67 s of its 1.2 s in it).
  if (Math.abs(r) >= 1e21) return r.toLocaleString("en-US");
  const grouped = String(Math.abs(r)).replace(/\B(?=(\d{3})+$)/g, ",");
  return r < 0 ? `-${grouped}` : grouped;
}

/**
 * The noun a count takes: `noun` for exactly 1, `nounPlural` (default `noun` + `s`) otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countNoun } from "./count.ts";
 * assert.equal(`${1} ${countNoun(1, "packet")}`, "1 packet");
 * assert.equal(`${0} ${countNoun(0, "packet")}`, "0 packets");
 * assert.equal(countNoun(2, "entry", "entries"), "entries");
 * ```
 */
export function countNoun(n: number, noun: string, nounPlural = `${noun}s`): string {
  return n === 1 ? noun : nounPlural;
}

/**
 * A count with its noun, the count grouped: `1 Secflow`, `2 Secflows`, `1,204 packets`
 * (irregular plurals given explicitly).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plural } from "./count.ts";
 * assert.equal(plural(1, "Secflow"), "1 Secflow");
 * assert.equal(plural(1204, "packet"), "1,204 packets");
 * assert.equal(plural(3, "address", "addresses"), "3 addresses");
 * ```
 */
export function plural(n: number, noun: string, nounPlural = `${noun}s`): string {
  return `${formatCount(n)} ${countNoun(n, noun, nounPlural)}`;
}
