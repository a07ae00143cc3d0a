/**
 * Zeek logs and text inputs from files: gzip looked through (streamed with
 * `DecompressionStream`, never read whole) and the conn.log / dns.log roles checked from content.
 * The `.sf` text is written by `io/output.ts` (two buffers, asynchronous writes, flushed as it
 * goes). One thread: reading, grouping and writing a million rows takes about 1.15 s on the
 * development VM when it is quiet (docs/BENCHMARKS.md).
 * @module
 */
import { InputError } from "../secflow/errors.ts";
import { printable } from "../secflow/printable.ts";
import {
  analyzeZeek,
  wrongLog,
  type ZeekAnalysis,
  type ZeekReaderOptions,
} from "../secflow/zeek/mod.ts";
import { sniffText, type TextSniff } from "../secflow/zeek/sniff.ts";
import { inputChunks, isGzip, openInput, readContentHead, readHead } from "./files.ts";

export { inputChunks, isGzip, readContentHead };

/** What a text file is, from its (decompressed) content. */
export async function sniffTextFile(path: string): Promise<TextSniff | undefined> {
  return sniffText(await readContentHead(path));
}

/**
 * What a caller that opened the conn.log already knows of it: its content head (gzip unwrapped),
 * whether it is gzip'd, and its size. Given, the file is not opened and read again for them.
 */
export interface OpenedLog {
  content: Uint8Array;
  gzip: boolean;
  size: number;
}

/**
 * Reads a conn.log (and a dns.log) from files and applies section 5. A dns.log given as the
 * conn.log, or a conn.log given as the dns.log, is an {@link InputError} that says so.
 */
export async function analyzeZeekFiles(
  connPath: string,
  dnsPath: string | undefined,
  options: ZeekFileOptions = {},
  opened?: OpenedLog,
): Promise<ZeekAnalysis> {
  const conn = opened ? sniffText(opened.content) : await sniffTextFile(connPath);
  if (conn?.format === "zeek" && conn.kind === "dns") {
    throw wrongLog(connPath, "dns", "conn");
  }
  if (dnsPath !== undefined) {
    const dns = await sniffTextFile(dnsPath);
    if (dns?.format === "zeek" && dns.kind === "conn") {
      throw wrongLog(dnsPath, "conn", "dns");
    }
    if (!dns || dns.format !== "zeek") {
      const head = await readContentHead(dnsPath, 64);
      throw new InputError(
        head.length === 0
          ? `${printable(dnsPath)}: the file is empty, not a Zeek dns.log`
          : `${printable(dnsPath)}: not a Zeek dns.log`,
        { kind: head.length === 0 ? "empty" : "unrecognised", file: dnsPath },
      );
    }
  }
  // One-line errors for missing files (a conn.log opened by the caller is there).
  if (!opened) (await openInput(connPath)).close();
  if (dnsPath !== undefined) (await openInput(dnsPath)).close();
  const gzip = opened?.gzip ?? isGzip(await readHead(connPath, 2));
  const size = opened?.size ?? (await Deno.stat(connPath)).size;
  // gzip'd logs shrink about 8 times.
  const bytesHint = options.bytesHint ?? (gzip ? size * 8 : size);
  // About 60 bytes is the shortest real TSV row; unused capacity costs address space only.
  const rowsHint = options.rowsHint ?? Math.ceil(bytesHint / 60);
  return await analyzeZeek(
    {
      conn: inputChunks(connPath),
      dns: dnsPath === undefined ? undefined : inputChunks(dnsPath),
      connName: connPath,
      dnsName: dnsPath,
    },
    { ...options, rowsHint, bytesHint },
  );
}

/** Options of {@link analyzeZeekFiles}. */
export type ZeekFileOptions = ZeekReaderOptions;
