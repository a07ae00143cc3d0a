/**
 * `serve`: the local NetworkSage-compatible server.
 * @module
 */
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { DEFAULT_MAX_UPLOAD, readKeysFile, serve } from "../api/server.ts";
import { isPostgresUrl, redactUrl } from "../api/storage.ts";

/** The environment variable naming the PostgreSQL database when `--database` is absent. */
export const DATABASE_ENV = "NETWORKSAGE_DATABASE_URL";

/** `NETWORKSAGE_DATABASE_URL` when set and readable without prompting. */
function databaseFromEnv(): string | undefined {
  const state = Deno.permissions.querySync({ name: "env", variable: DATABASE_ENV }).state;
  return state === "granted" ? Deno.env.get(DATABASE_ENV) || undefined : undefined;
}

/** Parses a size such as `1048576`, `512K`, `100M`, `1G` (binary units). */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i.exec(text.trim());
  if (!m) return null;
  const unit = (m[2] ?? "").toLowerCase()[0];
  const mult = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  return Math.floor(Number(m[1]) * mult);
}

/** `serve`. */
export const serveCommand: Command = {
  name: "serve",
  help:
    `usage: networksage serve [--host H] [--port P] [--data DIR] (--api-key KEY... | --keys-file F)
                        [--max-upload SIZE] [--keep-originals]
                        [--database postgres://...] [--lease SECONDS]

Serves the NetworkSage API (private endpoints, the public aggregated view, and PUT annotations of
Destinations, Behaviors and Events) from a SQLite database in DIR. Uploads are converted in the
background; only their Secflows are kept unless --keep-originals. flowCategory comes from a local
classifier (labels start with "local:"), not the platform's. Stops on Ctrl-C / SIGTERM.

options:
  --host H           interface to listen on (default 127.0.0.1)
  --port P           port (default 8787; 0 picks a free one)
  --data DIR         data directory (default ./networksage-data)
  --api-key KEY      an accepted API key (repeatable); each key sees only its own samples
  --keys-file F      a file of accepted keys, one per line (# comments)
  --max-upload SIZE  largest upload, bytes or with K/M/G (default 1G); larger ones get 413
  --keep-originals   keep uploaded files next to their Secflows
  --database URL     keep everything in PostgreSQL (postgres://user:pass@host:port/db), shared by
                     several serve nodes; default: $NETWORKSAGE_DATABASE_URL, else SQLite in DIR
                     (then DIR is only this node's scratch space). See docs/POSTGRES.md.
  --lease SECONDS    PostgreSQL: how long a node's claim on a conversion lasts unrenewed; a dead
                     node's conversions move to another node after it (default 60)

example: networksage serve --data ./ns-data --keys-file ./keys.txt

permissions: --allow-net=127.0.0.1:8787 --allow-read=DIR[,KEYSFILE] --allow-write=DIR
  (with --host/--port, that host:port); with PostgreSQL also --allow-net=DBHOST:PORT and
  --allow-env (the client reads PG* variables), and --allow-read for a socket path`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("serve", args, {
      host: { type: "string" },
      port: { type: "string" },
      data: { type: "string" },
      "api-key": { type: "string", multiple: true },
      "keys-file": { type: "string" },
      "max-upload": { type: "string" },
      "keep-originals": { type: "boolean" },
      database: { type: "string" },
      lease: { type: "string" },
    });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const port = values.port === undefined ? 8787 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(`--port must be 0 to 65535, not '${values.port}'`);
    }
    let maxUploadBytes = DEFAULT_MAX_UPLOAD;
    if (values["max-upload"] !== undefined) {
      const size = parseSize(values["max-upload"]);
      if (size === null || size < 1) {
        throw new UsageError(`--max-upload must be a size like 1048576, 100M or 1G`);
      }
      maxUploadBytes = size;
    }
    const keys = [...(values["api-key"] ?? [])];
    if (values["keys-file"] !== undefined) {
      try {
        keys.push(...await readKeysFile(values["keys-file"]));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          throw new UsageError(`no such keys file '${values["keys-file"]}'`);
        }
        throw e;
      }
    }
    if (keys.length === 0) {
      throw new UsageError("give at least one API key with --api-key or --keys-file");
    }
    const database = values.database ?? databaseFromEnv();
    if (database !== undefined && !isPostgresUrl(database)) {
      throw new UsageError(
        `--database must be a postgres:// or postgresql:// URL, not '${redactUrl(database)}'`,
      );
    }
    let leaseMs: number | undefined;
    if (values.lease !== undefined) {
      const seconds = Number(values.lease);
      if (!Number.isFinite(seconds) || seconds < 0.1 || seconds > 86400) {
        throw new UsageError(
          `--lease must be seconds between 0.1 and 86400, not '${values.lease}'`,
        );
      }
      leaseMs = Math.round(seconds * 1000);
    }
    const dataDir = values.data ?? "./networksage-data";
    const controller = new AbortController();
    const server = await serve({
      dataDir,
      apiKeys: keys,
      hostname: values.host ?? "127.0.0.1",
      port,
      maxUploadBytes,
      keepOriginals: values["keep-originals"] ?? false,
      database,
      leaseMs,
      signal: controller.signal,
      onLog: (line) => ctx.err(line),
    });
    const stop = () => controller.abort();
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, stop);
    ctx.out(
      `networksage serve: listening on ${server.url} (${
        database ? `database ${redactUrl(database)}, scratch ${dataDir}` : `data ${dataDir}`
      }, ${keys.length} key${keys.length === 1 ? "" : "s"})`,
    );
    await server.finished;
    for (const s of signals) Deno.removeSignalListener(s, stop);
    ctx.err("networksage serve: stopped");
    return 0;
  },
};
