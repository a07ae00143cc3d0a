/**
 * The window clock: where the current window starts and ends (microseconds; packet time for a
 * file, wall-clock time live) and when it is due to close. Pure arithmetic, no I/O.
 * @module
 */

/** Window boundaries; see the module comment. */
export class WindowClock {
  /** Window length in microseconds. */
  readonly length: number;
  /** Live only: how long after its end a window may still receive stamped packets, µs. */
  readonly grace: number;
  /** Start of the current window (µs); -1 before the first packet of a file. */
  start = -1;
  /** End of the current window (µs, exclusive); Infinity before the first packet of a file. */
  end = Infinity;

  constructor(lengthMicros: number, graceMicros = 0) {
    this.length = lengthMicros;
    this.grace = graceMicros;
  }

  /** Opens the first window at `micros`. */
  openAt(micros: number): void {
    this.start = micros;
    this.end = micros + this.length;
  }

  /** Moves to the next window. */
  next(): void {
    this.start = this.end;
    this.end += this.length;
  }

  /** Skips the windows that end at or before `micros` (a file's gap without packets). */
  skipTo(micros: number): void {
    this.#skipWhile(micros);
  }

  /** Live: skips the windows whose grace ended by `nowMicros` (after a suspend or a stall). */
  skipPast(nowMicros: number): void {
    this.#skipWhile(nowMicros - this.grace);
  }

  /**
   * Moves to the window that holds `micros`, by arithmetic: a loop of `next()` over a gap of
   * centuries (a packet stamped 2^32 - 6 s, read by libpcap as a negative time) ran for ever on
   * the reading thread, deaf to signals, once `end + length` no longer changed `end`.
   */
  #skipWhile(micros: number): void {
    if (!(micros >= this.end)) return;
    const skipped = Math.floor((micros - this.end) / this.length) + 1;
    const end = this.end + skipped * this.length;
    if (!Number.isFinite(end) || end - this.length === end) {
      throw new RangeError(`a packet time of ${micros} µs is out of range for windows`);
    }
    this.start = end - this.length;
    this.end = end;
    if (micros >= this.end) this.next(); // a rounding step short
  }

  /** Ends the current window at `nowMicros` at the latest (a stop request). */
  endBy(nowMicros: number): void {
    this.end = Math.min(this.end, nowMicros);
  }

  /** Live: whether the current window is due to close at `nowMicros` (its grace included). */
  due(nowMicros: number): boolean {
    return nowMicros >= this.end + this.grace;
  }

  /** Milliseconds until {@link due} (at least 0). */
  msUntilDue(nowMicros: number): number {
    return Math.max(0, (this.end + this.grace - nowMicros) / 1000);
  }
}
