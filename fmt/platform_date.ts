/**
 * The platform's dates: endpoint 2 writes `dateCreated` as `DD/MM/YYYY HH:MM:SS` (UTC). Written
 * (the local server), read back into time (the capture spool), and shown to people (the CLI).
 * @module
 */

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * Epoch milliseconds as the platform writes a date: `DD/MM/YYYY HH:MM:SS` (UTC).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPlatformDate } from "./platform_date.ts";
 * assert.equal(formatPlatformDate(Date.UTC(2026, 11, 1, 10, 4, 5)), "01/12/2026 10:04:05");
 * ```
 */
export function formatPlatformDate(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${
    pad(d.getUTCHours())
  }:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/**
 * A platform date (surrounding spaces allowed) in epoch milliseconds; null for any other text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePlatformDate } from "./platform_date.ts";
 * assert.equal(parsePlatformDate(" 01/12/2026 10:04:05 "), Date.UTC(2026, 11, 1, 10, 4, 5));
 * assert.equal(parsePlatformDate("2026-12-01 10:04:05"), null);
 * ```
 */
export function parsePlatformDate(text: string): number | null {
  const m = /^(\d\d)\/(\d\d)\/(\d{4}) (\d\d):(\d\d):(\d\d)$/.exec(text.trim());
  if (!m) return null;
  const t = Date.UTC(+m[3], +m[2] - 1, +m[1], +m[4], +m[5], +m[6]);
  return Number.isNaN(t) ? null : t;
}

/**
 * A platform date as people read dates, `YYYY-MM-DD HH:MM:SSZ`; any other text is returned
 * unchanged (never guessed at).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showPlatformDate } from "./platform_date.ts";
 * assert.equal(showPlatformDate("01/12/2026 10:04:05"), "2026-12-01 10:04:05Z");
 * assert.equal(showPlatformDate("yesterday"), "yesterday");
 * ```
 */
export function showPlatformDate(text: string): string {
  const m = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}:\d{2}:\d{2})$/.exec(text);
  return m ? `${m[3]}-${m[2]}-${m[1]} ${m[4]}Z` : text;
}
