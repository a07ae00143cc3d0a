/**
 * `serve`: a local server that speaks the NetworkSage API contract (`API.md`), backed by SQLite
 * (`node:sqlite`) or, for several nodes, PostgreSQL (`storage/mod.ts`). Uploads are streamed to
 * disk (`_ingest.ts`), recorded once complete, and converted in capped subprocesses
 * (`conversions/_subprocess.ts`) as claims on the storage (`conversions/_scheduler.ts`); only the
 * Secflows are kept unless `keepOriginals`. The API is one route table (`routes.ts`); HTTP is
 * `_http1.ts`, which bounds connections, heads and stalls and survives descriptor exhaustion.
 *
 * Beyond the platform, admin keys may `PUT` Destination, Behavior and Event annotations (a JSON
 * object, which later `GET`s return); conversion failures show as `processingError`, and
 * `processed: true` marks a converted sample. Secflows get `flowCategory` from the local
 * classifier of `classify.ts` (`local:` labels).
 * @module
 */
import { legacyKeyDigest } from "./storage/rows.ts";
import { DEFAULT_LEASE_MS, openStorage, type Storage } from "./storage/mod.ts";
import { type ApiKey, type KeyOwner, KeyRing } from "./keys.ts";
import { apiRoutes, dispatch, envelope, type Route } from "./routes.ts";
import { IngestError, isDiskFull, privateDir, receiveUpload } from "./_ingest.ts";
import { claimDataDir } from "./data_dir.ts";
import { isolatedConverter, isolationCommand } from "./conversions/_subprocess.ts";
import { type Converter, defaultConverter } from "./conversions/converter.ts";
import { Conversions } from "./conversions/_scheduler.ts";
import { listenHttp1 } from "./_http1.ts";
import { createPages, isPagePath } from "./_pages.ts";
import { cookieValue, SESSION_COOKIE, WebSessions } from "./_web_session.ts";
import { pageHosts } from "./_host.ts";
import { printable } from "../secflow/printable.ts";

export {
  type ConversionOutput,
  type Converter,
  defaultConverter,
} from "./conversions/converter.ts";
export type { ApiKey, KeyOwner } from "./keys.ts";
export type { Route, RouteAuth, RouteContext } from "./routes.ts";

/** Options of {@link createService} and {@link serve}. */
export interface ServeOptions {
  /** Directory of the database and of uploads in progress (created 0700 when missing). */
  dataDir: string;
  /** Accepted API keys (at least one): plain strings, or `{key, admin}`. */
  apiKeys: (string | ApiKey)[];
  /** Interface to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** Port (default 8787; 0 picks a free one). */
  port?: number;
  /** Largest accepted upload body in bytes (default 1 GiB); larger ones get 413. */
  maxUploadBytes?: number;
  /** Keep uploaded files after conversion (default: only the Secflows are kept). */
  keepOriginals?: boolean;
  /** Conversions running at once (default 2). */
  conversions?: number;
  /**
   * The converter. Default: {@link defaultConverter} in a capped `deno` subprocess when this
   * process may run `deno` (`--allow-run`), in this process otherwise.
   */
  convert?: Converter;
  /** Memory cap of one conversion subprocess in bytes (default 512 MiB). */
  maxConvertMemory?: number;
  /** Time limit of one conversion in ms (default 600 000). */
  convertTimeoutMs?: number;
  /** Where log lines go (default stderr). They never contain a key. */
  onLog?: (line: string) => void;
  /** Whether {@link serve} logs a line per request (default true); other lines are kept. */
  logRequests?: boolean;
  /** On shutdown, how long running requests may take to finish, in ms (default 3 000). */
  shutdownGraceMs?: number;
  /** Time for a request head to arrive, in ms (default 10 000). */
  headerTimeoutMs?: number;
  /** Time a kept-alive connection may idle, in ms (default 5 000). */
  idleTimeoutMs?: number;
  /** Time a body read or answer write may stall, in ms (default 15 000). */
  stallTimeoutMs?: number;
  /**
   * Time a request without a valid key or session has from its first byte to its last, body
   * included, in ms (default 30 000); then it is answered 408.
   */
  requestTimeoutMs?: number;
  /** Connections open at once (default 512; keep it under the descriptor limit). */
  maxConnections?: number;
  /** More routes (pages), tried after the API's. */
  routes?: Route[];
  /**
   * The origin browsers reach the pages at when it is not this server's own, such as
   * `https://ns.example.com` behind a reverse proxy that terminates TLS: the pages' forms are
   * accepted from it (they are refused as cross-site otherwise), and when it is `https:` the
   * session cookie is `Secure`. Serve itself speaks plain HTTP.
   */
  publicOrigin?: string;
  /**
   * A `postgres://` URL: keep everything in that PostgreSQL database, shared with other nodes
   * (default: SQLite in `dataDir`).
   */
  database?: string;
  /**
   * PostgreSQL: how long a node's claim on a conversion lasts without renewal, in ms (default
   * 60 000). A node renews its claims every third of it; when it dies, another node takes the
   * conversion over once the lease expires.
   */
  leaseMs?: number;
  /** PostgreSQL: how often to look for work uploaded to other nodes, in ms (default 1 000). */
  pollMs?: number;
}

