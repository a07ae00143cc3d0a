/**
 * Flows as text for other tools: one JSON object a line (the {@link Flow} keys), the same with
 * Elastic Common Schema names (`--ecs`, docs/FLOWS.md has the mapping), and CSV cells. Pure.
 * @module
 */
import type { Flow, FlowName, TunnelHop } from "./types.ts";
import { FLOW_KEYS } from "./types.ts";

/**
 * A flow as one JSON line, keys in {@link FLOW_KEYS} order (`tcpFlags`, `fragments` and `uid`
 * after them; absent ones left out). Each field read once by name: a loop over the key list read
 * them by computed key, several times slower (a test checks the order against FLOW_KEYS).
 */
export function flowJson(f: Flow): string {
  return JSON.stringify(
    {
      start: f.start,
      end: f.end,
      duration: f.duration,
      startTime: f.startTime,
      endTime: f.endTime,
      srcIp: f.srcIp,
      srcPort: f.srcPort,
      dstIp: f.dstIp,
      dstPort: f.dstPort,
      ipVersion: f.ipVersion,
      protocol: f.protocol,
      transport: f.transport,
      srcPackets: f.srcPackets,
      srcBytes: f.srcBytes,
      srcIpBytes: f.srcIpBytes,
      dstPackets: f.dstPackets,
      dstBytes: f.dstBytes,
      dstIpBytes: f.dstIpBytes,
      communityId: f.communityId,
      vlans: f.vlans,
      tunnel: f.tunnel,
      names: f.names,
      sample: f.sample,
      secflow: f.secflow,
      tcpFlags: f.tcpFlags || undefined,
      fragments: f.fragments,
      uid: f.uid,
    } satisfies Record<(typeof FLOW_KEYS)[number] | "tcpFlags" | "fragments" | "uid", unknown>,
  );
}

/** A tunnel path as text: `gre 10.0.0.1>10.0.0.2 / vxlan 42`. */
export function tunnelText(path: TunnelHop[]): string {
  return path.map((h) => {
    const ends = h.src ? ` ${h.src}>${h.dst}` : "";
    return `${h.kind}${ends}${h.id !== undefined ? ` ${h.id}` : ""}`;
  }).join(" / ");
}

/** The first name of each source: ECS's destination.domain, tls.client.server_name, url.domain. */
export interface FirstNames {
  dns?: string;
  sni?: string;
  host?: string;
}

/** Fills `into` with the first name of each source (DNS, SNI, HTTP Host) and returns it. */
export function firstNames(names: readonly FlowName[], into: FirstNames): FirstNames {
  into.dns = into.sni = into.host = undefined;
  for (const n of names) {
    if (n.source === "dns") into.dns ??= n.name;
    else if (n.source === "sni") into.sni ??= n.name;
    else into.host ??= n.name;
  }
  return into;
}

/** Whether flows of protocol `p` have ports (ICMP's are its type and code). */
export function hasPorts(p: number): boolean {
  return p === 6 || p === 17 || p === 132 || p === 1 || p === 58 || p === 136;
}

/** A JSON string literal. */
const q = JSON.stringify;

/**
 * The flow as an ECS document (nested objects), one JSON line. Written by hand, not through
 * objects and JSON.stringify: this is the per-flow cost of `--ecs`. Text a Zeek conn.log can
 * supply (addresses, Community ID, names) is escaped: a log is input like any other.
 */
export function flowEcs(f: Flow): string {
  const { dns, sni, host } = firstNames(f.names, {});
  const ports = hasPorts(f.protocol);
  // Times are digits and punctuation (isoMicros): no escaping needed.
  const start = `"${f.startTime}"`;
  let s = `{"@timestamp":${start},"event":{"kind":"event","category":["network"],` +
    `"type":["connection"],"start":${start},"end":"${f.endTime}","duration":${
      f.duration * 1000
    }},"source":{"ip":${q(f.srcIp)},${
      ports ? `"port":${f.srcPort},` : ""
    }"packets":${f.srcPackets},` +
    `"bytes":${f.srcIpBytes}},"destination":{"ip":${q(f.dstIp)},${
      ports ? `"port":${f.dstPort},` : ""
    }"packets":${f.dstPackets},"bytes":${f.dstIpBytes}${
      dns === undefined ? "" : `,"domain":${q(dns)}`
    }},"network":{"transport":${
      q(f.transport)
    },"iana_number":"${f.protocol}","type":"ipv${f.ipVersion}"${
      f.communityId ? `,"community_id":${q(f.communityId)}` : ""
    },"packets":${f.srcPackets + f.dstPackets},"bytes":${f.srcIpBytes + f.dstIpBytes}`;
  if (f.vlans.length > 0) s += `,"vlan":{"id":"${f.vlans[0]}"}`;
  if (f.vlans.length > 1) s += `,"inner":{"vlan":{"id":"${f.vlans[1]}"}}`;
  s += "}";
  if (sni !== undefined) s += `,"tls":{"client":{"server_name":${q(sni)}}}`;
  if (host !== undefined) {
    s += `,"url":{"domain":${q(host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1"))}}`;
  }
  s += `,"networksage":{"sample":"${f.sample}","source_payload_bytes":${f.srcBytes},` +
    `"destination_payload_bytes":${f.dstBytes}`;
  if (f.secflow) s += `,"secflow":{"src":${q(f.secflow.src)},"dst":${q(f.secflow.dst)}}`;
  if (f.tunnel.length > 0) s += `,"tunnel":${q(tunnelText(f.tunnel))}`;
  if (f.names.length > 0) s += `,"names":${q(f.names)}`;
  if (f.uid !== undefined) s += `,"uid":${q(f.uid)}`;
  return s + "}}";
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
