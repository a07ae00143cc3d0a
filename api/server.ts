/**
 * `serve`: a local server that speaks the NetworkSage API contract (`API.md`), backed by SQLite
 * (`node:sqlite`) or, for several nodes, PostgreSQL (`storage.ts`). Uploads are streamed to disk,
 * recorded once complete, and converted in the background with the project's converter; only the
 * Secflows are kept unless `keepOriginals`.
 *
 * Beyond the platform, it accepts `PUT` on the Destination, Behavior and Event paths to annotate
 * them (a JSON object, which later `GET`s return), reports conversion failures as
 * `processingError` in the upload list and the sample metadata, and marks `processed: true`.
 * Secflows get `flowCategory` from the local classifier of `classify.ts` (`local:` labels).
 * @module
 */
import { type AnnotationKind, keyDigest, sampleMetadataOf, uploadEntryOf } from "./store.ts";
import { type Claim, DEFAULT_LEASE_MS, openStorage, type Storage } from "./storage.ts";
import { boundaryOf, MultipartError, type PartWriter, readMultipart } from "./multipart.ts";
import { type FlashLike, toPlatformSecflow } from "./classify.ts";
import { sniffUploadType } from "./detect.ts";
import { type Activity, type Metadata, UPLOAD_TYPES, type UploadType } from "./types.ts";
import { convertFile } from "../io/convert.ts";

/** What a converter gives `serve` for one upload. */
export interface ConversionOutput {
  sample: { hash: string; trafficDate: string; flashes: FlashLike[] } | null;
  warnings: string[];
}

/** Turns a stored upload into Secflows. */
export type Converter = (
  path: string,
  options: { format: UploadType; dnsLog?: string; fileName: string },
) => Promise<ConversionOutput>;

/** Options of {@link createService} and {@link serve}. */
export interface ServeOptions {
  /** Directory of the database and of uploads in progress (created when missing). */
  dataDir: string;
  /** Accepted API keys (at least one). */
  apiKeys: string[];
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
  /** The converter (default {@link defaultConverter}). */
  convert?: Converter;
  /** Where log lines go (default stderr). They never contain a key. */
  onLog?: (line: string) => void;
  /**
   * On shutdown, how long running conversions may take to finish, in ms (default 10 000). Those
   * still running then are abandoned and stay pending: the next start converts them again.
   */
  shutdownGraceMs?: number;
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

/**
 * The default converter: Secflow samples (`.sf`) are validated and kept as they are (extra flash
 * keys such as `eventId` survive); everything else goes through `io/convert.ts`'s `convertFile`.
 */
export const defaultConverter: Converter = async (path, options) => {
  if (options.format === "secflow") return readSecflowSample(path);
  const result = await convertFile(path, {
    format: options.format,
    dnsLog: options.dnsLog,
  });
  return { sample: result.sample, warnings: result.warnings };
};

async function readSecflowSample(path: string): Promise<ConversionOutput> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`not a Secflow sample: ${e instanceof Error ? e.message : e}`);
  }
  const obj = parsed as Record<string, unknown>;
  if (!obj || typeof obj !== "object" || !Array.isArray(obj.flashes)) {
    throw new Error("not a Secflow sample: no 'flashes' array");
  }
  const flashes = obj.flashes as FlashLike[];
  flashes.forEach((f, i) => {
    if (
      !f || typeof f !== "object" || typeof f.src !== "string" || typeof f.dst !== "string" ||
      typeof f.srcBytes !== "number" || typeof f.dstBytes !== "number"
    ) {
      throw new Error(`not a Secflow sample: flash ${i} lacks src, dst, srcBytes or dstBytes`);
    }
  });
  const hash = typeof obj.hash === "string" && /^[0-9a-f]{32}$/.test(obj.hash)
    ? obj.hash
    : crypto.randomUUID().replaceAll("-", "");
  const trafficDate = typeof obj.trafficDate === "string" || typeof obj.trafficDate === "number"
    ? String(obj.trafficDate)
    : "";
  if (flashes.length === 0) return { sample: null, warnings: ["the sample has no flashes"] };
  return { sample: { hash, trafficDate, flashes }, warnings: [] };
}

/** Reads a keys file: one key per line; blank lines and `#` comments are skipped. */
export async function readKeysFile(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path)).split(/\r?\n/).map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

