/**
 * Upload type detection from a file's first bytes.
 * @module
 */
import type { UploadType } from "./types.ts";

/**
 * The upload type of content starting with `head` (a few KiB are enough): pcap by its four magic
 * numbers, pcapng by its section header block, a JSON object mentioning `"flashes"` as a Secflow
 * sample, anything else as Zeek logs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sniffUploadType } from "./detect.ts";
 * assert.equal(sniffUploadType(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1])), "pcap");
 * ```
 */
export function sniffUploadType(head: Uint8Array): UploadType {
  if (head.length >= 4) {
    const m = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
    if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1) return "pcap";
    if (m === 0x0a0d0d0a) return "pcapng";
  }
  const text = new TextDecoder().decode(head.subarray(0, 65536));
  const start = text.replace(/^\uFEFF/, "").trimStart();
  if (start.startsWith("{") && text.includes('"flashes"')) return "secflow";
  return "zeek";
}

/** Reads the first 64 KiB of the file at `path` and {@link sniffUploadType}s them. */
export async function detectUploadType(path: string): Promise<UploadType> {
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(65536);
    let n = 0;
    while (n < buf.length) {
      const r = await file.read(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    return sniffUploadType(buf.subarray(0, n));
  } finally {
    file.close();
  }
}
