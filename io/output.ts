/**
 * The one way output reaches the disk. What `-o PATH` means follows tcpdump's `-w`:
 *
 * - `-` is standard output;
 * - a path that exists and is not a regular file (a character device such as `/dev/null`, a FIFO,
 *   a socket) is written straight through, never replaced;
 * - a symlink is followed, and its target replaced;
 * - a regular file (or a new path) is replaced atomically: the bytes go to
 *   `.NAME.PID-N.tmp` in the same directory (so `--allow-write=DIR` covers it, and it is never read
 *   back), are fsynced, and the file is renamed over NAME; the directory is then fsynced. A
 *   failure removes the temporary file and names the output.
 *
 * Deno's rename needs read access to both names, so the atomic replace needs
 * `--allow-read=DIR` besides `--allow-write=DIR`. Without them (say `--allow-write=OUT` alone)
 * the file is written in place instead (opened once the first bytes exist; removed if writing
 * fails midway). Telling a file from a device or FIFO, and following a symlink, needs read access
 * to an existing output (Deno's fstat asks for it). A missing permission is reported for the path
 * the user gave, with the flag to add, never for the temporary file.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { absolutePath } from "./_paths.ts";
import { replaceFile } from "./atomic_file.ts";
import { printable } from "../secflow/printable.ts";

/** Output could not be written (disk full, no such directory...): CLI exit code 1. */
export class OutputError extends Error {
  /** Always `"OutputError"`. */
  override name = "OutputError";
  /** Process exit code the CLI uses for this error. */
  readonly exitCode = 1;
}

/** Bytes to write: chunks may share one buffer (each is written before the next is asked for). */
export type OutputChunks = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Files this thread is writing and would leave unfinished if the process stopped now. */
const unfinished = new Set<string>();
/** Directories where this process's workers may be writing temporary files. */
const workerOutputDirs = new Set<string>();
let interruptsHandled = false;
/** How long an interrupt waits for stopped workers' last file operations before it looks again. */
const WORKER_GRACE_MS = 50;
/** Run before an interrupt ends the process (see {@link onInterruptExit}). */
const interruptHooks = new Set<() => void>();

/**
 * Runs `hook` when an interrupt handled by {@link removeUnfinishedOnInterrupt} ends the process,
 * before it exits: e.g. to end a progress line drawn without a newline (the shell's prompt
 * followed it on that line). A hook that throws does not stop the others.
 */
export function onInterruptExit(hook: () => void): void {
  interruptHooks.add(hook);
}

/**
 * From now on, SIGINT or SIGTERM (Ctrl-C, `kill`) removes what this process leaves unfinished
 * before it exits (130 or 143): the temporary files of atomic replaces, and outputs being written
 * in place; for workers (`convert` of several inputs), this process's temporary files in
 * `dirs`. For commands that write outputs and have no shutdown of their own (not capture or
 * serve). An interrupted convert left `.NAME.PID.tmp` files behind.
 */
export function removeUnfinishedOnInterrupt(dirs: Iterable<string> = []): void {
  for (const dir of dirs) workerOutputDirs.add(dir);
  if (interruptsHandled) return;
  interruptsHandled = true;
  const signals: [Deno.Signal, number][] = Deno.build.os === "windows"
    ? [["SIGINT", 130]]
    : [["SIGINT", 130], ["SIGTERM", 143]];
  for (const [signal, code] of signals) {
    Deno.addSignalListener(signal, () => {
      for (const hook of interruptHooks) {
        try {
          hook();
        } catch { /* exiting all the same */ }
      }
      removeUnfinished();
      if (workerOutputDirs.size === 0) Deno.exit(code);
      // A worker (stopped by a hook above) may still have been creating a temporary file while
      // the directories were read: its open had begun on another thread. Look again a moment
      // later, then exit.
      setTimeout(() => {
        removeUnfinished();
        Deno.exit(code);
      }, WORKER_GRACE_MS);
    });
  }
}

function removeUnfinished(): void {
  for (const path of unfinished) {
    try {
      Deno.removeSync(path);
    } catch { /* gone, or not ours to remove */ }
  }
  const ours = new RegExp(`^\\..+\\.${Deno.pid}-\\d+\\.tmp$`);
  for (const dir of workerOutputDirs) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.isFile && ours.test(e.name)) Deno.removeSync(join(dir, e.name));
      }
    } catch { /* unreadable: nothing of ours can be found there */ }
  }
}

