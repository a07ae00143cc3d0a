/**
 * What an input is, from its first bytes only (never its name): the one content detector that
 * `convert`, `upload` and `serve` share. Gzip is looked through: the compressed head is inflated
 * as far as it goes, into at most {@link DETECT_CONTENT_BYTES}, so a bomb costs nothing here.
 * @module
 */
import { sniffCapture } from "./capture_reader.ts";
import { gunzipIfNeeded, isGzip } from "./gzip.ts";
import { kindOfFields, sniffText } from "./zeek/sniff.ts";
import type { ZeekShape } from "./zeek/mod.ts";
import { SAMPLE_KEYS } from "./types.ts";

/** What {@link detect} recognises. */
export type ContentKind =
  | "pcap"
  | "pcapng"
  | "zeek-conn"
  | "zeek-dns"
  /** A Zeek log whose kind (conn or dns) the head does not show. */
  | "zeek"
  | "secflow"
  | "unknown";

/** The answer of {@link detect}. */
export interface Detection {
  /** What the content is; `unknown` when none of the formats matches. */
  kind: ContentKind;
  /** The bytes are gzip-compressed (the kind is that of the content). */
  gzip: boolean;
  /** For Zeek logs: TSV, JSON lines or a JSON array. */
  shape?: ZeekShape;
  /** The (decompressed) head the kind was read from. */
  content: Uint8Array;
}

/** How much decompressed content {@link detect} looks at. */
export const DETECT_CONTENT_BYTES = 65536;

/**
 * Detects the kind of input from its head (4 KiB is plenty for a plain file; give a gzip file's
 * first few KiB). A JSON text is a Secflow sample only when its first key is one of the
 * sample's keys: a Zeek JSON log that mentions "flashes" stays a log.
 *
 * @example
 * ```ts
 * import { detect } from "./detect.ts";
 * import assert from "node:assert/strict";
 * const text = new TextEncoder().encode('{"hash": "0", "trafficDate": "1.0"');
 * assert.equal((await detect(text)).kind, "secflow");
 * assert.equal((await detect(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1]))).kind, "pcap");
 * ```
 */
export async function detect(head: Uint8Array): Promise<Detection> {
  const gzip = isGzip(head);
  const content = gzip ? await inflateHead(head) : head;
  return { ...detectPlain(content), gzip, content };
}

function detectPlain(head: Uint8Array): { kind: ContentKind; shape?: ZeekShape } {
  const capture = sniffCapture(head);
  if (capture) return { kind: capture };
  const text = decoder.decode(head.subarray(0, Math.min(head.length, DETECT_CONTENT_BYTES)));
  if (startsLikeSample(text)) return { kind: "secflow" };
  const sniff = sniffText(head);
  if (!sniff) return { kind: "unknown" };
  if (sniff.format === "zeek") {
    const kind = sniff.kind === "conn" ? "zeek-conn" : sniff.kind === "dns" ? "zeek-dns" : "zeek";
    return { kind, shape: sniff.shape };
  }
  // The text sniffer takes JSON that mentions "flashes" and "trafficDate" anywhere for a
  // sample; the first key decided above. What is left is a log when it has Zeek's keys.
  const keys = [...text.slice(0, 8192).matchAll(/"([A-Za-z_][\w.]*)"\s*:/g)].map((m) => m[1]);
  if (keys.includes("ts") || keys.includes("uid") || keys.includes("id.orig_h")) {
    const kind = kindOfFields(keys);
    return {
      kind: kind === "conn" ? "zeek-conn" : kind === "dns" ? "zeek-dns" : "zeek",
      shape: text.trimStart().startsWith("[") ? "json-array" : "json",
    };
  }
  return { kind: "unknown" };
}

const decoder = new TextDecoder();

/**
 * The text is a JSON object whose first key is a sample's, or a file cut inside or just after
 * that key (`{"flas`): the `.sf` reader then says where the JSON ends, which is what the user
 * of a truncated sample needs to hear, rather than "not a capture".
 */
function startsLikeSample(text: string): boolean {
  const m = /^\uFEFF?\s*\{\s*"((?:[^"\\]|\\.)*)(?:"\s*(:|$)|$)/.exec(text);
  if (!m) return false;
  const key = m[1];
  if (m[2] === ":") return (SAMPLE_KEYS as readonly string[]).includes(key);
  // The text ends in the first key or before its colon.
  return key.length > 0 && SAMPLE_KEYS.some((k) => k.startsWith(key));
}

/**
 * As much of a gzip head's content as its bytes give, at most {@link DETECT_CONTENT_BYTES}. It goes
 * through the same bounded decompressor as the whole input ({@link gunzipIfNeeded}: each piece of
 * 4 KiB expands to at most ~4 MiB, however the head was made), and a head cut short or damaged
 * gives what came out before the fault. `node:zlib` would do this synchronously, but loading it
 * costs ~20 ms on every start of the CLI, a third of what tcpdump needs to read a 159 MB capture.
 */
async function inflateHead(head: Uint8Array): Promise<Uint8Array> {
  const content = new Uint8Array(DETECT_CONTENT_BYTES);
  let length = 0;
  try {
    for await (const piece of gunzipIfNeeded([head])) {
      const take = Math.min(piece.length, DETECT_CONTENT_BYTES - length);
      content.set(piece.subarray(0, take), length);
      length += take;
      if (length === DETECT_CONTENT_BYTES) break;
    }
  } catch { /* a head ends inside the stream: what came out is the content */ }
  return content.slice(0, length);
}
