/**
 * The `.sf` reader: a streaming JSON parser shaped for one document, the sample. Bytes are pushed
 * in any pieces; the top-level object's small fields are kept, and each element of `flashes` is
 * built, checked and handed on one at a time, so memory does not grow with the file: a gigabyte
 * of whitespace or of flashes costs the same few kilobytes (`JSON.parse` of the whole text held
 * it all, and a 4 MB gzip of spaces took 6 GB).
 *
 * Everything `validate` rejects is found here, each problem with its JSON path, including what
 * `JSON.parse` hides: numbers out of a double's range (`1e400` would become Infinity) and integers
 * beyond 2^53 (which would silently change on the way back out).
 * @module
 */
import { printable } from "./printable.ts";
import {
  MAX_STRING_BYTES,
  type SampleProblem,
  validateFlash,
  validateSample,
} from "./sample_validate.ts";
import { type Flash, type Sample, SAMPLE_KEYS } from "./types.ts";

export { MAX_STRING_BYTES };
/** Most bytes one flash (or one top-level value other than `flashes`) may take. */
export const MAX_ELEMENT_BYTES = 65536;
/** Deepest nesting accepted (a sample needs 3). */
export const MAX_DEPTH = 16;
/** Problems kept; more are counted. */
export const MAX_PROBLEMS = 1000;

/** What the reader found at the top of the sample, besides the flashes. */
export interface SampleHead {
  /** The top-level keys in file order, with their values (`flashes` as an empty array). */
  fields: Map<string, unknown>;
}

/** Callbacks of {@link SampleReader}. */
export interface SampleReaderHandlers {
  /** A flash that passed every check (the reader stops calling it once a problem is found). */
  onFlash?: (flash: Flash, index: number) => void;
  /** The head is complete: called when `flashes` starts (keys after it are an error anyway). */
  onHead?: (head: SampleHead) => void;
  /**
   * Keys a flash may carry after the section 1 keys, each a string (default none: `validate`
   * and `convert` keep to section 1; `serve` accepts an `eventId`).
   */
  extraFlashKeys?: readonly string[];
}

type Frame = {
  kind: "object" | "array";
  path: string;
  /** The container being built (undefined for the top-level object and the flashes array). */
  value?: Record<string, unknown> | unknown[];
  key?: string;
  index: number;
  /** Expecting: key, colon, value, comma-or-end. */
  want: "key" | "colon" | "value" | "next" | "first";
};

const WS = new Uint8Array(256);
for (const c of [9, 10, 13, 32]) WS[c] = 1;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
/** What makes a string's bytes more than plain ASCII text: escapes, controls, UTF-8. */
// deno-lint-ignore no-control-regex
const SPECIAL = /[\x00-\x1f\\\x80-\xff]/;

/**
 * Push parser and validator of one `.sf` document.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SampleReader } from "./sample_reader.ts";
 * const r = new SampleReader();
 * r.push(new TextEncoder().encode('{"hash": "x", "trafficDate": 1e400}'));
 * r.end();
 * assert.deepEqual(r.problems[0], {
 *   path: "$.trafficDate",
 *   message: "the number 1e400 is out of range",
 * });
 * assert.ok(r.problems.some((p) => p.path === "$.fileName" && p.message === "is missing"));
 * assert.ok(r.problems.some((p) => p.path === "$.hash"));
 * ```
 */
export class SampleReader {
  /** Every problem found, in file order (at most {@link MAX_PROBLEMS}). */
  readonly problems: SampleProblem[] = [];
  /** Problems found in all, kept or not. */
  problemCount = 0;
  /** Flashes read. */
  flashes = 0;
  /** Bytes pushed. */
  offset = 0;
  #handlers: SampleReaderHandlers;
  #stack: Frame[] = [];
  #fields = new Map<string, unknown>();
  #done = false;
  #fatal = false;
  /** A token (string contents, number or literal) is being read, maybe across pushes. */
  #inToken = false;
  #tokenKind: "string" | "number" | "literal" = "string";
  /** The token's bytes so far: strings are capped, so one reused buffer holds any token. */
  #scratch = new Uint8Array(MAX_STRING_BYTES + 8);
  #tokenLength = 0;
  #elementStart = -1;
  #previousStart = -Infinity;
  #headSent = false;
  #lastProblemPath = "";
  #headChecked = false;

  constructor(handlers: SampleReaderHandlers = {}) {
    this.#handlers = handlers;
  }

  /** True once a problem is found: the output must not be written. */
  get failed(): boolean {
    return this.problemCount > 0;
  }

  /**
   * True once the text is no JSON the reader can go on with (a syntax error, not a sample at
   * all): nothing more is read, so the caller may stop feeding it.
   */
  get stopped(): boolean {
    return this.#fatal;
  }

