/**
 * A small HTTP/1.1 server on `Deno.listen`, because `serve` must outlive hostile clients and
 * `Deno.serve` exits the process when `accept` fails with "Too many open files". Here:
 *
 * - requests are parsed strictly as they arrive (`_http1_parse.ts`); a request the parser
 *   refuses is answered 4xx/5xx and the connection closed, and a body whose framing breaks is
 *   answered 400 in place of whatever the handler said: nothing malformed is ever answered as
 *   routed. Only GET, HEAD, POST, PUT, DELETE and PATCH reach the handler (501 otherwise), and an HTTP/1.1
 *   request needs exactly one `Host` (400);
 * - a body has one reader: the handler's stream and the listener's drain take turns on one lock,
 *   nothing is read before someone asks (`Expect: 100-continue` is answered only then), and each
 *   read arms its own deadline, which no other read can clear;
 * - a watchdog closes any connection whose pending read or write made no progress by its
 *   deadline: the head must arrive within `headerTimeoutMs`, a kept-alive connection may idle
 *   `idleTimeoutMs`, a body read or a response write may stall `stallTimeoutMs`; and a request
 *   the `trusted` hook does not vouch for (no valid key or session) must be whole within
 *   `requestTimeoutMs` of its first byte, however it trickles. Timeouts of a request under way
 *   are answered 408;
 * - at `maxConnections`, or when `accept` fails for lack of descriptors, a connection is closed
 *   to make room: the oldest still sending its head, idle, or closing; else the oldest untrusted
 *   one waiting for its client (a slow body, an unread body being drained). When every
 *   connection is busy the new one is answered 503 and closed;
 * - answers are sent with a length (HEAD: the length GET would have), or chunked when the handler
 *   asks for it with `transfer-encoding: chunked`.
 * @module
 */
import { ChunkedDecoder, HeadParser, HttpError, type RequestHead } from "./_http1_parse.ts";

const encoder = new TextEncoder();

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
  /**
   * Time an untrusted request (see `trusted`) has from its first byte to its last, body
   * included (30 000).
   */
  requestTimeoutMs?: number;
  /** Connections open at once (512). Keep it well under the descriptor limit. */
  maxConnections?: number;
  /** Largest request head, request line and headers together (16 KiB); larger ones get 431. */
  maxHeadBytes?: number;
  /**
   * Whether a request's headers carry a credential the server accepts. Trusted requests have no
   * whole-request deadline and are not closed to make room while they wait for their body.
   */
  trusted?: (headers: Headers) => boolean;
  /** Called once per request the handler answered, when the answer went out or failed to. */
  onAnswer?: (answer: Http1Answer) => void;
  /** Called with errors that are not a client's fault. */
  onError?: (error: unknown) => void;
}

/** What became of an answer (for the request log). */
export interface Http1Answer {
  request: Request;
  status: number;
  /** Body bytes read from the client. */
  received: number;
  /** Body bytes of the answer written to the socket. */
  sent: number;
  /** The whole answer was written. */
  complete: boolean;
  /** From the end of the request head to the last byte written, in ms. */
  ms: number;
}

/** A listening server. */
export interface Http1Server {
  addr: Deno.NetAddr;
  /** Open connections now. */
  readonly connections: number;
  /** Stops accepting, closes idle connections, waits up to `graceMs` for running requests. */
  shutdown(graceMs: number): Promise<void>;
}

/**
 * The methods routed to the handler (which answers 405 where one does not apply); any other,
 * OPTIONS, CONNECT and TRACE included, gets 501 (RFC 9110 section 9.1).
 */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]);

/** Body bytes the listener reads (and drops) after an answer so the connection can be reused. */
const DRAIN_LIMIT = 65536;

type Phase = "head" | "idle" | "request" | "closing";

