/**
 * Zeek logs and text inputs from files: gzip looked through (streamed with
 * `DecompressionStream`, never read whole), the conn.log / dns.log roles checked from content, and
 * the `.sf` text written piece by piece.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { InputError } from "../secflow/errors.ts";
import {
  analyzeZeek,
  gunzipIfNeeded,
  type ZeekAnalysis,
  type ZeekReaderOptions,
} from "../secflow/zeek.ts";
import type { ZeekSampleText } from "../secflow/zeek_sample.ts";
import { sniffText, type TextSniff } from "../secflow/zeek_parse.ts";
import { fileChunks, openInput, readHead } from "./files.ts";

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
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

/** What a text file is, from its (decompressed) content. */
export async function sniffTextFile(path: string): Promise<TextSniff | undefined> {
  return sniffText(await readContentHead(path));
}

/**
 * Reads a conn.log (and a dns.log) from files and applies section 5. A dns.log given as the
 * conn.log, or a conn.log given as the dns.log, is an {@link InputError} that says so.
 */
export async function analyzeZeekFiles(
  connPath: string,
  dnsPath: string | undefined,
  options: ZeekReaderOptions = {},
): Promise<ZeekAnalysis> {
  const conn = await sniffTextFile(connPath);
  if (conn?.format === "zeek" && conn.kind === "dns") {
    throw new InputError(
      `${connPath}: this is a Zeek dns.log, not a conn.log; give the conn.log as INPUT and this file with --dns`,
    );
  }
  if (dnsPath !== undefined) {
    const dns = await sniffTextFile(dnsPath);
    if (dns?.format === "zeek" && dns.kind === "conn") {
      throw new InputError(
        `${dnsPath}: this is a Zeek conn.log, not a dns.log; --dns takes the dns.log (give the conn.log as INPUT)`,
      );
    }
    if (!dns || dns.format !== "zeek") {
      const head = await readContentHead(dnsPath, 64);
      throw new InputError(
        head.length === 0
          ? `${dnsPath}: the file is empty, not a Zeek dns.log`
          : `${dnsPath}: not a Zeek dns.log`,
      );
    }
  }
  let rowsHint = options.rowsHint;
  if (rowsHint === undefined) {
    const head = await readHead(connPath, 2);
    const size = (await Deno.stat(connPath)).size;
    // About 60 bytes is the shortest real TSV row; unused capacity costs address space only.
    rowsHint = Math.ceil((isGzip(head) ? size * 8 : size) / 60);
  }
  const file = await openInput(connPath); // one-line errors for missing files
  file.close();
  if (dnsPath !== undefined) (await openInput(dnsPath)).close();
  return await analyzeZeek(
    {
      conn: inputChunks(connPath),
      dns: dnsPath === undefined ? undefined : inputChunks(dnsPath),
      connName: connPath,
      dnsName: dnsPath,
    },
    { ...options, rowsHint },
  );
}

/** Writes a streamed `.sf` to `path` atomically: a temporary file beside it, then a rename. */
export async function writeSampleText(path: string, text: ZeekSampleText): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    for (const chunk of text.chunks()) {
      let off = 0;
      while (off < chunk.length) off += file.writeSync(chunk.subarray(off));
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
