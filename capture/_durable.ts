/**
 * Durable files for the collector: a sample counts as written only once it would survive a crash
 * or a power cut. Files are replaced through the one atomic writer, `io/atomic_file.ts` (the same
 * as a user's `-o` output), with the collector's policy: only plain files in directories it owns,
 * mode 0600, a temporary name a restart recognises ({@link tempName}, cleared by
 * {@link removeStaleTemps}), a directory fsync that fails as a failed write, and the system's own
 * error, which the sink turns into a fallback (output, spool, held/, memory).
 * @module
 */
import { replaceFile, syncDirectoryNow } from "../io/atomic_file.ts";

/** Mode of every file the collector writes (owner only: samples describe the owner's traffic). */
export const FILE_MODE = 0o600;
/** Mode of every directory the collector creates. */
export const DIR_MODE = 0o700;

/** The temporary name {@link writeDurable} uses for `name` (hidden, recognisable after a crash). */
export function tempName(name: string): string {
  return `.${name}.tmp`;
}

/** Whether `name` is a temporary file left by {@link writeDurable}. */
export function isTempName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(".tmp");
}

/**
 * Writes `bytes` to `dir/name` atomically and durably: a 0600 temporary file in the same
 * directory is written and fsynced, renamed over the target, and the directory is fsynced, so
 * that after a crash the target is either absent, the old file, or the complete new one (never
 * empty behind a completed rename). On failure the temporary file is removed and the error
 * rethrown.
 */
export async function writeDurable(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = `${dir}/${name}`;
  await replaceFile(path, `${dir}/${tempName(name)}`, [bytes], {
    mode: FILE_MODE,
    directorySync: "required",
  });
  return path;
}

/**
 * Writes `bytes` as `name` in `dir` with {@link writeDurable}, never over a different file: the
 * same bytes already there are the same sample (kept once); other bytes under that name are kept,
 * and this sample goes to `NAME-1.sf`, `NAME-2.sf`... Resolves to the name written (or found).
 * Output, held and spool directories hold samples a user or an earlier run put there.
 */
export async function writeUnique(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const { candidate, present } = await findName(dir, name, bytes);
  if (!present) await writeDurable(dir, candidate, bytes);
  return candidate;
}

/**
 * The name {@link writeUnique} gives `bytes` in `dir`: `name`, or the first `NAME-N.sf` that is
 * free or already holds these very bytes.
 */
export async function uniqueName(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  return (await findName(dir, name, bytes)).candidate;
}

/** {@link uniqueName}, and whether a file with these bytes is already there under it. */
async function findName(
  dir: string,
  name: string,
  bytes: Uint8Array,
): Promise<{ candidate: string; present: boolean }> {
  let candidate = name;
  for (let i = 1;; i++) {
    const existing = await readIfExists(`${dir}/${candidate}`);
    if (existing === null) return { candidate, present: false };
    if (sameBytes(existing, bytes)) return { candidate, present: true };
    candidate = numbered(name, i);
  }
}

/** `name` or, when `dir` has it, the first free `NAME-N.sf` (the name a move may take). */
export async function freeName(dir: string, name: string): Promise<string> {
  let candidate = name;
  for (let i = 1; await exists(`${dir}/${candidate}`); i++) candidate = numbered(name, i);
  return candidate;
}

function numbered(name: string, i: number): string {
  return /\.sf$/.test(name) ? name.replace(/\.sf$/, `-${i}.sf`) : `${name}-${i}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function readIfExists(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** fsyncs a directory, so that renames and removals in it are durable (a no-op on Windows). */
export const syncDir: (dir: string) => Promise<void> = syncDirectoryNow;

/**
 * Creates `dir` (and its parents) as 0700 when missing. A directory that already exists keeps
 * its mode unless `tighten` is set (directories the collector alone owns, like the spool).
 */
export async function ensureDir(dir: string, tighten = false): Promise<void> {
  let existed = true;
  try {
    await Deno.stat(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    existed = false;
  }
  if (!existed) await Deno.mkdir(dir, { recursive: true, mode: DIR_MODE });
  if ((!existed || tighten) && Deno.build.os !== "windows") await Deno.chmod(dir, DIR_MODE);
}

/**
 * Removes temporary files a crashed run left in `dir`; returns how many. Only samples' ones
 * (`.NAME.sf.tmp`) unless `all` (a directory the collector alone writes, like the spool).
 */
export async function removeStaleTemps(dir: string, all = false): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && isTempName(e.name) && (all || e.name.endsWith(".sf.tmp"))) {
        await Deno.remove(`${dir}/${e.name}`).catch(() => {});
        n++;
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return n;
}

/** The first line of an error's message (no stack). */
export function errorLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
