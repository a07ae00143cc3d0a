/**
 * `multipart/form-data` written and read by hand, streaming both ways: the client sends a file
 * without holding it in memory, and `serve` writes file parts to disk as they arrive.
 * @module
 */
import { concat } from "./_bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A part of a multipart body the client sends. */
export type OutgoingPart =
  | { name: string; value: string }
  | { name: string; fileName: string; path: string; contentType?: string };

/** A multipart body ready to send: a fresh stream for every attempt, its length and its type. */
export interface MultipartBody {
  /** `multipart/form-data; boundary=...`. */
  contentType: string;
  /** Exact length in bytes of what {@link MultipartBody.stream} yields. */
  length: number;
  /** Opens the files and streams the body; call once per attempt. */
  stream(): ReadableStream<Uint8Array>;
}

function quote(value: string): string {
  return value.replace(/["\\\r\n]/g, (c) => c === '"' ? "%22" : c === "\\" ? "\\\\" : " ");
}

/**
 * Builds a streaming multipart body. File sizes are read with `Deno.stat` so the length is known;
 * file contents are read in chunks only while the stream is consumed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { multipartBody } from "./multipart.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.pcap`, "capture bytes");
 * const body = await multipartBody([
 *   { name: "type", value: "pcap" },
 *   { name: "file", fileName: "a.pcap", path: `${dir}/a.pcap` },
 * ]);
 * // Send it with fetch(url, { method: "POST", body: body.stream(), headers }); here the Fetch
 * // API's own parser reads it back.
 * const headers = { "content-type": body.contentType, "content-length": `${body.length}` };
 * const form = await new Response(body.stream(), { headers }).formData();
 * assert.equal(form.get("type"), "pcap");
 * assert.equal(await (form.get("file") as File).text(), "capture bytes");
 * assert.equal((await new Response(body.stream()).bytes()).length, body.length);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function multipartBody(parts: OutgoingPart[]): Promise<MultipartBody> {
  const boundary = "----networksage" + crypto.randomUUID().replaceAll("-", "");
  type Piece = Uint8Array | { path: string; size: number };
  const pieces: Piece[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quote(part.name)}"`;
    if ("path" in part) {
      head += `; filename="${quote(part.fileName)}"\r\nContent-Type: ${
        part.contentType ?? "application/octet-stream"
      }\r\n\r\n`;
      const info = await Deno.stat(part.path);
      pieces.push(
        encoder.encode(head),
        { path: part.path, size: info.size },
        encoder.encode("\r\n"),
      );
    } else {
      pieces.push(encoder.encode(`${head}\r\n\r\n${part.value}\r\n`));
    }
  }
  pieces.push(encoder.encode(`--${boundary}--\r\n`));
  const length = pieces.reduce((n, p) => n + (p instanceof Uint8Array ? p.length : p.size), 0);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length,
    stream() {
      let index = 0;
      let file: Deno.FsFile | undefined;
      let left = 0;
      return new ReadableStream<Uint8Array>({
        type: "bytes",
        async pull(controller) {
          while (index < pieces.length) {
            const piece = pieces[index];
            if (piece instanceof Uint8Array) {
              index++;
              controller.enqueue(piece.slice());
              return;
            }
            if (!file) {
              file = await Deno.open(piece.path, { read: true });
              left = piece.size;
            }
            if (left > 0) {
              const buf = new Uint8Array(Math.min(left, 1 << 20));
              const n = await file.read(buf);
              if (n === null) {
                throw new Error(`${piece.path} became shorter while it was being sent`);
              }
              left -= n;
              controller.enqueue(buf.subarray(0, n));
              return;
            }
            file.close();
            file = undefined;
            index++;
          }
          controller.close();
        },
        cancel() {
          file?.close();
          file = undefined;
        },
      });
    },
  };
}

/** A malformed multipart body (`serve` answers 400). */
export class MultipartError extends Error {
  override name = "MultipartError";
}

/** The boundary of a `multipart/form-data` content type, or null. */
export function boundaryOf(contentType: string | null): string | null {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m ? (m[1] ?? m[2]) : null;
  return b && b.length <= 200 ? b : null;
}

/** Headers of an incoming part. */
export interface PartInfo {
  name: string;
  fileName?: string;
  contentType?: string;
}

/** Limits of {@link readMultipart}; a body beyond them is a {@link MultipartError}. */
export interface MultipartLimits {
  /** Parts in the body (default 16). */
  maxParts?: number;
  /** Header bytes of one part (default 8 KiB). */
  maxPartHeaderBytes?: number;
}

/** What {@link readMultipart} does with each part. */
export interface PartSink {
  /** Called for each part before its data; returns the writer of its bytes. */
  open(info: PartInfo): Promise<PartWriter> | PartWriter;
}

/** Receives the bytes of one part. */
export interface PartWriter {
  write(chunk: Uint8Array): Promise<void> | void;
  close(): Promise<void> | void;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = hay.length - needle.length;
  let i = from;
  while (i <= last) {
    i = hay.indexOf(first, i);
    if (i < 0 || i > last) return -1;
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i++;
  }
  return -1;
}

function parseHeaders(text: string): PartInfo {
  let disposition = "";
  let contentType: string | undefined;
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) throw new MultipartError(`malformed part header line '${line.slice(0, 80)}'`);
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "content-disposition") disposition = value;
    else if (key === "content-type") contentType = value;
  }
  if (!/^form-data\s*;/i.test(disposition)) {
    throw new MultipartError("a part has no 'Content-Disposition: form-data' header");
  }
  const param = (p: string) => {
    const m = new RegExp(`;\\s*${p}="((?:[^"\\\\]|\\\\.)*)"|;\\s*${p}=([^;\\s]+)`, "i").exec(
      disposition,
    );
    return m ? (m[1] ?? m[2]).replace(/\\(.)/g, "$1") : undefined;
  };
  const name = param("name");
  if (name === undefined) throw new MultipartError("a part has no name");
  return { name, fileName: param("filename"), contentType };
}

