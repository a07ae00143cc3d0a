/**
 * Serve's data directory, claimed before anything in it is touched. Serve clears `tmp/` (uploads
 * that never completed) and orphaned `uploads/` at every start and makes the directory 0700, so it
 * must only ever do that to a directory it made: `--data ""` once resolved to `/`, and the start
 * made `/` 0700 and deleted `/tmp`; `--data ~` would have lost `~/tmp`. A directory is claimed when
 * it is new or empty, carries serve's marker file, or holds nothing but what serve makes (a data
 * directory from before the marker); anything else is refused, naming what it holds. One serve at
 * a time holds it (an advisory lock on the marker): a second one on the same directory wiped the
 * first one's uploads in progress.
 * @module
 */
import { resolve } from "node:path";
import { printable } from "../secflow/printable.ts";

/** The marker file serve keeps in its data directory (and locks while it runs). */
export const DATA_DIR_MARKER = ".networksage-serve";

/** What serve makes in a data directory (SQLite, scratch, PostgreSQL nodes' work files). */
const SERVE_ENTRIES = new Set([
  DATA_DIR_MARKER,
  "networksage.db",
  "networksage.db-wal",
  "networksage.db-shm",
  "networksage.db-journal",
  "tmp",
  "uploads",
  "work",
]);

/** A data directory serve may not use, said in one line. */
export class DataDirError extends Error {
  /** Always `"DataDirError"`. */
  override name = "DataDirError";
}

/** A claimed data directory; {@link release} when serve stops. */
export interface DataDirClaim {
  release(): void;
}

/**
 * Claims `dataDir` for this serve (see the module comment): creates it 0700 when missing, refuses
 * the root, a directory of other files, and one another serve holds.
 */
export async function claimDataDir(dataDir: string): Promise<DataDirClaim> {
  if (typeof dataDir !== "string" || dataDir.trim() === "") {
    throw new DataDirError("serve: the data directory must be a path, not an empty string");
  }
  if (resolve(dataDir) === resolve("/")) {
    throw new DataDirError("serve: the data directory cannot be / (give a directory of its own)");
  }
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const foreign: string[] = [];
  for await (const entry of Deno.readDir(dataDir)) {
    if (!SERVE_ENTRIES.has(entry.name)) foreign.push(entry.name);
  }
  let marked = true;
  try {
    await Deno.lstat(`${dataDir}/${DATA_DIR_MARKER}`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    marked = false;
  }
  if (!marked && foreign.length > 0) {
    const shown = foreign.sort().slice(0, 3).map((n) => printable(n, 40)).join(", ");
    throw new DataDirError(
      `serve: ${printable(dataDir)} holds files serve did not make (${shown}${
        foreign.length > 3 ? `, and ${foreign.length - 3} more` : ""
      }): give a new or empty directory, or one serve made (it clears tmp/ and uploads/ there)`,
    );
  }
  const marker = await Deno.open(`${dataDir}/${DATA_DIR_MARKER}`, {
    read: true,
    write: true,
    create: true,
    mode: 0o600,
  });
  if (!(await marker.tryLock(true))) {
    marker.close();
    throw new DataDirError(
      `serve: another serve is using the data directory ${printable(dataDir)}`,
    );
  }
  try {
    await marker.truncate(0);
    await marker.write(
      new TextEncoder().encode(`networksage serve data directory; pid ${Deno.pid}\n`),
    );
  } catch { /* a full disk: the lock holds all the same */ }
  await Deno.chmod(dataDir, 0o700);
  return { release: () => marker.close() };
}
