/**
 * What the conn.log and dns.log readers share: the shape decided from the first bytes (TSV, JSON
 * lines, a JSON array), lines or array elements fed to the subclass with bounded memory, `#`
 * headers, JSON records, warnings (at most {@link MAX_LINE_WARNINGS} named lines, then a count),
 * and the guard that ends a stream which never yields a usable record. Pure: no I/O.
 * @module
 */
import { InputError } from "../errors.ts";
import { printable } from "../printable.ts";
import { kindOfFields, namesOfLine, REQUIRED, type ZeekKind, type ZeekShape } from "./_fields.ts";
import { JsonArraySplitter, LineSplitter, MAX_LINE_BYTES } from "./_lines.ts";
import { isBlank, TsvHeader } from "./_text.ts";
import { CONN_FIELDS, DNS_FIELDS } from "./_fields.ts";

/** Warnings about single malformed lines, per log, before they are only counted. */
export const MAX_LINE_WARNINGS = 20;

/**
 * Bytes a log may run without one usable record or header before it is given up as not a Zeek
 * log at all (`/dev/zero`, a binary file forced with `--format zeek`).
 */
export const NO_RECORD_LIMIT = 64 << 20;

/** Options of the readers. */
export interface ZeekReaderOptions {
  /** Called for every warning (they are also collected). */
  onWarning?: (message: string) => void;
  /** Expected number of rows (sizes the tables up front; they grow when needed). */
  rowsHint?: number;
  /**
   * Size of the log in bytes (decompressed, when known): once the first lines show the average
   * line length, the key table is sized for the whole log at once.
   */
  bytesHint?: number;
  /**
   * TSV lines in the usual shape are read in one pass (default true); false sends every line
   * through the general path (tests compare the two).
   */
  fastPath?: boolean;
  /** Longest line (or JSON array element) read, in bytes (default 1 MiB); longer ones are skipped. */
  maxLineBytes?: number;
}

/** Warning bookkeeping: at most {@link MAX_LINE_WARNINGS} line warnings, then a count. */
export class Warnings {
  /** Every warning so far. */
  readonly list: string[] = [];
  #lineWarnings = 0;
  constructor(private readonly onWarning?: (message: string) => void) {}

  /** Records a warning (one line). */
  add(message: string): void {
    this.list.push(message);
    this.onWarning?.(message);
  }

  /** A skipped line of log `name` (the first {@link MAX_LINE_WARNINGS} are named). */
  line(name: string, line: number, reason: string): void {
    if (++this.#lineWarnings <= MAX_LINE_WARNINGS) {
      this.add(`${printable(name)}: line ${line}: skipped: ${reason}`);
    }
  }

  /** The count of skipped lines that were not named. */
  finish(name: string): void {
    const more = this.#lineWarnings - MAX_LINE_WARNINGS;
    if (more > 0) this.add(`${printable(name)}: ${more} more malformed lines skipped`);
  }
}

/** Decides the shape from the first non-blank bytes, then feeds lines or array elements. */
export abstract class ZeekLogReader {
  #shape: ZeekShape | undefined;
  /** Line breaks in the blank bytes before the first content. */
  #blankLines = 0;
  #lines: LineSplitter | undefined;
  #array: JsonArraySplitter | undefined;
  /** Longest line (or JSON array element) read, in bytes; longer ones are skipped. */
  protected readonly maxLine: number;
  #bytes = 0;
  #tooLong = 0;
  /** A header or a usable record was seen (see {@link NO_RECORD_LIMIT}). */
  protected usable = false;
  /** A `#fields` header was read: lines of names are then data, not taken as headers. */
  #namedFields = false;
  protected readonly header: TsvHeader;
  protected readonly warn: Warnings;

  constructor(
    readonly name: string,
    readonly kind: "conn" | "dns",
    options: ZeekReaderOptions,
  ) {
    this.header = new TsvHeader(kind === "conn" ? CONN_FIELDS : DNS_FIELDS);
    this.warn = new Warnings(options.onWarning);
    this.maxLine = options.maxLineBytes ?? MAX_LINE_BYTES;
  }

  /** The shape seen, once known. */
  get shape(): ZeekShape | undefined {
    return this.#shape;
  }