function envelope(status: number, body: unknown): Response {
  return new Response(JSON.stringify({ error: status !== 200, body }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

class TooLarge extends Error {}

function join(...parts: string[]): string {
  return parts.join("/").replace(/\/+/g, "/");
}

function safeName(name: string): string {
  const base = name.split(/[\\/]/).filter(Boolean).pop() ?? "";
  // deno-lint-ignore no-control-regex
  const clean = base.replace(/[\x00-\x1f]/g, "").slice(0, 255);
  return clean === "" || clean === "." || clean === ".." ? "upload" : clean;
}

/** The API implemented over a data directory, without a listener (wrap it, serve it, test it). */
export interface Service {
  /** Answers one request. Never throws. */
  handler(request: Request): Promise<Response>;
  /** Resolves when this node runs no conversion and finds none to claim. */
  idle(): Promise<void>;
  /**
   * Lets running conversions finish (up to `shutdownGraceMs`; waiting and abandoned ones stay
   * pending for the next start or another node) and closes the database.
   */
  close(): Promise<void>;
  /** Where the samples are kept. */
  storage: Storage;
}

/**
 * Opens the data directory and returns the request handler. Samples left pending by an earlier
 * run are converted again; half-received uploads and orphaned files are removed.
 *
 * @example
 * ```ts ignore
 * const service = await createService({ dataDir: "data", apiKeys: ["k"] });
 * Deno.serve({ hostname: "127.0.0.1", port: 0 }, service.handler);
 * ```
 */
export async function createService(options: ServeOptions): Promise<Service> {
  if (options.apiKeys.length === 0) throw new Error("serve needs at least one API key");
  const dataDir = options.dataDir;
  const maxUpload = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
  const keep = options.keepOriginals ?? false;
  const convert = options.convert ?? defaultConverter;
  const log = options.onLog ?? ((line: string) => console.error(line));
  const owners = new Set(await Promise.all(options.apiKeys.map(keyDigest)));
  const tmpRoot = join(dataDir, "tmp");
  await Deno.mkdir(dataDir, { recursive: true });
  // Uploads that never completed: nothing of them is kept.
  await Deno.remove(tmpRoot, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmpRoot, { recursive: true });
  const storage = await openStorage({
    database: options.database,
    dataDir,
    keepOriginals: keep,
    leaseMs: options.leaseMs,
    pollMs: options.pollMs,
    log,
  });
  const conversions = new Conversions(storage, Math.max(1, options.conversions ?? 2), {
    convert,
    log,
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
  });
  conversions.wake();

  async function authorize(request: Request): Promise<string | Response> {
    const key = request.headers.get("apikey");
    if (key === null || key === "") return envelope(401, "missing API key (header 'apikey')");
    const owner = await keyDigest(key);
    return owners.has(owner) ? owner : envelope(401, "invalid API key");
  }

  async function upload(request: Request, owner: string): Promise<Response> {
    const declared = request.headers.get("content-length");
    if (declared !== null && Number(declared) > maxUpload) {
      await request.body?.cancel().catch(() => {});
      return envelope(413, `upload larger than the limit of ${maxUpload} bytes`);
    }
    const boundary = boundaryOf(request.headers.get("content-type"));
    if (!boundary) return envelope(400, "expected a multipart/form-data body with a boundary");
    if (!request.body) return envelope(400, "empty body");
    const uuid = crypto.randomUUID();
    const tmpDir = join(tmpRoot, uuid);
    await Deno.mkdir(tmpDir);
    const fields = new Map<string, string>();
    const files = new Map<string, { path: string; fileName: string; size: number }>();
    let fieldBytes = 0;
    let received = 0;
    const counted = request.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          received += chunk.length;
          if (received > maxUpload) {
            controller.error(new TooLarge());
          } else controller.enqueue(chunk);
        },
      }),
    );
    const open: FsFileSet = new Set();
    try {
      await readMultipart(counted, boundary, {
        async open(info): Promise<PartWriter> {
          if (info.name === "file" || info.name === "zeekDnsFile") {
            if (files.has(info.name)) throw new MultipartError(`two '${info.name}' parts`);
            const path = join(tmpDir, info.name === "file" ? "sample" : "dns");
            const file = await Deno.open(path, { write: true, createNew: true });
            open.add(file);
            const record = { path, fileName: info.fileName ?? "", size: 0 };
            files.set(info.name, record);
            return {
              async write(chunk) {
                record.size += chunk.length;
                let off = 0;
                while (off < chunk.length) off += await file.write(chunk.subarray(off));
              },
              close() {
                open.delete(file);
                file.close();
              },
            };
          }
          const parts: Uint8Array[] = [];
          return {
            write(chunk) {
              fieldBytes += chunk.length;
              if (fieldBytes > 65536) throw new MultipartError("form fields larger than 64 KiB");
              parts.push(chunk);
            },
            close() {
              fields.set(info.name, new TextDecoder().decode(concatAll(parts)));
            },
          };
        },
      });
    } catch (e) {
      for (const f of open) f.close();
      await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
      if (e instanceof TooLarge) {
        return envelope(413, `upload larger than the limit of ${maxUpload} bytes`);
      }
      if (e instanceof MultipartError) {
        return envelope(400, `malformed multipart body: ${e.message}`);
      }
      return envelope(400, `upload interrupted: ${e instanceof Error ? e.message : e}`);
    }
    const reject = async (message: string) => {
      await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
      return envelope(400, message);
    };
    const file = files.get("file");
    if (!file) return reject("no 'file' part in the upload");
    let type = fields.get("type")?.trim() as UploadType | undefined;
    if (type === undefined || type === ("" as UploadType)) {
      const f = await Deno.open(file.path);
      const head = new Uint8Array(65536);
      const n = (await f.read(head)) ?? 0;
      f.close();
      type = sniffUploadType(head.subarray(0, n));
    }
    if (!UPLOAD_TYPES.includes(type)) {
      return reject(`unknown type '${type}' (expected ${UPLOAD_TYPES.join(", ")})`);
    }
    const dns = files.get("zeekDnsFile");
    if (dns && type !== "zeek") return reject("a 'zeekDnsFile' part goes only with type zeek");
    const fileName = safeName(fields.get("fileName") || file.fileName || "upload");
    try {
      await storage.addUpload({
        uuid,
        owner,
        fileName,
        fileType: type,
        createdMs: Date.now(),
        dir: tmpDir,
        hasDns: dns !== undefined,
      });
    } finally {
      await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    }
    conversions.wake();
    return envelope(200, `File ${fileName} was uploaded as ${uuid} and will be processed shortly`);
  }

  async function aggregated(uuid: string): Promise<Activity[]> {
    return await Promise.all((await storage.secflows(uuid)).map(async (secflow) => ({
      secflow,
      destination: await storage.annotation("destination", secflow.destinationData),
      behavior: await storage.annotation("behavior", secflow.flowId),
      event: secflow.eventId ? await storage.annotation("event", secflow.eventId) : {},
      flowIdCount: await storage.count(secflow.flowId),
    })));
  }

  async function route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    let seg: string[];
    try {
      seg = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
    } catch {
      return envelope(400, "malformed percent-encoding in the path");
    }
    const m = request.method;
    const path = seg.join("/");
    const is = (...p: (string | null)[]) =>
      seg.length === p.length && p.every((x, i) => x === null || x === seg[i]);

    // Endpoint 5: public, no key.
    if (is("public", "secflows", "v1", null, "list", "aggregated")) {
      if (m !== "GET") return envelope(405, `${m} is not allowed on /${path}`);
      let decoded = "";
      try {
        decoded = new TextDecoder("utf-8", { fatal: true }).decode(
          Uint8Array.from(atob(seg[3]), (c) => c.charCodeAt(0)),
        );
      } catch { /* not base64 */ }
      const at = decoded.indexOf("#hash#");
      const s = at > 0 ? await storage.sample(decoded.slice(0, at), null) : undefined;
      if (!s || s.status !== "processed" || s.hash !== decoded.slice(at + 6)) {
        return envelope(404, `no public sample '${seg[3]}'`);
      }
      return envelope(200, await aggregated(s.uuid));
    }

    const known = is("upload", "v1.0", "uploader") || is("upload", "v1.0", "uploads", "list") ||
      is("sec", "v1.0", "samples", null) || is("sec", "v1.0", "samples", null, "list") ||
      is("sec", "v1.0", "secflows", null, "count") || is("sec", "v1.0", "destinations", null) ||
      is("sec", "v1.0", "behaviors", null) || is("sec", "v1.0", "events", null);
    if (!known) return envelope(404, `no such endpoint: ${m} /${path}`);
    const auth = await authorize(request);
    if (auth instanceof Response) {
      await request.body?.cancel().catch(() => {});
      return auth;
    }
    const owner = auth;
    const only = (method: string) =>
      m === method ? null : envelope(405, `${m} is not allowed on /${path}`);

    if (is("upload", "v1.0", "uploader")) return only("POST") ?? upload(request, owner);
    if (is("upload", "v1.0", "uploads", "list")) {
      return only("GET") ?? envelope(200, (await storage.samples(owner)).map(uploadEntryOf));
    }
    if (is("sec", "v1.0", "samples", null) || is("sec", "v1.0", "samples", null, "list")) {
      const bad = only("GET");
      if (bad) return bad;
      const s = await storage.sample(seg[3], owner);
      if (!s) return envelope(404, `no sample '${seg[3]}'`);
      return envelope(200, seg.length === 4 ? sampleMetadataOf(s) : await storage.secflows(s.uuid));
    }
    if (is("sec", "v1.0", "secflows", null, "count")) {
      return only("GET") ?? envelope(200, await storage.count(seg[3]));
    }
    const kind: AnnotationKind = seg[2] === "destinations"
      ? "destination"
      : seg[2] === "behaviors"
      ? "behavior"
      : "event";
    if (m === "GET") return envelope(200, await storage.annotation(kind, seg[3]));
    if (m === "PUT") {
      const text = await readLimited(request, 1 << 20);
      if (text === null) return envelope(413, "annotation larger than 1 MiB");
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        return envelope(400, "the annotation must be a JSON object");
      }
      if (!data || typeof data !== "object" || Array.isArray(data)) {
        return envelope(400, "the annotation must be a JSON object");
      }
      await storage.annotate(kind, seg[3], data as Metadata);
      return envelope(200, data);
    }
    return envelope(405, `${m} is not allowed on /${path}`);
  }

  return {
    async handler(request: Request): Promise<Response> {
      try {
        return await route(request);
      } catch (e) {
        log(`networksage serve: ${request.method} ${new URL(request.url).pathname}: ${e}`);
        return envelope(500, "internal error");
      }
    },
    idle: () => conversions.idle(),
    async close() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        conversions.stop(),
        new Promise((r) => timer = setTimeout(r, options.shutdownGraceMs ?? 10_000)),
      ]);
      clearTimeout(timer);
      await conversions.abandon();
      await storage.close();
    },
    storage,
  };
}

