/**
 * Reading input files in large reused chunks, with one-line errors that say what a path is not.
 * @module
 */
import { InputError } from "../secflow/errors.ts";
import { gunzipIfNeeded, isGzip } from "../secflow/gzip.ts";
import { detect } from "../secflow/detect.ts";

export { isGzip };

/**
 * Chunk size for reading inputs: large enough that per-read overhead vanishes, small enough that
 * the chunk stays in the CPU cache while it is parsed (bench/read_size.ts measures 64 KiB-1 MiB;
 * 256 KiB was fastest or level, docs/BENCHMARKS.md).
 */
export const CHUNK_BYTES = 256 * 1024;

/** Opens `path` for reading, turning the usual failures into one-line {@link InputError}s. */
export async function openInput(path: string): Promise<Deno.FsFile> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw describeOpenError(path, e);
  }
  if (info.isDirectory) {
    throw new InputError(`${path}: is a directory, not a file`, { kind: "unreadable", file: path });
  }
  try {
    return await Deno.open(path, { read: true });
  } catch (e) {
    throw describeOpenError(path, e);
  }
}

function describeOpenError(path: string, e: unknown): Error {
  const facts = { kind: "unreadable", file: path } as const;
  if (e instanceof Deno.errors.NotFound) return new InputError(`${path}: no such file`, facts);
  if (e instanceof Deno.errors.PermissionDenied) {
    return new InputError(`${path}: permission denied`, facts);
  }
  if (e instanceof Deno.errors.NotCapable || (e as Error)?.name === "NotCapable") {
    // Deno's message names no file the user can act on in a list of inputs: name it, and the flag.
    return new Deno.errors.NotCapable(
      `${path}: cannot read without read access: run again with --allow-read=${path}`,
    );
  }
  return new InputError(`${path}: cannot open: ${(e as Error).message}`, facts);
}

/**
 * The file's bytes as chunks of one reused buffer: each chunk is valid until the next one is
 * requested. Reads are synchronous: from the page cache a 1 MiB read takes tens of microseconds,
 * and an asynchronous read per chunk costs more in scheduling than the read itself (measured:
 * 15 ms against 35-50 ms for 150 MB).
 */
export async function* fileChunks(
  path: string,
  chunkBytes = CHUNK_BYTES,
): AsyncGenerator<Uint8Array> {
  const file = await openInput(path);
  try {
    const buf = new Uint8Array(chunkBytes);
    while (true) {
      // Fill the buffer as far as one read goes; short reads are fine.
      const n = file.readSync(buf);
      if (n === null) return;
      yield buf.subarray(0, n);
    }
  } finally {
    file.close();
  }
}

/** The file's bytes, decompressed when it is gzip, as a stream of chunks. */
export function inputChunks(path: string): AsyncGenerator<Uint8Array> {
  return gunzipIfNeeded(fileChunks(path), path);
}

/** The first `n` bytes of the file's content, looking through gzip (see {@link readContentHeadOf}). */
export async function readContentHead(path: string, n = 65536): Promise<Uint8Array> {
  return (await readContentHeadOf(path, n)).content;
}

/** What {@link readContentHeadOf} tells of a file. */
export interface ContentHead {
  /** The first bytes of its content, gzip looked through. */
  content: Uint8Array;
  /** Whether the file is gzip'd. */
  gzip: boolean;
  /** Its size in bytes (0 for what is not a regular file). */
  size: number;
}

/**
 * The first `n` bytes of the file's content, looking through gzip (at least the first 4 KiB, or
 * the whole file when shorter), whether it is gzip'd, and its size. The file is opened once: its
 * first 4 KiB tell whether it is gzip, and the rest is read from the same handle.
 */
export async function readContentHeadOf(path: string, n = 65536): Promise<ContentHead> {
  const file = await openInput(path);
  try {
    const size = (await file.stat()).size;
    const head = await readUpTo(file, 4096);
    if (!isGzip(head)) {
      if (head.length >= n || head.length < 4096) return { content: head, gzip: false, size };
      const whole = new Uint8Array(n);
      whole.set(head);
      const rest = await readUpTo(file, n - head.length);
      whole.set(rest, head.length);
      return { content: whole.subarray(0, head.length + rest.length), gzip: false, size };
    }
    const out = new Uint8Array(n);
    let got = 0;
    try {
      for await (const chunk of gunzipIfNeeded(headThenRest(head, file), path)) {
        const take = Math.min(chunk.length, n - got);
        out.set(chunk.subarray(0, take), got);
        got += take;
        if (got >= n) break;
      }
    } catch (e) {
      if (got === 0) throw e;
    }
    return { content: out.subarray(0, got), gzip: true, size };
  } finally {
    file.close();
  }
}

/** `head`, then what `file` holds after it, in 64 KiB reads. */
async function* headThenRest(head: Uint8Array, file: Deno.FsFile): AsyncGenerator<Uint8Array> {
  yield head;
  while (true) {
    const buf = new Uint8Array(65536);
    const n = await file.read(buf);
    if (n === null) return;
    yield buf.subarray(0, n);
  }
}

