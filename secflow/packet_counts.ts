/**
 * Where every packet of a capture went, so that a summary can say it: the reasons the engine
 * dropped packets (the filter's, the decoder's) broken down, and why kept packets made no Secflow.
 *
 * The engine keeps these details in one small `Float64Array` indexed by {@link Fate}, incremented
 * only in branches it already takes for a packet it is not counting into a flow (filtered, not
 * IPv4, kept without ports): a packet that reaches a flow costs nothing more. What the kept
 * packets of flows became (a session, or none: both ends local, rule 4) is known only once the
 * sessions are decided, so {@link FlowEngine.finish} adds it per flow, not per packet. Telling
 * IPv6 from ARP re-reads the link header of that packet only ({@link notIPv4Fate}), so the
 * decoder's fast path stays as it is.
 * @module
 */
import type { EngineStats } from "./engine.ts";

/** Indexes of the engine's detail counters. */
export const enum Fate {
  /** Filtered: a blocked port (DHCP, NetBIOS, LDAP, SMB, SSDP, mDNS, LLMNR) on either end. */
  BlockedPort = 0,
  /** Filtered: both addresses local (FILTER-LOCAL), neither broadcast nor multicast. */
  LanInternal = 1,
  /** Filtered: both addresses local, one of them multicast or the broadcast address. */
  BroadcastMulticast = 2,
  /** Not IPv4: IPv6. */
  IPv6 = 3,
  /** Not IPv4: ARP. */
  Arp = 4,
  /** Not IPv4: anything else (other EtherTypes, frames too short to say). */
  OtherNotIPv4 = 5,
  /** Kept, no session: an IP protocol other than TCP, UDP and ICMP. */
  OtherProtocol = 6,
  /** Kept, no session: a non-first IPv4 fragment of TCP or UDP (no ports in it). */
  Fragment = 7,
  /** Kept, no session: an IPv4 part of 20 bytes or less (section 3 counts only larger ones). */
  Small = 8,
  /** Kept, no session (decided at the end): both ends local addresses. */
  LocalOnly = 9,
  /** Kept, no session (decided at the end): DNS between private addresses, rule 4. */
  DnsRule4 = 10,
  /** Kept, no session (decided at the end): its endpoints' session came after its packets. */
  Unplaced = 11,
}

/** Length of the detail counters. */
export const FATE_COUNT = 12;
/** The first counter {@link FlowEngine.finish} computes (reset there, so finishing twice is safe). */
export const FIRST_FINISHED_FATE = Fate.LocalOnly;

/** The filter reason of a packet whose two addresses are both FILTER-LOCAL. */
export function localFate(src: number, dst: number): Fate {
  return isBroadcastOrMulticast(src) || isBroadcastOrMulticast(dst)
    ? Fate.BroadcastMulticast
    : Fate.LanInternal;
}

function isBroadcastOrMulticast(ip: number): boolean {
  const a = ip >>> 24;
  return (a >= 224 && a <= 239) || ip === 0xffffffff;
}

/**
 * What a frame the decoder found not to be IPv4 holds: IPv6, ARP or other, from its link header
 * (EtherType after any VLAN tags, the raw IP version, the BSD address family).
 */
