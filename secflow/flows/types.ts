/**
 * The flow: the second unit beside the Secflow. A Secflow is what the platform's converter keeps
 * (IPv4 TCP/UDP/ICMP to the Internet, one session per endpoint); a flow is every conversation in
 * the capture, as Zeek's `conn.log` has them: bidirectional, keyed by transport and both
 * endpoints (plus VLAN ids and the tunnel it travels in), the initiator as its source, IPv4 and
 * IPv6, any IP protocol, inside tunnels too. This module is the stable, typed shape of one flow
 * and of the options and summary of a run; the engine that makes them is `engine.ts`, the
 * library API `io/flows.ts` (re-exported by `convert.ts` and `mod.ts`). docs/FLOWS.md describes
 * every field, the ECS mapping and the reasons.
 * @module
 */

/**
 * A flow's transport as Zeek and ECS spell it: `tcp`, `udp`, `icmp`, `ipv6-icmp`, `sctp`, else
 * the IANA keyword of the protocol number when it has a common one (`gre`, `esp`, `ah`,
 * `ospf`, `igmp`, `pim`, `vrrp`, ...), else the number as decimal text (`"253"`).
 */
export type Transport = string;

/** Where a destination name came from. */
export type FlowNameSource =
  /** A DNS answer in the capture, chosen as Secflows choose (SECFLOW.md section 4). */
  | "dns"
  /** The server_name extension of a TLS ClientHello of this flow. */
  | "sni"
  /** The Host header of an HTTP/1 request of this flow. */
  | "http";

/** A name of the flow's destination and where it came from. */
export interface FlowName {
  /** The name as read (a DNS answer's query name, the SNI, the Host without its port). */
  name: string;
  /** Where the name came from. */
  source: FlowNameSource;
}

/** Tunnel kinds the engine opens. */
export type TunnelKind =
  | "gre"
  | "pptp"
  | "erspan"
  | "aruba"
  | "vxlan"
  | "geneve"
  | "ip-in-ip"
  | "6in4"
  | "teredo"
  | "gtp-u"
  | "mpls"
  | "pppoe"
  | "ayiya"
  | "gre-udp";

/** One level of a flow's tunnel path, outermost first. */
export interface TunnelHop {
  /** The encapsulation this hop opens. */
  kind: TunnelKind;
  /** The carrier's outer source and destination addresses (as the carrier flow's packet had them). */
  src: string;
  /** The carrier's outer destination address. */
  dst: string;
  /** VXLAN/Geneve VNI, GRE key, GTP-U TEID, ERSPAN session id, MPLS top label; absent when none. */
  id?: number;
}

/**
 * Why the platform's sample leaves a flow out (a flow it keeps says `"kept"`), checked in this
 * order; SECFLOW.md section 2 has the rules behind them.
 */
export type LeftOutReason =
  /** Not IPv4 (the platform reads IPv4 only). */
  | "ipv6"
  /** Travels inside a tunnel: the platform reads the outer header only. */
  | "in-tunnel"
  /** Carried under MPLS or PPPoE or another encapsulation the platform's decoder does not read. */
  | "encapsulation"
  /** Neither TCP, UDP nor ICMP. */
  | "not-tcp-udp-icmp"
  /** A later IPv4 fragment (no ports): only first fragments and whole packets make sessions. */
  | "fragment"
  /** A port the platform filters (67, 68, 137, 139, 389, 445, 636, 1900, 5353, 5355). */
  | "blocked-port"
  /** Both ends in the filter's local ranges (rule 3) and no port 53. */
  | "lan-internal"
  /** Private DNS between RFC 1918 addresses while the capture holds local lookups (rule 4). */
  | "local-dns"
  /** A multicast or broadcast destination with an external source (no session is made). */
  | "broadcast-multicast"
  /** Both ends local by section 1's wider list: filtered in, but no session is created. */
  | "local-only"
  /** Every packet's IPv4 part was 20 bytes or shorter (the platform skips such packets). */
  | "too-short";

/** Whether the platform's sample keeps a flow. */
export type SampleVerdict = "kept" | LeftOutReason;