  /** Feeds the next chunk of the log. */
  push(chunk: Uint8Array): void {
    if (this.#shape === undefined) {
      if (
        this.#bytes === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf
      ) {
        chunk = chunk.subarray(3); // a UTF-8 byte order mark
      }
      let i = 0;
      while (i < chunk.length && isSpace(chunk[i])) {
        if (chunk[i] === 10) this.#blankLines++;
        i++;
      }
      if (i === chunk.length) {
        this.#count(chunk.length);
        return; // nothing but blanks so far: nothing kept
      }
      this.#start(chunk[i]);
      chunk = chunk.subarray(i);
    }
    if (this.#array) this.#array.push(chunk);
    else this.#lines!.push(chunk);
    this.#count(chunk.length);
  }

  /** Ends the log (the last line without a line break is read). */
  end(): void {
    this.#lines?.end();
    this.#array?.end();
    this.warn.finish(this.name);
  }

  #count(n: number): void {
    this.#bytes += n;
    if (!this.usable && this.#bytes > NO_RECORD_LIMIT) {
      const cap = sizeText(this.maxLine);
      const seen = this.#lines && this.#lines.line === 0 && this.#lines.skipping > 0
        ? "no line break"
        : this.#tooLong > 0
        ? `no usable record, and ${this.#tooLong} line${this.#tooLong === 1 ? "" : "s"} over ${cap}`
        : "no header and no well-formed record";
      throw new InputError(
        `${printable(this.name)}: not a Zeek ${this.kind}.log: ${seen} in its first ${
          NO_RECORD_LIMIT >> 20
        } MiB`,
        { kind: "no-records", file: this.name, offset: this.#bytes },
      );
    }
  }

  #start(first: number): void {
    const tooLong = (line: number, bytes: number) => {
      this.#tooLong++;
      this.warn.line(this.name, line, `longer than ${sizeText(this.maxLine)} (${bytes} bytes)`);
      this.skippedLine();
    };
    if (first === 91) {
      this.#shape = "json-array";
      this.#array = new JsonArraySplitter(
        (text, line) => this.#jsonText(text, line + this.#blankLines),
        (line) => this.warn.line(this.name, line + this.#blankLines, "not a JSON object"),
        (line, bytes) => tooLong(line + this.#blankLines, bytes),
        this.maxLine,
      );
    } else if (first === 123) {
      this.#shape = "json";
      this.#lines = new LineSplitter(
        (b, s, e, line) => {
          if (isBlank(b, s, e)) return;
          this.#jsonText(decoder.decode(b.subarray(s, e)), line);
        },
        tooLong,
        this.maxLine,
      );
    } else {
      this.#shape = "tsv";
      this.#lines = new LineSplitter(
        (b, s, e, line) => {
          if (s === e) return;
          if (b[s] === 35) {
            const { version, separator } = this.header;
            if (this.header.read(decoder.decode(b.subarray(s, e)))) this.usable = true;
            if (this.header.version !== version) this.#namedFields = true;
            // Re-mapped only when the columns can have moved: a log of `#` lines under a wide
            // #fields header re-mapped on each one took minutes for 100 KB of gzip.
            if (this.header.version !== version || this.header.separator !== separator) {
              this.headerChanged(line);
            }
            return;
          }
          // A line of Zeek's column names where `#fields` would be (exports of Zeek-based
          // tools): taken as the header. Only a line starting with a letter is looked at; a data
          // row starts with its time.
          if (!this.#namedFields && isLetter(b[s])) {
            const names = namesOfLine(
              decoder.decode(b.subarray(s, e)).replace(/\r$/, ""),
              String.fromCharCode(this.header.separator),
            );
            if (names) {
              this.header.setFields(names);
              this.usable = true;
              this.headerChanged(line);
              return;
            }
          }
          this.tsvLine(b, s, e, line);
        },
        tooLong,
        this.maxLine,
      );
      if (this.tsvRun) {
        const lines = this.#lines;
        lines.run = (b, p, end) => this.tsvRun!(b, p, end, lines);
      }
    }
    if (this.#lines) this.#lines.line = this.#blankLines;
  }

  #jsonText(text: string, line: number): void {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch {
      return this.malformedRecord(line, "not valid JSON");
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) {
      return this.malformedRecord(line, "not a JSON object");
    }
    this.jsonRecord(o as Record<string, unknown>, line);
  }

  /**
   * A JSON line that is no record at all: warned about (the base's way), and counted where the
   * log counts malformed records (a conn.log's summary said 0 malformed beside the warning).
   */
  protected malformedRecord(line: number, reason: string): void {
    this.warn.line(this.name, line, reason);
  }

  /** A `#fields` (or other `#`) header line was read at `line`. */
  protected abstract headerChanged(line: number): void;
  /** A TSV data line `b[s, e)` (without its line break). */
  protected abstract tsvLine(b: Uint8Array, s: number, e: number, line: number): void;
  /**
   * Optional: TSV data lines read in bulk (see `LineRun` in `_lines.ts`); the lines it leaves, headers
   * among them, go to {@link tsvLine}.
   */
  protected tsvRun?(b: Uint8Array, p: number, end: number, lines: LineSplitter): number;
  /** A JSON record. */
  protected abstract jsonRecord(o: Record<string, unknown>, line: number): void;
  /** A line (or array element) over the length cap was skipped (and warned about). */
  protected abstract skippedLine(): void;

  /**
   * Throws when the `#fields` header (or the line of names) lacks a column every record needs,
   * naming the columns missing, the ones needed and the ones the log has.
   */
  protected checkColumns(): void {
    const fields = this.header.fields;
    const missing = REQUIRED.filter((f) => !fields.includes(f));
    if (missing.length === 0) return;
    const has = printable(this.header.written.join(", "), 300);
    throw new InputError(
      `${printable(this.name)}: not a Zeek ${this.kind}.log: no ${missing.join(", ")} column${
        missing.length === 1 ? "" : "s"
      } (it needs ${REQUIRED.join(", ")}; its columns are ${has})`,
      { kind: "missing-column", file: this.name, value: missing.join(",") },
    );
  }

  /** Throws when the fields show the other log. */
  protected checkKind(fields: readonly string[]): void {
    const kind = kindOfFields(fields);
    if (kind !== "unknown" && kind !== this.kind) throw wrongLog(this.name, kind, this.kind);
  }
}

const decoder = new TextDecoder();

function sizeText(bytes: number): string {
  return bytes % (1 << 20) === 0 ? `${bytes >> 20} MiB` : `${bytes} bytes`;
}

function isLetter(c: number): boolean {
  return (c | 32) >= 97 && (c | 32) <= 122;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** The error for a log of the other kind. */
export function wrongLog(name: string, is: ZeekKind, wanted: "conn" | "dns"): InputError {
  return new InputError(
    `${printable(name)}: this is a Zeek ${is}.log, not a ${wanted}.log`,
    { kind: "wrong-log", file: name, is, wanted },
  );
}

/** The keys of a JSON record, nested `id` keys as `id.orig_h`. */
export function flatKeys(o: Record<string, unknown>): string[] {
  const keys = Object.keys(o);
  const id = o.id;
  if (typeof id === "object" && id !== null) keys.push(...Object.keys(id).map((k) => `id.${k}`));
  return keys;
}
