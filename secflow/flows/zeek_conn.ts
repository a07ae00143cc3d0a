/**
 * Zeek `conn.log` rows as flows: TSV (with its `#fields` header, or Zeek's default columns when
 * it has none) or JSON lines, IPv4 and IPv6 rows alike. Zeek already did the flow work; this maps
 * its fields onto {@link Flow}: `orig` is the source, `*_bytes` the payload bytes, `*_ip_bytes`
 * the IP bytes, `community_id` kept when the log has it (else computed), `vlan`/`inner_vlan`.
 * @module
 */
import { communityId } from "./community_id.ts";
import { isoMicros, transportName } from "./text.ts";
import type { Flow } from "./types.ts";
import { isLocal, parseIPv4 } from "../net.ts";
import { CONN_FIELDS } from "../zeek/_fields.ts";

function bothLocal(a: string, b: string): boolean {
  const x = parseIPv4(a), y = parseIPv4(b);
  return x !== undefined && y !== undefined && isLocal(x) && isLocal(y);
}

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, unknown_transport: 0 };

/** Reads conn.log lines one at a time into flows. */
export class ConnLogFlows {
  #fields: readonly string[] = CONN_FIELDS;
  #index = new Map<string, number>(CONN_FIELDS.map((f, i) => [f, i]));
  #unset = "-";
  #sep = "\t";
  /** Lines that were no row (a wrong field count, a bad address, bad JSON). */
  skipped = 0;
  rows = 0;

  /** The flow of one line, or undefined for a header, a comment or a line that is no row. */
  line(text: string): Flow | undefined {
    if (text.length === 0) return undefined;
    if (text.charCodeAt(0) === 35) {
      this.#header(text);
      return undefined;
    }
    if (text.charCodeAt(0) === 123) {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(text);
      } catch {
        this.skipped++;
        return undefined;
      }
      return this.#flow((name) => {
        const v = o[name];
        return v === undefined || v === null
          ? undefined
          : Array.isArray(v)
          ? v.join(",")
          : String(v);
      });
    }
    const cells = text.split(this.#sep);
    if (cells.length < this.#fields.length) {
      this.skipped++;
      return undefined;
    }
    return this.#flow((name) => {
      const i = this.#index.get(name);
      if (i === undefined) return undefined;
      const v = cells[i];
      return v === this.#unset || v === "(empty)" ? undefined : v;
    });
  }

  #header(text: string): void {
    if (text.startsWith("#separator")) {
      const m = /\\x([0-9a-fA-F]{2})/.exec(text);
      if (m) this.#sep = String.fromCharCode(parseInt(m[1], 16));
    } else if (text.startsWith("#fields")) {
      this.#fields = text.split(this.#sep).slice(1);
      this.#index = new Map(this.#fields.map((f, i) => [f, i]));
    } else if (text.startsWith("#unset_field")) {
      this.#unset = text.split(this.#sep)[1] ?? "-";
    }
  }

  #flow(get: (name: string) => string | undefined): Flow | undefined {
    const ts = Number(get("ts"));
    const src = get("id.orig_h"), dst = get("id.resp_h");
    const protoName = get("proto") ?? "";
    if (!Number.isFinite(ts) || !src || !dst) {
      this.skipped++;
      return undefined;
    }
    const v6 = src.includes(":");
    let protocol = PROTOCOLS[protoName] ?? 0;
    if (protocol === 1 && v6) protocol = 58;
    const sp = Number(get("id.orig_p") ?? 0) || 0, dp = Number(get("id.resp_p") ?? 0) || 0;
    const start = Math.round(ts * 1e6);
    const duration = Math.round(Number(get("duration") ?? 0) * 1e6) || 0;
    const num = (name: string) => Number(get(name) ?? 0) || 0;
    let cid = get("community_id") ?? "";
    if (!cid) {
      try {
        cid = communityId(src, dst, protocol, sp, dp);
      } catch {
        cid = "";
      }
    }
    const vlans: number[] = [];
    const vlan = get("vlan"), inner = get("inner_vlan");
    if (vlan) vlans.push(Number(vlan));
    if (inner) vlans.push(Number(inner));
    this.rows++;
    const flow: Flow = {
      start,
      end: start + duration,
      duration,
      startTime: isoMicros(start),
      endTime: isoMicros(start + duration),
      srcIp: src,
      srcPort: sp,
      dstIp: dst,
      dstPort: dp,
      ipVersion: v6 ? 6 : 4,
      protocol,
      transport: protocol === 0 ? protoName : transportName(protocol),
      srcPackets: num("orig_pkts"),
      srcBytes: num("orig_bytes"),
      srcIpBytes: num("orig_ip_bytes"),
      dstPackets: num("resp_pkts"),
      dstBytes: num("resp_bytes"),
      dstIpBytes: num("resp_ip_bytes"),
      communityId: cid,
      vlans,
      tunnel: [],
      names: [],
      // The Zeek pipeline's rule (SECFLOW.md section 5): rows between two local addresses, and
      // IPv6 rows, make no Secflow.
      sample: v6 ? "ipv6" : bothLocal(src, dst) ? "local-only" : "kept",
    };
    const uid = get("uid");
    if (uid) flow.uid = uid;
    return flow;
  }
}
