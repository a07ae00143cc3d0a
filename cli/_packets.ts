/**
 * Where a capture's packets went, in words (`convert`'s summary and `stats` share it): every
 * packet read counted once, the filtered and non-IPv4 ones by reason, and, when kept packets make
 * no Secflow, why (`secflow/packet_counts.ts` counts them).
 * @module
 */
import type { PacketCounts } from "../secflow/packet_counts.ts";
import { formatCount, plural } from "./_format.ts";

/** `label`, with its nonzero parts after a colon: `6 filtered: 4 LAN-internal, 2 blocked ports`. */
function withParts(total: number, label: string, parts: [number, string][]): string {
  const shown = parts.filter(([n]) => n > 0).map(([n, what]) => `${formatCount(n)} ${what}`);
  return `${formatCount(total)} ${label}${shown.length > 0 ? `: ${shown.join(", ")}` : ""}`;
}

/**
 * `46 packets (40 kept; 6 filtered: 4 LAN-internal, 2 blocked ports; 0 not IPv4; 0 truncated)`:
 * the parts add up to the packets read. Packets of link types not read, and pcapng packets
 * skipped for their block, are named only when there are some.
 */
export function packetsText(p: PacketCounts): string {
  const f = p.filtered, n = p.notIPv4;
  const parts = [
    `${formatCount(p.kept)} kept`,
    withParts(f.total, "filtered", [
      [f.lanInternal, "LAN-internal"],
      [f.blockedPorts, f.blockedPorts === 1 ? "blocked port" : "blocked ports"],
      [f.broadcastMulticast, "broadcast/multicast"],
    ]),
    withParts(n.total, "not IPv4", [[n.ipv6, "IPv6"], [n.arp, "ARP"], [n.other, "other"]]),
    `${formatCount(p.truncated)} truncated`,
  ];
  if (p.otherLinkTypes > 0) parts.push(`${formatCount(p.otherLinkTypes)} of link types not read`);
  if (p.skipped > 0) parts.push(`${formatCount(p.skipped)} skipped`);
  return `${plural(p.read, "packet")} (${parts.join("; ")})`;
}

/**
 * Why a capture made no Secflow, when its counts alone do not say it (some packets were kept):
 * e.g. `every kept packet was between local addresses`. Undefined when nothing was kept.
 */
export function noSecflowReason(p: PacketCounts): string | undefined {
  if (p.read === 0) return "the capture holds no packets";
  if (p.kept === 0) return undefined;
  const w = p.keptWithoutSecflow;
  // [count, "every kept packet was ...", "N ..."]
  const reasons: [number, string, string][] = [
    [w.localOnly, "between local addresses", "between local addresses"],
    [w.otherProtocols, "neither TCP, UDP nor ICMP", "neither TCP, UDP nor ICMP"],
    [w.fragments, "a non-first IPv4 fragment (no ports)", "non-first IPv4 fragments"],
    [w.small, "too small (an IPv4 part of 20 bytes or less)", "of 20 IPv4 bytes or less"],
    [
      w.dnsRule4,
      "DNS between private addresses (dropped as the capture shows local lookups)",
      "DNS between private addresses",
    ],
    [w.other, "outside every session", "outside every session"],
  ];
  const found = reasons.filter(([count]) => count > 0);
  if (found.length === 0) return undefined;
  if (found.length === 1 && found[0][0] === p.kept) return `every kept packet was ${found[0][1]}`;
  return `kept packets in no Secflow: ${
    found.map(([count, , what]) => `${formatCount(count)} ${what}`).join(", ")
  }`;
}