/** The default size limit of an upload: 1 GiB. */
export const DEFAULT_MAX_UPLOAD = 1024 ** 3;
/** The default memory cap of one conversion: 512 MiB. */
export const DEFAULT_MAX_CONVERT_MEMORY = 512 * 1024 ** 2;
export { MAX_CONVERSION_ATTEMPTS } from "./storage/mod.ts";

/** Reads a keys file: one key per line, optionally followed by `admin`; `#` comments skipped. */
export async function readKeysFile(path: string): Promise<ApiKey[]> {
  const { parseKeys } = await import("./keys.ts");
  return parseKeys(await Deno.readTextFile(path), path);
}

/** The API implemented over a data directory, without a listener (wrap it, serve it, test it). */
export interface Service {
  /** Answers one request. Never throws. */
  handler(request: Request): Promise<Response>;
  /** Resolves when no conversion is running or waiting. */
  idle(): Promise<void>;
  /** Whether the headers carry an accepted API key or a live page session. */
  authenticated(headers: Headers): boolean;
  /**
   * Stops conversions at once (they stay pending and resume on the next start or on another
   * node) and closes the database.
   */
  close(): Promise<void>;
  /** Where the samples are kept. */
  storage: Storage;
}

/**
 * Refuses numeric options no server can mean, before anything is opened: NaN compares false with
 * every size, so `maxUploadBytes: NaN` was no upload limit at all, and a negative timeout answered
 * every request 408.
 */
function checkOptions(options: ServeOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("serve: options must be an object with dataDir and apiKeys");
  }
  if (!Array.isArray(options.apiKeys)) throw new TypeError("serve: apiKeys must be a list");
  for (const k of options.apiKeys) {
    const key = typeof k === "string" ? k : (k as { key?: unknown })?.key;
    if (typeof key !== "string" || key.length === 0) {
      throw new TypeError("serve: every API key must be non-empty text");
    }
    // A key a request header cannot carry as it is (headers are trimmed) could never match.
    // deno-lint-ignore no-control-regex
    if (key.trim() !== key || /[\x00-\x1f\x7f]/.test(key)) {
      throw new TypeError(
        "serve: an API key has spaces at an end or control characters; no request can send it",
      );
    }
    const admin = typeof k === "string" ? undefined : (k as { admin?: unknown }).admin;
    if (admin !== undefined && typeof admin !== "boolean") {
      // The string "false" is true to `if`: it made an admin key.
      throw new TypeError(
        `serve: an API key's admin must be true or false, not ${JSON.stringify(admin)}`,
      );
    }
  }
  const numbers = [
    "maxUploadBytes",
    "maxConvertMemory",
    "convertTimeoutMs",
    "conversions",
    "leaseMs",
    "pollMs",
    "shutdownGraceMs",
    "headerTimeoutMs",
    "idleTimeoutMs",
    "stallTimeoutMs",
    "requestTimeoutMs",
    "maxConnections",
  ] as const;
  for (const name of numbers) {
    const v = (options as unknown as Record<string, unknown>)[name];
    if (v !== undefined && !(typeof v === "number" && v > 0)) {
      throw new RangeError(`serve: ${name} must be a number above 0, not ${String(v)}`);
    }
  }
  if (options.publicOrigin !== undefined) publicOriginOf(options.publicOrigin);
}

