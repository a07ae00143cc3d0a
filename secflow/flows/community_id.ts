/**
 * Community ID v1 (https://github.com/corelight/community-id-spec): SHA-1 over the seed, the two
 * addresses, the protocol, a zero pad byte and (for TCP, UDP, SCTP, ICMP and ICMPv6) the two
 * ports, endpoints ordered so that both directions give the same ID; ICMP types without a reply
 * kind are "one-way" and keep their order. Base64, prefixed `1:`. Computed once per flow.
 * @module
 */
import { createHash } from "node:crypto";

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

/**
 * The Community ID of a flow from `src` to `dst` (addresses as four big-endian int32 words from
 * `srcAt`/`dstAt`, IPv4 in the first word), `proto`, ports (ICMP: type and paired type or code),
 * with seed 0.
 */
export function communityIdOfWords(
  version: 4 | 6,
  src: Int32Array,
  srcAt: number,
  dst: Int32Array,
  dstAt: number,
  proto: number,
  sp: number,
  dp: number,
  icmpOneWay: boolean,
): string {
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
  return "1:" + createHash("sha1").update(input.subarray(0, at)).digest("base64");
}

/**
 * The Community ID of a flow given as text addresses (IPv4 dotted or IPv6).
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
  icmpOneWay = false,
): string {
  const s = wordsOf(src), d = wordsOf(dst);
  if (!s || !d || s.version !== d.version) {
    throw new Error(`not a pair of IP addresses: ${src} ${dst}`);
  }
  return communityIdOfWords(s.version, s.words, 0, d.words, 0, proto, sp, dp, icmpOneWay);
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
