/**
 * PostgreSQL for the tests: the server of `NETWORKSAGE_TEST_DATABASE_URL` (what `.ci/run` exports),
 * or else, for a developer who is root on a machine with Debian's `postgresql`, a throwaway cluster
 * this module starts in a temp directory (as the `postgres` user, on 127.0.0.1 and a free port) and
 * stops when the test module unloads (one left by a killed run is reaped by the next). Every
 * test gets a fresh database of its own. `NETWORKSAGE_TEST_DATABASE_URL=off` skips the PostgreSQL
 * cases.
 * (No tests here.)
 * @module
 */
import { loadPostgres as client } from "../api/_postgres_client.ts";

/** Where the tests find a PostgreSQL server, or why there is none. */
export type PostgresServer = { url: string } | { skip: string };

let server: Promise<PostgresServer> | undefined;

/** The server (started on first use when needed and possible). */
export function postgresServer(): Promise<PostgresServer> {
  return server ??= locate();
}

async function locate(): Promise<PostgresServer> {
  const given = Deno.env.get("NETWORKSAGE_TEST_DATABASE_URL");
  if (given === "off") {
    return { skip: "PostgreSQL cases turned off (NETWORKSAGE_TEST_DATABASE_URL=off)" };
  }
  if (given) return { url: given };
  const bin = findPostgresBin();
  if (!bin) {
    return {
      skip: "no PostgreSQL: set NETWORKSAGE_TEST_DATABASE_URL or install Debian's postgresql",
    };
  }
  if (Deno.uid() !== 0) {
    return {
      skip: "no PostgreSQL: set NETWORKSAGE_TEST_DATABASE_URL (a throwaway cluster needs root)",
    };
  }
  return await startCluster(bin);
}

/** `/usr/lib/postgresql/<newest>/bin` when it has `initdb`. */
export function findPostgresBin(): string | null {
  let versions: string[];
  try {
    versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name);
  } catch {
    return null;
  }
  versions.sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = `/usr/lib/postgresql/${v}/bin`;
    try {
      Deno.statSync(`${bin}/initdb`);
      return bin;
    } catch { /* next */ }
  }
  return null;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function asPostgres(cmd: string, args: string[]): Deno.CommandOutput {
  return new Deno.Command("runuser", {
    args: ["-u", "postgres", "--", cmd, ...args],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
}

/** Stops and removes clusters left by test runs that were killed (their process is gone). */
function reapLeftovers(bin: string): void {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  for (const entry of Deno.readDirSync(tmp)) {
    const m = /^ns_pg_test_(\d+)_/.exec(entry.name);
    if (!m) continue;
    try {
      Deno.statSync(`/proc/${m[1]}`);
      continue; // its test run is alive
    } catch { /* gone, or in a process namespace we cannot see */ }
    // A run in another PID namespace looks dead from here: only clusters older than any test run
    // (two hours) are taken for leftovers.
    const made = Deno.statSync(`${tmp}/${entry.name}`).mtime?.getTime() ?? Date.now();
    if (Date.now() - made < 2 * 3600_000) continue;
    asPostgres(`${bin}/pg_ctl`, ["-D", `${tmp}/${entry.name}/data`, "-m", "immediate", "stop"]);
    Deno.removeSync(`${tmp}/${entry.name}`, { recursive: true });
  }
}

async function startCluster(bin: string): Promise<PostgresServer> {
  reapLeftovers(bin);
  const dir = await Deno.makeTempDir({ prefix: `ns_pg_test_${Deno.pid}_` });
  const chown = new Deno.Command("chown", { args: ["postgres:postgres", dir] }).outputSync();
  const remove = () => Deno.removeSync(dir, { recursive: true });
  if (!chown.success) {
    remove();
    return { skip: "no PostgreSQL: there is no 'postgres' user to run a throwaway cluster" };
  }
  const data = `${dir}/data`;
  const init = asPostgres(`${bin}/initdb`, ["-D", data, "-A", "trust", "-U", "postgres", "-N"]);
  if (!init.success) {
    remove();
    return { skip: `no PostgreSQL: initdb failed: ${new TextDecoder().decode(init.stderr)}` };
  }
  const port = freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off ` +
    `-c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const start = asPostgres(`${bin}/pg_ctl`, [
    "-D",
    data,
    "-o",
    opts,
    "-l",
    `${dir}/log`,
    "-w",
    "start",
  ]);
  if (!start.success) {
    remove();
    return {
      skip: `no PostgreSQL: pg_ctl start failed: ${new TextDecoder().decode(start.stderr)}`,
    };
  }
  globalThis.addEventListener("unload", () => {
    asPostgres(`${bin}/pg_ctl`, ["-D", data, "-m", "immediate", "-w", "stop"]);
    remove();
  });
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres` };
}

/** A fresh, empty database on the server; dropped by the disposer. */
export async function freshDatabase(
  base: string,
): Promise<{ url: string; [Symbol.asyncDispose](): Promise<void> }> {
  const name = `ns_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const postgres = await client();
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async [Symbol.asyncDispose]() {
      const admin = postgres(base, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
