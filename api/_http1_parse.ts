/**
 * The strict HTTP/1.1 request parser of `_http1.ts` (RFC 9112, held to what Node's llhttp refuses
 * in its strict mode), fed bytes as they arrive: a request head (or a chunked body's trailers) and
 * chunked framing. Each byte is judged once, when it comes, so a malformed request is refused at
 * the byte that makes it so, never after waiting for a line end or a timeout; and because every
 * rule is checked before anything is routed, no lenient reading can put a second request where a
 * front proxy saw a body (request smuggling).
 *
 * What is refused (400 unless said): a bare CR or LF anywhere in the framing; anything but
 * `method SP target SP HTTP/x.y CRLF` as the request line (empty lines before it are skipped, as
 * RFC 9112 section 2.2 asks); a version other than 1.0 and 1.1 (505); a target with a byte
 * outside visible ASCII; a header name that is not a token (space before the colon included), a
 * line that starts with whitespace (obs-fold), a value with a control character other than tab;
 * a Content-Length that is not digits, too large, or repeated; chunk sizes that are not plain hex
 * (`0x7`, `+7`, `-0`, `7zz`, `7 `), chunk extensions that are not `;token[=token|quoted]`, a
 * chunk whose data is not followed by CRLF. Heads larger than the limit get 431.
 * @module
 */

/** A request the listener answers itself; `close` ends the connection after the answer. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly close = true) {
    super(message);
  }
}

/** A parsed request head: text is Latin-1 (one char per byte), as HTTP's octets are. */
export interface RequestHead {
  method: string;
  target: string;
  /** `1.0` or `1.1`. */
  version: string;
  /** Header fields in order, names as sent, values without surrounding whitespace. */
  fields: [string, string][];
}

const CR = 0x0d, LF = 0x0a, SP = 0x20, HTAB = 0x09;

/** tchar of RFC 9110 section 5.6.2, as a lookup table. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** Bytes of a field value: HTAB, SP, VCHAR and obs-text; no other control character. */
function valueByte(b: number): boolean {
  return b === HTAB || (b >= SP && b !== 0x7f);
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(to, i + 8192)));
  }
  return s;
}

const enum S {
  /** Before the request line: empty lines are skipped. */
  Start,
  StartLf,
  Method,
  Target,
  Version,
  VersionCr,
  LineLf,
  /** At the start of a header line (or of the empty line that ends the head). */
  FieldStart,
  Name,
  Value,
  ValueLf,
  EndLf,
  Done,
}

/**
 * Parses one request head (or, with `trailers`, the trailer section of a chunked body: header
 * lines up to an empty line, validated and dropped) from bytes fed in pieces.
 */
export class HeadParser {
  #state: S;
  #size = 0;
  #line = "";
  #method = "";
  #target = "";
  #version = "";
  #fields: [string, string][] = [];
  #lines = 0;
  /** Bytes of the head seen so far (leading empty lines included). */
  get size(): number {
    return this.#size;
  }

  constructor(
    private readonly maxBytes: number,
    private readonly maxFields = 100,
    private readonly trailers = false,
  ) {
    this.#state = trailers ? S.FieldStart : S.Start;
  }

