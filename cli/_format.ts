/**
 * How the CLI shows values to a person, in one place: counts with their noun (`1 Secflow`,
 * `2 Secflows`), byte amounts (`1.2 MB`), durations, ISO-8601 UTC dates (`2026-12-01 10:04:05Z`),
 * tags (`web, cdn`), and tables whose number columns are right-aligned and whose widest text
 * columns shrink (with `…`) to fit a terminal. Pure: no I/O, so every rule is unit-tested.
 * `--json` and `--csv` never go through here: they print full values.
 * @module
 */
import { printable } from "../secflow/printable.ts";

// Bytes, counts, durations and the platform's dates are shown everywhere the same way: the neutral
// fmt/ modules; the CLI's modules find them here with the rest.
export { formatBytes } from "../fmt/bytes.ts";
export { formatCount, plural } from "../fmt/count.ts";
export { formatDuration } from "../fmt/duration.ts";
export { showPlatformDate as platformDate } from "../fmt/platform_date.ts";

/**
 * Epoch seconds as `2026-12-01 10:04:05Z` (UTC, ISO 8601 with a space, whole seconds: what a
 * person reads). `fraction` digits (1..6) add `.123456` for full values.
 */
export function formatDate(epochSeconds: number, fraction = 0): string {
  // A valid .sf may say any float ("1e308"): past the calendar JavaScript dates cover, "?".
  if (!(Math.abs(epochSeconds) < MAX_DATE_SECONDS)) return "?";
  const micros = Math.round(epochSeconds * 1e6);
  const wholeSeconds = Math.floor(micros / 1e6);
  // Years past 9999 are written +010000-...: cut the milliseconds off the end, not at a column.
  const iso = new Date(wholeSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "").replace(
    "T",
    " ",
  );
  if (fraction <= 0) return `${iso}Z`;
  const frac = String(micros - wholeSeconds * 1e6).padStart(6, "0").slice(0, fraction);
  return `${iso}.${frac}Z`;
}

/** The last second a JavaScript date holds (±8.64e15 ms, the year 275760), a little inside. */
export const MAX_DATE_SECONDS = 8.64e12 - 1;

/** Epoch seconds as full ISO 8601 (`2026-12-01T10:04:05.123456Z`), for JSON. */
export function isoTimestamp(epochSeconds: number): string {
  return formatDate(epochSeconds, 6).replace(" ", "T");
}

/** Tags as people write them: `["web","cdn"]` → `web, cdn`; a string stays as it is. */
export function formatTags(tags: unknown): string {
  if (Array.isArray(tags)) return tags.map((t) => cellText(t)).join(", ");
  return cellText(tags);
}

/** Any value as text: objects as JSON, nothing escaped (for {@link renderTable}, which escapes). */
export function cellValue(v: unknown): string {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** Any value as one line of text to print: objects as JSON, control bytes escaped. */
export function cellText(v: unknown): string {
  return printable(cellValue(v), 1000);
}

/** One column of a {@link renderTable}. */
export interface Column {
  header: string;
  /** Numbers and amounts are right-aligned. */
  align?: "left" | "right";
  /** May be cut (with `…`) to fit the width; columns without it keep their width. */
  shrink?: boolean;
  /** Never cut below this many characters (default 8). */
  min?: number;
  /**
   * When shrinking is not enough, columns with a `drop` rank are left out, highest rank first,
   * all columns of a rank at once (a narrow terminal keeps who, where and how much rather than
   * a wrapped mess).
   */
  drop?: number;
}

/**
 * Rows under a header, two spaces between columns. With `maxWidth` (a terminal's columns), the
 * shrinkable columns are cut, widest first, until the line fits; without it nothing is cut.
 */
export function renderTable(columns: Column[], rows: string[][], maxWidth?: number): string[] {
  if (maxWidth !== undefined) {
    // Columns of one rank go together (packets out and in are one decision).
    const ranks = [
      ...new Set(columns.map((c) => c.drop).filter((d): d is number => d !== undefined)),
    ]
      .sort((a, b) => b - a);
    for (const rank of ranks) {
      if (naturalWidth(columns, rows) <= maxWidth) break;
      const keep = columns.map((c) => c.drop !== rank);
      columns = columns.filter((_, j) => keep[j]);
      rows = rows.map((r) => r.filter((_, j) => keep[j]));
    }
  }
  // Every cell may come from traffic or a server: control bytes never reach the terminal.
  rows = rows.map((r) => r.map((cell) => printable(cell, 1000)));
  const widths = columns.map((c, i) => widestCell(c, rows, i));
  if (maxWidth !== undefined) {
    const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
    while (total() > maxWidth) {
      let widest = -1;
      for (let i = 0; i < columns.length; i++) {
        if (
          columns[i].shrink && widths[i] > floorOf(columns[i]) &&
          (widest < 0 || widths[i] > widths[widest])
        ) widest = i;
      }
      if (widest < 0) break;
      const room = widths[widest] - floorOf(columns[widest]);
      widths[widest] -= Math.min(room, total() - maxWidth, 1 + (widths[widest] >> 3));
    }
  }
  const fit = (text: string, width: number) => {
    if (displayWidth(text) <= width) return text;
    let cut = "";
    let used = 0;
    for (const ch of text) {
      const w = charWidth(ch.codePointAt(0)!);
      if (used + w > width - 1) break;
      cut += ch;
      used += w;
    }
    return cut + "…";
  };
  const pad = (text: string, i: number) => {
    const cut = fit(text, widths[i]);
    const room = Math.max(0, widths[i] - displayWidth(cut));
    return columns[i].align === "right" ? " ".repeat(room) + cut : cut + " ".repeat(room);
  };
  const line = (cells: string[]) =>
    columns.map((_, i) => pad(cells[i] ?? "", i)).join("  ").trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)];
}

