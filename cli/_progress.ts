/**
 * Progress on a terminal: one line on stderr, redrawn in place (`\r` + erase), never printed when
 * stderr is not a terminal or the command runs with `--quiet`. Work that ends quickly shows
 * nothing: the first draw waits {@link ProgressOptions.delayMs} (0.5 s), and redraws are at most
 * ~8 a second, so a hot loop may call {@link Progress.update} per chunk at no cost.
 *
 * Two shapes share one mechanism: measured work (`update(done, total)`: bytes or items done of a
 * total, with rate and ETA) and free text (`status(text)`, e.g. a capture window's counters).
 * @module
 */

/** How {@link Progress} counts and when it may draw. */
export interface ProgressOptions {
  /** Printed before the numbers, e.g. `convert big.pcap`. */
  label: string;
  /** `bytes` prints `12.3 MB of 1.6 GB, 85 MB/s`; `items` prints `1,204 of 12,988, 310/s`. */
  unit?: "bytes" | "items";
  /** Suppresses everything (the command's `--quiet`). */
  quiet?: boolean;
  /** Milliseconds of work before the first draw (default 500). */
  delayMs?: number;
  /** Where the line goes; defaults to stderr when it is a terminal, else nowhere. */
  sink?: ProgressSink;
}

/** A terminal-like writer: {@link Progress} only needs to write bytes and know the width. */
export interface ProgressSink {
  write(bytes: Uint8Array): void;
  columns(): number;
}

const REDRAW_MS = 125;
const encoder = new TextEncoder();

/** stderr when it is a terminal, else `undefined` (no progress for pipes, files and CI logs). */
export function terminalSink(): ProgressSink | undefined {
  if (!Deno.stderr.isTerminal()) return undefined;
  return {
    write: (bytes) => {
      Deno.stderr.writeSync(bytes);
    },
    columns: () => {
      try {
        // A pseudo-terminal whose size was never set reports 0 columns.
        return Deno.consoleSize().columns || 80;
      } catch {
        return 80;
      }
    },
  };
}

/** Progress lines drawn and not yet cleared (see {@link endProgressLines}). */
const shownLines = new Set<Progress>();

/**
 * Ends every progress line on screen with a newline, leaving its last text (how far the work
 * got) in place: for a process about to exit on Ctrl-C, whose shell prompt would otherwise
 * follow the line on the same row.
 */
export function endProgressLines(): void {
  for (const progress of shownLines) progress.end();
}

/** One progress line; see the module comment. */
export class Progress {
  readonly #label: string;
  readonly #unit: "bytes" | "items";
  readonly #sink: ProgressSink | undefined;
  readonly #startedAt = performance.now();
  readonly #delayMs: number;
  #lastDraw = 0;
  #shown = false;

  constructor(options: ProgressOptions) {
    this.#label = options.label;
    this.#unit = options.unit ?? "bytes";
    this.#delayMs = options.delayMs ?? 500;
    this.#sink = options.quiet ? undefined : (options.sink ?? terminalSink());
  }

  /** True when this progress can draw at all (a terminal, not quiet). */
  get active(): boolean {
    return this.#sink !== undefined;
  }

  /** Reports `done` of `total` (total unknown: 0 or omitted). Cheap when nothing is drawn. */
  update(done: number, total = 0): void {
    if (!this.#due()) return;
    const seconds = (performance.now() - this.#startedAt) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const parts = [
      total > 0
        ? `${this.#amount(done)} of ${this.#amount(total)} (${Math.floor((done / total) * 100)}%)`
        : this.#amount(done),
      `${this.#amount(rate)}/s`,
    ];
    if (total > 0 && rate > 0 && done < total) {
      parts.push(`ETA ${formatSeconds((total - done) / rate)}`);
    }
    this.#draw(`${this.#label}: ${parts.join(", ")}`);
  }

  /** Shows free text (throttled like {@link update}). */
  status(text: string, force = false): void {
    if (force ? this.#sink === undefined : !this.#due()) return;
    this.#draw(`${this.#label}: ${text}`);
  }

  /** Erases the line, so the next ordinary line starts clean. Call before printing anything. */
  clear(): void {
    if (!this.#shown || !this.#sink) return;
    this.#sink.write(encoder.encode("\r\x1b[2K"));
    this.#shown = false;
    shownLines.delete(this);
  }

  /** Ends the line on screen with a newline, keeping its text (see {@link endProgressLines}). */
  end(): void {
    if (!this.#shown || !this.#sink) return;
    this.#sink.write(encoder.encode("\n"));
    this.#shown = false;
    shownLines.delete(this);
  }

  #due(): boolean {
    if (!this.#sink) return false;
    const now = performance.now();
    if (now - this.#startedAt < this.#delayMs || now - this.#lastDraw < REDRAW_MS) return false;
    this.#lastDraw = now;
    return true;
  }

  #draw(line: string): void {
    const width = Math.max(20, this.#sink!.columns() - 1);
    const text = line.length > width ? line.slice(0, width - 1) + "…" : line;
    this.#sink!.write(encoder.encode(`\r\x1b[2K${text}`));
    this.#shown = true;
    shownLines.add(this);
  }

  #amount(n: number): string {
    return this.#unit === "bytes" ? formatBytes(n) : formatCount(n);
  }
}

/** `1.2 MB` style (decimal units, as `ls -h --si` and most download bars print). */
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

/** `42s`, `3m05s`, `1h02m`. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  const whole = Math.round(s);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}

/** A whole number with thousands separators: `12,988`. */
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
