/**
 * Passive DNS harvesting (SECFLOW.md section 2, step A): names from DNS responses, read straight
 * from packet bytes, and the "local lookups exist" signal.
 * @module
 */
import { isLocalLookupAnswer } from "./net.ts";

/** A harvested `(name, time, address)` for one A record. */
export interface HarvestedName {
  /** The question name, as section 2 step A spells it. */
  name: string;
  /** Seconds, as the double the platform uses. */
  time: number;
}

const MAX_POINTER_HOPS = 32;

/**
 * Collects names from DNS responses. One instance per input (or per live window).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DnsHarvest } from "./dns.ts";
 * const harvest = new DnsHarvest();
 * assert.equal(harvest.namesFor(0x5db8d822), undefined); // until a response names 93.184.216.34
 * ```
 */
export class DnsHarvest {
  /** Answer address → names in harvest order. */
  readonly byAddress: Map<number, HarvestedName[]> = new Map();
  /** True once an A answer or a PTR question points at a private address. */
  localLookups = false;
  /** DNS responses read. */
  responses = 0;
  /** A answers skipped because their name is one a resolver would reject (see {@link isUsableName}). */
  rejectedNames = 0;

  /** Names harvested for `ip`, in harvest order. */
  namesFor(ip: number): HarvestedName[] | undefined {
    return this.byAddress.get(ip);
  }

  /** Records one A answer. */
  addAddress(name: string, time: number, ip: number): void {
    if (!isUsableName(name)) {
      this.rejectedNames++;
      return;
    }
    const list = this.byAddress.get(ip);
    if (list) list.push({ name, time });
    else this.byAddress.set(ip, [{ name, time }]);
    if (isLocalLookupAnswer(ip)) this.localLookups = true;
  }

  /**
   * Reads a DNS message at `b[start, end)` (a UDP payload, or a TCP payload when `tcp`, which
   * carries two-byte length prefixes) and harvests it when it is a standard-query response.
   */
  harvest(b: Uint8Array, start: number, end: number, time: number, tcp: boolean): void {
    if (!tcp) {
      this.#message(b, start, end, time);
      return;
    }
    let p = start;
    while (p + 2 <= end) {
      const len = (b[p] << 8) | b[p + 1];
      if (len < 12) return;
      this.#message(b, p + 2, Math.min(end, p + 2 + len), time);
      p += 2 + len;
    }
  }

  #message(b: Uint8Array, m: number, end: number, time: number): void {
    if (end - m < 12) return;
    const flags = (b[m + 2] << 8) | b[m + 3];
    if ((flags & 0x8000) === 0 || ((flags >> 11) & 15) !== 0) return;
    const qd = (b[m + 4] << 8) | b[m + 5];
    const records = ((b[m + 6] << 8) | b[m + 7]) + ((b[m + 8] << 8) | b[m + 9]) +
      ((b[m + 10] << 8) | b[m + 11]);
    const answers = (b[m + 6] << 8) | b[m + 7];
    if (qd === 0) return;
    this.responses++;
    const q = readName(b, m, m + 12, end);
    if (!q) return;
    let p = q.next;
    if (p + 4 > end) return;
    const qtype = (b[p] << 8) | b[p + 1];
    p += 4;
    if (qtype !== 1 && qtype !== 12) return;
    for (let i = 1; i < qd; i++) {
      const next = skipName(b, p, end);
      if (next < 0 || next + 4 > end) return;
      p = next + 4;
    }
    let ptrAnswers = 0;
    for (let i = 0; i < records; i++) {
      const at = skipName(b, p, end);
      if (at < 0 || at + 10 > end) break;
      const type = (b[at] << 8) | b[at + 1];
      const cls = (b[at + 2] << 8) | b[at + 3];
      const rdlen = (b[at + 8] << 8) | b[at + 9];
      const rdata = at + 10;
      if (rdata + rdlen > end) break;
      if (qtype === 1 && type === 1 && cls === 1 && rdlen === 4) {
        const ip =
          ((b[rdata] << 24) | (b[rdata + 1] << 16) | (b[rdata + 2] << 8) | b[rdata + 3]) >>> 0;
        this.addAddress(q.name, time, ip);
      } else if (qtype === 12 && type === 12 && i < answers) {
        ptrAnswers++;
      }
      p = rdata + rdlen;
    }
    if (ptrAnswers > 0 && isPrivateReverseName(q.name)) this.localLookups = true;
  }
}

