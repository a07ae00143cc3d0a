/**
 * Link-layer and IPv4/TCP/UDP header decoding into one reusable set of fields: nothing is
 * allocated per packet (the gopacket DecodingLayerParser idea).
 * @module
 */

/** Link types this decoder understands (pcap LINKTYPE_* values). */
export const LINK_TYPES: Readonly<Record<number, string>> = {
  0: "BSD null/loopback",
  1: "Ethernet",
  12: "raw IP",
  14: "raw IP",
  101: "raw IP",
  108: "OpenBSD loopback",
  113: "Linux cooked (SLL)",
  228: "raw IPv4",
  276: "Linux cooked v2 (SLL2)",
};

/** {@link PacketDecoder.decode} results. */
export const enum Decoded {
  /** IPv4 with every field the converter reads. */
  IPv4 = 0,
  /** Not IPv4 (IPv6, ARP, ...): ignored. */
  NotIPv4 = 1,
  /** IPv4, but too short to hold the fields that are read. */
  Truncated = 2,
  /** The link type is not one this decoder reads. */
  UnknownLink = 3,
}

const ETHERTYPE_IPV4 = 0x0800;

/**
 * Decodes one frame at a time into its public fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Decoded, PacketDecoder } from "./decode.ts";
 * const d = new PacketDecoder();
 * const frame = new Uint8Array(14 + 20);
 * frame[12] = 0x08; frame[14] = 0x45; frame[23] = 1; // Ethernet, IPv4, ICMP
 * assert.equal(d.decode(frame, 0, frame.length, 1), Decoded.IPv4);
 * ```
 */
export class PacketDecoder {
  /** Offset of the IPv4 header in the buffer. */
  ipOffset = 0;
  /** Bytes captured from the IPv4 header on. */
  ipCaptured = 0;
  /** IPv4 total length field. */
  ipTotalLength = 0;
  src = 0;
  dst = 0;
  /** IP protocol number (1 ICMP, 6 TCP, 17 UDP, ...). */
  protocol = 0;
  /** True for TCP or UDP in an unfragmented packet or a first fragment: ports were read. */
  hasPorts = false;
  srcPort = 0;
  dstPort = 0;
  /** Offset of the transport payload (after the TCP or UDP header). */
  payloadOffset = 0;
  /** Transport payload bytes, from the headers (not from the captured length). */
  payloadBytes = 0;

  /** Decodes the frame `b[off, off+caplen)` of link type `linkType`. */
  decode(b: Uint8Array, off: number, caplen: number, linkType: number): Decoded {
    const end = off + caplen;
    let p = off;
    let etype: number;
    switch (linkType) {
      case 1: // Ethernet
        if (caplen < 14) return Decoded.NotIPv4;
        etype = (b[p + 12] << 8) | b[p + 13];
        p += 14;
        break;
      case 113: // Linux SLL
        if (caplen < 16) return Decoded.NotIPv4;
        etype = (b[p + 14] << 8) | b[p + 15];
        p += 16;
        break;
      case 276: // Linux SLL2
        if (caplen < 20) return Decoded.NotIPv4;
        etype = (b[p] << 8) | b[p + 1];
        p += 20;
        break;
      case 101:
      case 228:
      case 12:
      case 14: // raw IP
        if (caplen < 1 || b[p] >> 4 !== 4) return Decoded.NotIPv4;
        etype = ETHERTYPE_IPV4;
        break;
      case 0: { // BSD null: address family in the capturing host's byte order
        if (caplen < 4) return Decoded.NotIPv4;
        const le = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
        const be = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
        etype = le === 2 || be === 2 ? ETHERTYPE_IPV4 : 0;
        p += 4;
        break;
      }
      case 108: // OpenBSD loopback: network byte order
        if (caplen < 4) return Decoded.NotIPv4;
        etype = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) === 2
          ? ETHERTYPE_IPV4
          : 0;
        p += 4;
        break;
      default:
        return Decoded.UnknownLink;
    }
    // 802.1Q, 802.1ad (QinQ) and the legacy 0x9100 tags.
    while (etype === 0x8100 || etype === 0x88a8 || etype === 0x9100) {
      if (p + 4 > end) return Decoded.NotIPv4;
      etype = (b[p + 2] << 8) | b[p + 3];
      p += 4;
    }
    if (etype !== ETHERTYPE_IPV4) return Decoded.NotIPv4;
    return this.#ipv4(b, p, end);
  }

  #ipv4(b: Uint8Array, p: number, end: number): Decoded {
    const captured = end - p;
    if (captured < 1 || b[p] >> 4 !== 4) return Decoded.NotIPv4;
    if (captured < 20) return Decoded.Truncated;
    const ihl = (b[p] & 15) * 4;
    if (ihl < 20 || ihl > captured) return Decoded.Truncated;
    this.ipOffset = p;
    this.ipCaptured = captured;
    this.ipTotalLength = (b[p + 2] << 8) | b[p + 3];
    this.protocol = b[p + 9];
    this.src = ((b[p + 12] << 24) | (b[p + 13] << 16) | (b[p + 14] << 8) | b[p + 15]) >>> 0;
    this.dst = ((b[p + 16] << 24) | (b[p + 17] << 16) | (b[p + 18] << 8) | b[p + 19]) >>> 0;
    const fragmentOffset = ((b[p + 6] & 0x1f) << 8) | b[p + 7];
    const proto = this.protocol;
    this.hasPorts = fragmentOffset === 0 && (proto === 6 || proto === 17);
    this.payloadBytes = 0;
    if (!this.hasPorts) return Decoded.IPv4;
    const t = p + ihl;
    if (proto === 6) {
      if (t + 13 > end) return Decoded.Truncated;
      const dataOffset = (b[t + 12] >> 4) * 4;
      this.payloadOffset = t + dataOffset;
      // Bogus headers (a total length shorter than the headers) count no payload, not negative.
      this.payloadBytes = Math.max(0, this.ipTotalLength - ihl - dataOffset);
    } else {
      if (t + 6 > end) return Decoded.Truncated;
      this.payloadOffset = t + 8;
      this.payloadBytes = Math.max(0, ((b[t + 4] << 8) | b[t + 5]) - 8);
    }
    this.srcPort = (b[t] << 8) | b[t + 1];
    this.dstPort = (b[t + 2] << 8) | b[t + 3];
    return Decoded.IPv4;
  }
}
