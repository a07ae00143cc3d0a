/**
 * Names a client states in headers: the server_name of a TLS ClientHello and the Host of an
 * HTTP/1 request, read from the bytes of one TCP segment. Only the name is kept (no path, no
 * other header, no payload); a value must be printable ASCII without spaces.
 * @module
 */
const latin1 = new TextDecoder("latin1");

/** A usable host name of `b[p, p+n)`, or undefined: printable ASCII only. */
function hostName(b: Uint8Array, p: number, n: number): string | undefined {
  if (n <= 0 || n > 255) return undefined;
  for (let i = p; i < p + n; i++) if (b[i] <= 32 || b[i] >= 127) return undefined;
  // As sent (Zeek logs it so too): any printable ASCII, which a port suffix may be part of.
  return latin1.decode(b.subarray(p, p + n));
}

/**
 * The server name of a TLS ClientHello starting at `b[p]` (a TLS record), read as far as
 * `end` (a ClientHello cut by the segment's end yields its name when the extension came before
 * the cut), or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tlsServerName } from "./names.ts";
 * assert.equal(tlsServerName(new Uint8Array([0x17, 3, 3, 0, 0]), 0, 5), undefined);
 * ```
 */
export function tlsServerName(b: Uint8Array, p: number, end: number): string | undefined {
  // Record: type 22, version 3.x, length; handshake: type 1 (ClientHello), 3-byte length.
  if (end - p < 9 || b[p] !== 0x16 || b[p + 1] !== 3 || b[p + 5] !== 1) return undefined;
  return clientHelloServerName(b, p + 5, Math.min(end, p + 5 + ((b[p + 3] << 8) | b[p + 4])));
}

/**
 * The server name of a ClientHello handshake message at `b[p]` (type 1, 3-byte length), as TLS
 * records and QUIC CRYPTO frames carry it, read as far as `end`; or undefined.
 */
export function clientHelloServerName(b: Uint8Array, p: number, end: number): string | undefined {
  if (end - p < 4 || b[p] !== 1) return undefined;
  const recordEnd = Math.min(end, p + 4 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]));
  let q = p + 4 + 2 + 32; // client version, random
  if (q >= recordEnd) return undefined;
  q += 1 + b[q]; // session id
  if (q + 2 > recordEnd) return undefined;
  q += 2 + ((b[q] << 8) | b[q + 1]); // cipher suites
  if (q + 1 > recordEnd) return undefined;
  q += 1 + b[q]; // compression methods
  if (q + 2 > recordEnd) return undefined;
  const extEnd = Math.min(recordEnd, q + 2 + ((b[q] << 8) | b[q + 1]));
  q += 2;
  while (q + 4 <= extEnd) {
    const type = (b[q] << 8) | b[q + 1];
    const len = (b[q + 2] << 8) | b[q + 3];
    q += 4;
    if (type === 0) {
      // server_name_list: length, then entries of type (0 = host_name), length, name.
      if (q + 5 > extEnd || b[q + 2] !== 0) return undefined;
      const n = (b[q + 3] << 8) | b[q + 4];
      if (q + 5 + n > extEnd) return undefined;
      return hostName(b, q + 5, n);
    }
    q += len;
  }
  return undefined;
}

/** The longest method token taken for a request's (WebDAV's are the longest common ones). */
const MAX_METHOD = 24;

/** Bytes of a request's head that are searched for the Host header. */
const MAX_HEAD = 8192;

/**
 * The Host header of an HTTP/1 request starting at `b[p]`, within `end` (the port kept as
 * sent), or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { httpHost } from "./names.ts";
 * const req = new TextEncoder().encode("GET /a?secret=1 HTTP/1.1\r\nhost:  example.com\r\n\r\n");
 * assert.equal(httpHost(req, 0, req.length), "example.com");
 * ```
 */
export function httpHost(b: Uint8Array, p: number, end: number): string | undefined {
  const r = httpHostScan(b, p, end, false);
  return r === HEAD_OPEN ? undefined : r;
}

/** {@link httpHostScan}'s answer for a request head that goes on in the next segment. */
export const HEAD_OPEN = "";

/**
 * The Host of a request head: from a request line at `p`, or (with `continued`) from the middle
 * of a head a previous segment began, `p` then being the start of a line. Returns the host, or
 * {@link HEAD_OPEN} when the head goes on past `end` with no Host yet, or undefined.
 */
export function httpHostScan(
  b: Uint8Array,
  p: number,
  end: number,
  continued: boolean,
): string | undefined {
  let i = p;
  if (continued) {
    i = p - 1; // as if a line ended just before p
  } else {
    // A request line starts with a method token (upper-case letters, `-`, `_`) and a space.
    const stopMethod = Math.min(end, p + MAX_METHOD + 1);
    while (i < stopMethod && ((b[i] >= 65 && b[i] <= 90) || b[i] === 45 || b[i] === 95)) i++;
    if (i === p || i >= stopMethod || b[i] !== 32) return undefined;
  }
  const stop = Math.min(end, p + MAX_HEAD);
  // A head is waited for past this segment only when its request line, if whole here, names a
  // version: "AUTH TLS" (FTP) or "EHLO x" (SMTP) is no request, and the TLS that STARTTLS opens
  // next must not be read as the rest of a head. (A head whole in one segment is read however
  // odd its version, as Zeek reads it.)
  let versioned = true;
  if (!continued) {
    let lf = i;
    while (lf < stop && b[lf] !== 10) lf++;
    if (lf < stop) versioned = hasVersion(b, i, lf);
  }
  // Header lines end in CRLF, or a bare LF (which servers, and Zeek, accept too).
  for (; i + 1 < stop; i++) {
    if (i >= p && b[i] !== 10) continue;
    const h = i + 1;
    if (b[h] === 10 || (b[h] === 13 && b[h + 1] === 10)) return undefined; // end of the head
    if (h + 5 > stop) break;
    if (
      (b[h] | 32) === 104 && (b[h + 1] | 32) === 111 && (b[h + 2] | 32) === 115 &&
      (b[h + 3] | 32) === 116 && b[h + 4] === 58
    ) {
      let s = h + 5;
      while (s < stop && (b[s] === 32 || b[s] === 9)) s++;
      let e = s;
      while (e < stop && b[e] !== 13 && b[e] !== 10) e++;
      if (e >= stop) return undefined; // cut: the value may go on
      while (e > s && (b[e - 1] === 32 || b[e - 1] === 9)) e--;
      return hostValue(b, s, e - s);
    }
  }
  return stop === end && end - p < MAX_HEAD && versioned ? HEAD_OPEN : undefined;
}

/** Whether `b[p, lf)` holds `HTTP/`. */
function hasVersion(b: Uint8Array, p: number, lf: number): boolean {
  for (let v = p; v + 5 <= lf; v++) {
    if (
      b[v] === 72 && b[v + 1] === 84 && b[v + 2] === 84 && b[v + 3] === 80 && b[v + 4] === 47
    ) return true;
  }
  return false;
}

/** A Host value: a name or address, with an optional port. */
function hostValue(b: Uint8Array, p: number, n: number): string | undefined {
  if (n <= 0 || n > 261) return undefined;
  for (let i = p; i < p + n; i++) if (b[i] <= 32 || b[i] >= 127) return undefined;
  return latin1.decode(b.subarray(p, p + n));
}
