/**
 * What an input is, from its first bytes only (never its name): the one content detector that
 * `convert`, `upload` and `serve` share. Gzip is looked through: the compressed head is inflated
 * as far as it goes, into at most {@link DETECT_CONTENT_BYTES}, so a bomb costs nothing here.
 * @module
 */
import { constants, gunzipSync } from "node:zlib";
import { sniffCapture } from "./capture_reader.ts";
import { isGzip } from "./gzip.ts";
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
 * assert.equal(detect(text).kind, "secflow");
 * assert.equal(detect(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1])).kind, "pcap");
 * ```
 */
export function detect(head: Uint8Array): Detection {
  const gzip = isGzip(head);
  const content = gzip ? inflateHead(head) : head;
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
 * As much of a gzip head's content as its bytes give, at most {@link DETECT_CONTENT_BYTES}:
 * zlib refuses rather than truncates past its output limit, so a head that expands further is
 * tried again with fewer compressed bytes.
 */
function inflateHead(head: Uint8Array): Uint8Array {
  // Deflate expands up to ~1032 times, and zlib may produce all of it before refusing: the
  // compressed bytes given grow from 256, so no attempt can expand past a few hundred KiB.
  let best = new Uint8Array(0);
  for (
    let n = Math.min(256, head.length);
    n > 0;
    n = n >= head.length ? 0 : Math.min(head.length, n * 2)
  ) {
    try {
      best = new Uint8Array(
        gunzipSync(head.subarray(0, n), {
          finishFlush: constants.Z_SYNC_FLUSH,
          maxOutputLength: DETECT_CONTENT_BYTES,
        }),
      );
    } catch (e) {
      if ((e as { code?: string }).code !== "ERR_BUFFER_TOO_LARGE") return best;
      // Past the limit: what the last attempt gave is enough (or retry smaller pieces).
      if (best.length > 0) return best;
      for (let m = n >> 1; m >= 16; m >>= 1) {
        try {
          return new Uint8Array(
            gunzipSync(head.subarray(0, m), {
              finishFlush: constants.Z_SYNC_FLUSH,
              maxOutputLength: DETECT_CONTENT_BYTES,
            }),
          );
        } catch { /* still too much */ }
      }
      return best;
    }
    if (best.length >= DETECT_CONTENT_BYTES) return best;
  }
  return best;
}
