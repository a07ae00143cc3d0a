/**
 * `serve`: the local NetworkSage-compatible server.
 * @module
 */
import {
  type Command,
  isPlainDecimal,
  isPlainWhole,
  parseCommandArgs,
  positiveInt,
  UsageError,
} from "./command.ts";
import { printable } from "../secflow/printable.ts";
import {
  type ApiKey,
  DEFAULT_MAX_CONVERT_MEMORY,
  DEFAULT_MAX_UPLOAD,
  publicOriginOf,
  readKeysFile,
  serve,
} from "../api/server.ts";
import { isPostgresUrl, redactUrl } from "../api/storage.ts";
import { DataDirError } from "../api/_data_dir.ts";
import { envVar } from "../io/env.ts";
import { resolve } from "node:path";

/** The environment variable naming the PostgreSQL database when `--database` is absent. */
export const DATABASE_ENV = "NETWORKSAGE_DATABASE_URL";

/** `NETWORKSAGE_DATABASE_URL` when set and readable without prompting. */
function databaseFromEnv(): string | undefined {
  return envVar(DATABASE_ENV);
}

/** Parses a size such as `1048576`, `512K`, `100M`, `1G` (binary units). */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i.exec(text.trim());
  if (!m) return null;
  const unit = (m[2] ?? "").toLowerCase()[0];
  const mult = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  return Math.floor(Number(m[1]) * mult);
}

/** The environment variable holding keys, in the keys file's format (commas also separate). */
export const KEYS_ENV = "NETWORKSAGE_SERVE_KEYS";