export function notIPv4Fate(b: Uint8Array, off: number, caplen: number, linkType: number): Fate {
  const end = off + caplen;
  let p: number;
  switch (linkType) {
    case 1: // Ethernet
      p = off + 12;
      break;
    case 113: // Linux SLL: the protocol field ends the 16-byte header
      p = off + 14;
      break;
    case 276: // Linux SLL2: the protocol field starts it
      p = off;
      break;
    case 0:
    case 108: { // BSD null and OpenBSD loopback: AF_INET6 is 24, 28 or 30 depending on the BSD
      if (caplen < 4) return Fate.OtherNotIPv4;
      const le = b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24);
      const be = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
      const inet6 = (af: number) => af === 24 || af === 28 || af === 30;
      return inet6(be) || (linkType === 0 && inet6(le)) ? Fate.IPv6 : Fate.OtherNotIPv4;
    }
    default: // raw IP
      return caplen >= 1 && b[off] >> 4 === 6 ? Fate.IPv6 : Fate.OtherNotIPv4;
  }
  if (p + 2 > end) return Fate.OtherNotIPv4;
  let etype = (b[p] << 8) | b[p + 1];
  p += linkType === 276 ? 20 : 2;
  while ((etype === 0x8100 || etype === 0x88a8 || etype === 0x9100) && p + 4 <= end) {
    etype = (b[p + 2] << 8) | b[p + 3];
    p += 4;
  }
  return etype === 0x86dd ? Fate.IPv6 : etype === 0x0806 ? Fate.Arp : Fate.OtherNotIPv4;
}

/**
 * Every packet of a capture, once: `read` is the sum of `kept`, `filtered.total`,
 * `notIPv4.total`, `truncated`, `otherLinkTypes` and `skipped`; `kept` is the sum of `inSecflows`
 * and the parts of `keptWithoutSecflow`.
 */
export interface PacketCounts {
  /** Packet records in the file (including those skipped, and a record cut short at its end). */
  read: number;
  /** Packets the section 2 filter kept. */
  kept: number;
  /** Packets the filter dropped, by rule. */
  filtered: {
    total: number;
    lanInternal: number;
    blockedPorts: number;
    broadcastMulticast: number;
  };
  /** Packets that are not IPv4, by what they are. */
  notIPv4: { total: number; ipv6: number; arp: number; other: number };
  /**
   * IPv4 packets too short to hold the headers read, and the record the file ends in the middle
   * of (or damage stops the reading at; a warning says where).
   */
  truncated: number;
  /** Packets of link types the converter does not read (a warning names them). */
  otherLinkTypes: number;
  /** pcapng packets skipped for their block (no timestamp, no interface, a bad length). */
  skipped: number;
  /** Kept packets counted in a Secflow. */
  inSecflows: number;
  /** Kept packets in no Secflow, by why. */
  keptWithoutSecflow: {
    localOnly: number;
    otherProtocols: number;
    fragments: number;
    small: number;
    dnsRule4: number;
    other: number;
  };
}

/** What a capture reader found beside the packets it delivered. */
export interface ReaderCounts {
  /** Records delivered to the engine. */
  packets: number;
  /** pcapng packets skipped for their block. */
  skipped: number;
  /** 1 when the file ends inside a record or damage stopped the reading, else 0. */
  cut: number;
}

/** The {@link PacketCounts} of a finished engine (`stats`, `fates`) and its reader. */
export function packetCounts(
  stats: EngineStats,
  fates: Float64Array,
  reader: ReaderCounts,
): PacketCounts {
  const f = (i: Fate) => fates[i];
  const without = {
    localOnly: f(Fate.LocalOnly),
    otherProtocols: f(Fate.OtherProtocol),
    fragments: f(Fate.Fragment),
    small: f(Fate.Small),
    dnsRule4: f(Fate.DnsRule4),
    other: f(Fate.Unplaced),
  };
  let withoutTotal = 0;
  for (const n of Object.values(without)) withoutTotal += n;
  return {
    read: reader.packets + reader.skipped + reader.cut,
    kept: stats.kept,
    filtered: {
      total: stats.filtered,
      lanInternal: f(Fate.LanInternal),
      blockedPorts: f(Fate.BlockedPort),
      broadcastMulticast: f(Fate.BroadcastMulticast),
    },
    notIPv4: {
      total: stats.notIPv4,
      ipv6: f(Fate.IPv6),
      arp: f(Fate.Arp),
      other: f(Fate.OtherNotIPv4),
    },
    truncated: stats.truncated + reader.cut,
    otherLinkTypes: stats.unknownLink,
    skipped: reader.skipped,
    inSecflows: stats.kept - withoutTotal,
    keptWithoutSecflow: without,
  };
}