/**
 * `text` as an origin (`https://host[:port]`, nothing after it but an optional `/`), or a
 * TypeError saying what it must look like.
 */
export function publicOriginOf(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch { /* said below */ }
  const bare = url !== undefined && url.pathname === "/" && !url.search && !url.hash &&
    !url.username && !url.password && !String(text).endsWith("?") && !String(text).endsWith("#");
  if (!url || !/^https?:$/.test(url.protocol) || !bare) {
    throw new TypeError(
      `serve: publicOrigin must be an origin such as https://ns.example.com (scheme, host and ` +
        `port only), not '${printable(String(text), 80)}'`,
    );
  }
  return url.origin;
}

/**
 * Opens the data directory and returns the request handler. Samples left pending by an earlier
 * run are converted again (at most {@link MAX_CONVERSION_ATTEMPTS} starts in all); half-received
 * uploads and orphaned files are removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createService } from "./server.ts";
 * const dataDir = await Deno.makeTempDir();
 * const service = await createService({ dataDir, apiKeys: ["example-key"] });
 * // No listener: hand it requests directly (tests, or behind a server of your own).
 * const list = (apikey: string) =>
 *   service.handler(new Request("http://localhost/upload/v1.0/uploads/list", {
 *     headers: { apikey },
 *   }));
 * const ok = await list("example-key");
 * assert.equal(ok.status, 200);
 * assert.deepEqual(await ok.json(), { error: false, body: [] });
 * const refused = await list("another-key");
 * assert.equal(refused.status, 401);
 * assert.equal((await refused.json()).error, true);
 * await service.close();
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export async function createService(options: ServeOptions): Promise<Service> {
  checkOptions(options);
  if (options.apiKeys.length === 0) throw new Error("serve needs at least one API key");
  // Claimed first, before anything in it is cleared (data_dir.ts).
  const claim = await claimDataDir(options.dataDir);
  const dataDir = options.dataDir.replace(/\/+$/, "");
  const keep = options.keepOriginals ?? false;
  const log = options.onLog ?? ((line: string) => console.error(line));
  const short = options.apiKeys.filter((k) => (typeof k === "string" ? k : k.key).length < 16);
  if (short.length > 0) {
    // Nothing limits guessing through the API's header, and a login limit that kept out a right
    // key would let anyone lock every user out: a key's length is what protects it.
    log(
      `networksage serve: warning: ${short.length} of the keys ${
        short.length === 1 ? "is" : "are"
      } shorter than 16 characters and can be guessed; use random keys of 16 characters or ` +
        "more (openssl rand -hex 16)",
    );
  }
  const isolation = options.convert ? null : isolationCommand();
  if (!options.convert && !isolation) {
    log(
      "networksage serve: warning: conversions run inside the server, without memory or time " +
        `caps, and requests wait behind them: grant --allow-run=${Deno.execPath()} (or ` +
        "--allow-run=deno) to run each in a capped subprocess",
    );
  }
  const convert = options.convert ??
    (isolation
      ? isolatedConverter(isolation, {
        memoryBytes: options.maxConvertMemory ?? DEFAULT_MAX_CONVERT_MEMORY,
        timeoutMs: options.convertTimeoutMs ?? 600_000,
      })
      : defaultConverter);
  const tmpRoot = `${dataDir}/tmp`;
  let storage: Storage;
  try {
    // Uploads that never completed: nothing of them is kept.
    await Deno.remove(tmpRoot, { recursive: true }).catch(() => {});
    await privateDir(tmpRoot);
    storage = await openStorage({
      database: options.database,
      dataDir,
      keepOriginals: keep,
      leaseMs: options.leaseMs,
      pollMs: options.pollMs,
      log,
    });
  } catch (e) {
    claim.release();
    throw e;
  }
  let ring: KeyRing;
  try {
    const keys = options.apiKeys.map((k) => typeof k === "string" ? { key: k, admin: false } : k);
    ring = await storage.withKeyRecords((records) => KeyRing.open(records, keys));
    for (const { key } of keys) {
      await storage.reassignOwner(await legacyKeyDigest(key), ring.owner(key)!.id);
    }
  } catch (e) {
    await storage.close();
    claim.release();
    throw e;
  }

  const stopConversions = new AbortController();
  const conversions = new Conversions(storage, Math.max(1, options.conversions ?? 2), {
    convert,
    log,
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    signal: stopConversions.signal,
  });
  conversions.wake();

  async function upload(request: Request, owner: KeyOwner): Promise<Response> {
    const uuid = crypto.randomUUID();
    let received;
    try {
      received = await receiveUpload(request, `${tmpRoot}/${uuid}`, {
        maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD,
      });
    } catch (e) {
      if (e instanceof IngestError) return envelope(e.status, e.message);
      throw e;
    }
    try {
      await storage.addUpload({
        uuid,
        owner: owner.id,
        fileName: received.fileName,
        fileType: received.type,
        createdMs: Date.now(),
        dir: received.dir,
        hasDns: received.hasDns,
      });
    } catch (e) {
      if (isDiskFull(e)) {
        log(`upload ${uuid} not stored: ${e instanceof Error ? e.message : e}`);
        return envelope(507, "the server's disk is full: the upload was not stored; try later");
      }
      throw e;
    } finally {
      await Deno.remove(received.dir, { recursive: true }).catch(() => {});
    }
    conversions.wake();
    return envelope(
      200,
      `File ${received.fileName} was uploaded as ${uuid} and will be processed shortly`,
    );
  }

  const routes = [...apiRoutes({ store: storage, upload }), ...(options.routes ?? [])];
  const authorize = (key: string) => ring.owner(key);
  // The web pages (_pages.ts) log in with the same key check as the API and upload through the
  // API's own handler; annotation forms are shown to admin keys only.
  const sessions = new WebSessions();
  const pages = createPages({
    store: storage,
    authenticate: (key) => Promise.resolve(ring.owner(key) ?? null),
    upload,
    sessions,
  });

  const publicOrigin = options.publicOrigin === undefined
    ? undefined
    : publicOriginOf(options.publicOrigin);
  return {
    async handler(request: Request): Promise<Response> {
      try {
        const url = new URL(request.url);
        if (isPagePath(url.pathname)) {
          // The pages judge origins and cookie security by the URL the browser used.
          const seen = publicOrigin === undefined
            ? request
            : new Request(`${publicOrigin}${url.pathname}${url.search}`, request);
          return await pages(seen);
        }
        return await dispatch(routes, request, authorize);
      } catch (e) {
        log(
          `networksage serve: ${request.method} ${shown(new URL(request.url).pathname)}: ${
            shown(e)
          }`,
        );
        return envelope(500, "internal error");
      }
    },
    idle: () => conversions.idle(),
    authenticated(headers: Headers): boolean {
      const key = headers.get("apikey");
      if (key && ring.owner(key)) return true;
      return sessions.get(cookieValue({ headers }, SESSION_COOKIE)) !== undefined;
    },
    async close() {
      const stopping = conversions.stop();
      stopConversions.abort();
      // Subprocesses die at once; an in-process converter gets the grace time, then is left.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        stopping,
        new Promise((r) => timer = setTimeout(r, options.shutdownGraceMs ?? 3_000)),
      ]);
      clearTimeout(timer);
      await conversions.abandon();
      await storage.close();
      claim.release();
    },
    storage,
  };
}

/** A listening server. */
export interface RunningServer {
  /** `http://host:port`. */
  url: string;
  /** The interface it listens on. */
  hostname: string;
  /** The port it listens on (the one picked when 0 was asked). */
  port: number;
  /** The service behind it. */
  service: Service;
  /** Open connections now. */
  readonly connections: number;
  /** Resolves when no conversion is running or waiting. */
  idle(): Promise<void>;
  /** Stops listening, lets running requests finish briefly, stops conversions, closes. */
  shutdown(): Promise<void>;
  /** Resolves once the server has shut down. */
  finished: Promise<void>;
}

