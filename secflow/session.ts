/**
 * A finished session, ready for naming: the boundary between the packet (or Zeek row) side of
 * the pipeline and the naming and sample side.
 * @module
 */

/** One session, addresses as unsigned 32-bit numbers, times in seconds. */
export interface SessionRecord {
  /** ICMP sessions have no ports and write `protocolInformation: "ICMP"`. */
  icmp: boolean;
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
  srcPkts: number;
  dstPkts: number;
  srcBytes: number;
  dstBytes: number;
  /** Time of the first packet, seconds. */
  first: number;
  /** Time of the last packet, seconds. */
  last: number;
}