  /**
   * Reads `bytes`; returns how many belong to the head when it ends inside them, or -1 when all
   * of them did and more are needed. Throws {@link HttpError} at the first byte that breaks a rule.
   */
  feed(bytes: Uint8Array): number {
    let mark = 0; // where the current line's text starts inside `bytes`
    const keep = (i: number) => {
      this.#line += latin1(bytes, mark, i);
      mark = i;
    };
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      // The limit is of the head before its closing CRLFCRLF (those 4 bytes come free).
      if (++this.#size > this.maxBytes + 4) {
        throw new HttpError(431, this.trailers ? "trailers too large" : "request head too large");
      }
      switch (this.#state) {
        case S.Start:
          if (b === CR) this.#state = S.StartLf;
          else if (TCHAR[b]) {
            this.#state = S.Method;
            mark = i;
            this.#line = "";
          } else throw bad("malformed request line");
          break;
        case S.StartLf:
          if (b !== LF) throw bad("CR without LF before the request line");
          this.#state = S.Start;
          break;
        case S.Method:
          if (b === SP) {
            keep(i);
            this.#method = this.#line;
            this.#line = "";
            mark = i + 1;
            this.#state = S.Target;
          } else if (!TCHAR[b] || i - mark + this.#line.length >= 32) {
            throw bad("malformed method in the request line");
          }
          break;
        case S.Target:
          if (b === SP) {
            keep(i);
            this.#target = this.#line;
            this.#line = "";
            mark = i + 1;
            if (this.#target === "") throw bad("empty request target");
            this.#state = S.Version;
          } else if (b === CR) throw bad("request line without an HTTP version");
          else if (b <= SP || b >= 0x7f) {
            throw bad("a request target may hold only visible ASCII");
          }
          break;
        case S.Version: {
          const at = i - mark + this.#line.length;
          if (at < 8) {
            const ok = at < 5
              ? b === "HTTP/".charCodeAt(at)
              : at === 6
              ? b === 0x2e
              : b >= 0x30 && b <= 0x39;
            if (!ok) throw bad("malformed HTTP version");
            if (at === 7) {
              keep(i + 1);
              this.#version = this.#line.slice(5);
              this.#line = "";
              if (this.#version !== "1.1" && this.#version !== "1.0") {
                throw new HttpError(505, `HTTP/${this.#version} is not supported (HTTP/1.1 is)`);
              }
              this.#state = S.VersionCr;
            }
          }
          break;
        }
        case S.VersionCr:
          if (b !== CR) throw bad("malformed request line (after the version)");
          this.#state = S.LineLf;
          break;
        case S.LineLf:
          if (b !== LF) throw bad("CR without LF after the request line");
          this.#state = S.FieldStart;
          break;
        case S.FieldStart:
          if (b === CR) this.#state = S.EndLf;
          else if (TCHAR[b]) {
            if (++this.#lines > this.maxFields) {
              throw new HttpError(431, `more than ${this.maxFields} header lines`);
            }
            this.#line = "";
            mark = i;
            this.#state = S.Name;
          } else if (b === SP || b === HTAB) {
            throw bad("header line starting with whitespace (obs-fold)");
          } else throw bad("malformed header name");
          break;
        case S.Name:
          if (b === 0x3a) {
            keep(i);
            this.#line += ":";
            mark = i + 1;
            this.#state = S.Value;
          } else if (!TCHAR[b]) throw bad("malformed header name");
          break;
        case S.Value:
          if (b === CR) {
            keep(i);
            this.#state = S.ValueLf;
          } else if (!valueByte(b)) throw bad("control character in a header value");
          break;
        case S.ValueLf: {
          if (b !== LF) throw bad("CR without LF in a header line");
          const colon = this.#line.indexOf(":");
          if (!this.trailers) {
            const field: [string, string] = [
              this.#line.slice(0, colon),
              this.#line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ""),
            ];
            this.#framing(field);
            this.#fields.push(field);
          }
          this.#line = "";
          this.#state = S.FieldStart;
          break;
        }
        case S.EndLf:
          if (b !== LF) throw bad("CR without LF at the end of the head");
          this.#state = S.Done;
          return i + 1;
        default:
          throw new Error("head parser fed after its end");
      }
    }
    const s = this.#state;
    if (s === S.Method || s === S.Target || s === S.Version || s === S.Name || s === S.Value) {
      keep(bytes.length);
    }
    return -1;
  }

  #length = false;
  #chunked = false;