/** One flow. Times are whole microseconds since the Unix epoch (UTC). */
export interface Flow {
  /** First packet, µs since the epoch. */
  start: number;
  /** Last packet, µs since the epoch. */
  end: number;
  /** `end - start`, µs. */
  duration: number;
  /** `start` in ISO 8601, UTC, microseconds (`2023-11-14T22:13:20.000001Z`). */
  startTime: string;
  /** `end` the same way. */
  endTime: string;
  /** The initiator: the sender of the first SYN without ACK, else of the first packet. */
  srcIp: string;
  /** Source port; for ICMP and ICMPv6 the type (as Zeek and Community ID). 0 when none. */
  srcPort: number;
  /** The responder's address. */
  dstIp: string;
  /**
   * Destination port; for ICMP and ICMPv6 the paired type of a request/reply kind (echo 8 → 0),
   * else the code. 0 when the protocol has none.
   */
  dstPort: number;
  /** IP version of the flow's own (innermost) header. */
  ipVersion: 4 | 6;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 132 SCTP, ...). */
  protocol: number;
  /** The protocol's name (`tcp`, `udp`, `icmp`, `ipv6-icmp`, ...), or its number as text. */
  transport: Transport;
  /** Packets from the source. */
  srcPackets: number;
  /** Transport payload bytes from the source. */
  srcBytes: number;
  /** IP bytes (headers included) from the source. */
  srcIpBytes: number;
  /** Packets from the destination. */
  dstPackets: number;
  /** Transport payload bytes from the destination. */
  dstBytes: number;
  /** IP bytes (headers included) from the destination. */
  dstIpBytes: number;
  /** Community ID v1, seed 0, base64 (`1:...`); empty for a flow with no IP addresses. */
  communityId: string;
  /** 802.1Q/802.1ad VLAN ids, outermost first (empty when untagged). */
  vlans: number[];
  /** The tunnels the flow travels in, outermost first (empty for a flow on the wire). */
  tunnel: TunnelHop[];
  /** Names of the destination: DNS first (if any), then SNI and HTTP Host in order seen. */
  names: FlowName[];
  /** `"kept"` when the platform's sample keeps the flow, else the reason it leaves it out. */
  sample: SampleVerdict;
  /**
   * For a kept flow: the Secflow it belongs to, `src` and `dst` as the `.sf` writes them before
   * naming (`"10.0.0.2:50000"` / `"93.184.216.34:443"`; ICMP without ports).
   */
  secflow?: { src: string; dst: string };
  /** TCP: whether a SYN, a FIN or RST was seen (Zeek's history, reduced). */
  tcpFlags?: { syn: boolean; fin: boolean; rst: boolean };
  /** For flows read from a Zeek conn.log: the row's uid. */
  uid?: string;
  /** The IPv4 fragments the flow's packets came in (counted, not reassembled). */
  fragments?: number;
}

/** Options of a flow run. */
export interface FlowOptions {
  /**
   * At most this many flows are tracked at once (default {@link DEFAULT_MAX_FLOWS}). When the
   * table is full, packets of new flows are counted in {@link FlowSummary.overflowPackets} and
   * a warning says so: memory stays bounded whatever the input.
   */
  maxFlows?: number;
  /** How many tunnels deep packets are opened (default {@link DEFAULT_MAX_TUNNEL_DEPTH}). */
  maxTunnelDepth?: number;
  /**
   * Emit flows as they end (an idle timeout, or a closed TCP connection seeing a new SYN) rather
   * than all at the end; flows whose DNS name or verdict can still change wait until the end.
   * Default true. Order is then not start order; without it flows come in start order.
   */
  streaming?: boolean;
  /** Called for every warning as it happens (they are also in the summary). */
  onWarning?: (message: string) => void;
  /** Stops the reading (the iteration ends with an AbortError). */
  signal?: AbortSignal;
}

/** What a run read, handed over when the flows are done. */
export interface FlowSummary {
  /** The input's format. */
  format: "pcap" | "pcapng" | "zeek";
  /** Packet records read (rows for a Zeek log). */
  packets: number;
  /** Flows emitted. */
  flows: number;
  /** Packets that made no flow: not IP (ARP, LLDP, ...), cut short, or an unknown link type. */
  notIp: number;
  /** Packets too short for the headers they announce. */
  truncated: number;
  /** Packets dropped because the flow table was full. */
  overflowPackets: number;
  /** Packets whose tunnels went deeper than the limit (counted on the carrier at that depth). */
  tooDeep: number;
  /** Every warning, one line each, naming the file. */
  warnings: string[];
}

/** Default of {@link FlowOptions.maxFlows}: about 120 MiB of table at most. */
export const DEFAULT_MAX_FLOWS = 1_000_000;
/** Default of {@link FlowOptions.maxTunnelDepth}. */
export const DEFAULT_MAX_TUNNEL_DEPTH = 8;

/** The keys of a flow in JSON, CSV and NDJSON output, in order. */
export const FLOW_KEYS = [
  "start",
  "end",
  "duration",
  "startTime",
  "endTime",
  "srcIp",
  "srcPort",
  "dstIp",
  "dstPort",
  "ipVersion",
  "protocol",
  "transport",
  "srcPackets",
  "srcBytes",
  "srcIpBytes",
  "dstPackets",
  "dstBytes",
  "dstIpBytes",
  "communityId",
  "vlans",
  "tunnel",
  "names",
  "sample",
  "secflow",
] as const;

/** Engine options (see `FlowOptions`). */
export interface FlowEngineOptions {
  maxFlows?: number;
  maxTunnelDepth?: number;
  streaming?: boolean;
}

/** Counters of a run. */
export interface FlowEngineStats {
  packets: number;
  notIp: number;
  truncated: number;
  unknownLink: number;
  overflowPackets: number;
  tooDeep: number;
  /** Later fragments whose first fragment was not seen (not counted in any flow). */
  orphanFragments: number;
}
