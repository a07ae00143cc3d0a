/**
 * The PostgreSQL client of `serve --database`, `npm:postgres` (porsager/postgres), loaded on
 * first use, and the part of its API we call, typed here.
 *
 * Why typed here and not imported: every npm package the type checker or the lock file sees is
 * one `deno task` downloads before it runs any task (it caches every npm package of the lock
 * file). A type import of `npm:postgres` put the client in `deno.lock`, so `deno task demo` in a
 * fresh clone failed without a package registry. Now nothing the checker follows names it, the
 * project's `deno.lock` is frozen with no npm package in it (`deno.json`), and the client's pin
 * lives in `postgres.lock`, which `serve --database` is run with (`--lock=postgres.lock`, see
 * docs/POSTGRES.md). The import itself takes its specifier from a variable, which Deno neither
 * prefetches nor follows.
 * @module
 */

/** The client, pinned (`deno compile` needs `--include npm:postgres@3.4.7` to embed it). */
export const POSTGRES_CLIENT = "npm:postgres@3.4.7";

/** The lock file that pins {@link POSTGRES_CLIENT}, relative to the repository's root. */
export const POSTGRES_LOCK = "postgres.lock";

/** A row as the client returns it (column name to value). */
// deno-lint-ignore no-explicit-any
export type Row = Record<string, any>;

/** A query: a promise of its rows (the client's `PendingQuery` is thenable and has `catch`). */
export type Query = Promise<Row[]>;

/** A list of identifiers made by `sql(["a", "b"])`, embedded in a query template. */
export type Fragment = object;

/** Queries inside a transaction (the `tx` of `sql.begin`). */
export interface TransactionSql {
  (strings: TemplateStringsArray, ...values: unknown[]): Query;
  /** A list of identifiers (column names) to embed in a query. */
  (columns: readonly string[]): Fragment;
  /** Runs a statement given as text (migrations; never with user input). */
  unsafe(query: string): Query;
}

/** A connection pool. */
export interface Sql extends TransactionSql {
  /** Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. */
  begin<T>(fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  /** Calls `onNotify` for each `NOTIFY` on `channel`. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<unknown>;
  /** Closes the pool, waiting at most `timeout` seconds for running queries. */
  end(options?: { timeout?: number }): Promise<void>;
}

/** The options of the client we set. */
export interface PostgresOptions {
  max?: number;
  onnotice?: (notice: unknown) => void;
  connection?: Record<string, string>;
}

/** The client's default export: a pool for a URL. */
export type Postgres = (url: string, options?: PostgresOptions) => Sql;

/**
 * Loads the client. When the lock file in use is frozen and lacks it (a `deno run` in this
 * repository without `--lock=postgres.lock`), says so in one line instead of Deno's lock diff.
 */
export async function loadPostgres(): Promise<Postgres> {
  try {
    return ((await import(POSTGRES_CLIENT)) as { default: Postgres }).default;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/lockfile is out of date/i.test(message)) {
      throw new Error(
        `the PostgreSQL client ${POSTGRES_CLIENT} is pinned in ${POSTGRES_LOCK}, not in the ` +
          `lock file in use: run deno with --lock=${POSTGRES_LOCK} (docs/POSTGRES.md)`,
      );
    }
    throw new Error(
      `cannot load the PostgreSQL client ${POSTGRES_CLIENT}: ${message.split("\n")[0]}`,
    );
  }
}
