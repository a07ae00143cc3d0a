/**
 * How the CLI shows values: plurals, counts, bytes, durations, UTC dates, platform dates, tags,
 * CSV quoting, "did you mean".
 */
import assert from "node:assert/strict";
import {
  closest,
  csvLine,
  editDistance,
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  formatTags,
  isoTimestamp,
  platformDate,
  plural,
} from "../../cli/_format.ts";

Deno.test("plural and counts: 1 Secflow, 2 Secflows, 12,988 packets", () => {
  assert.equal(plural(1, "Secflow"), "1 Secflow");
  assert.equal(plural(0, "Secflow"), "0 Secflows");
  assert.equal(plural(2, "packet"), "2 packets");
  assert.equal(plural(12_988, "lookup"), "12,988 lookups");
  assert.equal(plural(2, "entry", "entries"), "2 entries");
  assert.equal(formatCount(1_234_567), "1,234,567");
});

Deno.test("counts are grouped exactly as toLocaleString('en-US') groups them", () => {
  const values = [0, 7, 999, 1000, 999.5, 1e6 - 0.4, -1234, -999_999_999, 2 ** 53, 1e20, 3e21];
  for (let digits = 1; digits <= 18; digits++) values.push(Number("9".repeat(digits)) / 7);
  for (const n of values) {
    assert.equal(formatCount(n), Math.round(n).toLocaleString("en-US"), String(n));
  }
  assert.equal(formatCount(NaN), "NaN");
});

Deno.test("amounts and durations with units", () => {
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1_200_000), "1.2 MB");
  assert.equal(formatDuration(0), "0 s");
  assert.equal(formatDuration(0.0004), "1 ms");
  assert.equal(formatDuration(0.138), "138 ms");
  assert.equal(formatDuration(2.036), "2.0 s");
  assert.equal(formatDuration(12.5), "13 s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  // At a unit's edge, rounding carries into the next unit, never "1000 ms" or "60 s".
  assert.equal(formatDuration(0.9996), "1.0 s");
  assert.equal(formatDuration(59.6), "1m00s");
  assert.equal(formatDuration(59.4), "59 s");
});

Deno.test("dates: ISO 8601 in UTC; the platform's DD/MM/YYYY becomes YYYY-MM-DD", () => {
  assert.equal(formatDate(1_700_000_000), "2023-11-14 22:13:20Z");
  assert.equal(formatDate(1_700_000_000.9999996), "2023-11-14 22:13:21Z", "rounds to micros first");
  assert.equal(formatDate(1_700_000_000.0109, 6), "2023-11-14 22:13:20.010900Z");
  assert.equal(isoTimestamp(1_700_000_000.5), "2023-11-14T22:13:20.500000Z");
  assert.equal(platformDate("01/12/2026 10:04:05"), "2026-12-01 10:04:05Z");
  assert.equal(platformDate("yesterday"), "yesterday", "never guessed at");
});

Deno.test("tags as people write them; CSV quoting; did-you-mean distances", () => {
  assert.equal(formatTags(["web", "cdn"]), "web, cdn");
  assert.equal(formatTags("web"), "web");
  assert.equal(formatTags(["a\x1bb"]), "a\\x1bb");
  assert.equal(csvLine(["a", "b,c", 'say "hi"', 1, undefined]), 'a,"b,c","say ""hi""",1,');
  assert.equal(editDistance("conver", "convert"), 1);
  assert.equal(closest("conver", ["convert", "capture"]), "convert");
  assert.equal(closest("sortt", ["sort", "top"]), "sort");
  assert.equal(closest("st", ["stats", "samples"]), "stats");
  assert.equal(closest("zzz", ["stats", "samples"]), undefined);
});