type FsFileSet = Set<Deno.FsFile>;

/**
 * This node's conversions: claims work from the storage while fewer than `limit` run, when told
 * there is some (an upload here, a notification from another node), when one finishes, and every
 * `storage.pollMs`. Renews each claim's lease while its conversion runs.
 */
class Conversions {
  #running = new Map<string, Claim>();
  #claiming = 0;
  #stopped = false;
  #again = false;
  #idle: (() => void)[] = [];
  #poll: ReturnType<typeof setInterval> | undefined;
  #settled = new Set<Promise<void>>();

  constructor(
    private storage: Storage,
    private limit: number,
    private options: {
      convert: Converter;
      log: (line: string) => void;
      leaseMs: number;
    },
  ) {
    if (storage.pollMs !== null) this.#poll = setInterval(() => this.wake(), storage.pollMs);
    storage.watch?.(() => this.wake()).catch((e) =>
      options.log(`networksage serve: not notified of other nodes' uploads: ${e}`)
    );
  }

  /** Claims work until the limit is reached or none is left. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#claiming > 0) {
      this.#again = true; // a claim loop is running: let it look once more
      return;
    }
    this.#claiming++;
    this.#claimLoop().finally(() => {
      this.#claiming--;
      this.#checkIdle();
    });
  }

  async #claimLoop(): Promise<void> {
    do {
      this.#again = false;
      while (!this.#stopped && this.#running.size < this.limit) {
        let claim: Claim | null;
        try {
          claim = await this.storage.claim();
        } catch (e) {
          if (!this.#stopped) this.options.log(`networksage serve: cannot claim work: ${e}`);
          return;
        }
        if (!claim) break;
        if (this.#stopped) {
          await this.storage.release(claim).catch(() => {});
          return;
        }
        const held = claim;
        this.#running.set(held.token, held);
        const done: Promise<void> = this.#convert(held).finally(() => {
          this.#running.delete(held.token);
          this.#settled.delete(done);
          this.wake();
          this.#checkIdle();
        });
        this.#settled.add(done);
      }
    } while (this.#again && !this.#stopped);
  }

  async #convert(claim: Claim): Promise<void> {
    const { storage, options } = this;
    const s = claim.sample;
    const extend = () =>
      storage.renew(claim).then((held) => {
        if (held) return;
        clearInterval(renew);
        options.log(`networksage serve: lost the lease on ${s.uuid} (another node may take it)`);
      }).catch(() => {});
    // Right away (copying the upload out took part of the lease), then every third of it.
    const renew = setInterval(extend, Math.max(10, options.leaseMs / 3));
    extend();
    try {
      let result;
      try {
        const out = await options.convert(claim.samplePath, {
          format: s.fileType as UploadType,
          dnsLog: claim.dnsPath ?? undefined,
          fileName: s.fileName,
        });
        const secflows = out.sample
          ? await Promise.all(out.sample.flashes.map(toPlatformSecflow))
          : [];
        result = {
          hash: out.sample?.hash ?? crypto.randomUUID().replaceAll("-", ""),
          trafficDate: out.sample?.trafficDate ?? "",
          warnings: out.warnings,
          secflows,
        };
      } catch (e) {
        if (this.#stopped) return; // abandoned at shutdown: released, stays pending
        // Name the upload, not where this server keeps it.
        const message = (e instanceof Error ? e.message : String(e)).split("\n")[0]
          .replaceAll(claim.samplePath, s.fileName)
          .replaceAll(claim.dnsPath ?? "\0", `dns_${s.fileName}`);
        options.log(
          `networksage serve: conversion of ${s.fileName} (${s.uuid}) failed: ${message}`,
        );
        clearInterval(renew);
        try {
          await storage.fail(claim, message);
        } catch (e2) {
          options.log(`networksage serve: could not record the failure of ${s.uuid}: ${e2}`);
        }
        return;
      }
      if (this.#stopped) return;
      // No renewal while the result is stored: finish locks the row, so no node can claim it.
      clearInterval(renew);
      if (!await storage.finish(claim, result)) {
        options.log(`networksage serve: ${s.uuid} was converted by another node; result dropped`);
      }
    } catch (e) {
      if (!this.#stopped) options.log(`networksage serve: could not store ${s.uuid}: ${e}`);
    } finally {
      clearInterval(renew);
    }
  }

  #isIdle(): boolean {
    return this.#claiming === 0 && (this.#running.size === 0 || this.#stopped);
  }

  #checkIdle(): void {
    if (this.#isIdle()) { for (const f of this.#idle.splice(0)) f(); }
  }

  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops claiming; resolves when running conversions have finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poll);
    await Promise.all([...this.#settled]);
  }

  /** Releases the claims of conversions still running (after the grace period). */
  async abandon(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poll);
    for (const claim of this.#running.values()) {
      await this.storage.release(claim).catch(() => {});
    }
  }
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function readLimited(request: Request, limit: number): Promise<string | null> {
  if (!request.body) return "";
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of request.body) {
    n += chunk.length;
    if (n > limit) return null;
    parts.push(chunk);
  }
  return new TextDecoder().decode(concatAll(parts));
}