/** `serve`. */
export const serveCommand: Command = {
  name: "serve",
  help:
    `usage: networksage serve [--host H] [--port P] [--data DIR] [--keys-file F] [--max-upload SIZE]
                        [--max-convert-memory SIZE] [--convert-timeout S] [--keep-originals]
                        [--database postgres://...] [--lease SECONDS] [--public-origin URL]
                        [--log FILE] [-q|--quiet]

Serves the NetworkSage API (private endpoints, the public aggregated view, and PUT annotations of
Destinations, Behaviors and Events by admin keys) from a SQLite database in DIR (0700, files 0600),
or from PostgreSQL (--database) shared by several nodes. Uploads are converted in the background,
each in its own deno subprocess with a memory cap and a time limit; one that fails is marked
failed with the reason (processingError). Only Secflows are kept unless --keep-originals.
flowCategory comes from a local classifier ("local:" labels), not the platform's. Stops on
Ctrl-C / SIGTERM within a few seconds; conversions then in progress resume at the next start (an
upload whose conversion was cut short twice is marked failed).

Keys: from --keys-file (one key per line, "KEY admin" for an admin key, # comments) and from
$${KEYS_ENV} (same format; commas also separate). Only admin keys may PUT annotations. Keys
are stored as salted scrypt hashes. --api-key/--admin-key work but show the key to every local
user in the process list: prefer the file or the environment.

options:
  --host H                  interface to listen on (default 127.0.0.1)
  --port P                  port (default 8787; 0 picks a free one)
  --data DIR                data directory (default ./networksage-data): new, empty or serve's
                            own, one serve at a time (it clears tmp/ and uploads/ there)
  --keys-file F             accepted keys, one per line ("KEY admin" for admin keys)
  --api-key KEY             an accepted key (repeatable; visible in the process list)
  --admin-key KEY           an accepted admin key (repeatable; visible in the process list)
  --max-upload SIZE         largest upload, bytes or with K/M/G (default 1G); larger get 413
  --max-convert-memory SIZE memory cap of one conversion (default 512M)
  --convert-timeout S       time limit of one conversion in seconds (default 600)
  --conversions N           conversions at once (default 2)
  --max-connections N       connections at once (default 512; keep under the descriptor limit)
  --header-timeout S        a request's head must arrive within S seconds (default 10)
  --idle-timeout S          a kept-alive connection may idle S seconds (default 5)
  --stall-timeout S         a body or answer may stall S seconds (default 15)
  --request-timeout S       a request without a valid key or session must be whole (head and
                            body) within S seconds of its first byte (default 30)
  --keep-originals          keep uploaded files next to their Secflows
  --public-origin URL       the origin browsers use when it is not serve's own, e.g.
                            https://ns.example.com behind a reverse proxy that terminates TLS:
                            the pages accept logins and forms from it (refused as cross-site
                            otherwise), and with https the session cookie is Secure
  --database URL            keep everything in PostgreSQL (postgres://user:pass@host:port/db),
                            shared by several serve nodes (or $NETWORKSAGE_DATABASE_URL; with
                            neither, SQLite in DIR). With PostgreSQL, DIR holds only this node's
                            scratch files: one DIR per node. See docs/POSTGRES.md.
  --lease S                 PostgreSQL: how long a node's claim on a conversion lasts unrenewed;
                            a dead node's conversions move to another node after it (default 60)
  --log FILE                append the log (a line per request, warnings, failed conversions,
                            "stopped") to FILE (created 0600) instead of the terminal
  -q, --quiet               no line per request; warnings and failures are still logged

example: ${KEYS_ENV}=... networksage serve --data ./ns-data --keys-file ./keys.txt

permissions: --allow-net=127.0.0.1:8787 --allow-read=DIR[,KEYSFILE] --allow-write=DIR[,LOGFILE]
  --allow-run=DENO   (DENO: the deno executable's real path, or the word deno to run the one on
                     PATH; conversions then run in capped subprocesses; without it they run in
                     the server's process, uncapped, and serve warns at start)
  --allow-env=${KEYS_ENV}   (optional; keys from the environment)
  (with --host/--port, that host:port); with --database also --allow-net=DBHOST:PORT and
  --allow-env (the PostgreSQL client reads PG* variables)`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("serve", args, {
      host: { type: "string" },
      port: { type: "string" },
      data: { type: "string" },
      "api-key": { type: "string", multiple: true },
      "admin-key": { type: "string", multiple: true },
      "keys-file": { type: "string" },
      "max-upload": { type: "string" },
      "max-convert-memory": { type: "string" },
      "convert-timeout": { type: "string" },
      conversions: { type: "string" },
      "max-connections": { type: "string" },
      "header-timeout": { type: "string" },
      "idle-timeout": { type: "string" },
      "stall-timeout": { type: "string" },
      "request-timeout": { type: "string" },
      "keep-originals": { type: "boolean" },
      "public-origin": { type: "string" },
      database: { type: "string" },
      lease: { type: "string" },
      log: { type: "string" },
      quiet: { type: "boolean", short: "q" },
    });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const port = values.port === undefined ? 8787 : Number(values.port);
    if ((values.port !== undefined && !isPlainWhole(values.port)) || port > 65535) {
      throw new UsageError(
        `--port must be 0 to 65535, not '${printable(String(values.port), 40)}'`,
      );
    }
    const size = (name: string, value: string | undefined, fallback: number) => {
      if (value === undefined) return fallback;
      const n = parseSize(value);
      if (n === null || n < 1) throw new UsageError(`--${name} must be a size like 100M or 1G`);
      return n;
    };
    const seconds = (name: string, value: string | undefined) => {
      if (value === undefined) return undefined;
      const n = Number(value);
      if (!isPlainDecimal(value) || n <= 0) {
        throw new UsageError(`--${name} must be a number of seconds above 0`);
      }
      return n * 1000;
    };
    const keys: ApiKey[] = [];
    if (values["api-key"]?.length || values["admin-key"]?.length) {
      ctx.err(
        "networksage serve: warning: keys given on the command line are visible to every local " +
          `user (ps, /proc); prefer --keys-file or ${KEYS_ENV}`,
      );
    }
    for (const key of values["api-key"] ?? []) keys.push({ key, admin: false });
    for (const key of values["admin-key"] ?? []) keys.push({ key, admin: true });
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
    const envReadable =
      Deno.permissions.querySync({ name: "env", variable: KEYS_ENV }).state === "granted";
    if (envReadable) {
      const { parseKeys } = await import("../api/_keys.ts");
      keys.push(
        ...parseKeys((envVar(KEYS_ENV) ?? "").replaceAll(",", "\n"), KEYS_ENV, "entry"),
      );
    }
    if (keys.length === 0) {
      // Without env access the variable reads as unset: say so rather than ask for what was set.
      const unread = envReadable ? "" : ` (${KEYS_ENV} is read only with --allow-env=${KEYS_ENV})`;
      throw new UsageError(`give at least one API key with --keys-file or ${KEYS_ENV}${unread}`);
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
      if (!isPlainDecimal(values.lease) || seconds < 0.1 || seconds > 86400) {
        throw new UsageError(
          `--lease must be seconds between 0.1 and 86400, not '${printable(values.lease, 40)}'`,
        );
      }
      leaseMs = Math.round(seconds * 1000);
    }
    let publicOrigin: string | undefined;
    if (values["public-origin"] !== undefined) {
      try {
        publicOrigin = publicOriginOf(values["public-origin"]);
      } catch (e) {
        throw new UsageError(
          `--public-origin: ${(e as Error).message.replace(/^serve: \w+ /, "")}`,
        );
      }
    }
    const dataDir = values.data ?? "./networksage-data";
    if (values.log !== undefined && insideDir(values.log, dataDir)) {
      // serve claims a data directory only when it holds nothing but what serve makes.
      throw new UsageError(
        `--log ${printable(values.log, 200)} is inside the data directory ${
          printable(dataDir, 200)
        }: put the log outside it`,
      );
    }
    const log: LogSink = values.log === undefined ? ctx.err : await logFile(values.log, ctx.err);
    const controller = new AbortController();
    const server = await serve({
      dataDir,
      apiKeys: keys,
      hostname: values.host ?? "127.0.0.1",
      port,
      maxUploadBytes: size("max-upload", values["max-upload"], DEFAULT_MAX_UPLOAD),
      maxConvertMemory: size(
        "max-convert-memory",
        values["max-convert-memory"],
        DEFAULT_MAX_CONVERT_MEMORY,
      ),
      convertTimeoutMs: seconds("convert-timeout", values["convert-timeout"]),
      conversions: positiveInt("conversions", values.conversions),
      maxConnections: positiveInt("max-connections", values["max-connections"]),
      headerTimeoutMs: seconds("header-timeout", values["header-timeout"]),
      idleTimeoutMs: seconds("idle-timeout", values["idle-timeout"]),
      stallTimeoutMs: seconds("stall-timeout", values["stall-timeout"]),
      requestTimeoutMs: seconds("request-timeout", values["request-timeout"]),
      keepOriginals: values["keep-originals"] ?? false,
      publicOrigin,
      database,
      leaseMs,
      signal: controller.signal,
      onLog: log,
      logRequests: !values.quiet,
    }).catch(async (e) => {
      await log.close?.();
      // The directory is the user's to change: a usage error, in the CLI's words.
      if (e instanceof DataDirError) throw new UsageError(e.message.replace(/^serve: /, ""));
      throw e;
    });
    const stop = () => controller.abort();
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, stop);
    const admins = keys.filter((k) => k.admin).length;
    ctx.out(
      `networksage serve: listening on ${server.url} (${
        database ? `database ${redactUrl(database)}, scratch ${dataDir}` : `data ${dataDir}`
      }, ${keys.length} key${keys.length === 1 ? "" : "s"}${admins ? `, ${admins} admin` : ""})`,
    );
    await server.finished;
    for (const s of signals) Deno.removeSignalListener(s, stop);
    log("networksage serve: stopped");
    await log.close?.();
    return 0;
  },
};

function insideDir(path: string, dir: string): boolean {
  const d = resolve(dir);
  const p = resolve(path);
  return p === d || p.startsWith(d.endsWith("/") ? d : d + "/");
}

/** A log line sink; {@link logFile}'s also has `close` (flushes what is queued). */
type LogSink = ((line: string) => void) & { close?: () => Promise<void> };

/**
 * Appends log lines to `path` (created 0600), in order, without blocking requests on the disk.
 * A write that fails is said once on `err` (the terminal) with the reason; later lines are
 * dropped rather than queued without bound.
 */
async function logFile(path: string, err: (line: string) => void): Promise<LogSink> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e;
    throw new UsageError(`--log: cannot open '${printable(path, 200)}': ${(e as Error).message}`);
  }
  const writer = file.writable.getWriter();
  const encoder = new TextEncoder();
  let failed = false;
  const sink: LogSink = (line) => {
    if (failed) return;
    writer.write(encoder.encode(line + "\n")).catch((e) => {
      if (failed) return;
      failed = true;
      err(`networksage serve: cannot write the log ${printable(path, 200)}: ${e.message}`);
    });
  };
  sink.close = async () => {
    await writer.close().catch(() => {});
  };
  return sink;
}
