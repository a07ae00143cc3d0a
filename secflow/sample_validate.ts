/**
 * Checks a `.sf` value against section 1 of the spec: keys, their order, types and formats.
 * Every problem is reported with its JSON path; nothing is thrown.
 * @module
 */
import { pyString } from "./sample_format.ts";
import { FLASH_KEYS, type NameSource, SAMPLE_KEYS } from "./types.ts";

/** Longest string value kept (names are at most 253 bytes; this is generous). */
export const MAX_STRING_BYTES = 4096;

/** One problem found in a `.sf` file. */
export interface SampleProblem {
  /** JSON path of the offending value, e.g. `$.flashes[3].srcPkts`. */
  path: string;
  /** What is wrong there, one line. */
  message: string;
}

const NAME_SOURCES: readonly NameSource[] = ["passive", "cache", "original", "session"];

/**
 * Validates a parsed `.sf` value against section 1: keys, their order, types and formats.
 * Returns every problem found (empty when valid).
 */
export function validateSample(value: unknown): SampleProblem[] {
  const problems: SampleProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (!isRecord(value)) {
    add("$", `must be an object, found ${kind(value)}`);
    return problems;
  }
  checkKeys(value, SAMPLE_KEYS, "$", add);
  if ("hash" in value && !(typeof value.hash === "string" && /^[0-9a-f]{32}$/.test(value.hash))) {
    add("$.hash", `must be 32 lowercase hex digits, found ${show(value.hash)}`);
  }
  if ("trafficDate" in value) {
    const td = value.trafficDate;
    if (typeof td !== "string" || !/^-?\d+(\.\d+)?(e[+-]?\d+)?$/.test(td) || !td.match(/[.e]/)) {
      add(
        "$.trafficDate",
        `must be a string holding a float such as "1700000003.0", found ${show(td)}`,
      );
    }
  }
  if ("fileName" in value && typeof value.fileName !== "string") {
    add("$.fileName", `must be a string, found ${kind(value.fileName)}`);
  } else if (tooLong(value.fileName)) {
    add("$.fileName", `is a string longer than ${MAX_STRING_BYTES} bytes`);
  } else if (typeof value.fileName === "string" && !value.fileName.isWellFormed()) {
    add("$.fileName", "holds a lone surrogate (not valid Unicode)");
  }
  if ("flashes" in value) {
    if (!Array.isArray(value.flashes)) {
      add("$.flashes", `must be an array, found ${kind(value.flashes)}`);
    } else {
      let previous = -Infinity;
      // By index, not forEach: forEach skips the holes of a sparse array, which formatSample
      // then met as undefined.
      const flashes = value.flashes as unknown[];
      for (let i = 0; i < flashes.length; i++) {
        if (!(i in flashes)) {
          add(`$.flashes[${i}]`, "is missing (a hole in the array)");
          continue;
        }
        const found = validateFlash(flashes[i], `$.flashes[${i}]`, previous);
        problems.push(...found.problems);
        previous = found.relativeStart;
      }
    }
  }
  return problems;
}

/**
 * Whether `v` is a string the `.sf` reader would refuse as longer than {@link MAX_STRING_BYTES}
 * once written (escaped as formatSample writes it), so that what validates also reads back.
 */
function tooLong(v: unknown): boolean {
  // Written, a character takes at most 6 bytes (`\uXXXX`): short strings need no measuring.
  return typeof v === "string" && v.length * 6 > MAX_STRING_BYTES &&
    pyString(v).length - 2 > MAX_STRING_BYTES;
}

/**
 * Validates one flash at JSON path `at`. `previous` is the relativeStart of the flash before it
 * (flashes are ordered by it); the answer carries this flash's, for the next call. `extraKeys`
 * may follow the section 1 keys, each a string (a local server's `eventId`).
 */
