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
import { sniffText } from "../secflow/zeek/sniff.ts";
import { type ContentHead, inputChunks, readContentHead, readContentHeadOf } from "./files.ts";

/**
 * What a caller that opened the conn.log already knows of it: its content head (gzip unwrapped),
 * whether it is gzip'd, and its size. Given, the file is not opened and read again for them.
 */
export type OpenedLog = ContentHead;

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
  // Each file is opened once here (its head, gzip flag and size) and once by the reader.
  const log = opened ?? await readContentHeadOf(connPath);
  const conn = sniffText(log.content);
  if (conn?.format === "zeek" && conn.kind === "dns") {
    throw wrongLog(connPath, "dns", "conn");
  }
  if (dnsPath !== undefined) {
    const head = await readContentHead(dnsPath);
    const dns = sniffText(head);
    if (dns?.format === "zeek" && dns.kind === "conn") {
      throw wrongLog(dnsPath, "conn", "dns");
    }
    if (!dns || dns.format !== "zeek") {
      throw new InputError(
        head.length === 0
          ? `${printable(dnsPath)}: the file is empty, not a Zeek dns.log`
          : `${printable(dnsPath)}: not a Zeek dns.log`,
        { kind: head.length === 0 ? "empty" : "unrecognised", file: dnsPath },
      );
    }
  }
  const { gzip, size } = log;
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
