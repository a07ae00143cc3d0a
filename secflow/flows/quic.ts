/**
 * The server name of a QUIC connection: its client's Initial packets are encrypted with keys
 * anyone can derive from the packet's Destination Connection ID (RFC 9001 section 5.2, RFC 9369
 * for version 2), so the TLS ClientHello they carry in CRYPTO frames can be read, as Zeek and
 * Wireshark read it. Only the first few client datagrams of a flow are looked at, their CRYPTO
 * data gathered in one bounded buffer until the ClientHello is whole (Chromium's spans two
 * packets); only the name is kept. Per flow, not per packet: `node:crypto` does the AES and HMAC.
 * @module
 */
import process from "node:process";
import { clientHelloServerName } from "./names.ts";

/** `node:crypto`'s functions used here. */
interface Crypto {
  createHmac: typeof import("node:crypto").createHmac;
  createCipheriv: typeof import("node:crypto").createCipheriv;
  createDecipheriv: typeof import("node:crypto").createDecipheriv;
}
let nodeCrypto: Crypto | undefined;
/**
 * `node:crypto`, loaded when the first QUIC Initial is read, not when the module is: loading it
 * costs ~20 ms of start-up that captures without QUIC (and `convert`) never need. Synchronous
 * (`process.getBuiltinModule`), as the engine reads packets synchronously.
 */
function crypto(): Crypto {
  return nodeCrypto ??= process.getBuiltinModule("node:crypto") as Crypto;
}

const V1 = 0x00000001, V2 = 0x6b3343cf;
const SALT_V1 = Uint8Array.fromHex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
const SALT_V2 = Uint8Array.fromHex("0dede3def700a6db819381be6e269dcbf9bd2ed9");
/** The most CRYPTO bytes gathered for one flow's ClientHello. */
const MAX_CRYPTO = 16384;

function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(crypto().createHmac("sha256", key).update(data).digest());
}

/** HKDF-Expand-Label with an empty context, for lengths up to 32 (TLS 1.3, RFC 8446 7.1). */
function expandLabel(secret: Uint8Array, label: string, length: number): Uint8Array {
  const full = new TextEncoder().encode(`tls13 ${label}`);
  const info = new Uint8Array(4 + full.length);
  info[0] = length >> 8;
  info[1] = length & 255;
  info[2] = full.length;
  info.set(full, 3);
  info[3 + full.length] = 0; // empty context
  const block = new Uint8Array(info.length + 1);
  block.set(info);
  block[info.length] = 1;
  return hmac(secret, block).subarray(0, length);
}

/** A variable-length integer at `b[p]`: [value, next position], or [-1, p] when cut. */
function varint(b: Uint8Array, p: number, end: number): [number, number] {
  if (p >= end) return [-1, p];
  const n = 1 << (b[p] >> 6);
  if (p + n > end) return [-1, p];
  let v = b[p] & 0x3f;
  for (let i = 1; i < n; i++) v = v * 256 + b[p + i];
  return [v, p + n];
}

/** CRYPTO data of one flow's client Initial packets, gathered from offset 0. */
export class QuicHello {
  #data = new Uint8Array(0);
  /** Bytes from offset 0 known so far (contiguous). */
  #have = 0;
  /** Pieces beyond the contiguous part: [offset, bytes]. */
  #pending: [number, Uint8Array][] = [];