  /**
   * The framing fields, judged as soon as their line ends (a head need not be complete to be
   * refused): Content-Length is digits, fits a safe integer, and comes once; Transfer-Encoding
   * and Content-Length never come together (RFC 9112 section 6.3: a smuggling vector).
   */
  #framing([name, value]: [string, string]): void {
    const lower = name.toLowerCase();
    if (lower === "content-length") {
      if (this.#length) throw bad("more than one Content-Length");
      if (!/^[0-9]+$/.test(value)) throw bad("malformed Content-Length");
      if (!Number.isSafeInteger(Number(value))) throw bad("Content-Length too large");
      this.#length = true;
    } else if (lower === "transfer-encoding") this.#chunked = true;
    if (this.#length && this.#chunked) throw bad("both Transfer-Encoding and Content-Length");
  }

  /** True once a byte other than the empty lines before a request line came. */
  get started(): boolean {
    return this.#state !== S.Start && this.#state !== S.StartLf;
  }

  /** The head, once {@link feed} returned its end. */
  head(): RequestHead {
    if (this.#state !== S.Done) throw new Error("head not complete");
    return {
      method: this.#method,
      target: this.#target,
      version: this.#version,
      fields: this.#fields,
    };
  }
}

function bad(message: string): HttpError {
  return new HttpError(400, message);
}

/** The largest chunk size accepted: 2^53 - 1 bytes (a JavaScript number counts it exactly). */
const MAX_CHUNK_DIGITS = 13;

const enum C {
  Size,
  ExtName,
  ExtValueStart,
  ExtToken,
  ExtQuoted,
  ExtQuotedEscape,
  AfterQuoted,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailers,
  Done,
}

/** One step of {@link ChunkedDecoder.feed}. */
export interface ChunkStep {
  /** Bytes of the input this step used (framing and data). */
  used: number;
  /** Data bytes, a view into the input (copy before the input is reused). */
  data: Uint8Array | null;
  /** The body ended (last chunk and trailers read). */
  done: boolean;
}

/** Decodes a chunked body (RFC 9112 section 7.1), strictly, from bytes fed in pieces. */
export class ChunkedDecoder {
  #state = C.Size;
  #digits = 0;
  #size = 0;
  #left = 0;
  #lineBytes = 0;
  #trailers: HeadParser | null = null;

  constructor(private readonly maxTrailerBytes = 8192) {}

  /** True once the last chunk and the trailers were read. */
  get done(): boolean {
    return this.#state === C.Done;
  }

  /**
   * Reads framing from `bytes` up to the next data or the end of the body. Throws
   * {@link HttpError} (400) at the first byte that breaks chunked framing.
   */
  feed(bytes: Uint8Array): ChunkStep {
    let i = 0;
    while (i < bytes.length) {
      if (this.#state === C.Data) {
        const n = Math.min(this.#left, bytes.length - i);
        this.#left -= n;
        if (this.#left === 0) this.#state = C.DataCr;
        return { used: i + n, data: bytes.subarray(i, i + n), done: false };
      }
      if (this.#state === C.Trailers) {
        const end = this.#trailers!.feed(bytes.subarray(i));
        if (end < 0) return { used: bytes.length, data: null, done: false };
        this.#state = C.Done;
        return { used: i + end, data: null, done: true };
      }
      if (this.#state === C.Done) return { used: i, data: null, done: true };
      const b = bytes[i++];
      if (this.#state !== C.DataCr && this.#state !== C.DataLf && ++this.#lineBytes > 4096) {
        throw bad("chunk header longer than 4 KiB");
      }
      switch (this.#state) {
        case C.Size: {
          const v = hexValue(b);
          if (v >= 0) {
            if (this.#digits > 0 || v > 0) this.#digits++;
            if (this.#digits > MAX_CHUNK_DIGITS) throw bad("chunk size too large");
            this.#size = this.#size * 16 + v;
            this.#sawDigit = true;
          } else if (!this.#sawDigit) throw bad("malformed chunk size");
          else this.#afterSize(b);
          break;
        }
        case C.ExtName:
          if (TCHAR[b]) this.#extChars++;
          else if (this.#extChars === 0) throw bad("empty chunk extension name");
          else if (b === 0x3d) this.#state = C.ExtValueStart;
          else this.#afterSize(b);
          break;
        case C.ExtValueStart:
          if (b === 0x22) this.#state = C.ExtQuoted;
          else if (TCHAR[b]) this.#state = C.ExtToken;
          else throw bad("malformed chunk extension value");
          break;
        case C.ExtToken:
          if (!TCHAR[b]) this.#afterSize(b);
          break;
        case C.ExtQuoted:
          if (b === 0x22) this.#state = C.AfterQuoted;
          else if (b === 0x5c) this.#state = C.ExtQuotedEscape;
          else if (!(b === HTAB || (b >= SP && b !== 0x7f))) {
            throw bad("malformed quoted chunk extension value");
          }
          break;
        case C.ExtQuotedEscape:
          if (!(b === HTAB || (b >= SP && b !== 0x7f))) {
            throw bad("malformed quoted chunk extension value");
          }
          this.#state = C.ExtQuoted;
          break;
        case C.AfterQuoted:
          this.#afterSize(b);
          break;
        case C.SizeLf:
          if (b !== LF) throw bad("CR without LF after a chunk size");
          this.#lineBytes = 0;
          if (this.#size === 0) {
            this.#state = C.Trailers;
            this.#trailers = new HeadParser(this.maxTrailerBytes, 100, true);
          } else {
            this.#left = this.#size;
            this.#state = C.Data;
          }
          break;
        case C.DataCr:
          if (b !== CR) throw bad("chunk data longer than its size");
          this.#state = C.DataLf;
          break;
        case C.DataLf:
          if (b !== LF) throw bad("CR without LF after chunk data");
          this.#state = C.Size;
          this.#size = 0;
          this.#digits = 0;
          this.#sawDigit = false;
          this.#lineBytes = 0;
          break;
      }
    }
    return { used: i, data: null, done: false };
  }

  #sawDigit = false;
  #extChars = 0;

  /** After a size or an extension: another extension, or the end of the line. */
  #afterSize(b: number): void {
    if (b === 0x3b) {
      this.#state = C.ExtName;
      this.#extChars = 0;
    } else if (b === CR) this.#state = C.SizeLf;
    else throw bad(`malformed chunk size line (byte 0x${b.toString(16).padStart(2, "0")})`);
  }
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}
