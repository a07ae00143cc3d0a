/**
 * Byte amounts for people: `1.2 MB`.
 * @module
 */

/**
 * `1.2 MB` style (decimal units, as `ls -h --si` and most download bars print): whole bytes
 * below 1000, then one decimal below 10 of a unit, none above.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "./bytes.ts";
 * assert.equal(formatBytes(999), "999 B");
 * assert.equal(formatBytes(1234), "1.2 kB");
 * assert.equal(formatBytes(12_345_678), "12 MB");
 * // 999.95 kB would round to "1000 kB": it is the next unit's 1.0.
 * assert.equal(formatBytes(999_950), "1.0 MB");
 * ```
 */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ["kB", "MB", "GB", "TB", "PB"];
  let value = n / 1000;
  let i = 0;
  while (value >= 999.95 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[i]}`;
}
