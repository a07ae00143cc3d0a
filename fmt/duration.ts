/**
 * Durations for people: `250 ms`, `12.5 s`, `3m05s`, `1h02m`.
 * @module
 */

/**
 * A duration in seconds for a table cell: `0 s`, `250 ms`, `12.5 s`, `3m05s`, `1h02m`; `?` for
 * a negative or non-finite one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./duration.ts";
 * assert.equal(formatDuration(0), "0 s");
 * assert.equal(formatDuration(0.25), "250 ms");
 * // Each unit ends where rounding would carry into the next.
 * assert.equal(formatDuration(0.9996), "1.0 s");
 * assert.equal(formatDuration(59.6), "1m00s");
 * assert.equal(formatDuration(3725), "1h02m");
 * assert.equal(formatDuration(-1), "?");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds === 0) return "0 s";
  // Each unit's range ends where rounding would carry into the next (0.9996 s is "1.0 s", not
  // "1000 ms"; 59.6 s is "1m00s", not "60 s").
  if (seconds < 0.9995) return `${Math.max(1, Math.round(seconds * 1000))} ms`;
  if (seconds < 59.5) return `${seconds < 9.95 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  return minutesOrHours(Math.round(seconds));
}

/**
 * Whole seconds for a progress line: `42s`, `3m05s`, `1h02m`; `?` for a negative or non-finite
 * time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSeconds } from "./duration.ts";
 * assert.equal(formatSeconds(42.4), "42s");
 * assert.equal(formatSeconds(185), "3m05s");
 * assert.equal(formatSeconds(3725), "1h02m");
 * assert.equal(formatSeconds(Infinity), "?");
 * ```
 */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  const whole = Math.round(s);
  if (whole < 60) return `${whole}s`;
  return minutesOrHours(whole);
}

/** Whole seconds, 60 or more, as `3m05s` below an hour and `1h02m` from then on. */
function minutesOrHours(whole: number): string {
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}
