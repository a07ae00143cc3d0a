/**
 * Flows as text for other tools: one JSON object a line (the {@link Flow} keys), the same with
 * Elastic Common Schema names (`--ecs`, docs/FLOWS.md has the mapping), and CSV cells. Pure.
 * @module
 */
import type { Flow, TunnelHop } from "./types.ts";
import { FLOW_KEYS } from "./types.ts";

/** A flow as one JSON line, keys in {@link FLOW_KEYS} order (`tcpFlags`, `uid` and `fragments` after them). */
export function flowJson(f: Flow): string {
  const o: Record<string, unknown> = {};
  for (const k of FLOW_KEYS) if (f[k] !== undefined) o[k] = f[k];
  if (f.tcpFlags) o.tcpFlags = f.tcpFlags;
  if (f.fragments !== undefined) o.fragments = f.fragments;
  if (f.uid !== undefined) o.uid = f.uid;
  return JSON.stringify(o);
}

/** A tunnel path as text: `gre 10.0.0.1>10.0.0.2 / vxlan 42`. */
export function tunnelText(path: TunnelHop[]): string {
  return path.map((h) => {
    const ends = h.src ? ` ${h.src}>${h.dst}` : "";
    return `${h.kind}${ends}${h.id !== undefined ? ` ${h.id}` : ""}`;
  }).join(" / ");
}

/** Whether flows of protocol `p` have ports (ICMP's are its type and code). */
export function hasPorts(p: number): boolean {
  return p === 6 || p === 17 || p === 132 || p === 1 || p === 58 || p === 136;
}

/** The flow as an ECS document (nested objects), one JSON line. */
export function flowEcs(f: Flow): string {
  const dns = f.names.find((n) => n.source === "dns")?.name;
  const sni = f.names.find((n) => n.source === "sni")?.name;
  const host = f.names.find((n) => n.source === "http")?.name;
  const network: Record<string, unknown> = {
    transport: f.transport,
    iana_number: String(f.protocol),
    type: f.ipVersion === 4 ? "ipv4" : "ipv6",
    community_id: f.communityId || undefined,
    packets: f.srcPackets + f.dstPackets,
    bytes: f.srcIpBytes + f.dstIpBytes,
  };
  if (f.vlans.length > 0) network.vlan = { id: String(f.vlans[0]) };
  if (f.vlans.length > 1) network.inner = { vlan: { id: String(f.vlans[1]) } };
  const doc: Record<string, unknown> = {
    "@timestamp": f.startTime,
    event: {
      kind: "event",
      category: ["network"],
      type: ["connection"],
      start: f.startTime,
      end: f.endTime,
      duration: f.duration * 1000,
    },
    source: {
      ip: f.srcIp,
      port: hasPorts(f.protocol) ? f.srcPort : undefined,
      packets: f.srcPackets,
      bytes: f.srcIpBytes,
    },
    destination: {
      ip: f.dstIp,
      port: hasPorts(f.protocol) ? f.dstPort : undefined,
      packets: f.dstPackets,
      bytes: f.dstIpBytes,
      domain: dns,
    },
    network,
  };
  if (sni) doc.tls = { client: { server_name: sni } };
  if (host) doc.url = { domain: host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1") };
  const ns: Record<string, unknown> = {
    sample: f.sample,
    source_payload_bytes: f.srcBytes,
    destination_payload_bytes: f.dstBytes,
  };
  if (f.secflow) ns.secflow = f.secflow;
  if (f.tunnel.length > 0) ns.tunnel = tunnelText(f.tunnel);
  if (f.names.length > 0) ns.names = f.names;
  if (f.uid) ns.uid = f.uid;
  doc.networksage = ns;
  return JSON.stringify(doc);
}

/** The CSV header of {@link flowCells}. */
export const FLOW_CSV_KEYS: readonly string[] = FLOW_KEYS.flatMap((k) =>
  k === "secflow" ? ["secflowSrc", "secflowDst"] : [k]
);

/** A flow's CSV cells (lists joined with `;`, the tunnel as {@link tunnelText}). */
export function flowCells(f: Flow): unknown[] {
  return FLOW_KEYS.flatMap((k): unknown[] => {
    switch (k) {
      case "vlans":
        return [f.vlans.join(";")];
      case "tunnel":
        return [tunnelText(f.tunnel)];
      case "names":
        return [f.names.map((n) => `${n.source}:${n.name}`).join(";")];
      case "secflow":
        return [f.secflow?.src ?? "", f.secflow?.dst ?? ""];
      default:
        return [f[k]];
    }
  });
}
