/**
 * The time span of Secflows, one definition for every place that shows one (`stats`, `report`,
 * the sample page of `serve`): from the first packet of the Secflow that starts first to the last
 * packet of the Secflow that ends last (its start plus its duration).
 *
 * It is not measured from a sample's `trafficDate`. That is the first packet the converter read,
 * which may belong to no Secflow (a filtered packet, or a session that made none), and Secflows
 * from several samples have several. `report` measured from `trafficDate` while `stats` measured
 * from the first Secflow, so one sample showed two spans. Pure: no I/O.
 * @module
 */

/**
 * Accumulates the span of Secflows as they are visited, in whatever time base they come (epoch
 * seconds or seconds relative to `trafficDate`: the length is the same).
 *
 * @example
 * ```ts
 * import { TimeSpan } from "./span.ts";
 * import assert from "node:assert/strict";
 * const span = new TimeSpan();
 * span.add(2.5, 1); // starts 2.5 s after trafficDate, lasts 1 s
 * span.add(3, 0.25);
 * assert.deepEqual([span.start, span.end, span.seconds], [2.5, 3.5, 1]);
 * ```
 */
export class TimeSpan {
  /** When the Secflow that starts first starts (Infinity while none was added). */
  start = Infinity;
  /** When the Secflow that ends last ends (-Infinity while none was added). */
  end = -Infinity;

  /** Takes in one Secflow. */
  add(start: number, duration: number): void {
    if (start < this.start) this.start = start;
    const end = start + duration;
    if (end > this.end) this.end = end;
  }

  /** Whether no Secflow was added. */
  get empty(): boolean {
    return !(this.end >= this.start);
  }

  /**
   * Seconds from {@link start} to {@link end}, rounded to the microsecond (the format's
   * precision: epoch seconds near 1.7e9 carry rounding noise below it); 0 when empty.
   */
  get seconds(): number {
    return this.empty ? 0 : Math.round((this.end - this.start) * 1e6) / 1e6;
  }
}
