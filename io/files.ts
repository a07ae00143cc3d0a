/**
 * Reading input files in large reused chunks, with one-line errors that say what a path is not.
 * @module
 */
import { InputError } from "../secflow/errors.ts";
import { gunzipIfNeeded, isGzip } from "../secflow/gzip.ts";

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
  if (info.isDirectory) throw new InputError(`${path}: is a directory, not a file`);
  try {
    return await Deno.open(path, { read: true });
  } catch (e) {
    throw describeOpenError(path, e);
  }
}

function describeOpenError(path: string, e: unknown): Error {
  if (e instanceof Deno.errors.NotFound) return new InputError(`${path}: no such file`);
  if (e instanceof Deno.errors.PermissionDenied) {
    return new InputError(`${path}: permission denied`);
  }
  if (e instanceof Deno.errors.NotCapable) return e;
  return new InputError(`${path}: cannot open: ${(e as Error).message}`);
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

/** The first `n` bytes of a file (fewer when it is shorter). */
export async function readHead(path: string, n = 4096): Promise<Uint8Array> {
  const file = await openInput(path);
  try {
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = await file.read(buf.subarray(got));
      if (r === null) break;
      got += r;
    }
    return buf.subarray(0, got);
  } finally {
    file.close();
  }
}

/** Writes `text` to `path` atomically: a temporary file beside it, then a rename. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Writes `chunks` to `path` atomically: a temporary file beside it, then a rename. Each chunk is
 * written before the next is requested, so the chunks may share one buffer.
 */
export async function writeChunksAtomic(path: string, chunks: Iterable<Uint8Array>): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    for (const chunk of chunks) {
      for (let off = 0; off < chunk.length;) off += file.writeSync(chunk.subarray(off));
    }
    file.close();
    await Deno.rename(tmp, path);
  } catch (e) {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** The file's bytes, decompressed when it is gzip, as a stream of chunks. */
export function inputChunks(path: string): AsyncGenerator<Uint8Array> {
  return gunzipIfNeeded(fileChunks(path));
}

/** The first `n` bytes of the file's content, looking through gzip. */
export async function readContentHead(path: string, n = 65536): Promise<Uint8Array> {
  const head = await readHead(path, 4096);
  if (!isGzip(head)) return head.length >= n || head.length < 4096 ? head : await readHead(path, n);
  const out = new Uint8Array(n);
  let got = 0;
  try {
    for await (const chunk of gunzipIfNeeded(fileChunks(path, 65536))) {
      const take = Math.min(chunk.length, n - got);
      out.set(chunk.subarray(0, take), got);
      got += take;
      if (got >= n) break;
    }
  } catch (e) {
    if (got === 0) throw new InputError(`${path}: ${(e as Error).message}`);
  }
  return out.subarray(0, got);
}