/** A listen failure worded for a person: the address and port, and what is wrong. */
export class ListenError extends Error {
  /** Always `ListenError`. */
  override name = "ListenError";
  /** Exit code of the CLI. */
  readonly exitCode = 1;
}

/**
 * Starts `serve`: {@link createService} behind the HTTP/1.1 listener of `_http1.ts` on
 * `hostname:port` (default `127.0.0.1:8787`). Logs one line per request (unless `logRequests` is
 * false): method, path (no query), status, bytes received and sent, milliseconds; never the key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "./server.ts";
 * const dataDir = await Deno.makeTempDir();
 * const logs: string[] = [];
 * // Port 0 picks a free port; onLog takes the request lines (default: stderr).
 * const server = await serve({
 *   dataDir,
 *   apiKeys: ["example-key"],
 *   port: 0,
 *   onLog: (line) => logs.push(line),
 * });
 * assert.equal(server.url, `http://127.0.0.1:${server.port}`);
 * const response = await fetch(`${server.url}/upload/v1.0/uploads/list`, {
 *   headers: { apikey: "example-key" },
 * });
 * assert.deepEqual(await response.json(), { error: false, body: [] });
 * await server.shutdown();
 * assert.match(logs.at(-1)!, /^GET \/upload\/v1\.0\/uploads\/list 200 /);
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export async function serve(
  options: ServeOptions & { signal?: AbortSignal },
): Promise<RunningServer> {
  const service = await createService(options);
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 8787;
  const log = options.onLog ?? ((line: string) => console.error(line));
  let hosts: ((host: string | null) => boolean) | undefined;
  const handler = async (request: Request): Promise<Response> => {
    // The pages trust their Host (origin checks, links): only names this server is reached by.
    if (isPagePath(new URL(request.url).pathname) && !hosts!(request.headers.get("host"))) {
      await request.body?.cancel().catch(() => {});
      return envelope(421, "this server does not answer pages for that Host (see SERVE.md)");
    }
    return await service.handler(request);
  };
  let http;
  try {
    http = listenHttp1({
      hostname,
      port,
      headerTimeoutMs: options.headerTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      stallTimeoutMs: options.stallTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      maxConnections: options.maxConnections,
      trusted: (headers) => service.authenticated(headers),
      // Logged once the answer went out (or did not): "sent" only for bytes that left.
      onAnswer: ({ request, status, received, sent, complete, ms }) => {
        if (options.logRequests === false) return; // serve -q
        log(
          `${request.method} ${
            shown(new URL(request.url).pathname)
          } ${status} received ${received} B, ${
            complete ? `sent ${sent} B` : sent > 0 ? `cut after ${sent} B` : "not sent"
          }, ${Math.round(ms)} ms`,
        );
      },
      onError: (e) => log(`networksage serve: ${shown(e)}`),
    }, handler);
    hosts = pageHosts(http.addr, options.publicOrigin && publicOriginOf(options.publicOrigin));
  } catch (e) {
    await service.close();
    const where = `${hostname}:${port}`;
    if (e instanceof Deno.errors.AddrInUse) {
      throw new ListenError(`port ${port} is already in use (${where}); pick another port`);
    }
    if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
      throw new ListenError(`not allowed to listen on ${where}: ${(e as Error).message}`);
    }
    throw new ListenError(`cannot listen on ${where}: ${(e as Error).message}`);
  }
  const server = http;
  let closing: Promise<void> | undefined;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((r) => resolveFinished = r);
  const shutdown = () =>
    closing ??= (async () => {
      await server.shutdown(options.shutdownGraceMs ?? 3_000);
      await service.close();
      resolveFinished();
    })();
  if (options.signal?.aborted) shutdown();
  options.signal?.addEventListener("abort", () => shutdown(), { once: true });
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${host}:${server.addr.port}`,
    hostname,
    port: server.addr.port,
    service,
    get connections() {
      return server.connections;
    },
    idle: () => service.idle(),
    shutdown,
    finished,
  };
}

/**
 * Upload-provided text (a file name, a path, an error quoting either) as a log line may hold it:
 * control characters (C1 included) escaped by {@link printable}, so a name cannot drive the
 * terminal that shows serve's log.
 */
function shown(text: unknown): string {
  return printable(String(text), 1000);
}
