/**
 * The one atomic, durable replace of a file, shared by every writer that replaces one (a user's
 * `-o` output, `io/output.ts`; the collector's samples, `capture/_durable.ts`): the bytes go to a
 * temporary file in the same directory, which is fsynced and renamed over the target, and then
 * the directory is fsynced, so that after a crash the target is absent, the old file, or the whole
 * new one (never empty behind a completed rename). On failure the temporary file is removed.
 *
 * What differs between the callers is policy, passed in: the temporary name, the file mode,
 * whether a directory that cannot be synced fails the write (the collector counts a sample as
 * written only when it is durable) or is skipped (a user's output in a directory that may not be
 * read), and how errors are told (`describe`: the CLI names the user's path; the collector keeps
 * the system's error and falls back).
 * @module
 */

/** Bytes to write, in order. */
export type Chunks = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** The policy of one {@link replaceFile}. */
export interface ReplaceOptions {
  /** Mode of the new file (before the umask); the platform default when absent. */
  mode?: number;
  /**
   * `required`: a directory fsync that fails fails the write (the collector). `best-effort`:
   * skipped without read access to the directory, and its failure ignored (some file systems
   * cannot sync a directory; the data itself was synced).
   */
  directorySync: "required" | "best-effort";
  /**
   * Asynchronous writes, one in flight while the next chunk is made, with a background flush
   * every {@link SYNC_AHEAD_BYTES} (large outputs: the final fsync then finds little left).
   */
  twoBuffers?: boolean;
  /** When no byte came: remove the temporary file, leave the target as it was, resolve false. */
  skipEmpty?: boolean;
  /**
   * Turns a failure into the error thrown; `opening` is true when the temporary file could not
   * be created. Default: the system's own error.
   */
  describe?: (e: unknown, opening: boolean) => unknown;
  /** Holds the temporary file's path while it exists (removed by an interrupt handler). */
  unfinished?: Set<string>;
}

/**
 * With two buffers, what is written so far is flushed (fdatasync) in the background every this
 * many bytes, so the final fsync, which durability needs, finds little left: for a 187 MB sample
 * it took 8 ms instead of 78 ms, the background flushes overlapping the conversion.
 */
export const SYNC_AHEAD_BYTES = 32 << 20;

/**
 * Replaces `path` with `chunks` through the temporary file `tmp` (same directory), as the module
 * documentation says. Resolves true when `path` was replaced, false when `skipEmpty` left it.
 *
 * @example One durable replace
 * ```ts
 * import assert from "node:assert/strict";
 * import { replaceFile } from "./atomic_file.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const bytes = new TextEncoder().encode("{}");
 * assert.equal(
 *   await replaceFile(`${dir}/a.sf`, `${dir}/.a.sf.tmp`, [bytes], { directorySync: "required" }),
 *   true,
 * );
 * assert.deepEqual(await Deno.readFile(`${dir}/a.sf`), bytes);
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.sf"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function replaceFile(
  path: string,
  tmp: string,
  chunks: Chunks,
  options: ReplaceOptions,
): Promise<boolean> {
  const describe = options.describe ?? ((e: unknown) => e);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: options.mode });
  } catch (e) {
    throw describe(e, true);
  }
  options.unfinished?.add(tmp);
  try {
    if (!await fillAndRename(file, tmp, path, chunks, options, describe)) return false;
  } finally {
    options.unfinished?.delete(tmp);
  }
  await syncDirectory(directoryOf(path), options.directorySync, describe);
  return true;
}

async function fillAndRename(
  file: Deno.FsFile,
  tmp: string,
  path: string,
  chunks: Chunks,
  options: ReplaceOptions,
  describe: (e: unknown, opening: boolean) => unknown,
): Promise<boolean> {
  // Only the file system's failures are described; an error of the chunks' producer (a damaged
  // input found late) passes through as it is.
  const fs = async <T>(call: () => T | Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      throw describe(e, false);
    }
  };
  let open = true;
  let written = 0;
  let pending: Promise<void> | undefined;
  let syncing: Promise<unknown> | undefined;
  let synced = 0;
  try {
    for await (const chunk of chunks) {
      if (options.twoBuffers) {
        if (pending) await pending;
        pending = fs(() => writeAllAsync(file, chunk));
        pending.catch(() => {}); // awaited before the next chunk or below
        if (written - synced >= SYNC_AHEAD_BYTES && !syncing) {
          synced = written;
          syncing = file.syncData().then(() => syncing = undefined, () => syncing = undefined);
        }
      } else {
        await fs(() => {
          for (let off = 0; off < chunk.length;) off += file.writeSync(chunk.subarray(off));
        });
      }
      written += chunk.length;
    }
    if (pending) await pending;
    if (syncing) await syncing;
    if (written === 0 && options.skipEmpty) {
      file.close();
      open = false;
      await Deno.remove(tmp);
      return false;
    }
    await fs(() => file.sync());
    file.close();
    open = false;
    await fs(() => Deno.rename(tmp, path));
    return true;
  } catch (e) {
    if (pending) await pending.catch(() => {}); // no write in flight on a closed file
    if (syncing) await syncing;
    if (open) {
      try {
        file.close();
      } catch { /* already closed */ }
    }
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

async function writeAllAsync(file: Deno.FsFile, chunk: Uint8Array): Promise<void> {
  for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
}

/** Makes the rename durable. */
async function syncDirectory(
  dir: string,
  mode: "required" | "best-effort",
  describe: (e: unknown, opening: boolean) => unknown,
): Promise<void> {
  if (mode === "best-effort") {
    if (Deno.permissions.querySync({ name: "read", path: dir }).state !== "granted") return;
    try {
      await syncDirectoryNow(dir);
    } catch { /* some file systems cannot sync a directory; the data itself is synced */ }
    return;
  }
  try {
    await syncDirectoryNow(dir);
  } catch (e) {
    throw describe(e, false);
  }
}

/**
 * fsyncs a directory, so that renames and removals in it are durable (a no-op on Windows, which
 * cannot open a directory).
 */
export async function syncDirectoryNow(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  const d = await Deno.open(dir, { read: true });
  try {
    await d.sync();
  } finally {
    d.close();
  }
}

/** The directory part of a path (`.` for a bare name), without node:path. */
function directoryOf(path: string): string {
  const slash = Math.max(
    path.lastIndexOf("/"),
    Deno.build.os === "windows" ? path.lastIndexOf("\\") : -1,
  );
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}
