/**
 * A small HTTP/1.1 server on `Deno.listen`, because `serve` must outlive hostile clients and
 * `Deno.serve` exits the process when `accept` fails with "Too many open files". Here:
 *
 * - one watchdog closes any connection whose pending read or write made no progress by its
 *   deadline: the request head must arrive within `headerTimeoutMs`, a kept-alive connection may
 *   idle `idleTimeoutMs`, and a body or a response may stall `stallTimeoutMs`;
 * - at `maxConnections`, or when `accept` fails for lack of descriptors, the oldest connection
 *   that is not running a request (still sending its head, or idle) is closed to make room;
 *   when every connection is busy the new one is answered 503 and closed;
 * - bodies are framed by `Content-Length` or chunked encoding and reach the handler as a stream
 *   read straight from the socket (nothing buffered ahead), answers are sent with a length.
 * @module
 */
import { concat } from "../api/_bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Limits and timeouts of {@link listenHttp1}. */
export interface Http1Options {
  hostname: string;
  port: number;
  /** Time for a new request's head to arrive, from the connection or its first byte (10 000). */
  headerTimeoutMs?: number;
  /** Time a kept-alive connection may wait for its next request (5 000). */
  idleTimeoutMs?: number;
  /** Time a body read or a response write may make no progress (15 000). */
  stallTimeoutMs?: number;
  /** Connections open at once (512). Keep it well under the descriptor limit. */
  maxConnections?: number;
  /** Largest request head, request line and headers together (16 KiB); larger ones get 431. */
  maxHeadBytes?: number;
  /** Called with errors that are not a client's fault. */
  onError?: (error: unknown) => void;
}

/** A listening server. */
export interface Http1Server {
  addr: Deno.NetAddr;
  /** Open connections now. */
  readonly connections: number;
  /** Stops accepting, closes idle connections, waits up to `graceMs` for running requests. */
  shutdown(graceMs: number): Promise<void>;
}

type Phase = "head" | "busy" | "idle";