/** The paths that mean standard input. */
export function isStdin(path: string): boolean {
  return path === "-" || path === "/dev/stdin" || path === "/proc/self/fd/0";
}

/** Bytes of standard input kept for a second reading (see {@link InputSource.raw}). */
export const STDIN_REPLAY_BYTES = 64 << 20;

/**
 * One input, opened once: its head is read and buffered up front (to detect what it is), and its
 * bytes are then streamed from the start without opening it again. A file can be read again (a
 * capture needs that in a rare case); standard input keeps up to {@link STDIN_REPLAY_BYTES} of
 * what it read for that, and a larger stdin that needs it is an error that says to use a file.
 */
export interface InputSource {
  /** The name used in messages (`standard input` for stdin). */
  name: string;
  /** The file's path; undefined for standard input. */
  path?: string;
  /** Size in bytes when known (a regular file). */
  size?: number;
  /** The first raw bytes (up to 64 KiB; fewer only when the input is shorter). */
  head: Uint8Array;
  /** Raw bytes read so far by the current reading (for progress). */
  bytesRead: number;
  /** The raw bytes from the start. */
  raw(): AsyncIterable<Uint8Array>;
  /** The content from the start, gzip decompressed in bounded pieces. */
  content(): AsyncIterable<Uint8Array>;
}

const HEAD_BYTES = 65536;

/** Opens `path` (or standard input for `-` and `/dev/stdin`) as an {@link InputSource}. */
export async function openSource(path: string): Promise<InputSource> {
  if (isStdin(path)) return await stdinSource();
  const file = await openInput(path);
  let size: number | undefined;
  try {
    const info = await file.stat();
    size = info.isFile ? info.size : undefined;
    const head = await readUpTo(file, HEAD_BYTES);
    const once = size === undefined
      ? onceOnly(file, head, path, await isCaptureHead(head))
      : undefined;
    const source: InputSource = {
      name: path,
      path,
      size,
      head,
      bytesRead: 0,
      raw: () => counted(source, once ?? fileChunks(path)),
      content: () => gunzipIfNeeded(source.raw(), path),
    };
    if (size !== undefined) file.close();
    return source;
  } catch (e) {
    try {
      file.close();
    } catch { /* closed */ }
    throw e;
  }
}

/** Up to `n` bytes from `file`'s position (fewer only at its end): reads until full. */
async function readUpTo(
  file: { read(p: Uint8Array): Promise<number | null> },
  n: number,
): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await file.read(buf.subarray(got));
    if (r === null) break;
    got += r;
  }
  return buf.subarray(0, got);
}

async function* counted(
  source: InputSource,
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  source.bytesRead = 0;
  for await (const chunk of chunks) {
    source.bytesRead += chunk.length;
    yield chunk;
  }
}

/** A pipe or device opened once: the buffered head, then the rest; a second reading fails. */
function onceOnly(
  file: Deno.FsFile,
  head: Uint8Array,
  name: string,
  keep: boolean,
): AsyncIterable<Uint8Array> {
  return replayable(file, head, name, keep, () => {
    try {
      file.close();
    } catch { /* closed */ }
  });
}

async function stdinSource(): Promise<InputSource> {
  const head = await readUpTo(Deno.stdin, HEAD_BYTES);
  const source: InputSource = {
    name: "standard input",
    head,
    bytesRead: 0,
    raw: () => counted(source, stdinChunks),
    content: () => gunzipIfNeeded(source.raw(), "standard input"),
  };
  const stdinChunks = replayable(
    Deno.stdin,
    head,
    "standard input",
    await isCaptureHead(head),
    () => {},
  );
  return source;
}

/** Whether a head is a capture (plain or gzip'd), the one kind of input read twice. */
async function isCaptureHead(head: Uint8Array): Promise<boolean> {
  const kind = (await detect(head)).kind;
  return kind === "pcap" || kind === "pcapng";
}

/**
 * A stream read once that can be iterated again: the first iteration keeps what it reads (up to
 * {@link STDIN_REPLAY_BYTES}), later ones replay that.
 */
function replayable(
  reader: { read(p: Uint8Array): Promise<number | null> },
  head: Uint8Array,
  name: string,
  keep: boolean,
  done: () => void,
): AsyncIterable<Uint8Array> {
  // Only captures are ever read twice: other inputs keep nothing.
  let kept: Uint8Array[] | null = keep ? [head] : null;
  let keptBytes = head.length;
  let read = false;
  return {
    async *[Symbol.asyncIterator]() {
      if (read) {
        if (!kept) {
          throw new InputError(
            `${name}: this capture must be read twice and is over ${
              STDIN_REPLAY_BYTES >> 20
            } MiB: give it as a file`,
          );
        }
        yield* kept;
        return;
      }
      read = true;
      if (head.length > 0) yield head;
      try {
        while (true) {
          const buf = new Uint8Array(CHUNK_BYTES);
          const n = await reader.read(buf);
          if (n === null) return;
          const chunk = buf.subarray(0, n);
          if (kept) {
            keptBytes += n;
            if (keptBytes > STDIN_REPLAY_BYTES) kept = null;
            else kept.push(chunk);
          }
          yield chunk;
        }
      } finally {
        done();
      }
    },
  };
}