/**
 * Reads a `multipart/form-data` stream part by part, handing each part's bytes to `sink` as they
 * arrive (a part is never held whole in memory). Throws {@link MultipartError} when the body is
 * malformed or ends before the closing boundary; errors of the stream itself (a client that went
 * away) propagate as they are.
 */
export async function readMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  sink: PartSink,
  limits: MultipartLimits = {},
): Promise<void> {
  const maxParts = limits.maxParts ?? 16;
  const maxHeader = limits.maxPartHeaderBytes ?? 8192;
  let parts = 0;
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  const headerEnd = encoder.encode("\r\n\r\n");
  // The body starts with "--boundary"; prefixing CRLF makes every delimiter look alike.
  let buf: Uint8Array = encoder.encode("\r\n");
  type State = "preamble" | "headers" | "data" | "afterDelimiter" | "done";
  let state = "preamble" as State;
  let writer: PartWriter | undefined;
  const reader = body.getReader();
  let ended = false;
  try {
    while (state !== "done") {
      let progressed = true;
      while (progressed && state !== "done") {
        progressed = false;
        if (state === "preamble") {
          const i = indexOf(buf, delimiter, 0);
          if (i >= 0) {
            buf = buf.subarray(i + delimiter.length);
            state = "afterDelimiter";
            progressed = true;
          } else if (buf.length > 4096) {
            throw new MultipartError("no opening boundary in the first 4 KiB");
          }
        } else if (state === "afterDelimiter") {
          if (buf.length >= 2) {
            if (buf[0] === 0x2d && buf[1] === 0x2d) {
              state = "done";
            } else {
              // Transport padding then CRLF.
              const crlf = indexOf(buf, headerEnd.subarray(0, 2), 0);
              if (crlf < 0) {
                if (buf.length > 256) throw new MultipartError("garbage after a boundary");
                break;
              }
              if (!/^[ \t]*$/.test(decoder.decode(buf.subarray(0, crlf)))) {
                throw new MultipartError("garbage after a boundary");
              }
              buf = buf.subarray(crlf + 2);
              state = "headers";
              progressed = true;
            }
          }
        } else if (state === "headers") {
          const i = indexOf(buf, headerEnd, 0);
          if (i >= 0) {
            if (i > maxHeader) {
              throw new MultipartError(`part headers longer than ${maxHeader} bytes`);
            }
            if (++parts > maxParts) throw new MultipartError(`more than ${maxParts} parts`);
            const info = parseHeaders(decoder.decode(buf.subarray(0, i)));
            buf = buf.subarray(i + 4);
            writer = await sink.open(info);
            state = "data";
            progressed = true;
          } else if (buf.length > maxHeader + 4) {
            throw new MultipartError(`part headers longer than ${maxHeader} bytes`);
          }
        } else if (state === "data") {
          const i = indexOf(buf, delimiter, 0);
          if (i >= 0) {
            // Subarrays are safe to hand over: every chunk is fresh (concat copies, reads allocate).
            if (i > 0) await writer!.write(buf.subarray(0, i));
            await writer!.close();
            writer = undefined;
            buf = buf.subarray(i + delimiter.length);
            state = "afterDelimiter";
            progressed = true;
          } else {
            // Keep a tail that may be the start of the delimiter.
            const keep = Math.min(buf.length, delimiter.length - 1);
            const emit = buf.length - keep;
            if (emit > 0) {
              await writer!.write(buf.subarray(0, emit));
              buf = buf.subarray(emit);
            }
          }
        }
      }
      if (state === "done") break;
      if (ended) throw new MultipartError("the body ended before the closing boundary");
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        continue;
      }
      if (state === "data" && buf.length > 0 && value.length >= delimiter.length) {
        // The kept tail (shorter than a delimiter) is data unless a delimiter starts in it:
        // decide on a small window instead of copying every chunk behind the tail.
        const window = concat(buf, value.subarray(0, delimiter.length));
        const i = indexOf(window, delimiter, 0);
        if (i >= 0 && i < buf.length) buf = concat(buf, value);
        else {
          await writer!.write(buf);
          buf = value;
        }
      } else buf = concat(buf, value);
    }
  } finally {
    reader.releaseLock();
  }
}