/** The narrowest a shrinkable column is cut to. */
function floorOf(c: Column): number {
  return c.min ?? 8;
}

/** The width of a table once its shrinkable columns are cut to their floors. */
function naturalWidth(columns: Column[], rows: string[][]): number {
  let total = 2 * (columns.length - 1);
  columns.forEach((c, i) => {
    const full = widestCell(c, rows, i);
    total += c.shrink ? Math.min(full, floorOf(c)) : full;
  });
  return total;
}

/** The display width of column `i`: its header or widest cell (a loop: rows may be millions). */
function widestCell(c: Column, rows: string[][], i: number): number {
  let widest = displayWidth(c.header);
  for (const r of rows) {
    const w = displayWidth(r[i] ?? "");
    if (w > widest) widest = w;
  }
  return widest;
}

/**
 * Terminal columns `text` takes: East Asian wide and fullwidth characters (and emoji) two,
 * combining marks and zero-width characters none, the rest one (as wcwidth counts them, closely
 * enough for names in a table).
 */
export function displayWidth(text: string): number {
  let w = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x300) {
      w++; // ASCII and Latin: the common case, no code point decoding
      continue;
    }
    const cp = text.codePointAt(i)!;
    if (cp > 0xffff) i++;
    w += charWidth(cp);
  }
  return w;
}

function charWidth(cp: number): number {
  if (cp < 0x300) return 1;
  if (
    (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp === 0xfeff ||
    (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
    (cp >= 0x20d0 && cp <= 0x20ff)
  ) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd)
  ) return 2;
  return 1;
}

/**
 * One CSV line (RFC 4180): fields with `,`, `"` or any control character (C0 with CR and LF, DEL,
 * C1) are quoted, quotes doubled. A value keeps its exact bytes (CSV has no other escape; the
 * caller escapes a line meant for a terminal), and a field holding an ESC or a NEL from the
 * platform is one quoted value to every reader, never a bare one. Text starting with `= + - @`
 * gets a leading `'`, so that no spreadsheet runs it as a formula.
 */
export function csvLine(fields: unknown[]): string {
  return fields.map((f) => {
    let text = f === undefined || f === null ? "" : String(f);
    // A spreadsheet runs a text cell that starts with = + - @ as a formula (`=HYPERLINK(...)` in
    // a name from a hostile sample): such text gets a leading ' (OWASP's advice). Numbers are
    // numbers, never text: a negative one stays as it is.
    if (typeof f === "string" && /^[=+\-@]/.test(text)) text = `'${text}`;
    // deno-lint-ignore no-control-regex
    return /[",\x00-\x1f\x7f-\x9f]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  }).join(",");
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/**
 * The candidate a mistyped `word` most likely meant: a unique one it is a prefix of, else the
 * nearest within an edit distance of 1 (short words) to 2, else undefined.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const prefixed = candidates.filter((c) => word.length >= 2 && c.startsWith(word));
  if (prefixed.length === 1) return prefixed[0];
  const limit = word.length <= 3 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