  #problem(path: string, message: string): void {
    // One problem per value: a number out of range is not also "not a finite number".
    if (this.#lastProblemPath === path) return;
    this.#lastProblemPath = path;
    this.problemCount++;
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ path, message });
  }

  #stop(path: string, message: string): void {
    this.#problem(path, message);
    this.#fatal = true;
  }

  /** The JSON path of the value being read. */
  #here(): string {
    const top = this.#stack[this.#stack.length - 1];
    if (!top) return "$";
    if (top.kind === "array") return `${top.path}[${top.index}]`;
    return top.key === undefined || top.want === "key" || top.want === "first"
      ? top.path
      : `${top.path}.${top.key}`;
  }

  /** Feeds bytes. */
  push(b: Uint8Array): void {
    let i = 0;
    while (i < b.length && !this.#fatal) {
      if (this.#inToken) {
        i = this.#scanToken(b, i);
        continue;
      }
      const c = b[i];
      const at = this.offset + i;
      if (this.#elementStart >= 0 && at - this.#elementStart > MAX_ELEMENT_BYTES) {
        this.#stop(this.#here(), `is longer than ${MAX_ELEMENT_BYTES} bytes`);
        break;
      }
      i++;
      if (WS[c]) continue;
      if (this.#byte(c, at)) i--; // a number or literal starts with this byte: read it again
    }
    this.offset += b.length;
  }

  /** Ends the input; problems for a cut document are added. */
  end(): void {
    if (this.#inToken && !this.#fatal && this.#tokenKind !== "string") {
      this.#finishToken(this.offset);
    }
    if (this.#fatal) return;
    if (this.#inToken || this.#stack.length > 0 || !this.#done) {
      this.#stop(
        this.#stack.length > 0 ? this.#here() : "$",
        this.offset === 0
          ? "the file is empty"
          : `not JSON: cut short, the text ends at byte ${this.offset} inside the sample`,
      );
      return;
    }
    if (!this.#headSent) this.#checkHead();
  }

  #unexpected(c: number, at: number): void {
    if (c === 0xef && at === 0) {
      // JSON text has no byte order mark (RFC 8259), and the platform's reader refuses one too.
      this.#stop(
        "$",
        "not JSON: starts with a UTF-8 byte order mark (EF BB BF); save it without one",
      );
      return;
    }
    const shown = c >= 32 && c < 127 ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16)}`;
    this.#stop(this.#here(), `not JSON: unexpected ${shown} at byte ${at}`);
  }

  /** One structural byte; true when it starts a number or literal (the caller reads it again). */
  #byte(c: number, at: number): boolean | void {
    if (this.#done) return this.#unexpected(c, at);
    const top = this.#stack[this.#stack.length - 1];
    if (top) {
      const close = top.kind === "object" ? 125 : 93;
      if (top.want === "colon") {
        if (c !== 58) return this.#unexpected(c, at);
        top.want = "value";
        return;
      }
      if (top.want === "first") {
        if (c === close) return this.#close(at);
        top.want = top.kind === "object" ? "key" : "value";
      } else if (top.want === "next") {
        if (c === close) return this.#close(at);
        if (c !== 44) return this.#unexpected(c, at);
        top.want = top.kind === "object" ? "key" : "value";
        if (top.kind === "array") top.index++;
        return;
      }
      if (top.want === "key") {
        if (c !== 34) return this.#unexpected(c, at);
        this.#startToken("string");
        return;
      }
    }
    // A value.
    if (top?.kind === "array" && top.value === undefined && this.#elementStart < 0) {
      this.#elementStart = at; // a flash starts
    } else if (this.#stack.length === 1 && this.#elementStart < 0) {
      this.#elementStart = at; // a top-level field's value
    }
    if (c === 123 || c === 91) {
      if (this.#stack.length >= MAX_DEPTH) {
        return this.#stop(this.#here(), `nested deeper than ${MAX_DEPTH} levels`);
      }
      const path = this.#stack.length === 0 ? "$" : this.#here();
      const isFlashes = this.#stack.length === 1 && top?.key === "flashes" && c === 91;
      if (this.#stack.length === 1 && top?.key === "flashes" && c === 91) {
        this.#elementStart = -1;
        this.#sendHead();
      }
      const build = this.#stack.length > 0 && !isFlashes;
      this.#stack.push({
        kind: c === 123 ? "object" : "array",
        path,
        value: build ? (c === 123 ? {} : []) : undefined,
        index: 0,
        want: "first",
      });
      if (this.#stack.length === 1 && c !== 123) {
        this.#stop("$", "must be an object, found an array");
      }
      return;
    }
    if (c === 34) return this.#startToken("string");
    if (c === 45 || (c >= 48 && c <= 57)) {
      this.#startToken("number");
      return true;
    }
    if (c === 116 || c === 102 || c === 110) {
      this.#startToken("literal");
      return true;
    }
    this.#unexpected(c, at);
  }

  #startToken(kind: "string" | "number" | "literal"): void {
    this.#inToken = true;
    this.#tokenKind = kind;
    this.#tokenLength = 0;
  }

  /** Reads the token on from `b[i]`; returns the index of the first byte it did not take. */
  #scanToken(b: Uint8Array, i: number): number {
    let j = i;
    let ended = false;
    if (this.#tokenKind === "string") {
      // The closing quote is the next one not escaped: found with indexOf (native), then the
      // backslashes before it counted, across pushes when the string started in an earlier one.
      let from = i;
      while (true) {
        const q = b.indexOf(34, from);
        if (q < 0) {
          j = b.length;
          break;
        }
        let backslashes = 0;
        let k = q - 1;
        while (k >= i && b[k] === 92) {
          backslashes++;
          k--;
        }
        if (k < i) {
          for (let m = this.#tokenLength - 1; m >= 0 && this.#scratch[m] === 92; m--) backslashes++;
        }
        if (backslashes % 2 === 0) {
          j = q;
          ended = true;
          break;
        }
        from = q + 1;
      }
    } else {
      const number = this.#tokenKind === "number";
      for (; j < b.length; j++) {
        const c = b[j];
        const ok = number
          ? (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45
          : c >= 97 && c <= 122;
        if (!ok) {
          ended = true;
          break;
        }
      }
    }
    const n = j - i;
    const limit = this.#tokenKind === "string" ? MAX_STRING_BYTES : 64;
    if (this.#tokenLength + n > limit) {
      this.#stop(
        this.#here(),
        this.#tokenKind === "string"
          ? `is a string longer than ${MAX_STRING_BYTES} bytes`
          : `not JSON: a ${this.#tokenKind} of over 64 characters`,
      );
      return b.length;
    }
    this.#scratch.set(b.subarray(i, j), this.#tokenLength);
    this.#tokenLength += n;
    if (!ended) return b.length;
    this.#finishToken(this.offset + j);
    // A string's closing quote is taken; a number's or literal's end is the next token's.
    return this.#tokenKind === "string" ? j + 1 : j;
  }

  /** The token's text (a string's with its escapes resolved), or undefined after a problem. */
  #tokenText(at: number): string | undefined {
    const bytes = this.#scratch.subarray(0, this.#tokenLength);
    let text = String.fromCharCode.apply(null, bytes as unknown as number[]);
    if (this.#tokenKind !== "string" || !SPECIAL.test(text)) return text;
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f]/.test(text)) {
      this.#stop(this.#here(), `not JSON: a control character in a string (before byte ${at})`);
      return undefined;
    }
    if (/[\x80-\xff]/.test(text)) {
      try {
        text = utf8.decode(bytes);
      } catch {
        this.#stop(this.#here(), `not UTF-8 text (before byte ${at})`);
        return undefined;
      }
    }
    if (!text.includes("\\")) return text;
    try {
      return JSON.parse(`"${text}"`);
    } catch {
      this.#stop(this.#here(), `not JSON: a bad string before byte ${at}`);
      return undefined;
    }
  }

  #finishToken(at: number): void {
    const kind = this.#tokenKind;
    this.#inToken = false;
    const text = this.#tokenText(at);
    if (text === undefined) return;
    const top = this.#stack[this.#stack.length - 1];
    if (kind === "string" && top?.want === "key") {
      const key = text;
      if (!top.value && this.#stack.length === 1 && this.#headSent) {
        this.#problem(
          `$.${key}`,
          (SAMPLE_KEYS as readonly string[]).includes(key)
            ? `comes after flashes; keys must be in the order ${SAMPLE_KEYS.join(", ")}`
            : "is not a known key",
        );
      }
      if (top.value && Object.hasOwn(top.value, key)) {
        this.#problem(`${top.path}.${key}`, "appears twice");
      } else if (!top.value && this.#stack.length === 1 && this.#fields.has(key)) {
        this.#problem(`$.${key}`, "appears twice");
      }
      top.key = key;
      top.want = "colon";
      return;
    }
    let value: unknown;
    if (kind === "number") {
      if (!NUMBER.test(text)) return this.#stop(this.#here(), `not JSON: bad number ${text}`);
      const n = Number(text);
      if (!Number.isFinite(n)) {
        this.#problem(this.#here(), `the number ${text} is out of range`);
      } else if (!/[.eE]/.test(text) && !Number.isSafeInteger(n)) {
        this.#problem(
          this.#here(),
          `the integer ${text} is beyond 2^53 and would not be kept exactly`,
        );
      }
      value = n;
    } else if (kind === "literal") {
      if (text === "true") value = true;
      else if (text === "false") value = false;
      else if (text === "null") value = null;
      else return this.#stop(this.#here(), `not JSON: unexpected '${text.slice(0, 8)}'`);
    } else {
      value = text;
    }
    this.#value(value);
  }

  /** A complete value for the innermost frame. */
  #value(value: unknown): void {
    const top = this.#stack[this.#stack.length - 1];
    if (!top) {
      this.#done = true;
      if (!this.#fatal) this.#stop("$", `must be an object, found ${kindOf(value)}`);
      return;
    }
    if (top.value === undefined) {
      if (this.#stack.length === 1) {
        // A top-level field.
        this.#elementStart = -1;
        this.#fields.set(top.key!, value);
        if (top.key === "flashes" && !this.#headSent) this.#sendHead();
      } else {
        this.#elementStart = -1;
        this.#flash(value, top.index);
      }
    } else if (Array.isArray(top.value)) {
      top.value.push(value);
    } else {
      top.value[top.key!] = value;
    }
    top.want = "next";
    if (top.kind === "object") top.key = undefined;
  }

  #close(at: number): void {
    const frame = this.#stack.pop()!;
    if (this.#stack.length === 0) {
      this.#done = true;
      if (!this.#headSent) this.#checkHead();
      return;
    }
    if (frame.value === undefined) {
      // The flashes array ends.
      const count = frame.want === "first" ? 0 : frame.index + 1;
      this.flashes = count;
      const top = this.#stack[this.#stack.length - 1];
      top.want = "next";
      this.#fields.set("flashes", []);
      void at;
      return;
    }
    this.#value(frame.value);
  }

  #sendHead(): void {
    this.#headSent = true;
    if (!this.#fields.has("flashes")) this.#fields.set("flashes", []);
    this.#checkHead();
    this.#handlers.onHead?.({ fields: this.#fields });
  }

  #checkHead(): void {
    if (this.#headChecked) return;
    this.#headChecked = true;
    const head: Record<string, unknown> = {};
    for (const [k, v] of this.#fields) head[k] = v;
    if (!("flashes" in head) && this.#headSent) head.flashes = [];
    for (const p of validateSample(head)) this.#problem(p.path, p.message);
  }

  #flash(value: unknown, index: number): void {
    this.flashes = index + 1;
    const found = validateFlash(
      value,
      `$.flashes[${index}]`,
      this.#previousStart,
      this.#handlers.extraFlashKeys,
    );
    for (const p of found.problems) this.#problem(p.path, p.message);
    this.#previousStart = found.relativeStart;
    if (this.problemCount === 0) this.#handlers.onFlash?.(value as Flash, index);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function kindOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

/**
 * Parses and validates `.sf` text with the streaming reader (so numbers out of range and
 * integers beyond 2^53 are caught, which `JSON.parse` hides). Throws a {@link SampleError}
 * listing the problems when it is not a valid sample.
 */
export function parseSample(text: string, name = "sample"): Sample {
  const flashes: Flash[] = [];
  let head: Map<string, unknown> | undefined;
  const reader = new SampleReader({
    onHead: (h) => head = h.fields,
    onFlash: (f) => flashes.push(f),
  });
  reader.push(new TextEncoder().encode(text));
  reader.end();
  if (reader.failed) throw new SampleError(name, reader.problems, reader.problemCount);
  return {
    hash: head!.get("hash") as string,
    trafficDate: head!.get("trafficDate") as string,
    fileName: head!.get("fileName") as string,
    flashes,
  };
}

/** An invalid `.sf` file; `problems` lists each one with its JSON path. CLI exit code 2. */
export class SampleError extends Error {
  /** Always `"SampleError"`. */
  override name = "SampleError";
  /** An error for `file`, naming its first problem and counting the rest (`count` in all). */
  constructor(
    readonly file: string,
    readonly problems: SampleProblem[],
    count: number = problems.length,
  ) {
    // Once the JSON itself is broken (cut short, a stray byte) that is what the user must hear
    // first: keys "missing" from a sample cut in half follow from it.
    const first = problems.find((p) => p.message.startsWith("not JSON")) ?? problems[0];
    const more = count > 1 ? ` (and ${count - 1} more problem${count > 2 ? "s" : ""})` : "";
    super(
      `${printable(file)}: not a valid Secflow sample: ${first.path}: ${
        printable(first.message)
      }${more}`,
    );
  }
}
