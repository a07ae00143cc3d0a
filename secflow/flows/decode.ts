/**
 * Every layer a flow can sit under, decoded into one reused set of numeric fields (nothing is
 * allocated per packet): link layers, 802.1Q/802.1ad, MPLS, PPPoE, IPv4 and IPv6 (extension
 * headers walked), the transport's ports (ICMP and ICMPv6 types as ports, as Zeek and Community
 * ID do), and the tunnels that carry another packet: GRE (with enhanced GRE of PPTP, ERSPAN
 * I/II/III, Aruba's 802.11), VXLAN, Geneve, IP-in-IP, 6in4, Teredo and GTP-U.
 *
 * One call decodes one IP level: {@link FlowDecoder.link} or {@link FlowDecoder.next} finds the
 * next IP header and reads it; when that IP packet carries another (a tunnel),
 * {@link FlowDecoder.innerKind} says what follows at {@link FlowDecoder.innerOffset}, and the
 * engine calls `next()` again after counting the carrier, up to its depth limit. Every length is
 * checked against the captured bytes: a bogus length ends the decoding of that packet, never
 * reads past it.
 * @module
 */

/** Link types read (pcap LINKTYPE_* values), beyond the Secflow decoder's. */
export const FLOW_LINK_TYPES: Readonly<Record<number, string>> = {
  0: "BSD null/loopback",
  1: "Ethernet",
  9: "PPP",
  12: "raw IP",
  14: "raw IP",
  101: "raw IP",
  105: "IEEE 802.11",
  108: "OpenBSD loopback",
  113: "Linux cooked (SLL)",
  127: "802.11 radiotap",
  228: "raw IPv4",
  229: "raw IPv6",
  239: "NFLOG",
  276: "Linux cooked v2 (SLL2)",
};

/** What follows a layer. */
export const enum Next {
  None = 0,
  Ether = 1,
  IPv4 = 2,
  IPv6 = 3,
  /** IPv4 or IPv6, from the version nibble. */
  IP = 4,
  /** A PPP protocol field (GRE of PPTP). */
  PPP = 5,
  /** An 802.11 frame (Aruba's GRE). */
  Wlan = 6,
  /** An MPLS label stack (MPLS in GRE). */
  Mpls = 7,
}

/** Results of a decoding step. */
export const enum Status {
  /** An IP header was read (see the fields). */
  IP = 0,
  /** No IP in this frame (ARP, LLDP, STP, ...). */
  NotIP = 1,
  /** A header announced more bytes than were captured, or made no sense. */
  Truncated = 2,
  /** A link type this decoder does not read. */
  UnknownLink = 3,
}

/** Tunnel kinds, as numbers (the names are in `TUNNEL_NAMES`). */
export const enum Hop {
  None = 0,
  Gre = 1,
  Pptp = 2,
  Erspan = 3,
  Aruba = 4,
  Vxlan = 5,
  Geneve = 6,
  IPinIP = 7,
  SixIn4 = 8,
  Teredo = 9,
  GtpU = 10,
  Mpls = 11,
  Pppoe = 12,
  Ayiya = 13,
  GreUdp = 14,
}

/** The {@link Hop} kinds' names, as `TunnelHop.kind` spells them. */
export const TUNNEL_NAMES = [
  "",
  "gre",
  "pptp",
  "erspan",
  "aruba",
  "vxlan",
  "geneve",
  "ip-in-ip",
  "6in4",
  "teredo",
  "gtp-u",
  "mpls",
  "pppoe",
  "ayiya",
  "gre-udp",
] as const;

/** ICMPv4 request/reply pairs (Community ID, after Zeek's ICMP4_counterpart). */
export const ICMP4_PAIR: Int16Array = new Int16Array(256).fill(-1);
for (const [a, b] of [[8, 0], [0, 8], [13, 14], [14, 13], [15, 16], [16, 15], [17, 18], [18, 17]]) {
  ICMP4_PAIR[a] = b;
}
ICMP4_PAIR[10] = 9; // router solicitation -> advertisement (one way only, as the spec has it)
/** ICMPv6 request/reply pairs. */
export const ICMP6_PAIR: Int16Array = new Int16Array(256).fill(-1);
for (
  const [a, b] of [[128, 129], [133, 134], [135, 136], [130, 131], [139, 140], [144, 145]]
) {
  ICMP6_PAIR[a] = b;
  ICMP6_PAIR[b] = a;
}