/** Longest name a resolver accepts, in its dotted form (RFC 1035's 255 octets on the wire). */
export const MAX_NAME_LENGTH = 253;
/** Longest label (RFC 1035). */
export const MAX_LABEL_LENGTH = 63;

/**
 * Whether `name` can name a destination: what a resolver would accept (not empty, as the root
 * name is; no label over 63 bytes; at most 253 in all; one trailing dot allowed) and what the
 * `.sf` format can carry in `dst` (no control characters, whitespace or `:`). Names that fail
 * are skipped by the harvest and counted, so no sample says `":443"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isUsableName } from "./dns.ts";
 * assert.equal(isUsableName("example.com"), true);
 * assert.equal(isUsableName(""), false); // the root name
 * assert.equal(isUsableName("a".repeat(64) + ".com"), false); // a label over 63 bytes
 * assert.equal(isUsableName("\ud800.com"), false); // a lone surrogate
 * assert.equal(isUsableName("\u{1F600}.example"), true); // a pair is one character
 * ```
 */
export function isUsableName(name: string): boolean {
  const n = name.length;
  if (n === 0 || n > MAX_NAME_LENGTH + 1) return false;
  const body = name.charCodeAt(n - 1) === 46 ? n - 1 : n;
  if (body === 0 || body > MAX_NAME_LENGTH) return false;
  let label = 0;
  for (let i = 0; i < body; i++) {
    const c = name.charCodeAt(i);
    if (c <= 32 || c === 58 || (c >= 0x7f && c <= 0xa0) || c === 0x2028 || c === 0x2029) {
      return false;
    }
    // A lone surrogate is no character: the name cache (UTF-8) would store U+FFFD instead, and
    // the next run would name the host differently.
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = name.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
      label++;
    }
    if (c === 46) label = 0;
    else if (++label > MAX_LABEL_LENGTH) return false;
  }
  return true;
}

/**
 * Reads a (possibly compressed) domain name at `p` in the message starting at `m`. Every byte
 * other than `A-Z a-z 0-9 -` becomes `.`; labels are joined by `.`.
 */
export function readName(
  b: Uint8Array,
  m: number,
  p: number,
  end: number,
): { name: string; next: number } | undefined {
  // Character codes go to a reused scratch array and become one string at the end: appending to
  // a string per character would allocate a new string per character, and a TextDecoder call
  // per name crosses into the runtime (measured: ~20x the time of String.fromCharCode.apply on a
  // plain array, for 8,000 names of 30 bytes). Written from index 0 on, the array stays packed.
  const out = nameScratch;
  let len = 0;
  let next = -1;
  let hops = 0;
  while (p < end) {
    const labelLen = b[p];
    if (labelLen === 0) {
      out.length = len;
      return { name: String.fromCharCode.apply(null, out), next: next < 0 ? p + 1 : next };
    }
    if ((labelLen & 0xc0) === 0xc0) {
      if (p + 1 >= end || ++hops > MAX_POINTER_HOPS) return undefined;
      if (next < 0) next = p + 2;
      p = m + (((labelLen & 0x3f) << 8) | b[p + 1]);
      continue;
    }
    if ((labelLen & 0xc0) !== 0 || p + 1 + labelLen > end) return undefined;
    if (len + labelLen + 1 > NAME_SCRATCH) return undefined; // longer than any legal name
    if (len > 0) out[len++] = 46; // "."
    for (let i = p + 1; i <= p + labelLen; i++) {
      const c = b[i];
      const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45;
      out[len++] = ok ? c : 46;
    }
    p += 1 + labelLen;
  }
  return undefined;
}

/** Scratch length for {@link readName}: 4 KiB is far above the 255-byte limit of a legal name. */
const NAME_SCRATCH = 4096;
/** Scratch for {@link readName}: character codes, all ASCII (`A-Z a-z 0-9 - .`). */
const nameScratch: number[] = [];

/** Position after the name at `p` (which may end in a compression pointer); -1 when cut. */
function skipName(b: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const len = b[p];
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) return p + 2 <= end ? p + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    p += 1 + len;
  }
  return -1;
}

const REVERSE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/i;

/** True for a full four-octet reverse name of an address in 10/8, 172.16/12 or 192.168/16. */
export function isPrivateReverseName(name: string): boolean {
  const m = REVERSE.exec(name);
  if (!m) return false;
  const [d, c, b, a] = [m[1], m[2], m[3], m[4]].map(Number);
  if (a > 255 || b > 255 || c > 255 || d > 255) return false;
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}