/** A listening server. */
export interface RunningServer {
  /** `http://host:port`. */
  url: string;
  hostname: string;
  port: number;
  service: Service;
  /** Resolves when no conversion is running or waiting. */
  idle(): Promise<void>;
  /** Stops listening, lets running conversions finish, closes the database. */
  shutdown(): Promise<void>;
  /** Resolves once the server has shut down. */
  finished: Promise<void>;
}

/**
 * Starts `serve`: {@link createService} behind `Deno.serve` on `hostname:port`
 * (default `127.0.0.1:8787`).
 *
 * @example
 * ```ts ignore
 * const server = await serve({ dataDir: "data", apiKeys: ["k"], port: 0 });
 * console.log(server.url);
 * await server.shutdown();
 * ```
 */
export async function serve(
  options: ServeOptions & { signal?: AbortSignal },
): Promise<RunningServer> {
  const service = await createService(options);
  const hostname = options.hostname ?? "127.0.0.1";
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port: options.port ?? 8787,
      signal: options.signal,
      onListen() {},
      onError(e) {
        (options.onLog ?? console.error)(`networksage serve: ${e}`);
        return envelope(500, "internal error");
      },
    }, service.handler);
  } catch (e) {
    await service.close();
    throw e;
  }
  const port = server.addr.port;
  let closing: Promise<void> | undefined;
  const shutdown = () =>
    closing ??= (async () => {
      await server.shutdown();
      await service.close();
    })();
  const finished = server.finished.then(() => shutdown());
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${host}:${port}`,
    hostname,
    port,
    service,
    idle: () => service.idle(),
    shutdown,
    finished,
  };
}