/** UDP ports of the tunnels found by port. */
const VXLAN_PORT = 4789, GENEVE_PORT = 6081, TEREDO_PORT = 3544, GTPU_PORT = 2152;
const AYIYA_PORT = 5072, GRE_UDP_PORT = 4754;

/**
 * Decodes frames one IP level at a time into public fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FlowDecoder, Status } from "./decode.ts";
 * const d = new FlowDecoder();
 * // raw IPv6 (link type 229): UDP [2001:db8::1]:5000 -> [2001:db8::2]:53, no payload
 * const frame = new Uint8Array(48);
 * frame.set([0x60, 0, 0, 0, 0, 8, 17, 64]);
 * frame.set([0x20, 0x01, 0x0d, 0xb8], 8);
 * frame[23] = 1;
 * frame.set([0x20, 0x01, 0x0d, 0xb8], 24);
 * frame[39] = 2;
 * frame.set([0x13, 0x88, 0, 53, 0, 8, 0, 0], 40);
 * assert.equal(d.link(frame, 0, frame.length, 229), Status.IP);
 * assert.equal(d.ipVersion, 6);
 * assert.equal(d.srcPort, 5000);
 * assert.equal(d.dstPort, 53);
 * ```
 */
export class FlowDecoder {
  // --- the IP level read last
  /** 4 or 6. */
  ipVersion = 4;
  /** Offset of the IP header. */
  ipOffset = 0;
  /** The IP datagram's length from its header (IPv4 total length, IPv6 40 + payload length). */
  ipLength = 0;
  /** Bytes captured from the IP header on (bounded by the datagram's length). */
  ipCaptured = 0;
  /** The IP header's length, extension headers included (where the transport starts). */
  headerLength = 0;
  /** Source then destination address, four big-endian words each (IPv4: first word only). */
  readonly addr: Int32Array = new Int32Array(8);
  /** Final protocol (after IPv6 extension headers). */
  protocol = 0;
  /** IPv4 fragment: offset (8-byte units) and more-fragments flag; IPv6 fragment header's too. */
  fragOffset = 0;
  moreFragments = false;
  /** The fragment's identification (IPv4 16 bits, IPv6 32 bits). */
  fragId = 0;
  /** Ports (TCP/UDP/SCTP), or ICMP type and its pair or code; read only from a first fragment. */
  hasPorts = false;
  srcPort = 0;
  dstPort = 0;
  /** ICMP/ICMPv6 messages with no reply kind are one-way (Community ID keeps their order). */
  icmpOneWay = false;
  /** TCP flags byte (0 when not TCP). */
  tcpFlags = 0;
  /** Offset of the transport payload and its length from the headers (0 when unknown). */
  payloadOffset = 0;
  payloadLength = 0;
  /** Transport payload bytes captured (from payloadOffset). */
  payloadCaptured = 0;
  /** VLAN ids of the frame this IP level sits in (up to two kept: outer, inner) and the count. */
  vlan1 = 0;
  vlan2 = 0;
  vlanCount = 0;
  /** An encapsulation the Secflow decoder does not read (MPLS, PPPoE, 802.11) was crossed. */
  encapsulated = false;
  /** MPLS or PPPoE crossed in this frame (as a hop of the path), and its label or session id. */
  linkHop: Hop = Hop.None;
  linkHopId = 0;

  // --- what this IP packet carries, when it is a tunnel
  innerKind: Next = Next.None;
  innerOffset = 0;
  /** The tunnel's kind and id (VNI, GRE key, TEID, ERSPAN session), and whether id keys it. */
  hopKind: Hop = Hop.None;
  hopId = 0;
  hopKeyed = false;

  #end = 0;
  /** End of the carrier's datagram: an inner packet never reads past it. */
  #innerEnd = 0;

