/**
 * Number formatting the platform's Python converter produces: floats as Python's `repr` writes
 * them, and the "%.6f" rounding of relative times.
 * @module
 */

/**
 * Formats a number the way Python's `repr(float)` does: shortest round-trip digits, always with a
 * decimal point or an exponent (`1700000003.0`, `0.0`, `1e-06`, `1.5e+16`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pyFloat } from "./format.ts";
 * assert.equal(pyFloat(1700000003), "1700000003.0");
 * assert.equal(pyFloat(0.000001), "1e-06");
 * ```
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const abs = Math.abs(x);
  if (abs >= 1e-4 && abs < 1e16) {
    // JavaScript and Python agree on the shortest digits; in this range both write them plainly.
    const plain = String(x);
    if (!plain.includes("e")) return plain.includes(".") ? plain : `${plain}.0`;
  }
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest digits that round-trip.
  const [mantissa, expText] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.length > exp + 1 ? digits.slice(0, exp + 1) : digits.padEnd(exp + 1, "0");
  const fracPart = digits.length > exp + 1 ? digits.slice(exp + 1) : "0";
  return `${sign}${intPart}.${fracPart}`;
}

/**
 * Rounds seconds to 6 decimals as Python's `float("%.6f" % x)` does (exact ties excepted, which
 * real timestamps do not produce).
 */
export function round6(x: number): number {
  const scaled = x * 1e6;
  // Fast path: when x*1e6 is far from a rounding tie (its floating-point error is far below the
  // margin for |scaled| < 1e12), Math.round picks the same integer n as exact rounding, and n/1e6
  // is then the double nearest to the decimal text "%.6f" writes.
  if (scaled >= 0 && scaled < 1e12) {
    const frac = scaled - Math.floor(scaled);
    if (Math.abs(frac - 0.5) > 1e-3) return Math.round(scaled) / 1e6;
  }
  return Number(x.toFixed(6));
}

/** Seconds (as the double nearest to `sec.micros`) of an integer microsecond timestamp. */
export function microsToSeconds(micros: number): number {
  // Integer micros and 1e6 are exact doubles, so the division is correctly rounded: the result is
  // the double nearest to the decimal "seconds.micros", exactly what parsing that text gives.
  return micros / 1e6;
}
