/**
 * Errors raised by the pure Secflow core. Each carries a single-line message that names what was
 * wrong and where, a {@link InputErrorKind kind} a program can branch on, and the facts (file,
 * line, byte offset, the value seen). The core speaks of data only: which command-line flag
 * would fix a problem, and which exit code it deserves, is the CLI's business (`cli/errors.ts`).
 * @module
 */

/** What kind of problem an {@link InputError} reports. */
export type InputErrorKind =
  /** The input cannot be opened or read (missing, a directory, no permission). */
  | "unreadable"
  /** The input holds no bytes (once decompressed). */
  | "empty"
  /** The content is none of the formats the converter reads. */
  | "unrecognised"
  /** The content is of the expected format but damaged (gzip, capture framing, JSON). */
  | "damaged"
  /** A Zeek log of the other kind: a dns.log where a conn.log belongs, or the reverse. */
  | "wrong-log"
  /** A Zeek log whose `#fields` lacks a column every record needs. */
  | "missing-column"
  /** A stream that yields no usable record for far longer than any real log would. */
  | "no-records"
  /** Two inputs that do not go together (a dns.log with a capture). */
  | "mismatch"
  /** More Secflows than the caller asked to hold at most (`maxSecflows`). */
  | "too-large"
  /** Anything else wrong with the input. */
  | "invalid";

/** The facts of an {@link InputError}; every field is optional except where a kind needs it. */
export interface InputFacts {
  /** The problem's kind (default `"invalid"`). */
  kind?: InputErrorKind;
  /** The input's name or path. */
  file?: string;
  /** 1-based line of a text input. */
  line?: number;
  /** Byte offset in the (decompressed) input. */
  offset?: number;
  /** The offending value, as seen (possibly cut short). */
  value?: string;
  /** For `"wrong-log"`: which log the input is (`"conn"`, `"dns"`). */
  is?: string;
  /** For `"wrong-log"`: which log was wanted. */
  wanted?: string;
}

/**
 * The input is not what it claims to be, or is damaged beyond use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputError } from "./errors.ts";
 * const e = new InputError("dns.log: this is a Zeek dns.log, not a conn.log", {
 *   kind: "wrong-log",
 *   file: "dns.log",
 *   is: "dns",
 *   wanted: "conn",
 * });
 * assert.equal(e.kind, "wrong-log");
 * assert.equal(e.facts.wanted, "conn");
 * assert.equal(new InputError("x: bad").kind, "invalid");
 * ```
 */
export class InputError extends Error {
  /** Always `"InputError"`. */
  override name = "InputError";
  /** The problem's kind. */
  readonly kind: InputErrorKind;
  /** Everything known about where and what (the kind included). */
  readonly facts: Readonly<InputFacts>;

  /** An error with a one-line `message` and what is known about it. */
  constructor(message: string, facts: InputFacts = {}) {
    super(message);
    this.kind = facts.kind ?? "invalid";
    this.facts = { ...facts, kind: this.kind };
  }

  /** The input's name or path, when known. */
  get file(): string | undefined {
    return this.facts.file;
  }
}