  /** Decodes the frame `b[off, off+caplen)` of `linkType` up to its first IP level. */
  link(b: Uint8Array, off: number, caplen: number, linkType: number): Status {
    const end = off + caplen;
    this.#end = end;
    this.vlanCount = 0;
    this.vlan1 = this.vlan2 = 0;
    this.encapsulated = false;
    this.linkHop = Hop.None;
    let p = off;
    switch (linkType) {
      case 1:
        return this.#ether(b, p, end);
      case 113: // SLL
        if (caplen < 16) return Status.NotIP;
        return this.#etype(b, p + 16, end, (b[p + 14] << 8) | b[p + 15]);
      case 276: // SLL2
        if (caplen < 20) return Status.NotIP;
        return this.#etype(b, p + 20, end, (b[p] << 8) | b[p + 1]);
      case 12:
      case 14:
      case 101:
      case 228:
      case 229:
        return this.#ip(b, p, end);
      case 0:
      case 108: { // BSD and OpenBSD loopback: the address family, in either byte order
        if (caplen < 4) return Status.NotIP;
        const le = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
        const be = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
        const family = linkType === 108 ? be : (le < 256 ? le : be);
        if (family === 2) return this.#ip(b, p + 4, end);
        if (family === 24 || family === 28 || family === 30 || family === 10) {
          return this.#ip(b, p + 4, end);
        }
        return Status.NotIP;
      }
      case 9: // PPP
        if (caplen >= 2 && b[p] === 0xff && b[p + 1] === 0x03) p += 2;
        return this.#ppp(b, p, end);
      case 105:
        this.encapsulated = true;
        return this.#wlan(b, p, end);
      case 239: { // NFLOG: family, version, resource id; then TLVs (little-endian), 9 = payload
        let q = p + 4;
        while (q + 4 <= end) {
          const len = b[q] | (b[q + 1] << 8);
          const type = b[q + 2] | (b[q + 3] << 8);
          if (len < 4) return Status.Truncated;
          if (type === 9) {
            this.#end = Math.min(end, q + len);
            return this.#ip(b, q + 4, this.#end);
          }
          q += (len + 3) & ~3;
        }
        return Status.NotIP;
      }
      case 127: { // radiotap: little-endian length at byte 2
        if (caplen < 4) return Status.NotIP;
        this.encapsulated = true;
        return this.#wlan(b, p + (b[p + 2] | (b[p + 3] << 8)), end);
      }
      default:
        return Status.UnknownLink;
    }
  }

  /** Decodes the packet a tunnel carries ({@link innerKind} at {@link innerOffset}). */
  next(b: Uint8Array): Status {
    const kind = this.innerKind;
    const p = this.innerOffset;
    const end = this.#innerEnd;
    this.#end = end;
    this.vlanCount = 0;
    this.vlan1 = this.vlan2 = 0;
    this.linkHop = Hop.None;
    switch (kind) {
      case Next.Ether:
        return this.#ether(b, p, end);
      case Next.IPv4:
      case Next.IPv6:
      case Next.IP:
        return this.#ip(b, p, end);
      case Next.PPP:
        return this.#ppp(b, p, end);
      case Next.Wlan:
        return this.#wlan(b, p, end);
      case Next.Mpls:
        return this.#mpls(b, p, end);
    }
    return Status.NotIP;
  }

