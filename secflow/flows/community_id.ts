/**
 * Community ID v1 (https://github.com/corelight/community-id-spec): SHA-1 over the seed, the two
 * addresses, the protocol, a zero pad byte and (for TCP, UDP, SCTP, ICMP and ICMPv6) the two
 * ports, endpoints ordered so that both directions give the same ID; ICMP types without a reply
 * kind are "one-way" and keep their order. Base64, prefixed `1:`. Computed once per flow.
 * @module
 */
import { ICMP4_PAIR, ICMP6_PAIR } from "./decode.ts";

/** SHA-1's message schedule, reused. */
const W = new Int32Array(80);
const BLOCK = new Uint8Array(64);
const DIGEST = new Uint8Array(20);
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * SHA-1 of `m[0, n)` for n <= 55 (one block: every Community ID input fits), into {@link DIGEST}.
 * In JavaScript on purpose: `node:crypto`'s createHash costs about 20 µs a call in Deno, more
 * than the rest of a flow's work.
 */
function sha1Short(m: Uint8Array, n: number): void {
  BLOCK.fill(0);
  BLOCK.set(m.subarray(0, n));
  BLOCK[n] = 0x80;
  const bits = n * 8;
  BLOCK[62] = (bits >>> 8) & 255;
  BLOCK[63] = bits & 255;
  for (let i = 0; i < 16; i++) {
    const o = i * 4;
    W[i] = (BLOCK[o] << 24) | (BLOCK[o + 1] << 16) | (BLOCK[o + 2] << 8) | BLOCK[o + 3];
  }
  for (let i = 16; i < 80; i++) {
    const x = W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16];
    W[i] = (x << 1) | (x >>> 31);
  }
  let a = 0x67452301, b = 0xefcdab89 | 0, c = 0x98badcfe | 0, d = 0x10325476, e = 0xc3d2e1f0 | 0;
  for (let i = 0; i < 80; i++) {
    const f = i < 20
      ? ((b & c) | (~b & d)) + 0x5a827999
      : i < 40
      ? (b ^ c ^ d) + 0x6ed9eba1
      : i < 60
      ? ((b & c) | (b & d) | (c & d)) + (0x8f1bbcdc | 0)
      : (b ^ c ^ d) + (0xca62c1d6 | 0);
    const t = (((a << 5) | (a >>> 27)) + f + e + W[i]) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  word(0, (0x67452301 + a) | 0);
  word(4, (0xefcdab89 + b) | 0);
  word(8, (0x98badcfe + c) | 0);
  word(12, (0x10325476 + d) | 0);
  word(16, (0xc3d2e1f0 + e) | 0);
}

function word(at: number, h: number): void {
  DIGEST[at] = h >>> 24;
  DIGEST[at + 1] = (h >>> 16) & 255;
  DIGEST[at + 2] = (h >>> 8) & 255;
  DIGEST[at + 3] = h & 255;
}

/** Base64 of {@link DIGEST} (20 bytes: 27 characters and one `=`). */
function digestBase64(): string {
  let out = "";
  for (let i = 0; i < 18; i += 3) {
    const v = (DIGEST[i] << 16) | (DIGEST[i + 1] << 8) | DIGEST[i + 2];
    out += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
  }
  const v = (DIGEST[18] << 16) | (DIGEST[19] << 8);
  return out + B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + "=";
}

const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));

/** {@link digestBase64} after `1:`, written as bytes into `out` at `at`; returns the end (at + 30). */
function putDigest(out: Uint8Array, at: number): number {
  out[at++] = 49; // 1
  out[at++] = 58; // :
  for (let i = 0; i < 18; i += 3) {
    const v = (DIGEST[i] << 16) | (DIGEST[i + 1] << 8) | DIGEST[i + 2];
    out[at++] = B64_CODES[v >> 18];
    out[at++] = B64_CODES[(v >> 12) & 63];
    out[at++] = B64_CODES[(v >> 6) & 63];
    out[at++] = B64_CODES[v & 63];
  }
  const v = (DIGEST[18] << 16) | (DIGEST[19] << 8);
  out[at++] = B64_CODES[v >> 18];
  out[at++] = B64_CODES[(v >> 12) & 63];
  out[at++] = B64_CODES[(v >> 6) & 63];
  out[at++] = 61; // =
  return at;
}

const input = new Uint8Array(2 + 16 + 16 + 2 + 4);

function put(words: Int32Array, from: number, n: number, at: number): number {
  for (let i = 0; i < n; i++) {
    const w = words[from + i];
    input[at++] = (w >>> 24) & 255;
    input[at++] = (w >>> 16) & 255;
    input[at++] = (w >>> 8) & 255;
    input[at++] = w & 255;
  }
  return at;
}