  /**
   * Reads one UDP datagram from the client (`b[p, end)`, possibly several coalesced packets);
   * returns the server name once the ClientHello is whole enough to hold it.
   */
  datagram(b: Uint8Array, p: number, end: number): string | undefined {
    for (let n = 0; n < 8 && p < end; n++) {
      const next = this.#packet(b, p, end);
      if (next <= p) break;
      p = next;
    }
    if (this.#have === 0) return undefined;
    return clientHelloServerName(this.#data, 0, this.#have);
  }

  /** One long-header packet at `p`; returns where the next one starts (or p when none). */
  #packet(b: Uint8Array, p: number, end: number): number {
    if (end - p < 7 || (b[p] & 0xc0) !== 0xc0) return p;
    const version = ((b[p + 1] << 24) | (b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]) >>> 0;
    if (version !== V1 && version !== V2) return p;
    const type = (b[p] >> 4) & 3;
    let q = p + 5;
    const dcidLen = b[q];
    if (dcidLen > 20 || q + 1 + dcidLen >= end) return p;
    const dcid = b.subarray(q + 1, q + 1 + dcidLen);
    q += 1 + dcidLen;
    const scidLen = b[q];
    if (scidLen > 20) return p;
    q += 1 + scidLen;
    let v: number;
    const initial = version === V1 ? type === 0 : type === 1;
    if (initial) {
      [v, q] = varint(b, q, end);
      if (v < 0) return p;
      q += v; // token
    }
    let length: number;
    [length, q] = varint(b, q, end);
    if (length < 0 || q + length > end) return p;
    const next = q + length;
    if (!initial) return next;
    this.#decrypt(b, p, q, next, dcid, version);
    return next;
  }

  #decrypt(
    b: Uint8Array,
    start: number,
    pnAt: number,
    end: number,
    dcid: Uint8Array,
    version: number,
  ): void {
    if (pnAt + 4 + 16 > end) return;
    const v2 = version === V2;
    const initialSecret = hmac(v2 ? SALT_V2 : SALT_V1, dcid);
    const client = expandLabel(initialSecret, "client in", 32);
    const key = expandLabel(client, v2 ? "quicv2 key" : "quic key", 16);
    const iv = expandLabel(client, v2 ? "quicv2 iv" : "quic iv", 12);
    const hp = expandLabel(client, v2 ? "quicv2 hp" : "quic hp", 16);
    const ecb = crypto().createCipheriv("aes-128-ecb", hp, null);
    ecb.setAutoPadding(false);
    const mask = new Uint8Array(ecb.update(b.subarray(pnAt + 4, pnAt + 20)));
    const header = b.slice(start, pnAt + 4);
    header[0] ^= mask[0] & 0x0f;
    const pnLen = (header[0] & 3) + 1;
    let pn = 0;
    for (let i = 0; i < pnLen; i++) {
      header[pnAt - start + i] ^= mask[1 + i];
      pn = pn * 256 + header[pnAt - start + i];
    }
    const aad = header.subarray(0, pnAt - start + pnLen);
    const nonce = iv.slice();
    for (let i = 0; i < 4; i++) nonce[11 - i] ^= (pn >>> (8 * i)) & 255;
    const body = b.subarray(pnAt + pnLen, end);
    if (body.length < 16) return;
    let plain: Uint8Array;
    try {
      const gcm = crypto().createDecipheriv("aes-128-gcm", key, nonce);
      gcm.setAAD(aad);
      gcm.setAuthTag(body.subarray(body.length - 16));
      const head = gcm.update(body.subarray(0, body.length - 16));
      const tail = gcm.final();
      plain = new Uint8Array(head.length + tail.length);
      plain.set(head);
      plain.set(tail, head.length);
    } catch {
      return; // not an Initial we can read (a server's, or damaged)
    }
    this.#frames(plain);
  }

  #frames(f: Uint8Array): void {
    let q = 0;
    const end = f.length;
    while (q < end) {
      let type: number;
      [type, q] = varint(f, q, end);
      if (type < 0) return;
      if (type === 0 || type === 1) continue; // PADDING, PING
      if (type === 2 || type === 3) { // ACK
        let x: number, ranges: number;
        [x, q] = varint(f, q, end); // largest
        [x, q] = varint(f, q, end); // delay
        [ranges, q] = varint(f, q, end);
        [x, q] = varint(f, q, end); // first range
        for (let i = 0; i < ranges && x >= 0; i++) {
          [x, q] = varint(f, q, end);
          [x, q] = varint(f, q, end);
        }
        if (type === 3) { for (let i = 0; i < 3; i++) [x, q] = varint(f, q, end); }
        if (x < 0 || ranges < 0) return;
        continue;
      }
      if (type !== 6) return; // anything else: stop (CRYPTO is what we want)
      let offset: number, len: number;
      [offset, q] = varint(f, q, end);
      [len, q] = varint(f, q, end);
      if (offset < 0 || len < 0 || q + len > end) return;
      this.#add(offset, f.subarray(q, q + len));
      q += len;
    }
  }

  #add(offset: number, data: Uint8Array): void {
    if (offset + data.length > MAX_CRYPTO) return;
    if (this.#data.length < offset + data.length) {
      const bigger = new Uint8Array(
        Math.min(MAX_CRYPTO, Math.max(2048, (offset + data.length) * 2)),
      );
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data.set(data, offset);
    this.#pending.push([offset, data]);
    // Extend the contiguous part with every piece that now touches it.
    let grew = true;
    while (grew) {
      grew = false;
      for (const [o, d] of this.#pending) {
        if (o <= this.#have && o + d.length > this.#have) {
          this.#have = o + d.length;
          grew = true;
        }
      }
    }
  }
}
