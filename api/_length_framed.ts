/**
 * POSTing a streamed body framed by an exact `Content-Length`. Deno's `fetch` sends every stream
 * body chunked, even with an explicit `content-length` header (measured on Deno 2.9), and API
 * gateways refuse or empty chunked uploads; `node:http(s)` writes the length it is given and
 * streams the body with backpressure, so uploads go through it. Also: what a network failure was,
 * in words (refused, DNS, TLS, timeout, reset).
 * @module
 */
import type { MultipartBody } from "./multipart.ts";
import { AnswerTooLargeError } from "./_bounded_body.ts";

/** Largest answer to an upload read (the platform's is a few lines of JSON). */
const MAX_UPLOAD_ANSWER_BYTES = 1 << 20;

/** What came back. */
export interface PlainResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** A network failure in words: `connection refused`, `DNS lookup failed`, ... */
export function networkCause(e: unknown): string {
  const parts: string[] = [];
  for (let x: unknown = e, depth = 0; x && depth < 4; depth++) {
    const err = x as { code?: unknown; message?: unknown; cause?: unknown };
    parts.push(`${err.code ?? ""} ${err.message ?? x}`);
    x = err.cause;
  }
  const text = parts.join(" ");
  if (/ECONNREFUSED|connection refused/i.test(text)) return "connection refused";
  if (/ENOTFOUND|EAI_AGAIN|dns error|getaddrinfo|lookup address/i.test(text)) {
    return "DNS lookup failed";
  }
  if (
    /certificate|tls|ssl|handshake|CERT_|ERR_TLS|corrupt message|InvalidContentType/i.test(text)
  ) {
    return `TLS failure (${innermost(parts)})`;
  }
  if (/ECONNRESET|connection reset|socket hang up|broken pipe|EPIPE/i.test(text)) {
    return "connection reset by the server";
  }
  if (/ETIMEDOUT|timed out|timeout/i.test(text)) return "connection timed out";
  if (/EHOSTUNREACH|ENETUNREACH|unreachable/i.test(text)) return "host unreachable";
  return innermost(parts) || "network error";
}

/** The deepest cause's own words, without fetch's "error sending request for url (...)" prefix. */
function innermost(parts: string[]): string {
  const last = parts[parts.length - 1].trim();
  return firstLine(last.replace(/^.*\): (client error \(\w+\): )?/, ""));
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0].slice(0, 200);
}

/**
 * POSTs `body` to `url` with `Content-Length: body.length`, reading the body's stream only as
 * fast as the socket takes it. `onSent` is told the bytes sent so far.
 */
export async function postLengthFramed(
  url: string,
  headers: Record<string, string>,
  body: MultipartBody,
  signal: AbortSignal,
  onSent?: (sent: number, total: number) => void,
): Promise<PlainResponse> {
  const target = new URL(url);
  const http = target.protocol === "https:"
    ? await import("node:https")
    : await import("node:http");
  return await new Promise<PlainResponse>((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, response?: PlainResponse) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      request.destroy();
      if (error) reject(error);
      else resolve(response!);
    };
    const request = http.request(target, {
      method: "POST",
      headers: {
        ...headers,
        "content-type": body.contentType,
        "content-length": String(body.length),
      },
    }, (response) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      response.on("data", (chunk: Uint8Array) => {
        size += chunk.length;
        // An upload's answer is a few lines: one that keeps coming is cut, not read for an hour.
        if (size > MAX_UPLOAD_ANSWER_BYTES) {
          finish(new AnswerTooLargeError(response.statusCode ?? 0, MAX_UPLOAD_ANSWER_BYTES));
        } else chunks.push(chunk);
      });
      response.on("error", (e) => finish(e));
      response.on("end", () => {
        const h = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) h.set(name, Array.isArray(value) ? value.join(", ") : value);
        }
        const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let o = 0;
        for (const c of chunks) {
          all.set(c, o);
          o += c.length;
        }
        finish(undefined, {
          status: response.statusCode ?? 0,
          headers: h,
          text: new TextDecoder().decode(all),
        });
      });
      // An answer before the whole body went (401, 413): stop sending.
      stop = true;
    });
    let stop = false;
    const onAbort = () => {
      request.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    request.on("error", (e) => finish(e));
    (async () => {
      const reader = body.stream().getReader();
      let sent = 0;
      try {
        while (!stop && !settled) {
          const { value, done } = await reader.read();
          if (done) break;
          sent += value.length;
          if (!request.write(value)) {
            await new Promise<void>((r) => {
              const done = () => {
                request.off("drain", done);
                request.off("close", done);
                r();
              };
              request.on("drain", done);
              request.on("close", done);
            });
          }
          onSent?.(sent, body.length);
        }
        if (!settled) request.end();
      } catch (e) {
        request.destroy(e instanceof Error ? e : new Error(String(e)));
      } finally {
        await reader.cancel().catch(() => {});
      }
    })();
  });
}