/** Unsigned lexicographic comparison of two addresses of `n` words, then ports. */
function less(
  a: Int32Array,
  ai: number,
  b: Int32Array,
  bi: number,
  n: number,
  ap: number,
  bp: number,
): boolean {
  for (let i = 0; i < n; i++) {
    const x = a[ai + i] >>> 0, y = b[bi + i] >>> 0;
    if (x !== y) return x < y;
  }
  return ap < bp;
}

/** The Community ID of the flow {@link hashFlowKey} hashed last. */
export function lastCommunityId(): string {
  return "1:" + digestBase64();
}

/**
 * The Community ID of the flow {@link hashFlowKey} hashed last, written as its 30 bytes into
 * `out` at `at` (no string made); returns the end.
 */
export function putLastCommunityId(out: Uint8Array, at: number): number {
  return putDigest(out, at);
}

/**
 * Hashes the Community ID input of a flow from `src` to `dst` (addresses as four big-endian int32
 * words from `srcAt`/`dstAt`, IPv4 in the first word), `proto`, ports (ICMP: type and paired type
 * or code), with seed 0. Its text is then {@link lastCommunityId} or {@link putLastCommunityId}.
 */
export function hashFlowKey(
  version: 4 | 6,
  src: Int32Array,
  srcAt: number,
  dst: Int32Array,
  dstAt: number,
  proto: number,
  sp: number,
  dp: number,
  icmpOneWay: boolean,
): void {
  const n = version === 4 ? 1 : 4;
  const icmp = proto === 1 || proto === 58;
  const ports = proto === 6 || proto === 17 || proto === 132 || icmp;
  let swap = !less(src, srcAt, dst, dstAt, n, ports ? sp : 0, ports ? dp : 0);
  if (icmp && icmpOneWay) swap = false;
  let at = 2;
  input[0] = 0;
  input[1] = 0;
  at = put(swap ? dst : src, swap ? dstAt : srcAt, n, at);
  at = put(swap ? src : dst, swap ? srcAt : dstAt, n, at);
  input[at++] = proto;
  input[at++] = 0;
  if (ports) {
    const a = swap ? dp : sp, b = swap ? sp : dp;
    input[at++] = a >> 8;
    input[at++] = a & 255;
    input[at++] = b >> 8;
    input[at++] = b & 255;
  }
  sha1Short(input, at);
}

/**
 * The Community ID of a flow given as text addresses (IPv4 dotted or IPv6) and ports; for ICMP
 * and ICMPv6 the ports are the message's type and code, mapped as the specification maps them
 * (a request/reply type pairs with its counterpart; other types are one-way).
 *
 * @example The specification's TCP test vector
 * ```ts
 * import assert from "node:assert/strict";
 * import { communityId } from "./community_id.ts";
 * assert.equal(
 *   communityId("128.232.110.120", "66.35.250.204", 6, 34855, 80),
 *   "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
 * );
 * ```
 */
export function communityId(
  src: string,
  dst: string,
  proto: number,
  sp: number,
  dp: number,
): string {
  let icmpOneWay = false;
  if (proto === 1 || proto === 58) {
    const pair = (proto === 1 ? ICMP4_PAIR : ICMP6_PAIR)[sp & 255];
    if (pair >= 0) dp = pair;
    else icmpOneWay = true;
  }
  const s = wordsOf(src), d = wordsOf(dst);
  if (!s || !d || s.version !== d.version) {
    throw new Error(`not a pair of IP addresses: ${src} ${dst}`);
  }
  hashFlowKey(s.version, s.words, 0, d.words, 0, proto, sp, dp, icmpOneWay);
  return lastCommunityId();
}

/** An address as four int32 words and its version, or undefined when it is not one. */
export function wordsOf(text: string): { version: 4 | 6; words: Int32Array } | undefined {
  const words = new Int32Array(4);
  if (!text.includes(":")) {
    const parts = text.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
      return undefined;
    }
    words[0] = parts.reduce((n, p) => n * 256 + Number(p), 0) | 0;
    return { version: 4, words };
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  let head = groups(halves[0]);
  let tail = halves.length === 2 ? groups(halves[1]) : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4).
  const last = (halves.length === 2 ? tail : head).at(-1);
  if (last && last.includes(".")) {
    const v4 = wordsOf(last);
    if (!v4 || v4.version !== 4) return undefined;
    const w = v4.words[0] >>> 0;
    const extra = [(w >>> 16).toString(16), (w & 0xffff).toString(16)];
    if (halves.length === 2) tail = [...tail.slice(0, -1), ...extra];
    else head = [...head.slice(0, -1), ...extra];
  }
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 0 : fill !== 0) return undefined;
  const all = [...head, ...new Array(fill).fill("0"), ...tail];
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return undefined;
    const v = parseInt(all[i], 16);
    words[i >> 1] |= i & 1 ? v : v << 16;
  }
  return { version: 6, words };
}