export function validateFlash(
  flash: unknown,
  at: string,
  previous: number,
  extraKeys: readonly string[] = [],
): { problems: SampleProblem[]; relativeStart: number } {
  const problems: SampleProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (!isRecord(flash)) {
    add(at, `must be an object, found ${kind(flash)}`);
    return { problems, relativeStart: previous };
  }
  const extras = extraKeys.filter((k) => Object.hasOwn(flash, k));
  for (const key of extras) {
    if (typeof flash[key] !== "string") {
      add(`${at}.${key}`, `must be a string, found ${kind(flash[key])}`);
    }
  }
  checkKeys(
    extras.length === 0 ? flash : Object.fromEntries(
      Object.entries(flash).filter(([k]) => !extras.includes(k)),
    ),
    FLASH_KEYS,
    at,
    add,
  );
  for (const key of ["src", "dst", "protocolInformation"] as const) {
    if (key in flash && typeof flash[key] !== "string") {
      add(`${at}.${key}`, `must be a string, found ${kind(flash[key])}`);
    } else if (tooLong(flash[key])) {
      add(`${at}.${key}`, `is a string longer than ${MAX_STRING_BYTES} bytes`);
    }
  }
  if (
    "destinationNameSource" in flash &&
    !NAME_SOURCES.includes(flash.destinationNameSource as NameSource)
  ) {
    add(
      `${at}.destinationNameSource`,
      `must be one of ${NAME_SOURCES.join(", ")}, found ${show(flash.destinationNameSource)}`,
    );
  }
  for (const key of ["srcPkts", "srcBytes", "dstPkts", "dstBytes"] as const) {
    if (key in flash && !(Number.isSafeInteger(flash[key]) && (flash[key] as number) >= 0)) {
      add(`${at}.${key}`, `must be a whole number from 0 to 2^53-1, found ${show(flash[key])}`);
    }
  }
  for (const key of ["relativeStart", "duration"] as const) {
    const v = flash[key];
    if (key in flash && !(typeof v === "number" && Number.isFinite(v) && v >= 0)) {
      add(`${at}.${key}`, `must be a finite number >= 0, found ${show(v)}`);
    }
  }
  const icmp = flash.protocolInformation === "ICMP";
  if ("protocolInformation" in flash && flash.protocolInformation !== "" && !icmp) {
    add(
      `${at}.protocolInformation`,
      `must be "" or "ICMP", found ${show(flash.protocolInformation)}`,
    );
  }
  if (typeof flash.src === "string") {
    const m = (icmp ? /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/ : /^(\d+)\.(\d+)\.(\d+)\.(\d+):(\d+)$/)
      .exec(flash.src);
    if (!m) {
      add(`${at}.src`, `must be ${icmp ? '"ip"' : '"ip:port"'}, found ${show(flash.src)}`);
    } else if (m.slice(1, 5).some((o) => Number(o) > 255) || (m[5] && Number(m[5]) > 65535)) {
      add(`${at}.src`, `has an address or port out of range: ${show(flash.src)}`);
    }
  }
  if (typeof flash.dst === "string") {
    const m = icmp ? [flash.dst, flash.dst] : /^(.*):(\d+)$/s.exec(flash.dst);
    if (!m || (!icmp && !/^[^:\s]+$/.test(m[1]))) {
      add(`${at}.dst`, `must be "name:port", found ${show(flash.dst)}`);
    } else {
      const name = m[1];
      const bad = name.length === 0
        ? "is empty"
        : name.length > 253
        ? `is ${name.length} characters long (at most 253)`
        // deno-lint-ignore no-control-regex
        : /[\x00-\x1f\x7f-\x9f]/.test(name)
        ? "holds control characters"
        // Written as UTF-8 it would come back as U+FFFD: another name.
        : !name.isWellFormed()
        ? "holds a lone surrogate (not valid Unicode)"
        : undefined;
      if (bad) add(`${at}.dst`, `the name ${bad}: ${show(flash.dst)}`);
      else if (!icmp && Number(m[2]) > 65535) {
        add(`${at}.dst`, `has a port out of range: ${show(flash.dst)}`);
      }
    }
  }
  let relativeStart = previous;
  if (typeof flash.relativeStart === "number") {
    if (flash.relativeStart < previous) {
      add(
        `${at}.relativeStart`,
        `flashes must be ordered by relativeStart (${flash.relativeStart} < ${previous})`,
      );
    }
    relativeStart = flash.relativeStart;
  }
  return { problems, relativeStart };
}

function checkKeys(
  obj: Record<string, unknown>,
  expected: readonly string[],
  at: string,
  add: (path: string, message: string) => void,
): void {
  const keys = Object.keys(obj);
  // The common case, every key in order: one pass.
  if (keys.length === expected.length && keys.every((k, i) => k === expected[i])) return;
  for (const key of expected) if (!keys.includes(key)) add(`${at}.${key}`, "is missing");
  for (const key of keys) if (!expected.includes(key)) add(`${at}.${key}`, "is not a known key");
  const present = keys.filter((k) => expected.includes(k));
  const wanted = expected.filter((k) => keys.includes(k));
  if (present.join() !== wanted.join()) {
    add(at, `keys must be in the order ${expected.join(", ")}; found ${keys.join(", ")}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function kind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

function show(v: unknown): string {
  const text = typeof v === "number" && !Number.isFinite(v)
    ? String(v)
    : JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