class Connection {
  phase: Phase = "head";
  /** The request's headers passed the `trusted` hook. */
  trusted = false;
  /** A read is pending (waiting for the client). */
  waiting = false;
  /** When the pending read must have progressed (ms epoch). */
  readDeadline = Infinity;
  /** When the request under way must be whole (ms epoch); Infinity for trusted ones. */
  requestDeadline = Infinity;
  /** When the pending write must have progressed (ms epoch), or Infinity. */
  writeDeadline = Infinity;
  /** Bytes of a request came (a timeout then deserves a 408). */
  requestStarted = false;
  /** An answer began to go out (or the 408 of a timeout): nothing else may be written. */
  answering = false;
  closed = false;
  buf: Uint8Array = new Uint8Array(0);
  #scratch: Uint8Array | null = null;
  constructor(readonly conn: Deno.Conn, private requestMs: number) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  /**
   * Reads whatever comes next into `buf`, the read's own deadline `ms` from now; false at the end
   * of the stream. One read at a time: a second one while one is pending is a bug, not a race.
   */
  async fill(ms: number): Promise<boolean> {
    if (this.waiting) throw new Error("two reads at once on one connection");
    // One scratch buffer, copied out of: a fresh buffer per read would keep its whole size
    // alive behind every small read (a slow sender made serve's memory balloon).
    const scratch = this.#scratch ??= new Uint8Array(65536);
    this.waiting = true;
    this.readDeadline = Date.now() + ms;
    try {
      const n = await this.conn.read(scratch);
      if (n === null) return false;
      this.buf = concat(this.buf, scratch.subarray(0, n));
      return true;
    } finally {
      this.waiting = false;
      this.readDeadline = Infinity;
    }
  }

  /** Up to `max` buffered bytes, copied, and removed from the buffer. */
  take(max: number): Uint8Array {
    const n = Math.min(max, this.buf.length);
    const out = this.buf.slice(0, n);
    this.buf = this.buf.length === n ? new Uint8Array(0) : this.buf.subarray(n);
    return out;
  }

  /** Reads and parses a request head; null on a clean close before any byte of one. */
  async readHead(
    maxBytes: number,
    firstByteMs: number,
    headMs: number,
    fromNow: boolean,
  ): Promise<RequestHead | null> {
    const parser = new HeadParser(maxBytes);
    let started = fromNow ? Date.now() : 0;
    for (;;) {
      if (this.buf.length > 0) {
        if (!started) started = Date.now();
        this.phase = "head";
        if (!this.requestStarted) {
          // The whole request's deadline runs from its first byte; no later read moves it.
          this.requestStarted = true;
          this.requestDeadline = Date.now() + this.requestMs;
        }
        const end = parser.feed(this.buf);
        if (end >= 0) {
          this.buf = this.buf.subarray(end);
          return parser.head();
        }
        this.buf = new Uint8Array(0);
      }
      const left = started ? started + headMs - Date.now() : firstByteMs;
      if (left <= 0) throw new HttpError(408, "request head too slow");
      if (!await this.fill(left)) {
        if (!parser.started && parser.size === 0) return null;
        throw new HttpError(400, "connection closed inside the request head");
      }
    }
  }

  async writeAll(bytes: Uint8Array, ms: number): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      this.writeDeadline = Date.now() + ms;
      try {
        off += await this.conn.write(bytes.subarray(off));
      } finally {
        this.writeDeadline = Infinity;
      }
    }
  }
}

/**
 * A request body with one reader: the handler's stream and the listener's drain call
 * {@link next}, which runs one read at a time. `received` counts body bytes.
 */
class Body {
  received = 0;
  done: boolean;
  /** The framing broke (answered 400 whatever the handler said), or the client went away. */
  failure: unknown = null;
  continueSent: boolean;
  #left: number;
  #chunked: ChunkedDecoder | null;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(
    private c: Connection,
    framing: { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" },
    expectContinue: boolean,
    private stallMs: number,
  ) {
    this.#left = framing.kind === "length" ? framing.length : 0;
    this.#chunked = framing.kind === "chunked" ? new ChunkedDecoder() : null;
    this.done = framing.kind === "none" || (framing.kind === "length" && framing.length === 0);
    this.continueSent = !expectContinue;
  }

  /** Body bytes still to come when the length is known, else Infinity. */
  get remaining(): number {
    return this.#chunked ? Infinity : this.#left;
  }