class Connection {
  phase: Phase = "head";
  /** When the pending read or write must have progressed (ms epoch), or Infinity. */
  deadline = Infinity;
  closed = false;
  #buf: Uint8Array = new Uint8Array(0);
  #scratch = new Uint8Array(262144);
  constructor(readonly conn: Deno.Conn) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  /** Reads whatever comes next, with a deadline `ms` from now; null at the end of the stream. */
  async #read(size: number, ms: number): Promise<Uint8Array | null> {
    // Read into one scratch buffer and copy out what came: a fresh buffer per read would keep
    // its whole size alive behind every small read (a slow sender made serve's memory balloon).
    const buf = this.#scratch.subarray(0, Math.min(size, this.#scratch.length));
    this.deadline = Date.now() + ms;
    try {
      const n = await this.conn.read(buf);
      return n === null ? null : buf.slice(0, n);
    } finally {
      this.deadline = Infinity;
    }
  }

  /** Reads a request head (up to CRLFCRLF) of at most `max` bytes; null on a clean close. */
  async readHead(
    max: number,
    firstByteMs: number,
    headMs: number,
    fromNow: boolean,
  ): Promise<Uint8Array | null> {
    let started = fromNow || this.#buf.length > 0 ? Date.now() : 0;
    let scanFrom = 0;
    for (;;) {
      const end = indexOfCrlfCrlf(this.#buf, scanFrom);
      if (end >= 0) {
        // A head that ends inside the read that took it past `max` is still too large.
        if (end > max) throw new HttpError(431, "request head too large");
        const head = this.#buf.subarray(0, end);
        this.#buf = this.#buf.subarray(end + 4);
        return head;
      }
      if (this.#buf.length > max) throw new HttpError(431, "request head too large");
      scanFrom = Math.max(0, this.#buf.length - 3);
      const left = started ? started + headMs - Date.now() : firstByteMs;
      if (left <= 0) throw new HttpError(408, "request head too slow");
      const chunk = await this.#read(16384, left);
      if (chunk === null) {
        if (this.#buf.length === 0) return null;
        throw new HttpError(400, "connection closed inside the request head");
      }
      if (!started) {
        started = Date.now();
        this.phase = "head";
      }
      this.#buf = concat(this.#buf, chunk);
    }
  }

  /** Up to `max` body bytes: what is buffered first, then straight from the socket. */
  async readSome(max: number, ms: number): Promise<Uint8Array | null> {
    if (this.#buf.length > 0) {
      const n = Math.min(max, this.#buf.length);
      const out = this.#buf.slice(0, n);
      this.#buf = this.#buf.subarray(n);
      return out;
    }
    return await this.#read(Math.min(max, 262144), ms);
  }

  /** A CRLF-terminated line (chunked framing) of at most `max` bytes, without the CRLF. */
  async readLine(max: number, ms: number): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf(0x0a);
      if (i >= 0) {
        const line = decoder.decode(this.#buf.subarray(0, i)).replace(/\r$/, "");
        this.#buf = this.#buf.subarray(i + 1);
        return line;
      }
      if (this.#buf.length > max) throw new HttpError(400, "chunk header too long");
      const chunk = await this.#read(4096, ms);
      if (chunk === null) throw new HttpError(400, "connection closed inside a chunked body");
      this.#buf = concat(this.#buf, chunk);
    }
  }

  async writeAll(bytes: Uint8Array, ms: number): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      this.deadline = Date.now() + ms;
      try {
        off += await this.conn.write(bytes.subarray(off));
      } finally {
        this.deadline = Infinity;
      }
    }
  }
}

/**
 * After answering a request whose body was left unread, stops sending and reads (discarding) a
 * little longer before closing: closing with unread bytes resets the connection, and the client
 * would lose the answer it is about to read.
 */
async function linger(c: Connection): Promise<void> {
  try {
    await c.conn.closeWrite();
    const until = Date.now() + 2000;
    let budget = 16 * 1024 * 1024;
    while (budget > 0 && Date.now() < until) {
      const chunk = await c.readSome(65536, until - Date.now());
      if (chunk === null) break;
      budget -= chunk.length;
    }
  } catch { /* the client went away: nothing to protect */ }
}

/** A request the server answers itself, then closes the connection. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function indexOfCrlfCrlf(buf: Uint8Array, from: number): number {
  for (
    let i = buf.indexOf(0x0d, from);
    i >= 0 && i + 3 < buf.length;
    i = buf.indexOf(0x0d, i + 1)
  ) {
    if (buf[i + 1] === 0x0a && buf[i + 2] === 0x0d && buf[i + 3] === 0x0a) return i;
  }
  return -1;
}

const CRLF = new TextEncoder().encode("\r\n");

/** Reason phrases of the statuses serve sends; any other goes out with an empty one (allowed). */
const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function plainAnswer(status: number, message: string): Uint8Array {
  const body = JSON.stringify({ error: true, body: message });
  return encoder.encode(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\ncontent-type: application/json\r\n` +
      "x-content-type-options: nosniff\r\n" +
      `content-length: ${encoder.encode(body).length}\r\nconnection: close\r\n\r\n${body}`,
  );
}

interface Head {
  method: string;
  target: string;
  version: string;
  headers: Headers;
}

function parseHead(bytes: Uint8Array): Head {
  const lines = decoder.decode(bytes).split("\r\n");
  const m = /^([A-Z]{1,16}) (\S+) HTTP\/(1\.[01])$/.exec(lines[0]);
  if (!m) throw new HttpError(400, "malformed request line");
  const headers = new Headers();
  if (lines.length > 101) throw new HttpError(431, "more than 100 header lines");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    if (colon <= 0 || /^[ \t]/.test(line)) throw new HttpError(400, "malformed header line");
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      throw new HttpError(400, "malformed header line");
    }
  }
  return { method: m[1], target: m[2], version: m[3], headers };
}

/**
 * Starts the server. Throws `Deno.errors.AddrInUse` (and other listen errors) synchronously.
 */
export function listenHttp1(
  options: Http1Options,
  handler: (request: Request) => Promise<Response>,
): Http1Server {
  const headerMs = options.headerTimeoutMs ?? 10_000;
  const idleMs = options.idleTimeoutMs ?? 5_000;
  const stallMs = options.stallTimeoutMs ?? 15_000;
  const maxConnections = Math.max(1, options.maxConnections ?? 512);
  const maxHead = options.maxHeadBytes ?? 16384;
  const onError = options.onError ?? (() => {});
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const addr = listener.addr as Deno.NetAddr;
  const origin = `http://${
    addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname
  }:${addr.port}`;
  const open = new Set<Connection>();
  let stopping = false;

  const watchdog = setInterval(() => {
    const now = Date.now();
    for (const c of open) if (c.deadline < now) c.close();
  }, Math.max(20, Math.min(1000, Math.min(headerMs, idleMs, stallMs) / 4)));

  /** Closes the oldest connection not running a request; false when all are busy. */
  function evictOne(): boolean {
    for (const c of open) {
      if (c.phase !== "busy") {
        c.close();
        open.delete(c);
        return true;
      }
    }
    return false;
  }

  async function connection(c: Connection): Promise<void> {
    let first = true;
    try {
      while (!stopping && !c.closed) {
        c.phase = first ? "head" : "idle";
        let headBytes: Uint8Array | null;
        try {
          headBytes = await c.readHead(maxHead, first ? headerMs : idleMs, headerMs, first);
        } catch (e) {
          if (e instanceof HttpError && !c.closed) {
            await c.writeAll(plainAnswer(e.status, e.message), stallMs).catch(() => {});
          }
          return;
        }
        if (headBytes === null || stopping) return;
        first = false;
        c.phase = "busy";
        if (!await exchange(c, headBytes)) return;
      }
    } catch (e) {
      if (!c.closed && !(e instanceof Deno.errors.BadResource)) onError(e);
    } finally {
      c.close();
      open.delete(c);
    }
  }

  /** One request and its answer; false when the connection must close afterwards. */
  async function exchange(c: Connection, headBytes: Uint8Array): Promise<boolean> {
    let head: Head;
    try {
      head = parseHead(headBytes);
    } catch (e) {
      const err = e as HttpError;
      await c.writeAll(plainAnswer(err.status ?? 400, err.message), stallMs).catch(() => {});
      return false;
    }
    const { headers, method } = head;
    const te = headers.get("transfer-encoding");
    const cl = headers.get("content-length");
    let framing: { kind: "none" } | { kind: "length"; left: number } | { kind: "chunked" };
    if (te !== null) {
      if (te.toLowerCase() !== "chunked" || cl !== null) {
        await c.writeAll(plainAnswer(501, "unsupported transfer-encoding"), stallMs);
        return false;
      }
      framing = { kind: "chunked" };
    } else if (cl !== null) {
      if (!/^\d{1,15}$/.test(cl)) {
        await c.writeAll(plainAnswer(400, "malformed content-length"), stallMs);
        return false;
      }
      framing = { kind: "length", left: Number(cl) };
    } else framing = { kind: "none" };

    let continueSent = !/100-continue/i.test(headers.get("expect") ?? "");
    let bodyDone = framing.kind === "none" ||
      (framing.kind === "length" && framing.left === 0);
    let chunkLeft = 0;
    const abort = new AbortController();
    const nextBodyBytes = async (): Promise<Uint8Array | null> => {
      if (!continueSent) {
        continueSent = true;
        await c.writeAll(encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"), stallMs);
      }
      if (framing.kind === "length") {
        if (framing.left === 0) return null;
        const chunk = await c.readSome(framing.left, stallMs);
        if (chunk === null) throw new Error("the client closed the connection mid-body");
        framing.left -= chunk.length;
        return chunk;
      }
      // chunked
      if (chunkLeft === 0) {
        const size = parseInt((await c.readLine(1024, stallMs)).split(";")[0].trim(), 16);
        if (!Number.isFinite(size) || size < 0) throw new Error("malformed chunk size");
        if (size === 0) {
          while ((await c.readLine(8192, stallMs)) !== "") { /* trailers */ }
          return null;
        }
        chunkLeft = size;
      }
      const chunk = await c.readSome(chunkLeft, stallMs);
      if (chunk === null) throw new Error("the client closed the connection mid-body");
      chunkLeft -= chunk.length;
      if (chunkLeft === 0 && (await c.readLine(2, stallMs)) !== "") {
        throw new Error("malformed chunk end");
      }
      return chunk;
    };
    const body = bodyDone ? null : new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const chunk = await nextBodyBytes();
          if (chunk === null) {
            bodyDone = true;
            controller.close();
          } else controller.enqueue(chunk);
        } catch (e) {
          abort.abort(e);
          c.close();
          controller.error(e);
        }
      },
      cancel() {},
    }, { highWaterMark: 0 });

    let request: Request;
    try {
      request = new Request(origin + (head.target.startsWith("/") ? head.target : "/"), {
        method,
        headers,
        body: method === "GET" || method === "HEAD" ? null : body,
        signal: abort.signal,
        // @ts-ignore: duplex is required for stream bodies and not yet in every lib.dom
        duplex: "half",
      });
    } catch {
      await c.writeAll(plainAnswer(405, `${method} is not supported`), stallMs).catch(() => {});
      return false;
    }
    let response: Response;
    try {
      response = await handler(request);
    } catch (e) {
      onError(e);
      response = new Response(JSON.stringify({ error: true, body: "internal error" }), {
        status: 500,
        headers: { "content-type": "application/json", "x-content-type-options": "nosniff" },
      });
    }
    if (c.closed) return false;
    // A handler asks for a streamed answer with `transfer-encoding: chunked` (endpoint 4: its
    // memory must not grow with the sample); HTTP/1.0 has no chunks, so it gets the whole body.
    const streamed = response.headers.get("transfer-encoding") === "chunked" &&
      head.version === "1.1" && method !== "HEAD" && response.body !== null;
    const payload = method === "HEAD" || streamed
      ? new Uint8Array(0)
      : new Uint8Array(await response.arrayBuffer());
    // A body the handler did not read: drain a little, otherwise close after answering.
    let keepAlive = head.version === "1.1"
      ? !/\bclose\b/i.test(headers.get("connection") ?? "")
      : /\bkeep-alive\b/i.test(headers.get("connection") ?? "");
    if (!bodyDone) {
      if (framing.kind === "length" && framing.left <= 65536 && continueSent) {
        try {
          while ((await nextBodyBytes()) !== null) { /* drain */ }
        } catch {
          keepAlive = false;
        }
      } else keepAlive = false;
    }
    if (stopping) keepAlive = false;
    let text = `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? ""}\r\n`;
    response.headers.forEach((value, name) => {
      if (name !== "content-length" && name !== "connection" && name !== "transfer-encoding") {
        text += `${name}: ${value}\r\n`;
      }
    });
    if (streamed) {
      text += "transfer-encoding: chunked\r\n";
      text += keepAlive ? "\r\n" : "connection: close\r\n\r\n";
      await c.writeAll(encoder.encode(text), stallMs);
      // A failure midway ends the connection without the last chunk: the client sees a cut
      // answer, never a complete-looking wrong one.
      for await (const chunk of response.body!) {
        if (chunk.length === 0) continue;
        await c.writeAll(
          concat(encoder.encode(`${chunk.length.toString(16)}\r\n`), chunk),
          stallMs,
        );
        await c.writeAll(CRLF, stallMs);
      }
      await c.writeAll(encoder.encode("0\r\n\r\n"), stallMs);
      if (!bodyDone && !keepAlive) await linger(c);
      return keepAlive;
    }
    text += `content-length: ${payload.length}\r\n`;
    text += keepAlive ? "\r\n" : "connection: close\r\n\r\n";
    const headOut = encoder.encode(text);
    await c.writeAll(payload.length < 65536 ? concat(headOut, payload) : headOut, stallMs);
    if (payload.length >= 65536) await c.writeAll(payload, stallMs);
    if (!bodyDone && !keepAlive) await linger(c);
    return keepAlive;
  }

  const accepting = (async () => {
    while (!stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (stopping || e instanceof Deno.errors.BadResource) return;
        // Out of descriptors (EMFILE/ENFILE) or a transient error: make room and keep going.
        if (!evictOne()) await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (open.size >= maxConnections && !evictOne()) {
        conn.write(plainAnswer(503, "too many connections")).catch(() => {}).finally(() => {
          try {
            conn.close();
          } catch { /* gone */ }
        });
        continue;
      }
      const c = new Connection(conn);
      open.add(c);
      connection(c);
    }
  })();

  return {
    addr,
    get connections() {
      return open.size;
    },
    async shutdown(graceMs: number) {
      stopping = true;
      try {
        listener.close();
      } catch { /* closed */ }
      await accepting;
      for (const c of open) if (c.phase !== "busy") c.close();
      const until = Date.now() + graceMs;
      while (open.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      for (const c of open) c.close();
      clearInterval(watchdog);
    },
  };
}
