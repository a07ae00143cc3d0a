/**
 * Splitting a Zeek log's byte stream into lines, or into the objects of a JSON array, across
 * chunk boundaries, with bounded memory: a line (or array element) longer than the cap is
 * skipped, its bytes discarded as they arrive and never kept, and reported once with its line
 * number and length. A partial line is kept as the chunk pieces it came in and joined once, when
 * its end arrives. Pure: no I/O.
 * @module
 */

/** Default cap on one line (or one JSON array element): 1 MiB. */
export const MAX_LINE_BYTES = 1 << 20;

/** Called for a line or element that was longer than the cap (and skipped). */
export type TooLong = (line: number, bytes: number) => void;

/**
 * A bulk line reader: `b[p, end)` holds whole lines (`end` is just past a line break). It reads
 * lines from `p` for as long as they are in a shape it knows, finding each line's end as it
 * parses it (one pass over the bytes instead of a search for the line break and then a parse),
 * adds the lines it read to `lines.line`, and returns the start of the first line it left (or
 * `end`). The line it left takes the line-by-line path. It must leave lines over the cap.
 */
export type LineRun = (b: Uint8Array, p: number, end: number, lines: LineSplitter) => number;

/** Pieces of a partial line or element, joined once when it ends. */
class Pieces {
  #parts: Uint8Array[] = [];
  bytes = 0;

  add(part: Uint8Array): void {
    this.#parts.push(part);
    this.bytes += part.length;
  }

  clear(): void {
    this.#parts = [];
    this.bytes = 0;
  }

  /** The pieces as one buffer (then cleared). */
  take(): Uint8Array {
    const parts = this.#parts;
    const out = parts.length === 1 ? parts[0] : new Uint8Array(this.bytes);
    if (parts.length > 1) {
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
    }
    this.clear();
    return out;
  }
}

/**
 * Splits a byte stream into lines (`\n`, an optional `\r` dropped), numbering them from 1. The
 * callback sees `b[s, e)` of a buffer that is valid only during the call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineSplitter } from "./_lines.ts";
 * const seen: string[] = [];
 * const lines = new LineSplitter(
 *   (b, s, e, line) => seen.push(`${line}:${new TextDecoder().decode(b.subarray(s, e))}`),
 *   (line, bytes) => seen.push(`${line}: ${bytes} bytes skipped`),
 *   4,
 * );
 * const enc = new TextEncoder();
 * lines.push(enc.encode("ab\r\nc"));
 * lines.push(enc.encode("d\nlong line\nz"));
 * lines.end();
 * assert.deepEqual(seen, ["1:ab", "2:cd", "3: 9 bytes skipped", "4:z"]);
 * ```
 */
export class LineSplitter {
  #carry = new Pieces();
  /** Inside an over-long line: its bytes are counted and dropped until its end. */
  #skipping = false;
  #skipped = 0;
  /** Number of the last line handed out (or skipped). */
  line = 0;
  /** Tried first on the whole lines of each chunk (see {@link LineRun}). */
  run: LineRun | undefined;

  /** Bytes of an over-long line dropped so far (0 when not inside one). */
  get skipping(): number {
    return this.#skipping ? this.#skipped : 0;
  }

  constructor(
    private readonly onLine: (b: Uint8Array, s: number, e: number, line: number) => void,
    private readonly onTooLong: TooLong,
    private readonly maxLine = MAX_LINE_BYTES,
  ) {}