  /** The next piece of the body, or null at its end. */
  next(): Promise<Uint8Array | null> {
    const turn = this.#turn.then(() => this.#next());
    this.#turn = turn.catch(() => {});
    return turn;
  }

  async #next(): Promise<Uint8Array | null> {
    if (this.failure !== null) throw this.failure;
    if (this.done) return null;
    try {
      if (!this.continueSent) {
        this.continueSent = true;
        await this.c.writeAll(encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"), this.stallMs);
      }
      for (;;) {
        if (this.c.buf.length === 0 && !await this.c.fill(this.stallMs)) {
          throw new Error("the client closed the connection inside the body");
        }
        if (!this.#chunked) {
          const out = this.c.take(this.#left);
          this.#left -= out.length;
          this.received += out.length;
          if (this.#left === 0) this.done = true;
          return out;
        }
        const step = this.#chunked.feed(this.c.buf);
        const data = step.data?.slice() ?? null;
        this.c.buf = this.c.buf.subarray(step.used);
        if (step.done) {
          this.done = true;
          return null;
        }
        if (data) {
          this.received += data.length;
          return data;
        }
      }
    } catch (e) {
      this.failure = e;
      throw e;
    }
  }

  /** Reads and drops the rest, up to `limit` bytes; false when more than that was left. */
  async drain(limit: number): Promise<boolean> {
    let budget = limit;
    while (!this.done) {
      const chunk = await this.next();
      if (chunk === null) break;
      budget -= chunk.length;
      if (budget < 0 && !this.done) return false;
    }
    return true;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

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
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  421: "Misdirected Request",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  507: "Insufficient Storage",
};

function plainBody(message: string): string {
  return JSON.stringify({ error: true, body: message });
}

const PLAIN_HEADERS = {
  "content-type": "application/json",
  "x-content-type-options": "nosniff",
};

/** A whole answer of the listener's own, which closes the connection. */
function plainAnswer(status: number, message: string): Uint8Array {
  const body = plainBody(message);
  return encoder.encode(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\ncontent-type: application/json\r\n` +
      "x-content-type-options: nosniff\r\n" +
      `content-length: ${encoder.encode(body).length}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Comma-separated tokens of a header's values, lowercased. */
function tokens(values: string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((t) => t.trim().toLowerCase()).filter((t) =>
    t !== ""
  );
}

/** `host[:port]` as RFC 3986 allows it (reg-name, IPv4, or an IP literal in brackets). */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/** What the head says about the request: its framing and how to answer. */
interface Plan {
  framing: { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };
  keepAlive: boolean;
  expectContinue: boolean;
  /** The path and query the handler sees. */
  path: string;
  headers: Headers;
  /** An answer of the listener's own, sent like a handler's (framing understood). */
  refusal?: { status: number; message: string; close?: boolean };
}

/**
 * Reads a head's fields: framing (Content-Length or chunked, never both), Host, Connection,
 * Expect. Throws {@link HttpError} for what leaves the framing in doubt (the connection closes);
 * what does not (an unknown method, a missing Host) becomes a `refusal` answered in turn.
 */
function planOf(head: RequestHead): Plan {
  const headers = new Headers();
  const all = (name: string) =>
    head.fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  for (const [name, value] of head.fields) {
    try {
      headers.append(name, value);
    } catch {
      throw new HttpError(400, "malformed header line");
    }
  }
  const te = all("transfer-encoding");
  const cl = all("content-length");
  let framing: Plan["framing"] = { kind: "none" };
  if (te.length > 0) {
    // RFC 9112 section 6.1: with both, the length cannot be trusted (smuggling): refused.
    if (cl.length > 0) throw new HttpError(400, "both Transfer-Encoding and Content-Length");
    const codings = tokens(te);
    if (codings.at(-1) !== "chunked") {
      throw new HttpError(400, "Transfer-Encoding must end with chunked");
    }
    if (codings.length > 1) {
      throw new HttpError(501, `transfer coding '${codings[0]}' is not supported (only chunked)`);
    }
    framing = { kind: "chunked" };
  } else if (cl.length > 0) {
    if (cl.length > 1) throw new HttpError(400, "more than one Content-Length");
    if (!/^[0-9]+$/.test(cl[0])) throw new HttpError(400, "malformed Content-Length");
    const length = Number(cl[0]);
    if (!Number.isSafeInteger(length)) throw new HttpError(400, "Content-Length too large");
    framing = { kind: "length", length };
  }
  const connection = tokens(all("connection"));
  const keepAlive = head.version === "1.1"
    ? !connection.includes("close")
    : connection.includes("keep-alive");
  const expect = tokens(all("expect"));
  let refusal: Plan["refusal"];
  if (expect.length > 0 && (expect.length > 1 || expect[0] !== "100-continue")) {
    refusal = { status: 417, message: "only Expect: 100-continue is supported" };
  }
  const hosts = all("host");
  if (hosts.length > 1) throw new HttpError(400, "more than one Host");
  if (hosts.length === 1 && !HOST.test(hosts[0])) throw new HttpError(400, "malformed Host");
  if (head.version === "1.1" && hosts.length === 0) {
    refusal = { status: 400, message: "an HTTP/1.1 request needs a Host header (RFC 9112)" };
  }
  let path = head.target;
  if (!path.startsWith("/")) {
    // Absolute form (a request meant for a proxy, which servers must accept): its authority
    // is the Host (RFC 9112 section 3.2.2). Asterisk form is for OPTIONS, answered 501 below.
    const m = /^https?:\/\/([^/?#]*)([^#]*)/i.exec(path);
    if (m && HOST.test(m[1]) && !m[1].includes("@")) {
      headers.set("host", m[1]);
      path = m[2].startsWith("/") ? m[2] : `/${m[2]}`;
    } else if (path === "*" && head.method === "OPTIONS") path = "/";
    else if (METHODS.has(head.method)) throw new HttpError(400, "malformed request target");
    else path = "/";
  }
  if (head.method === "PRI") {
    throw new HttpError(505, "HTTP/2 is not supported (HTTP/1.1 is)");
  }
  if (!METHODS.has(head.method)) {
    // Closed after: what an unknown method's request means beyond its framing is unknown.
    refusal = { status: 501, message: `method ${head.method} is not supported`, close: true };
  }
  return {
    framing,
    keepAlive,
    expectContinue: expect[0] === "100-continue",
    path,
    headers,
    refusal,
  };
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
  const requestMs = options.requestTimeoutMs ?? 30_000;
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

  /** A deadline passed: a request under way gets its 408, anything else just closes. */
  function expire(c: Connection): void {
    if (c.closed) return;
    if (c.requestStarted && !c.answering && c.phase !== "closing") {
      c.answering = true;
      const gone = setTimeout(() => c.close(), 1000);
      c.conn.write(plainAnswer(408, "request too slow")).catch(() => {}).finally(() => {
        clearTimeout(gone);
        c.close();
      });
      return;
    }
    c.close();
  }

  const watchdog = setInterval(() => {
    const now = Date.now();
    for (const c of open) {
      if (c.waiting && (c.readDeadline < now || c.requestDeadline < now)) expire(c);
      else if (c.writeDeadline < now) c.close();
    }
  }, Math.max(20, Math.min(1000, Math.min(headerMs, idleMs, stallMs, requestMs) / 4)));

  /**
   * Closes one connection to make room: the oldest sending its head, idle or closing; else the
   * oldest untrusted one waiting for its client. False when every connection is busy.
   */
  function evictOne(): boolean {
    for (const pass of [0, 1]) {
      for (const c of open) {
        const spare = pass === 0 ? c.phase !== "request" : c.waiting && !c.trusted && !c.answering;
        if (spare) {
          c.close();
          open.delete(c);
          return true;
        }
      }
    }
    return false;
  }

  async function connection(c: Connection): Promise<void> {
    let first = true;
    try {
      while (!stopping && !c.closed) {
        c.phase = first ? "head" : "idle";
        c.trusted = false;
        c.requestStarted = c.answering = false;
        c.requestDeadline = Infinity;
        let head: RequestHead | null;
        try {
          head = await c.readHead(maxHead, first ? headerMs : idleMs, headerMs, first);
        } catch (e) {
          if (e instanceof HttpError && !c.closed && !c.answering) {
            c.answering = true;
            await c.writeAll(plainAnswer(e.status, e.message), stallMs).catch(() => {});
          }
          return;
        }
        if (head === null || stopping) return;
        first = false;
        c.phase = "request";
        if (!await exchange(c, head)) return;
      }
    } catch (e) {
      if (!c.closed && !(e instanceof Deno.errors.BadResource)) onError(e);
    } finally {
      c.close();
      open.delete(c);
    }
  }

  /** One request and its answer; false when the connection must close afterwards. */
  async function exchange(c: Connection, head: RequestHead): Promise<boolean> {
    const started = performance.now();
    let plan: Plan;
    try {
      plan = planOf(head);
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(400, "malformed request");
      c.answering = true;
      await c.writeAll(plainAnswer(err.status, err.message), stallMs).catch(() => {});
      return false;
    }
    try {
      c.trusted = plan.refusal === undefined && (options.trusted?.(plan.headers) ?? false);
    } catch (e) {
      onError(e);
    }
    if (c.trusted) c.requestDeadline = Infinity;
    const body = new Body(c, plan.framing, plan.expectContinue && head.version === "1.1", stallMs);
    const abort = new AbortController();
    const { method } = head;
    const stream = body.done ? null : new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const chunk = await body.next();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        } catch (e) {
          abort.abort(e);
          controller.error(e);
        }
      },
    }, { highWaterMark: 0 });
    let request: Request;
    try {
      request = new Request(origin + plan.path, {
        method: METHODS.has(method) ? method : "POST",
        headers: plan.headers,
        body: method === "GET" || method === "HEAD" ? null : stream,
        signal: abort.signal,
        // @ts-ignore: duplex is required for stream bodies and not yet in every lib.dom
        duplex: "half",
      });
    } catch {
      c.answering = true;
      await c.writeAll(plainAnswer(400, "malformed request target"), stallMs).catch(() => {});
      return false;
    }
    let response: Response;
    if (plan.refusal) {
      response = new Response(plainBody(plan.refusal.message), {
        status: plan.refusal.status,
        headers: PLAIN_HEADERS,
      });
    } else {
      try {
        response = await handler(request);
      } catch (e) {
        onError(e);
        response = new Response(plainBody("internal error"), {
          status: 500,
          headers: PLAIN_HEADERS,
        });
      }
    }
    const report = (sent: number, complete: boolean) => {
      if (plan.refusal) return;
      options.onAnswer?.({
        request,
        status: response.status,
        received: body.received,
        sent,
        complete,
        ms: performance.now() - started,
      });
    };
    let keepAlive = plan.keepAlive && !stopping && !plan.refusal?.close;
    // The rest of a body the handler left: read (a little) before answering, so that broken
    // framing is answered 400, never as if it had been routed, and the connection can be reused.
    let lingerAfter = false;
    if (!body.done && body.failure === null && !c.closed) {
      // A chunked body's size is unknown: up to the limit is read to find out.
      if (!body.continueSent || (body.remaining !== Infinity && body.remaining > DRAIN_LIMIT)) {
        keepAlive = false;
        lingerAfter = true;
      } else {
        try {
          if (!await body.drain(DRAIN_LIMIT)) {
            keepAlive = false;
            lingerAfter = true;
          }
        } catch { /* recorded in body.failure */ }
      }
    }
    if (body.failure instanceof HttpError) {
      await response.body?.cancel().catch(() => {});
      report(0, false);
      if (!c.closed && !c.answering) {
        c.answering = true;
        await c.writeAll(plainAnswer(body.failure.status, body.failure.message), stallMs)
          .catch(() => {});
      }
      return false;
    }
    if (c.closed || c.answering || body.failure !== null) {
      await response.body?.cancel().catch(() => {});
      report(0, false);
      return false;
    }
    c.answering = true;
    let sent = 0;
    try {
      sent = await writeAnswer(c, head, method, response, keepAlive, (n) => sent = n);
    } catch (e) {
      report(sent, false);
      throw e;
    }
    report(sent, true);
    if (lingerAfter) await linger(c);
    return keepAlive;
  }

  /** Writes the answer; resolves with the body bytes written (`progress` tells as it goes). */
  async function writeAnswer(
    c: Connection,
    head: RequestHead,
    method: string,
    response: Response,
    keepAlive: boolean,
    progress: (sent: number) => void,
  ): Promise<number> {
    const status = response.status;
    const noBody = method === "HEAD" || status === 204 || status === 304 ||
      (status >= 100 && status < 200);
    // A handler asks for a streamed answer with `transfer-encoding: chunked` (endpoint 4: its
    // memory must not grow with the sample); HTTP/1.0 has no chunks, so it gets the whole body.
    const chunked = response.headers.get("transfer-encoding") === "chunked";
    const streamed = chunked && head.version === "1.1" && !noBody && response.body !== null;
    let text = `HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\n`;
    response.headers.forEach((value, name) => {
      if (name !== "content-length" && name !== "connection" && name !== "transfer-encoding") {
        text += `${name}: ${value}\r\n`;
      }
    });
    const ending = keepAlive
      ? (head.version === "1.0" ? "connection: keep-alive\r\n\r\n" : "\r\n")
      : "connection: close\r\n\r\n";
    if (streamed) {
      await c.writeAll(encoder.encode(text + "transfer-encoding: chunked\r\n" + ending), stallMs);
      // A failure midway ends the connection without the last chunk: the client sees a cut
      // answer, never a complete-looking wrong one.
      let sent = 0;
      for await (const chunk of response.body!) {
        if (chunk.length === 0) continue;
        await c.writeAll(
          concat(encoder.encode(`${chunk.length.toString(16)}\r\n`), chunk),
          stallMs,
        );
        await c.writeAll(CRLF, stallMs);
        sent += chunk.length;
        progress(sent);
      }
      await c.writeAll(encoder.encode("0\r\n\r\n"), stallMs);
      return sent;
    }
    let payload = new Uint8Array(0);
    let length: string | null = null;
    if (method === "HEAD") {
      // The length GET would send (RFC 9110 section 9.3.2), as the handler said it or counted.
      length = response.headers.get("content-length");
      if (response.body !== null && (length === null || chunked)) {
        if (chunked) await response.body.cancel();
        else length = String((await response.arrayBuffer()).byteLength);
      } else await response.body?.cancel();
      if (chunked) text += "transfer-encoding: chunked\r\n";
    } else if (noBody) await response.body?.cancel();
    else {
      payload = new Uint8Array(await response.arrayBuffer());
      length = String(payload.length);
    }
    if (length !== null && status !== 204 && !(status >= 100 && status < 200)) {
      text += `content-length: ${length}\r\n`;
    }
    const headOut = encoder.encode(text + ending);
    await c.writeAll(payload.length < 65536 ? concat(headOut, payload) : headOut, stallMs);
    if (payload.length >= 65536) await c.writeAll(payload, stallMs);
    return payload.length;
  }

  /**
   * After answering a request whose body was left unread, stops sending and reads (discarding) a
   * little longer before closing: closing with unread bytes resets the connection, and the client
   * would lose the answer it is about to read. Such a connection may be closed to make room.
   */
  async function linger(c: Connection): Promise<void> {
    c.phase = "closing";
    try {
      await c.conn.closeWrite();
      const until = Date.now() + 2000;
      let budget = 16 * 1024 * 1024;
      while (budget > 0 && Date.now() < until) {
        c.buf = new Uint8Array(0);
        if (!await c.fill(until - Date.now())) break;
        budget -= c.buf.length;
      }
    } catch { /* the client went away: nothing to protect */ }
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
      const c = new Connection(conn, requestMs);
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
      for (const c of open) if (c.phase !== "request") c.close();
      const until = Date.now() + graceMs;
      while (open.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      for (const c of open) c.close();
      clearInterval(watchdog);
    },
  };
}

const CRLF = new TextEncoder().encode("\r\n");