/** Temporary files made so far by this process (see {@link temporaryPathFor}). */
let temporaries = 0;

/**
 * A new temporary file for `path`, `.NAME.PID-N.tmp` (documented): N counts this process's
 * writes, so that two writes to one output at once never share a temporary file (they did, and
 * one's bytes ended inside the other's: an invalid sample, reported written).
 */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${Deno.pid}-${++temporaries}.tmp`);
}

/** True for the paths that mean standard output. */
export function isStdout(path: string): boolean {
  return path === "-" || path === "/dev/stdout";
}

/**
 * Writes `chunks` to `path` as described in the module documentation. Errors are
 * {@link OutputError}s naming the output (disk full included); permission errors pass through.
 */
export async function writeOutput(
  path: string,
  chunks: OutputChunks,
  options: OutputOptions = {},
): Promise<void> {
  if (isStdout(path)) {
    await writeThrough(Deno.stdout, "standard output", chunks);
    return;
  }
  const target = await resolveTarget(path);
  if (target.kind === "special") {
    try {
      await writeThrough(target.file, path, chunks);
    } finally {
      target.file.close();
    }
    return;
  }
  // Deno's rename needs read access to both names, and the temporary file write access: without
  // them, no atomic replace is possible.
  const tmp = temporaryPathFor(target.path);
  if (!granted("read", dirname(target.path)) || !granted("write", tmp)) {
    await writeInPlace(target.path, path, chunks, options);
    return;
  }
  await replaceAtomically(target.path, tmp, path, chunks, options);
}

function granted(name: "read" | "write", path: string): boolean {
  return Deno.permissions.querySync({ name, path }).state === "granted";
}

/**
 * The output written directly (only when the directory may not be read, so no rename): the file
 * is opened once the first bytes exist, and removed again if writing fails midway.
 */
async function writeInPlace(
  path: string,
  shown: string,
  chunks: OutputChunks,
  options: OutputOptions,
): Promise<void> {
  let file: Deno.FsFile | undefined;
  try {
    for await (const chunk of chunks) {
      if (!file) {
        file = await io(
          shown,
          () => Deno.open(path, { write: true, create: true, truncate: true, mode: options.mode }),
        );
        unfinished.add(path);
      }
      writeAll(file, chunk, shown);
    }
    if (file) await io(shown, () => file!.sync());
  } catch (e) {
    if (file) {
      try {
        file.close();
      } catch { /* closed */ }
      file = undefined;
      await Deno.remove(path).catch(() => {});
    }
    throw e;
  } finally {
    file?.close();
    unfinished.delete(path);
  }
}

/** Options of {@link writeOutput}. */
export interface OutputOptions {
  /** When the chunks turn out to hold no bytes, leave the path as it was (no empty file). */
  skipEmpty?: boolean;
  /**
   * The chunks come from two alternating buffers (each valid until the one after the next is
   * asked for): a file is then written asynchronously, the copy into the kernel off this thread
   * while the next chunk is made (about 50 ms less on the main thread for a 190 MB sample), and
   * flushed to disk in the background as it goes (see `SYNC_AHEAD_BYTES` in `atomic_file.ts`).
   */
  twoBuffers?: boolean;
  /**
   * Permission bits of a file this call creates (before the umask; default 0666 & ~umask). A file
   * replaced atomically gets them too; one written in place keeps its own.
   */
  mode?: number;
}

/** Writes `text` to `path` like {@link writeOutput}. */
export async function writeTextOutput(
  path: string,
  text: string,
  options: OutputOptions = {},
): Promise<void> {
  await writeOutput(path, [new TextEncoder().encode(text)], options);
}

type Target =
  | { kind: "file"; path: string }
  | { kind: "special"; file: Deno.FsFile };

async function resolveTarget(path: string): Promise<Target> {
  if (granted("read", path)) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { kind: "file", path };
      throw describeWriteError(path, e);
    }
    if (info.isSymlink) {
      let real: string;
      try {
        real = await Deno.realPath(path);
      } catch (e) {
        // A dangling link: create its target, as tcpdump -w would.
        if (!(e instanceof Deno.errors.NotFound)) throw describeWriteError(path, e);
        const link = await Deno.readLink(path);
        return { kind: "file", path: absolutePath(dirname(path), link) };
      }
      info = await Deno.stat(real);
      if (info.isFile) return { kind: "file", path: real };
      path = real;
    } else if (info.isFile) {
      return { kind: "file", path };
    }
    if (info.isDirectory) {
      throw new OutputError(
        `${printable(path)}: is a directory (give a file name, or - for stdout)`,
      );
    }
    return { kind: "special", file: await openForWrite(path) };
  }
  // No read access, so no stat: opening for writing (which changes nothing) tells whether the
  // path exists. A new file is fine; what an existing path is cannot be seen without reading.
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "file", path };
    if (e instanceof Deno.errors.IsADirectory) {
      throw new OutputError(
        `${printable(path)}: is a directory (give a file name, or - for stdout)`,
      );
    }
    throw describeWriteError(path, e);
  }
  file.close();
  throw missingPermission(
    path,
    "read",
    "it exists, and telling a file from a device or FIFO to write to",
  );
}

async function openForWrite(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { write: true });
  } catch (e) {
    throw describeWriteError(path, e);
  }
}

async function writeThrough(
  file: { write(p: Uint8Array): Promise<number> },
  name: string,
  chunks: OutputChunks,
): Promise<void> {
  // Errors of the producer (a damaged input) pass through as they are.
  for await (const chunk of chunks) {
    try {
      for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
    } catch (e) {
      // A closed pipe (`| head`) is the reader's choice, not an error worth a trace.
      if (e instanceof Deno.errors.BrokenPipe) return;
      throw describeWriteError(name, e);
    }
  }
}

async function replaceAtomically(
  path: string,
  tmp: string,
  shown: string,
  chunks: OutputChunks,
  options: OutputOptions,
): Promise<void> {
  await replaceFile(path, tmp, chunks, {
    mode: options.mode,
    twoBuffers: options.twoBuffers,
    skipEmpty: options.skipEmpty,
    // A user's output may sit in a directory this process may not read: its sync is skipped.
    directorySync: "best-effort",
    describe: (e, opening) => describeWriteError(shown, e, opening),
    unfinished,
  });
}

/** Writes all of `chunk`; a failure is an {@link OutputError} naming the output. */
function writeAll(file: Deno.FsFile, chunk: Uint8Array, shown: string): void {
  try {
    for (let off = 0; off < chunk.length;) off += file.writeSync(chunk.subarray(off));
  } catch (e) {
    throw describeWriteError(shown, e);
  }
}

/** Runs a file-system call, turning its failure into an {@link OutputError} naming the output. */
async function io<T>(shown: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw describeWriteError(shown, e);
  }
}

/** Whether the directory `path` is in exists (false when that cannot be seen). */
function directoryExists(path: string): boolean {
  try {
    return Deno.statSync(dirname(path)).isDirectory;
  } catch {
    return false;
  }
}

function isNotCapable(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable || (e as Error)?.name === "NotCapable";
}

/**
 * A Deno permission missing for the output `path` (as the user gave it): a `NotCapable` error
 * (the CLI's exit code 2) naming that path and the flag that grants what is missing, where Deno's
 * own message would name whichever file was touched (the temporary file, the link's target).
 */
function missingPermission(path: string, need: "read" | "write", why?: string): Error {
  const flag = need === "write" ? `--allow-write=${dirname(path)}` : `--allow-read=${path}`;
  const what = why ? `${why} needs ${need} access` : `cannot write without ${need} access`;
  return new Deno.errors.NotCapable(
    `${printable(path)}: ${what}: run again with ${printable(flag)}`,
  );
}

function describeWriteError(path: string, e: unknown, temporary = false): Error {
  if (isNotCapable(e)) {
    const need = /Requires (read|write) access/.exec((e as Error).message)?.[1];
    return need === "read"
      ? missingPermission(path, "read", "replacing it atomically")
      : missingPermission(
        path,
        "write",
        temporary ? "replacing it atomically (through a file beside it)" : undefined,
      );
  }
  const name = printable(path);
  if (e instanceof Deno.errors.NotFound) {
    // Also what a directory that takes no new files answers (/proc: `-o /proc/version`).
    return new OutputError(
      directoryExists(path)
        ? `${name}: cannot write: ${
          temporary ? "no file can be created beside it" : "not found"
        } (its directory exists)`
        : `${name}: cannot write: its directory does not exist`,
    );
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new OutputError(
      `${name}: cannot write: permission denied${
        temporary ? " (creating a temporary file beside it)" : ""
      }`,
    );
  }
  const message = (e as Error)?.message?.split("\n")[0] ?? String(e);
  return new OutputError(`${name}: cannot write: ${message.replace(/ \(os error \d+\)$/, "")}`);
}
