/**
 * Whether the platform's sample keeps a flow, and if not why: SECFLOW.md sections 2 and 3 applied
 * to a flow's first packet, as the decoder holds it. Pure; read once per new flow.
 * @module
 */
import { LINK_TYPES } from "../decode.ts";
import { isFilterLocal, isLocal, isRfc1918 } from "../net.ts";
import { V } from "./_columns.ts";
import { BLOCKED_PORTS } from "./_ports.ts";
import type { FlowDecoder } from "./decode.ts";

/**
 * Set on a {@link sampleVerdict} of DNS between two RFC 1918 addresses: whether the platform
 * keeps it depends on the capture holding local lookups, known only at its end.
 */
export const CONDITIONAL = 0x80;

/**
 * The verdict ({@link V}) on the packet `d` decoded, the first of its flow, read from a capture
 * of `linkType` and `depth` tunnels deep; {@link CONDITIONAL} added for private DNS.
 */
export function sampleVerdict(d: FlowDecoder, linkType: number, depth: number): number {
  if (depth > 0) return V.InTunnel;
  if (d.encapsulated || !(linkType in LINK_TYPES)) return V.Encapsulation;
  if (d.ipVersion === 6) return V.Ipv6;
  const proto = d.protocol;
  if (proto !== 6 && proto !== 17 && proto !== 1) return V.NotTcpUdpIcmp;
  const src = d.addr[0] >>> 0, dst = d.addr[4] >>> 0;
  const multicast = (dst >>> 28) === 14 || dst === 0xffffffff;
  if (proto === 1) {
    if (isFilterLocal(src) && isFilterLocal(dst)) {
      return multicast ? V.BroadcastMulticast : V.LanInternal;
    }
    return V.Kept;
  }
  const sp = d.srcPort, dp = d.dstPort;
  if (BLOCKED_PORTS[sp] === 1 || BLOCKED_PORTS[dp] === 1) return V.BlockedPort;
  const port53 = sp === 53 || dp === 53;
  if (!port53 && isFilterLocal(src) && isFilterLocal(dst)) {
    return multicast ? V.BroadcastMulticast : V.LanInternal;
  }
  const conditional = port53 && isRfc1918(src) && isRfc1918(dst) ? CONDITIONAL : 0;
  if (isLocal(src) && isLocal(dst)) {
    return (multicast ? V.BroadcastMulticast : V.LocalOnly) | conditional;
  }
  return V.Kept | conditional;
}
