/**
 * The typed NetworkSage API client: one method per endpoint of `API.md`, its three helpers, and
 * the transport (timeouts, retries with backoff and jitter, streaming uploads).
 * @module
 */
import { NetworkSageError } from "./errors.ts";
import { type MultipartBody, multipartBody, type OutgoingPart } from "./multipart.ts";
import { networkCause, type PlainResponse, postLengthFramed } from "./_length_framed.ts";
import { AnswerTooLargeError, boundedText } from "./_bounded_body.ts";
import { aCount, aListOf, aListOfActivities, anObject, type ShapeCheck } from "./_shapes.ts";
import { pathIdProblem, pathSegment } from "./_path_id.ts";
import { printable } from "../secflow/printable.ts";
import { envVar } from "../io/env.ts";
import { detectUploadType } from "./detect.ts";
import { UPLOAD_TYPES } from "./types.ts";
import type {
  Activity,
  Metadata,
  PlatformSecflow,
  SampleMetadata,
  UploadEntry,
  UploadRequest,
} from "./types.ts";

/** Default base URL of the private API. */
export const DEFAULT_API_URL = "https://api.seclarity.io";
/** Default base URL of the public samples service. */
export const DEFAULT_PUBLIC_URL = "https://ns-genericservice.app.seclarity.io";

/** Default of {@link ClientOptions.maxResponseBytes}. */
export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** Options of {@link NetworkSageClient}. */
export interface ClientOptions {
  /** API key; default `NETWORKSAGE_API_KEY`. Sent as the `apikey` header, never shown. */
  apiKey?: string;
  /** Private API base URL; default `NETWORKSAGE_API_URL`, then {@link DEFAULT_API_URL}. */
  apiUrl?: string;
  /** Public service base URL; default `NETWORKSAGE_PUBLIC_URL`, then {@link DEFAULT_PUBLIC_URL}. */
  publicUrl?: string;
  /** The `fetch` to use (tests, proxies, instrumentation). */
  fetch?: typeof fetch;
  /** Timeout of one attempt of one request, in ms (default 30 000). */
  timeoutMs?: number;
  /** Timeout of one upload attempt, in ms (default 3 600 000: uploads may be large). */
  uploadTimeoutMs?: number;
  /** Attempts per request, retries included (default 5; 1 disables retries). */
  maxAttempts?: number;
  /** First retry delay in ms, doubled on each retry, with jitter (default 500). */
  retryBaseMs?: number;
  /** Upper bound of one retry delay, `Retry-After` included, in ms (default 60 000). */
  retryMaxMs?: number;
  /** Requests in flight at once in {@link NetworkSageClient.aggregated} (default 8). */
  concurrency?: number;
  /**
   * Largest answer read, in bytes (default 256 MiB): a larger one fails the call at once, not
   * retried, and is not kept in memory.
   */
  maxResponseBytes?: number;
  /** Read `NETWORKSAGE_*` environment variables for what is not given (default true). */
  useEnv?: boolean;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call, retries and waits included. */
  signal?: AbortSignal;
}

/** Options of {@link NetworkSageClient.upload}. */
export interface UploadOptions extends CallOptions {
  /** Told the bytes sent so far of each attempt, and the body's total. */
  onProgress?: (sent: number, total: number) => void;
}

/** Options of {@link NetworkSageClient.aggregated}. */
export interface AggregatedOptions extends CallOptions {
  /** The UUID is a public one: use endpoint 5 as is. */
  public?: boolean;
  /** Overrides {@link ClientOptions.concurrency}. */
  concurrency?: number;
  /** Called as lookups finish: done of the distinct lookups the private view needs. */
  onProgress?: (done: number, total: number) => void;
}

/** Options of {@link NetworkSageClient.waitForProcessing}. */
export interface WaitOptions extends CallOptions {
  /** Time between two polls in ms (default 15 000). */
  intervalMs?: number;
  /** Give up after this many ms (default: never). */
  timeoutMs?: number;
}

/** Options of {@link NetworkSageClient.findUploadUuid}. */
export interface FindUuidOptions extends WaitOptions {
  /** Also compute the public UUID, waiting until the sample's metadata has its hash. */
  public?: boolean;
}