  #ether(b: Uint8Array, p: number, end: number): Status {
    if (end - p < 14) return Status.NotIP;
    const etype = (b[p + 12] << 8) | b[p + 13];
    // 802.3 with LLC/SNAP: a length instead of an ethertype, which follows the SNAP header.
    if (etype <= 1500) {
      if (end - p < 22 || b[p + 14] !== 0xaa || b[p + 15] !== 0xaa || b[p + 16] !== 3) {
        return Status.NotIP;
      }
      return this.#etype(b, p + 22, end, (b[p + 20] << 8) | b[p + 21]);
    }
    return this.#etype(b, p + 14, end, etype);
  }

  /** After an ethertype: VLAN tags, MPLS, PPPoE, then IP. */
  #etype(b: Uint8Array, p: number, end: number, etype: number): Status {
    while (etype === 0x8100 || etype === 0x88a8 || etype === 0x9100) {
      if (p + 4 > end) return Status.Truncated;
      const vid = ((b[p] << 8) | b[p + 1]) & 0xfff;
      if (this.vlanCount === 0) this.vlan1 = vid;
      else if (this.vlanCount === 1) this.vlan2 = vid;
      this.vlanCount++;
      etype = (b[p + 2] << 8) | b[p + 3];
      p += 4;
    }
    if (etype === 0x0800 || etype === 0x86dd) return this.#ip(b, p, end);
    // Cisco FabricPath (FTag/TTL, then a whole Ethernet frame), 802.1ah PBB (I-TAG, then one),
    // VN-Tag (a 4-byte tag, then the ethertype).
    if (etype === 0x8903) return this.#ether(b, p + 2, end);
    if (etype === 0x88e7) return this.#ether(b, p + 4, end);
    if (etype === 0x8926) {
      if (p + 6 > end) return Status.Truncated;
      return this.#etype(b, p + 6, end, (b[p + 4] << 8) | b[p + 5]);
    }
    if (etype === 0x8847 || etype === 0x8848) return this.#mpls(b, p, end);
    if (etype === 0x8864) { // PPPoE session: 6-byte header, then PPP
      if (p + 8 > end) return Status.Truncated;
      this.encapsulated = true;
      this.linkHop = Hop.Pppoe;
      this.linkHopId = (b[p + 2] << 8) | b[p + 3];
      return this.#ppp(b, p + 6, end);
    }
    return Status.NotIP;
  }

  #mpls(b: Uint8Array, p: number, end: number): Status {
    this.encapsulated = true;
    this.linkHop = Hop.Mpls;
    let first = true;
    for (let labels = 0; labels < 16; labels++) {
      if (p + 4 > end) return Status.Truncated;
      if (first) this.linkHopId = ((b[p] << 12) | (b[p + 1] << 4) | (b[p + 2] >> 4)) >>> 0;
      first = false;
      const bottom = b[p + 2] & 1;
      p += 4;
      if (bottom) {
        if (p >= end) return Status.Truncated;
        const v = b[p] >> 4;
        if (v === 4 || v === 6) return this.#ip(b, p, end);
        // A pseudowire control word (first nibble 0), then Ethernet.
        if (v === 0 && p + 4 < end) return this.#ether(b, p + 4, end);
        return Status.NotIP;
      }
    }
    return Status.Truncated;
  }

  #ppp(b: Uint8Array, p: number, end: number): Status {
    if (p >= end) return Status.Truncated;
    let proto: number;
    if (b[p] & 1) { // protocol field compressed to one byte
      proto = b[p];
      p += 1;
    } else {
      if (p + 2 > end) return Status.Truncated;
      proto = (b[p] << 8) | b[p + 1];
      p += 2;
    }
    if (proto === 0x21 || proto === 0x57) return this.#ip(b, p, end);
    return Status.NotIP;
  }

  /** An 802.11 data frame with LLC/SNAP (Aruba's GRE, link types 105 and 127). */
  #wlan(b: Uint8Array, p: number, end: number): Status {
    if (p + 24 > end) return Status.NotIP;
    const fc = b[p];
    if (((fc >> 2) & 3) !== 2) return Status.NotIP; // not a data frame
    if ((fc >> 4) & 4) return Status.NotIP; // null data: no body
    const flags = b[p + 1];
    if (flags & 0x40) return Status.NotIP; // protected: encrypted body
    let h = 24;
    if ((flags & 3) === 3) h += 6; // four addresses
    const qos = ((fc >> 4) & 8) !== 0;
    // A-MSDU (QoS control bit 7): the body is subframes; the first one is read.
    const amsdu = qos && p + h < end && (b[p + h] & 0x80) !== 0;
    if (qos) h += 2;
    if (flags & 0x80) h += 4; // HT control (order bit on a QoS frame)
    p += h;
    if (amsdu) p += 14; // destination, source, length
    if (p + 8 > end) return Status.NotIP;
    if (b[p] !== 0xaa || b[p + 1] !== 0xaa || b[p + 2] !== 0x03) return Status.NotIP;
    return this.#etype(b, p + 8, end, (b[p + 6] << 8) | b[p + 7]);
  }

  /** Reads the IP header at `p`, then the transport and what it may tunnel. */
  #ip(b: Uint8Array, p: number, end: number): Status {
    this.innerKind = Next.None;
    this.hopKind = Hop.None;
    if (p >= end) return Status.Truncated;
    const v = b[p] >> 4;
    const a = this.addr;
    let t: number; // transport header offset
    let proto: number;
    let ipEnd: number; // end of the datagram within the capture
    this.fragOffset = 0;
    this.moreFragments = false;
    if (v === 4) {
      if (end - p < 20) return Status.Truncated;
      const ihl = (b[p] & 15) * 4;
      if (ihl < 20 || p + ihl > end) return Status.Truncated;
      this.ipVersion = 4;
      const total = (b[p + 2] << 8) | b[p + 3];
      // A total length of 0 is TSO's "unknown": take what was captured.
      this.ipLength = total >= ihl ? total : end - p;
      ipEnd = Math.min(end, p + this.ipLength);
      proto = b[p + 9];
      a[0] = (b[p + 12] << 24) | (b[p + 13] << 16) | (b[p + 14] << 8) | b[p + 15];
      a[1] = a[2] = a[3] = 0;
      a[4] = (b[p + 16] << 24) | (b[p + 17] << 16) | (b[p + 18] << 8) | b[p + 19];
      a[5] = a[6] = a[7] = 0;
      const ff = (b[p + 6] << 8) | b[p + 7];
      this.fragOffset = ff & 0x1fff;
      this.moreFragments = (ff & 0x2000) !== 0;
      this.fragId = (b[p + 4] << 8) | b[p + 5];
      t = p + ihl;
    } else if (v === 6) {
      if (end - p < 40) return Status.Truncated;
      this.ipVersion = 6;
      const payloadLength = (b[p + 4] << 8) | b[p + 5];
      // A payload length of 0 is a jumbogram or TSO: take what was captured.
      this.ipLength = payloadLength > 0 ? 40 + payloadLength : end - p;
      ipEnd = Math.min(end, p + this.ipLength);
      for (let i = 0; i < 8; i++) {
        const o = p + 8 + i * 4;
        a[i] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
      }
      proto = b[p + 6];
      t = p + 40;
      // Extension headers: hop-by-hop, routing, fragment, destination options, AH.
      for (let n = 0; n < 16; n++) {
        if (proto === 0 || proto === 43 || proto === 60) {
          if (t + 8 > ipEnd) return Status.Truncated;
          const next = b[t];
          t += (b[t + 1] + 1) * 8;
          proto = next;
        } else if (proto === 44) {
          if (t + 8 > ipEnd) return Status.Truncated;
          const next = b[t];
          const ff = (b[t + 2] << 8) | b[t + 3];
          this.fragOffset = ff >> 3;
          this.moreFragments = (ff & 1) !== 0;
          this.fragId = ((b[t + 4] << 24) | (b[t + 5] << 16) | (b[t + 6] << 8) | b[t + 7]) >>> 0;
          t += 8;
          proto = next;
        } else if (proto === 51) {
          if (t + 8 > ipEnd) return Status.Truncated;
          const next = b[t];
          t += (b[t + 1] + 2) * 4;
          proto = next;
        } else break;
      }
      if (t > ipEnd) return Status.Truncated;
    } else {
      return Status.NotIP;
    }
    this.ipOffset = p;
    this.ipCaptured = ipEnd - p;
    this.headerLength = t - p;
    this.protocol = proto;
    this.tcpFlags = 0;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.payloadCaptured = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.icmpOneWay = false;
    this.hasPorts = false;
    // The transport's bytes by the header (not by the capture), as the IP header announces.
    const datagramEnd = p + this.ipLength;
    if (this.fragOffset !== 0) return Status.IP; // a later fragment: no transport header
    return this.#transport(b, t, ipEnd, datagramEnd, proto);
  }

  #transport(b: Uint8Array, t: number, end: number, datagramEnd: number, proto: number): Status {
    this.#innerEnd = end;
    switch (proto) {
      case 6: {
        if (t + 14 > end) return Status.Truncated;
        this.srcPort = (b[t] << 8) | b[t + 1];
        this.dstPort = (b[t + 2] << 8) | b[t + 3];
        this.hasPorts = true;
        this.tcpFlags = b[t + 13];
        const off = (b[t + 12] >> 4) * 4;
        this.payloadOffset = t + off;
        this.payloadLength = Math.max(0, datagramEnd - t - off);
        this.payloadCaptured = Math.max(0, end - t - off);
        return Status.IP;
      }
      case 17:
      case 136: { // UDP, UDP-Lite
        if (t + 8 > end) return Status.Truncated;
        const sp = (b[t] << 8) | b[t + 1];
        const dp = (b[t + 2] << 8) | b[t + 3];
        this.srcPort = sp;
        this.dstPort = dp;
        this.hasPorts = true;
        this.payloadOffset = t + 8;
        const udpLength = (b[t + 4] << 8) | b[t + 5];
        this.payloadLength = Math.max(0, (udpLength >= 8 ? udpLength : datagramEnd - t) - 8);
        this.payloadCaptured = Math.max(0, end - t - 8);
        if (proto === 17 && !this.moreFragments) this.#udpTunnel(b, t + 8, end, sp, dp);
        return Status.IP;
      }
      case 132: // SCTP
        if (t + 12 > end) return Status.Truncated;
        this.srcPort = (b[t] << 8) | b[t + 1];
        this.dstPort = (b[t + 2] << 8) | b[t + 3];
        this.hasPorts = true;
        this.payloadOffset = t + 12;
        this.payloadLength = Math.max(0, datagramEnd - t - 12);
        this.payloadCaptured = Math.max(0, end - t - 12);
        return Status.IP;
      case 1:
      case 58: {
        if (t + 2 > end) return Status.Truncated;
        const type = b[t];
        const pair = (proto === 1 ? ICMP4_PAIR : ICMP6_PAIR)[type];
        this.srcPort = type;
        this.dstPort = pair >= 0 ? pair : b[t + 1];
        this.icmpOneWay = pair < 0;
        this.hasPorts = true;
        this.payloadOffset = t + 8;
        this.payloadLength = Math.max(0, datagramEnd - t - 8);
        this.payloadCaptured = Math.max(0, end - t - 8);
        return Status.IP;
      }
      case 4:
        this.#inner(Next.IPv4, t, Hop.IPinIP, 0);
        break;
      case 41:
        this.#inner(Next.IPv6, t, Hop.SixIn4, 0);
        break;
      case 47:
        this.#gre(b, t, end);
        break;
    }
    this.payloadOffset = t;
    this.payloadLength = Math.max(0, datagramEnd - t);
    this.payloadCaptured = Math.max(0, end - t);
    return Status.IP;
  }

  #inner(kind: Next, at: number, hop: Hop, id: number, keyed = false): void {
    this.innerKind = kind;
    this.innerOffset = at;
    this.hopKind = hop;
    this.hopId = id;
    this.hopKeyed = keyed;
  }

  #udpTunnel(b: Uint8Array, p: number, end: number, sp: number, dp: number): void {
    if (dp === VXLAN_PORT || sp === VXLAN_PORT) {
      // flags with the I bit, 3 reserved bytes, VNI (24 bits), reserved.
      if (p + 8 <= end && (b[p] & 0x08) !== 0) {
        const vni = (b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6];
        this.#inner(Next.Ether, p + 8, Hop.Vxlan, vni, true);
      }
    } else if (dp === GENEVE_PORT || sp === GENEVE_PORT) {
      if (p + 8 <= end && b[p] >> 6 === 0) {
        const opts = (b[p] & 0x3f) * 4;
        const ptype = (b[p + 2] << 8) | b[p + 3];
        const vni = (b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6];
        const at = p + 8 + opts;
        if (ptype === 0x6558) this.#inner(Next.Ether, at, Hop.Geneve, vni, true);
        else if (ptype === 0x0800 || ptype === 0x86dd) {
          this.#inner(Next.IP, at, Hop.Geneve, vni, true);
        }
      }
    } else if (dp === GTPU_PORT || sp === GTPU_PORT) {
      // GTPv1-U G-PDU: version 1, PT 1, message type 255.
      if (p + 8 <= end && b[p] >> 5 === 1 && (b[p] & 0x10) !== 0 && b[p + 1] === 0xff) {
        const teid = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
        let at = p + 8;
        if (b[p] & 0x07) {
          if (at + 4 > end) return;
          let ext = b[at + 3];
          at += 4;
          if (b[p] & 0x04) {
            // Extension headers: a length in 4-byte units, the next type in the last byte.
            for (let n = 0; ext !== 0 && n < 16; n++) {
              if (at >= end) return;
              const len = b[at] * 4;
              if (len === 0 || at + len > end) return;
              ext = b[at + len - 1];
              at += len;
            }
          }
        }
        if (at < end && (b[at] >> 4 === 4 || b[at] >> 4 === 6)) {
          this.#inner(Next.IP, at, Hop.GtpU, teid);
        }
      }
    } else if (dp === GRE_UDP_PORT || sp === GRE_UDP_PORT) {
      this.#gre(b, p, end);
      if (this.hopKind === Hop.Gre) this.hopKind = Hop.GreUdp;
    } else if (dp === AYIYA_PORT || sp === AYIYA_PORT) {
      // Identity length 2^n, signature length 4n bytes; next header 4 or 41.
      if (p + 8 > end) return;
      const at = p + 8 + (1 << (b[p] >> 4)) + (b[p + 1] >> 4) * 4;
      const next = b[p + 3];
      if (at < end && (next === 4 || next === 41)) {
        this.#inner(next === 4 ? Next.IPv4 : Next.IPv6, at, Hop.Ayiya, 0);
      }
    } else if (dp === TEREDO_PORT || sp === TEREDO_PORT) {
      this.#teredo(b, p, end, true);
    } else if (end - p >= 40 && b[p] >> 4 === 6) {
      // Teredo between a client and a relay uses any port: an IPv6 packet that fills the
      // datagram exactly and has a Teredo (2001:0::/32) address is one (as Zeek finds them).
      this.#teredo(b, p, end, false);
    }
  }

  /** Teredo: optional authentication and origin indication headers, then IPv6. */
  #teredo(b: Uint8Array, p: number, end: number, onPort: boolean): void {
    let at = p;
    if (onPort) {
      if (at + 2 <= end && b[at] === 0 && b[at + 1] === 1) {
        if (at + 4 > end) return;
        at += 4 + b[at + 2] + b[at + 3] + 9;
      }
      if (at + 2 <= end && b[at] === 0 && b[at + 1] === 0) at += 8;
    }
    if (at + 40 > end || b[at] >> 4 !== 6) return;
    const fits = at + 40 + ((b[at + 4] << 8) | b[at + 5]);
    if (onPort ? fits > end : fits !== end) return;
    if (!onPort) {
      const teredoAddress = (o: number) =>
        b[o] === 0x20 && b[o + 1] === 0x01 && b[o + 2] === 0 && b[o + 3] === 0;
      if (!teredoAddress(at + 8) && !teredoAddress(at + 24)) return;
    }
    this.#inner(Next.IPv6, at, Hop.Teredo, 0);
  }

  #gre(b: Uint8Array, p: number, end: number): void {
    if (p + 4 > end) return;
    const flags = (b[p] << 8) | b[p + 1];
    const version = flags & 7;
    const ptype = (b[p + 2] << 8) | b[p + 3];
    let at = p + 4;
    let key = 0;
    if (version === 1) {
      // Enhanced GRE (PPTP): key present (payload length, call id), optional sequence, ack.
      if (ptype !== 0x880b || (flags & 0x2000) === 0) return;
      key = (b[at + 2] << 8) | b[at + 3];
      at += 4;
      if (flags & 0x1000) at += 4;
      if (flags & 0x0080) at += 4;
      if (at > end) return;
      // PPP in HDLC-like framing: address and control bytes may be there.
      if (at + 2 <= end && b[at] === 0xff && b[at + 1] === 0x03) at += 2;
      this.#inner(Next.PPP, at, Hop.Pptp, key);
      return;
    }
    if (version !== 0) return;
    if (flags & 0x8000) at += 4; // checksum + reserved
    if (flags & 0x2000) {
      if (at + 4 > end) return;
      key = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
      at += 4;
    }
    const sequence = (flags & 0x1000) !== 0;
    if (sequence) at += 4;
    if (at > end) return;
    switch (ptype) {
      case 0x0800:
        this.#inner(Next.IPv4, at, Hop.Gre, key);
        return;
      case 0x86dd:
        this.#inner(Next.IPv6, at, Hop.Gre, key);
        return;
      case 0x6558:
        this.#inner(Next.Ether, at, Hop.Gre, key);
        return;
      case 0x8847:
        this.#inner(Next.Mpls, at, Hop.Gre, key);
        return;
      case 0x880b:
        this.#inner(Next.PPP, at, Hop.Gre, key);
        return;
      case 0x88be: {
        // ERSPAN type II (with GRE's sequence number), else type I (no ERSPAN header).
        if (!sequence) {
          this.#inner(Next.Ether, at, Hop.Erspan, 0);
          return;
        }
        if (at + 8 > end) return;
        const session = ((b[at + 2] & 3) << 8) | b[at + 3];
        this.#inner(Next.Ether, at + 8, Hop.Erspan, session);
        return;
      }
      case 0x22eb: {
        // ERSPAN type III: 12 bytes, plus an 8-byte platform subheader when O is set.
        if (at + 12 > end) return;
        const session = ((b[at + 2] & 3) << 8) | b[at + 3];
        const o = b[at + 11] & 1;
        this.#inner(Next.Ether, at + 12 + (o ? 8 : 0), Hop.Erspan, session);
        return;
      }
    }
    // Aruba's protocol types (0x8200-0x82ff) carry 802.11 frames.
    if ((ptype & 0xff00) === 0x8200) this.#inner(Next.Wlan, at, Hop.Aruba, key);
  }
}
