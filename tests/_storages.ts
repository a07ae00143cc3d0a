/**
 * Runs a `serve` test once per storage: SQLite, and PostgreSQL when a server is available
 * (`tests/_postgres.ts`); otherwise the PostgreSQL case is ignored, and why is printed once.
 * Each PostgreSQL case gets a fresh database, dropped afterwards. (No tests here.)
 * @module
 */
import { freshDatabase, postgresServer } from "./_postgres.ts";

/** What a test passes to `startServe`/`serve` to use its storage: `{}` or `{ database }`. */
export interface StorageCase {
  database?: string;
}

const pg = await postgresServer();
let warned = false;

/** Whether PostgreSQL cases run (and the server when they do). */
export const postgresUrl: string | null = "url" in pg ? pg.url : null;

/** Prints once why the PostgreSQL cases are skipped. */
export function warnSkip(): void {
  if (!warned && "skip" in pg) {
    warned = true;
    console.warn(`PostgreSQL cases skipped: ${pg.skip}`);
  }
}

/** Registers `name [sqlite]` and `name [postgres]`. */
export function serveTest(name: string, fn: (storage: StorageCase) => Promise<void>): void {
  Deno.test(`${name} [sqlite]`, () => fn({}));
  if (postgresUrl === null) warnSkip();
  Deno.test({
    name: `${name} [postgres]`,
    ignore: postgresUrl === null,
    async fn() {
      await using db = await freshDatabase(postgresUrl!);
      await fn({ database: db.url });
    },
  });
}