/** What {@link NetworkSageClient.findUploadUuid} found. */
export interface FoundUpload {
  /** The sample's private UUID. */
  uuid: string;
  /** Present when asked for with `public: true`. */
  publicUuid?: string;
  /** The upload list's entry for it. */
  entry: UploadEntry;
}

/** What endpoint 1 answers: a message accepting the sample (kept as the server sent it). */
export type UploadAccepted = string | Record<string, unknown>;

/**
 * The public UUID of a sample: base64 of `<id>#hash#<hash>` from its metadata (endpoint 3).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { publicUuidOf } from "./client.ts";
 * assert.equal(publicUuidOf({ id: "7", hash: "ab" }), "NyNoYXNoI2Fi");
 * ```
 */
export function publicUuidOf(meta: { id: string | number; hash: string }): string {
  const bytes = new TextEncoder().encode(`${meta.id}#hash#${meta.hash}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The UTC upload time encoded in an upload entry's `fullS3FilePath`, in ms, or null. */
export function uploadTimeOf(entry: { fullS3FilePath?: unknown }): number | null {
  const m = /date=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)\//.exec(
    String(entry.fullS3FilePath ?? ""),
  );
  if (!m) return null;
  const [whole, frac = ""] = m[1].split(".");
  const t = Date.parse(whole + "Z");
  return Number.isNaN(t) ? null : t + Number(("0." + (frac || "0")).slice(0, 5)) * 1000;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(id);
      reject(signal!.reason);
    };
    const id = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `Retry-After` (seconds or an HTTP date) in ms, or null. */
function retryAfterMs(value: string | null): number | null {
  if (!value) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : Math.max(0, t - Date.now());
}

interface RequestSpec {
  service: "private" | "public";
  method: "GET" | "POST" | "PUT";
  /** Path with parameters already encoded. */
  path: string;
  /** A fresh body for every attempt. */
  body?: () => Promise<{ body: BodyInit; headers: Record<string, string> }>;
  /** A streamed upload, sent with its exact length. */
  upload?: { body: MultipartBody; onProgress?: (sent: number, total: number) => void };
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The shape the envelope's body must have (see `_shapes.ts`). */
  check?: ShapeCheck;
}

/**
 * The NetworkSage API client.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NetworkSageClient } from "./client.ts";
 * import { serve } from "./server.ts";
 * // A local `serve` stands in for the platform here (the default apiUrl is the platform's).
 * const dir = await Deno.makeTempDir();
 * const server = await serve({ dataDir: dir, apiKeys: ["example-key"], port: 0, onLog() {} });
 * const client = new NetworkSageClient({ apiKey: "example-key", apiUrl: server.url });
 * // A Zeek conn.log of one connection.
 * await Deno.writeTextFile(
 *   `${dir}/conn.log`,
 *   "1700000000.5\tC1\t10.0.0.2\t50000\t93.184.216.34\t443\ttcp\tssl\t1.5\t100\t2000" +
 *     "\tSF\t-\t-\t0\tShADadFf\t10\t600\t12\t2600\t-\n",
 * );
 * await client.upload({ path: `${dir}/conn.log` }); // type detected: zeek
 * const [upload] = await client.listUploads();
 * assert.equal(upload.fileName, "conn.log");
 * const meta = await client.waitForProcessing(upload.uuid, { intervalMs: 100 });
 * assert.equal(meta.trafficDate, "1700000000.5");
 * const [activity] = await client.aggregated(upload.uuid);
 * assert.equal(activity.secflow.destinationData, "93.184.216.34:443");
 * assert.equal(activity.flowIdCount, 1);
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class NetworkSageClient {
  /** Private API base URL, without a trailing slash. */
  readonly apiUrl: string;
  /** Public service base URL, without a trailing slash. */
  readonly publicUrl: string;
  #apiKey: string | undefined;
  #fetch: typeof fetch;
  #customFetch: boolean;
  #timeoutMs: number;
  #uploadTimeoutMs: number;
  #maxAttempts: number;
  #retryBaseMs: number;
  #retryMaxMs: number;
  #concurrency: number;
  #maxResponseBytes: number;

  /** A client; nothing is sent until a method is called. The API key comes from the options, else (unless `useEnv` is false) from `NETWORKSAGE_API_KEY`. */
  constructor(options: ClientOptions = {}) {
    options ??= {}; // null from plain JavaScript: no options
    const env = options.useEnv ?? true;
    // An empty key (an unset variable's "") is no key: it was sent as an empty header.
    this.#apiKey = (options.apiKey ?? (env ? envVar("NETWORKSAGE_API_KEY") : undefined)) ||
      undefined;
    // A key read with its line ending ("KEY\r\n") made fetch fail with an error quoting it
    // past where redaction could find it, and it can never be sent anyway.
    if (this.#apiKey !== undefined && typeof this.#apiKey !== "string") {
      throw new TypeError(`the API key must be a string, not ${typeof this.#apiKey}`);
    }
    // deno-lint-ignore no-control-regex
    if (this.#apiKey !== undefined && /[\s\x00-\x1f\x7f]/.test(this.#apiKey)) {
      throw new TypeError(
        "the API key holds a space, a line ending or a control character (copied with it?)",
      );
    }
    this.apiUrl = trimSlash(
      options.apiUrl ?? (env ? envVar("NETWORKSAGE_API_URL") : undefined) ?? DEFAULT_API_URL,
    );
    this.publicUrl = trimSlash(
      options.publicUrl ?? (env ? envVar("NETWORKSAGE_PUBLIC_URL") : undefined) ??
        DEFAULT_PUBLIC_URL,
    );
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#customFetch = options.fetch !== undefined;
    // NaN compares false with everything: a NaN limit was no limit at all.
    const positive = (name: keyof ClientOptions, fallback: number): number => {
      const v = options[name] ?? fallback;
      if (typeof v !== "number" || !(v > 0)) {
        throw new RangeError(`NetworkSageClient: ${name} must be a number above 0, not ${v}`);
      }
      return v;
    };
    if (options.fetch !== undefined && typeof options.fetch !== "function") {
      // Otherwise every call failed as a network error, retried maxAttempts times.
      throw new TypeError(
        `NetworkSageClient: fetch must be a function, not ${typeof options.fetch}`,
      );
    }
    this.#timeoutMs = timerMs("NetworkSageClient", "timeoutMs", options.timeoutMs, 30_000);
    this.#uploadTimeoutMs = timerMs(
      "NetworkSageClient",
      "uploadTimeoutMs",
      options.uploadTimeoutMs,
      3_600_000,
    );
    this.#maxAttempts = Math.max(1, Math.floor(positive("maxAttempts", 5)));
    this.#retryBaseMs = timerMs("NetworkSageClient", "retryBaseMs", options.retryBaseMs, 500);
    this.#retryMaxMs = timerMs("NetworkSageClient", "retryMaxMs", options.retryMaxMs, 60_000);
    this.#concurrency = Math.max(1, Math.floor(positive("concurrency", 8)));
    this.#maxResponseBytes = positive("maxResponseBytes", DEFAULT_MAX_RESPONSE_BYTES);
  }

  /** Whether an API key is configured (private endpoints need one). */
  get hasApiKey(): boolean {
    return this.#apiKey !== undefined;
  }

  /** Keeps the key out of anything shown. */
  #redact(text: string): string {
    const key = this.#apiKey;
    // A key of a few characters is no secret, and replacing it would garble host names.
    return key && key.length >= 4 ? text.split(key).join("***") : text;
  }

  async #request<T>(spec: RequestSpec): Promise<T> {
    const base = spec.service === "private" ? this.apiUrl : this.publicUrl;
    // A path holds ids from answers (a 5 MB destinationData made a 5 MB error line): cut short.
    const endpoint = `${spec.method} ${
      spec.path.length > 200 ? `${spec.path.slice(0, 200)}…` : spec.path
    }`;
    // A server's words are shown escaped: a message is one line, with no terminal sequence.
    const fail = (status: number, message: string, cause?: unknown) =>
      new NetworkSageError(
        status,
        endpoint,
        printable(this.#redact(message), 2000),
        cause ? { cause } : undefined,
      );
    const headers: Record<string, string> = { accept: "application/json" };
    if (spec.service === "private") {
      if (this.#apiKey === undefined) {
        throw fail(
          0,
          "no API key: set NETWORKSAGE_API_KEY (and let it be read: --allow-env=NETWORKSAGE_API_KEY) or pass the apiKey option",
        );
      }
      headers.apikey = this.#apiKey;
    }
    const timeoutMs = timerMs("call", "timeoutMs", spec.timeoutMs, this.#timeoutMs);
    let refused = 0;
    for (let attempt = 1;; attempt++) {
      if (spec.signal?.aborted) throw fail(0, "aborted", spec.signal.reason);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
      let retryDelay: number | null = null;
      let minDelay = 0;
      let lastError: NetworkSageError;
      try {
        const response = await this.#send(base + spec.path, spec, headers, signal);
        const text = response.text;
        if (response.status >= 300 && response.status < 400) {
          // Followed, the key would go wherever the answer points (another host, plain http).
          const to = response.headers.get("location");
          throw fail(
            response.status,
            `the API answered with a redirect${
              to ? ` to ${printable(to, 200)}` : ""
            }: not followed, the API key is sent only to ${base} (if that address is right, use it as the API URL)`,
          );
        }
        if (response.status === 429 || response.status >= 500) {
          retryDelay = retryAfterMs(response.headers.get("retry-after"));
          lastError = fail(response.status, messageOf(text));
        } else {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw fail(
              response.status,
              response.status === 200 ? `the answer is not JSON: ${clip(text)}` : messageOf(text),
            );
          }
          const isEnvelope = typeof parsed === "object" && parsed !== null && "body" in parsed;
          if (response.status !== 200 || !isEnvelope || (parsed as { error?: unknown }).error) {
            throw fail(
              response.status,
              isEnvelope ? messageOf((parsed as { body: unknown }).body) : clip(text),
            );
          }
          const body = (parsed as { body: T }).body;
          const problem = spec.check?.(body);
          if (problem) throw fail(response.status, `malformed answer: ${problem}`);
          return body;
        }
      } catch (e) {
        if (e instanceof NetworkSageError) throw e;
        if (e instanceof AnswerTooLargeError) throw fail(e.status, e.message);
        // A missing --allow-net is the caller's to fix, not the network's: retrying cannot help.
        if (e instanceof Deno.errors.NotCapable) throw e;
        // A URL fetch cannot even parse is no network failure: five tries would all fail alike.
        if (e instanceof TypeError && /invalid url/i.test(e.message)) {
          throw fail(0, `invalid URL: ${clip(base)}`, e);
        }
        if (e instanceof TypeError && /invalid header/i.test(e.message)) {
          throw fail(0, "a header value fetch refuses (a control character in it?)", e);
        }
        if (spec.signal?.aborted) throw fail(0, "aborted", spec.signal.reason);
        const host = new URL(base).host;
        const cause = timeout.aborted ? `no answer within ${timeoutMs} ms` : networkCause(e);
        const tries = attempt === 1 ? "1 attempt" : `${attempt} attempts`;
        lastError = fail(0, `cannot reach ${host}: ${cause} (${tries})`, e);
        // A refused connection is retried once, a second later (a server starting up): nothing
        // listens there, and four more tries with backoff took 6 s to say so.
        if (cause === "connection refused") {
          if (++refused >= 2) throw lastError;
          minDelay = REFUSED_RETRY_MS;
        }
      }
      if (attempt >= this.#maxAttempts) throw lastError;
      if (retryDelay !== null && retryDelay > this.#retryMaxMs) {
        // Waiting the server's time would look like a hang; waiting less, like not listening.
        throw fail(
          lastError.status,
          `${lastError.serverMessage ?? lastError.message} (the server asks to retry after ${
            Math.ceil(retryDelay / 1000)
          } s, longer than a retry waits here: ${Math.round(this.#retryMaxMs / 1000)} s)`,
        );
      }
      const backoff = Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** (attempt - 1));
      const jittered = backoff / 2 + Math.random() * backoff / 2;
      const delay = Math.min(this.#retryMaxMs, Math.max(jittered, retryDelay ?? 0, minDelay));
      try {
        await sleep(delay, spec.signal);
      } catch (e) {
        throw fail(0, "aborted", e);
      }
    }
  }

  /** One attempt: an upload goes length-framed through `node:http(s)`, the rest through fetch. */
  async #send(
    url: string,
    spec: RequestSpec,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<PlainResponse> {
    if (spec.upload && !this.#customFetch) {
      return await postLengthFramed(url, headers, spec.upload.body, signal, spec.upload.onProgress);
    }
    const extra = spec.upload
      ? {
        body: spec.upload.body.stream(),
        headers: {
          "content-type": spec.upload.body.contentType,
          "content-length": String(spec.upload.body.length),
        },
      }
      : spec.body
      ? await spec.body()
      : undefined;
    const response = await this.#fetch(url, {
      method: spec.method,
      headers: { ...headers, ...extra?.headers },
      body: extra?.body,
      signal,
      // fetch would send the key along to wherever a redirect points: #request refuses them.
      redirect: "apikey" in headers ? "manual" : "follow",
    });
    return {
      status: response.status,
      headers: response.headers,
      text: await boundedText(response, this.#maxResponseBytes),
    };
  }

  /**
   * Endpoint 1: uploads a sample. The file is streamed from disk in 1 MiB chunks (re-opened for
   * each attempt) with an exact `Content-Length` (never chunked); its type is detected from its
   * content as `convert` detects it, and a given type is checked against the content. What
   * `convert` refuses from the file's start (empty, not recognised, certainly not of the given
   * type) is refused here, before any byte is sent.
   */
  async upload(request: UploadRequest, options: UploadOptions = {}): Promise<UploadAccepted> {
    // The request's own contradiction first: it needs no look at the file.
    const dnsRefused = () =>
      new NetworkSageError(0, "POST /upload/v1.0/uploader", "a DNS log goes only with type zeek");
    if (request.dnsLog !== undefined && request.type !== undefined && request.type !== "zeek") {
      throw dnsRefused();
    }
    if (request.type !== undefined && !UPLOAD_TYPES.includes(request.type)) {
      // A type no converter reads was sent as it was (with /etc/passwd as the file).
      throw new TypeError(
        `upload: type must be one of ${UPLOAD_TYPES.join(", ")}, not ${
          JSON.stringify(request.type)
        }`,
      );
    }
    const type = await detectUploadType(request.path, request.type);
    const fileName = request.fileName ?? basename(request.path);
    const parts: OutgoingPart[] = [
      { name: "type", value: type },
      { name: "fileName", value: fileName },
      { name: "file", fileName, path: request.path },
    ];
    if (request.dnsLog !== undefined) {
      if (type !== "zeek") throw dnsRefused();
      parts.push({ name: "zeekDnsFile", fileName: `dns_${fileName}`, path: request.dnsLog });
    }
    const body = await multipartBody(parts);
    return this.#request<UploadAccepted>({
      service: "private",
      method: "POST",
      path: "/upload/v1.0/uploader",
      timeoutMs: this.#uploadTimeoutMs,
      signal: options.signal,
      upload: { body, onProgress: options.onProgress },
    });
  }

  /** Endpoint 2: the uploads of this key. */
  async listUploads(options: CallOptions = {}): Promise<UploadEntry[]> {
    return await this.#get("private", "/upload/v1.0/uploads/list", options, UPLOADS);
  }

  /** Endpoint 3: a private sample's metadata (`trafficDate` is `""` until it is processed). */
  async getSample(uuid: string, options: CallOptions = {}): Promise<SampleMetadata> {
    return await this.#get("private", `/sec/v1.0/samples/${enc(uuid)}`, options, SAMPLE);
  }

  /** Endpoint 4: the Secflows of a private sample. */
  async listSecflows(uuid: string, options: CallOptions = {}): Promise<PlatformSecflow[]> {
    return await this.#get("private", `/sec/v1.0/samples/${enc(uuid)}/list`, options, SECFLOWS);
  }

  /** Endpoint 5: the aggregated view of a public sample (public service, no key). */
  async publicAggregated(publicUuid: string, options: CallOptions = {}): Promise<Activity[]> {
    return await this.#get(
      "public",
      `/public/secflows/v1/${enc(publicUuid, "publicUuid")}/list/aggregated`,
      options,
      aListOfActivities,
    );
  }

  /** Endpoint 6: how many samples contain `flowId`. */
  async secflowCount(flowId: string, options: CallOptions = {}): Promise<number> {
    return await this.#get("private", `/sec/v1.0/secflows/${enc(flowId)}/count`, options, aCount);
  }

  /** Endpoint 7: Destination metadata, by `name:port`. */
  async destination(nameAndPort: string, options: CallOptions = {}): Promise<Metadata> {
    return await this.#get(
      "private",
      `/sec/v1.0/destinations/${enc(nameAndPort, "destination")}`,
      options,
      METADATA,
    );
  }

  /** Endpoint 8: Behavior metadata, by flowId. */
  async behavior(flowId: string, options: CallOptions = {}): Promise<Metadata> {
    return await this.#get("private", `/sec/v1.0/behaviors/${enc(flowId)}`, options, METADATA);
  }

  /** Endpoint 9: Event metadata, by eventId. */
  async event(eventId: string, options: CallOptions = {}): Promise<Metadata> {
    return await this.#get("private", `/sec/v1.0/events/${enc(eventId)}`, options, METADATA);
  }

  /**
   * Writes Destination (by `name:port`), Behavior (by flowId) or Event metadata: `PUT` on the
   * path of endpoint 7, 8 or 9, which `serve` accepts (the platform itself does not). Replaces
   * what was there; resolves to what the server stored.
   */
  async annotate(
    kind: "destination" | "behavior" | "event",
    id: string,
    metadata: Metadata,
    options: CallOptions = {},
  ): Promise<Metadata> {
    if (!["destination", "behavior", "event"].includes(kind)) {
      // Anything else was sent as PUT /sec/v1.0/<kind>s/<id>.
      throw new TypeError(
        `annotate: kind must be destination, behavior or event, not ${JSON.stringify(kind)}`,
      );
    }
    const text = JSON.stringify(metadata);
    return await this.#request<Metadata>({
      service: "private",
      method: "PUT",
      path: `/sec/v1.0/${kind === "behavior" ? "behaviors" : `${kind}s`}/${
        enc(id, kind === "destination" ? "destination" : "id")
      }`,
      signal: options.signal,
      body: () => Promise.resolve({ body: text, headers: { "content-type": "application/json" } }),
    });
  }

  #get<T>(
    service: "private" | "public",
    path: string,
    options: CallOptions,
    check: ShapeCheck,
  ): Promise<T> {
    return this.#request<T>({ service, method: "GET", path, signal: options.signal, check });
  }

  /**
   * Helper 1: the aggregated view of a sample in one shape. Public: endpoint 5 as is. Private:
   * endpoint 4, then for each Secflow endpoints 6 (count), 7 (by `destinationData`), 8 (by
   * `flowId`) and 9 (by `eventId`, only when present), at most `concurrency` requests at once.
   * A lookup shared by several Secflows is asked once. Missing metadata is `{}`.
   */
  async aggregated(uuid: string, options: AggregatedOptions = {}): Promise<Activity[]> {
    const concurrency = options.concurrency ?? this.#concurrency;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      // 0 waited forever after the first request.
      throw new RangeError(
        `aggregated: concurrency must be a whole number of at least 1, not ${concurrency}`,
      );
    }
    if (options.public) return this.publicAggregated(uuid, options);
    const secflows = await this.listSecflows(uuid, options);
    const limit = limiter(concurrency);
    const memo = new Map<string, Promise<unknown>>();
    // Lookups done of the distinct lookups needed, for a progress line.
    const total = new Set(secflows.flatMap((s) => [
      `c ${s.flowId}`,
      `d ${s.destinationData}`,
      `b ${s.flowId}`,
      ...(s.eventId ? [`e ${s.eventId}`] : []),
    ])).size;
    let done = 0;
    const once = <T>(key: string, call: () => Promise<T>): Promise<T> => {
      let p = memo.get(key) as Promise<T> | undefined;
      if (!p) {
        p = limit(call);
        if (options.onProgress) p.then(() => options.onProgress!(++done, total), () => {});
        memo.set(key, p);
      }
      return p;
    };
    const signal = options.signal;
    const orEmpty = (m: unknown): Metadata =>
      typeof m === "object" && m !== null && !Array.isArray(m) ? m as Metadata : {};
    const controller = new AbortController();
    const inner = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
    try {
      return await Promise.all(secflows.map(async (secflow) => {
        const [count, destination, behavior, event] = await Promise.all([
          once(`c ${secflow.flowId}`, () => this.secflowCount(secflow.flowId, { signal: inner })),
          once(
            `d ${secflow.destinationData}`,
            () => this.destination(secflow.destinationData, { signal: inner }),
          ),
          once(`b ${secflow.flowId}`, () => this.behavior(secflow.flowId, { signal: inner })),
          secflow.eventId
            ? once(`e ${secflow.eventId}`, () => this.event(secflow.eventId!, { signal: inner }))
            : Promise.resolve({}),
        ]);
        return {
          secflow,
          destination: orEmpty(destination),
          behavior: orEmpty(behavior),
          event: orEmpty(event),
          flowIdCount: Number(count),
        };
      }));
    } catch (e) {
      controller.abort();
      throw e;
    }
  }

  /**
   * Helper 3: polls endpoint 3 until `trafficDate` is non-empty and returns the metadata. Fails
   * at once when the server reports a processing error (`processingError`, as `serve` does).
   */
  async waitForProcessing(uuid: string, options: WaitOptions = {}): Promise<SampleMetadata> {
    const { interval, deadline } = pollTiming("waitForProcessing", options);
    const endpoint = `GET /sec/v1.0/samples/${enc(uuid)}`;
    const late = () =>
      new NetworkSageError(0, endpoint, `not processed within ${options.timeoutMs} ms`);
    for (;;) {
      const meta = await beforeDeadline(
        (call) => this.getSample(uuid, call),
        options,
        deadline,
        late,
      );
      if (typeof meta.processingError === "string" && meta.processingError !== "") {
        throw new NetworkSageError(0, endpoint, `processing failed: ${meta.processingError}`);
      }
      if (meta.trafficDate !== "" && meta.trafficDate !== undefined && meta.trafficDate !== null) {
        return meta;
      }
      if (meta.processed === true) return meta; // processed, but no Secflows (serve says so)
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new NetworkSageError(0, endpoint, `not processed within ${options.timeoutMs} ms`);
      }
      try {
        await sleep(pauseWithin(interval, left), options.signal);
      } catch (e) {
        throw new NetworkSageError(0, endpoint, "aborted", { cause: e });
      }
    }
  }

  /**
   * Helper 2: the UUID of an uploaded sample: the entry of endpoint 2 with that file name whose
   * upload time is within 60 s of `time` (a Date, or epoch seconds; the closest one wins). With `public: true` it also waits for
   * the metadata's hash (polling like {@link waitForProcessing}) and computes the public UUID.
   */
  async findUploadUuid(
    fileName: string,
    time: Date | number,
    options: FindUuidOptions = {},
  ): Promise<FoundUpload> {
    const at = typeof time === "number" ? time * 1000 : time.getTime();
    // Checked before any request; the deadline starts when the polling does.
    if (options.public) pollTiming("findUploadUuid", options);
    const entries = await this.listUploads(options);
    let best: UploadEntry | undefined;
    let bestGap = Infinity;
    for (const entry of entries) {
      if (entry.fileName !== fileName) continue;
      const t = uploadTimeOf(entry);
      if (t === null) continue;
      const gap = Math.abs(t - at);
      if (gap <= 60_000 && gap < bestGap) {
        best = entry;
        bestGap = gap;
      }
    }
    if (!best) {
      throw new NetworkSageError(
        0,
        "GET /upload/v1.0/uploads/list",
        `no upload named '${fileName}' within 60 s of ${new Date(at).toISOString()}`,
      );
    }
    if (!options.public) return { uuid: best.uuid, entry: best };
    const { interval, deadline } = pollTiming("findUploadUuid", options);
    for (;;) {
      const endpoint = `GET /sec/v1.0/samples/${enc(best.uuid)}`;
      const meta = await beforeDeadline(
        (call) => this.getSample(best.uuid, call),
        options,
        deadline,
        () => new NetworkSageError(0, endpoint, `no hash within ${options.timeoutMs} ms`),
      );
      if (meta.hash) return { uuid: best.uuid, publicUuid: publicUuidOf(meta), entry: best };
      if (typeof meta.processingError === "string" && meta.processingError !== "") {
        throw new NetworkSageError(0, endpoint, `processing failed: ${meta.processingError}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new NetworkSageError(0, endpoint, `no hash within ${options.timeoutMs} ms`);
      }
      try {
        await sleep(pauseWithin(interval, left), options.signal);
      } catch (e) {
        throw new NetworkSageError(0, endpoint, "aborted", { cause: e });
      }
    }
  }
}

/** The longest delay a timer takes (2^31 - 1 ms, 24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay option in ms: `fallback` when undefined, else a number above 0 and at most
 * {@link MAX_TIMER_MS} (past it a timer fires at once: `intervalMs` of 3e9 polled every
 * millisecond), or a RangeError naming it.
 */
function timerMs(owner: string, name: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !(v > 0) || v > MAX_TIMER_MS) {
    throw new RangeError(
      `${owner}: ${name} must be a number of ms above 0 and at most ${MAX_TIMER_MS}, not ${v}`,
    );
  }
  return v;
}

/**
 * How long a poll pauses: `interval`, or when less than that is left, until shortly before the
 * deadline, so that the last look still happens in time (an interval longer than the timeout
 * slept through it and failed without looking again).
 */
function pauseWithin(interval: number, left: number): number {
  return interval < left ? interval : Math.max(0, left - Math.min(250, left / 2));
}

/** A polling helper's interval and deadline, checked (0 or NaN polled without pause). */
function pollTiming(
  owner: string,
  options: { intervalMs?: number; timeoutMs?: number },
): { interval: number; deadline: number } {
  const interval = timerMs(owner, "intervalMs", options.intervalMs, 15_000);
  if (options.timeoutMs === undefined) return { interval, deadline: Infinity };
  return { interval, deadline: Date.now() + timerMs(owner, "timeoutMs", options.timeoutMs, 0) };
}

/**
 * `call` with the caller's signal and, when `deadline` is finite, one that fires at it: a request
 * hanging or retried past a helper's `timeoutMs` ends there, with `late()`'s error (`wait
 * --timeout 3` ran on for minutes against a server that never answered).
 */
async function beforeDeadline<T>(
  call: (options: CallOptions) => Promise<T>,
  options: CallOptions,
  deadline: number,
  late: () => NetworkSageError,
): Promise<T> {
  if (deadline === Infinity) return await call(options);
  const left = deadline - Date.now();
  if (left <= 0) throw late();
  const timer = AbortSignal.timeout(left);
  const signal = options.signal ? AbortSignal.any([options.signal, timer]) : timer;
  try {
    return await call({ ...options, signal });
  } catch (e) {
    if (timer.aborted && !options.signal?.aborted) throw late();
    throw e;
  }
}

/**
 * One path segment, percent-encoded. Any ID the platform may make is sent; what cannot be one
 * segment (`api/_path_id.ts`: empty, `.`, `..`, `/`, whitespace or control characters) is refused
 * before a request. A public UUID is base64, whose `/` is sent as `%2F`; a destination is a name
 * from traffic (DNS names may hold any byte), so only empty, `.` and `..` are refused for it.
 */
function enc(segment: string, kind: "id" | "publicUuid" | "destination" = "id"): string {
  const anyName = kind === "destination" && typeof segment === "string" && segment !== "" &&
    segment !== "." && segment !== "..";
  const problem = anyName ? null : pathIdProblem(segment, { slash: kind === "publicUuid" });
  if (problem) {
    throw new NetworkSageError(
      0,
      "request",
      `${JSON.stringify(segment) ?? String(segment)} cannot be an ID in a URL path: it ${problem}`,
    );
  }
  return pathSegment(segment);
}

/** The wait before the one retry of a refused connection, ms (capped by `retryMaxMs`). */
const REFUSED_RETRY_MS = 1000;

const UPLOADS = aListOf("uploads", ["uuid", "fileName"]);
const SAMPLE = anObject("a sample's metadata");
const SECFLOWS = aListOf("Secflows", ["flowId", "destinationData"]);
const METADATA = anObject("metadata");

function basename(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

function clip(text: string): string {
  const t = text.trim();
  return t.length > 500 ? t.slice(0, 500) + "…" : t;
}

/** The message in an error answer: the envelope's body, or the raw text. */
function messageOf(body: unknown): string {
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body);
      if (parsed && typeof parsed === "object" && "body" in parsed) return messageOf(parsed.body);
    } catch { /* raw text */ }
    return clip(body) || "(empty answer)";
  }
  return clip(JSON.stringify(body) ?? String(body));
}

/** Runs at most `n` of the given calls at once. */
function limiter(n: number): <T>(call: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(call: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await call();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}