  /** Feeds the next chunk. */
  push(chunk: Uint8Array): void {
    let p = 0;
    const n = chunk.length;
    if (this.#skipping || this.#carry.bytes > 0) {
      const nl = chunk.indexOf(10);
      const end = nl < 0 ? n : nl;
      if (this.#skipping) this.#skipped += end;
      else if (this.#carry.bytes + end > this.maxLine) this.#startSkipping(end);
      else if (nl < 0) this.#carry.add(chunk.slice());
      else this.#carry.add(chunk.subarray(0, nl));
      if (nl < 0) return;
      if (this.#skipping) this.#endSkipping();
      else {
        const joined = this.#carry.take();
        this.#emit(joined, 0, joined.length);
      }
      p = nl + 1;
    }
    // Whole lines end at the chunk's last line break: a bulk reader never runs off the chunk.
    const last = this.run === undefined ? -1 : chunk.lastIndexOf(10);
    while (p < n) {
      if (p <= last) {
        p = this.run!(chunk, p, last + 1, this);
        if (p >= n) return;
      }
      const nl = chunk.indexOf(10, p);
      if (nl < 0) {
        if (n - p > this.maxLine) {
          this.#skipping = true;
          this.#skipped = n - p;
        } else this.#carry.add(chunk.slice(p));
        return;
      }
      if (nl - p > this.maxLine) {
        this.#skipped = nl - p;
        this.#endSkipping();
      } else this.#emit(chunk, p, nl);
      p = nl + 1;
    }
  }

  /** The last line, when the stream does not end with a line break. */
  end(): void {
    if (this.#skipping) this.#endSkipping();
    else if (this.#carry.bytes > 0) {
      const last = this.#carry.take();
      this.#emit(last, 0, last.length);
    }
  }

  #startSkipping(more: number): void {
    this.#skipping = true;
    this.#skipped = this.#carry.bytes + more;
    this.#carry.clear();
  }

  #endSkipping(): void {
    this.line++;
    this.#skipping = false;
    this.onTooLong(this.line, this.#skipped);
    this.#skipped = 0;
  }

  #emit(b: Uint8Array, s: number, e: number): void {
    this.line++;
    if (e > s && b[e - 1] === 13) e--;
    this.onLine(b, s, e, this.line);
  }
}

const decoder = new TextDecoder();

/**
 * Extracts the objects of a JSON array (on one line or spread over many), streaming: each
 * element object's text is handed out with the line it starts on. Anything else at the top level
 * is reported through `onJunk` once per line; an element longer than the cap is skipped (its
 * bytes dropped as they come) and reported through `onTooLong`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { JsonArraySplitter } from "./_lines.ts";
 * const seen: string[] = [];
 * const array = new JsonArraySplitter(
 *   (text, line) => seen.push(`${line}:${text}`),
 *   (line) => seen.push(`${line}: junk`),
 *   (line, bytes) => seen.push(`${line}: ${bytes} bytes skipped`),
 *   16,
 * );
 * array.push(new TextEncoder().encode('[{"a": 1},\n{"b": "}"}, 7,\n{"c": "far too long"}]'));
 * array.end();
 * assert.deepEqual(seen, ['1:{"a": 1}', '2:{"b": "}"}', "2: junk", "3: 21 bytes skipped"]);
 * ```
 */
export class JsonArraySplitter {
  #depth = 0;
  #inString = false;
  #escape = false;
  #parts = new Pieces();
  #tooLong = false;
  #objectLine = 0;
  #junkLine = 0;
  #line = 1;
  #started = false;

  constructor(
    private readonly onObject: (text: string, line: number) => void,
    private readonly onJunk: (line: number) => void,
    private readonly onTooLong: TooLong,
    private readonly maxObject = MAX_LINE_BYTES,
  ) {}

  /** Feeds the next chunk. */
  push(chunk: Uint8Array): void {
    let start = -1; // start of the current object's bytes in this chunk
    if (this.#depth > 0) start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 10) this.#line++;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === 92) this.#escape = true;
        else if (c === 34) this.#inString = false;
        continue;
      }
      if (this.#depth === 0) {
        // Between elements: whitespace, commas, the array brackets.
        if (c === 32 || c === 9 || c === 10 || c === 13 || c === 44) continue;
        if (c === 91 && !this.#started) {
          this.#started = true;
          continue;
        }
        if (c === 93) {
          this.#started = false;
          continue;
        }
        if (c === 123) {
          this.#depth = 1;
          this.#objectLine = this.#line;
          start = i;
          continue;
        }
        if (this.#junkLine !== this.#line) {
          this.#junkLine = this.#line;
          this.onJunk(this.#line);
        }
        continue;
      }
      if (c === 34) this.#inString = true;
      else if (c === 123 || c === 91) this.#depth++;
      else if (c === 125 || c === 93) {
        if (--this.#depth === 0) {
          this.#keep(chunk.subarray(start, i + 1), false);
          this.#flush();
          start = -1;
        }
      }
    }
    if (this.#depth > 0 && start >= 0) this.#keep(chunk.subarray(start), true);
  }

  /** Reports an element left open at the end. */
  end(): void {
    if (this.#depth > 0) {
      this.#parts.clear();
      this.#depth = 0;
      this.#tooLong = false;
      this.onJunk(this.#objectLine);
    }
  }

  /** Keeps a piece of the current element (a copy when the chunk outlives the call). */
  #keep(part: Uint8Array, copy: boolean): void {
    if (this.#tooLong) this.#parts.bytes += part.length;
    else if (this.#parts.bytes + part.length > this.maxObject) {
      const bytes = this.#parts.bytes + part.length;
      this.#parts.clear();
      this.#parts.bytes = bytes;
      this.#tooLong = true;
    } else this.#parts.add(copy ? part.slice() : part);
  }

  #flush(): void {
    if (this.#tooLong) {
      const bytes = this.#parts.bytes;
      this.#parts.clear();
      this.#tooLong = false;
      this.onTooLong(this.#objectLine, bytes);
      return;
    }
    this.onObject(decoder.decode(this.#parts.take()), this.#objectLine);
  }
}
