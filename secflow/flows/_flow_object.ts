/**
 * A flow as an object, made from its columns only when it is emitted: addresses and times as text,
 * the Community ID, the tunnel path, and the Secflow a kept flow joins.
 * @module
 */
import { ipToString, isLocal } from "../net.ts";
import {
  type Columns,
  F_BIG,
  F_FIN_A,
  F_FIN_B,
  F_FIRST_FROM_A,
  F_ONE_WAY,
  F_ORIG_IS_A,
  F_RST,
  F_SYN,
  KEY_WIDTH,
  VERDICTS,
} from "./_columns.ts";
import { communityIdOfWords } from "./community_id.ts";
import { addressText, isoMicrosCached, transportName } from "./text.ts";
import type { Flow, TunnelHop } from "./types.ts";

/**
 * The flow in `slot` of `c` as an object (made when the flow is emitted), with its tunnel path:
 * a new object, or `into` filled in (one object reused for every flow, when the consumer reads
 * each before the next is emitted).
 */
export function flowObject(
  c: Columns,
  slot: number,
  tunnel: TunnelHop[],
  into?: Flow,
): Flow {
  const k = c.key;
  const o = slot * KEY_WIDTH;
  const f = c.flags[slot];
  const proto = k[o] & 255;
  const version = (k[o] >> 8) as 4 | 6;
  const origA = (f & F_ORIG_IS_A) !== 0;
  const ao = o + 3, bo = o + 7;
  const pa = k[o + 11] >>> 16, pb = k[o + 11] & 0xffff;
  const so = origA ? ao : bo, doff = origA ? bo : ao;
  const srcPort = origA ? pa : pb, dstPort = origA ? pb : pa;
  const srcIp = addressText(version, k, so);
  const dstIp = addressText(version, k, doff);
  const cnt = c.count;
  const sBase = slot * 6 + (origA ? 0 : 3), dBase = slot * 6 + (origA ? 3 : 0);
  const start = c.first[slot], end = c.last[slot];
  let verdict = VERDICTS[c.verdict[slot]];
  if (verdict === "kept" && (f & F_BIG) === 0) verdict = "too-short";
  const vlanWord = k[o + 1];
  const vlans: number[] = [];
  if (vlanWord !== 0) {
    vlans.push((vlanWord >> 12) & 0xfff);
    if (vlanWord >>> 24 > 1) vlans.push(vlanWord & 0xfff);
  }
  // Every flow object gets every key, in this order (absent ones undefined): one shape.
  const flow = into ?? ({} as Flow);
  flow.start = start;
  flow.end = end;
  flow.duration = end - start;
  flow.startTime = isoMicrosCached(start);
  flow.endTime = isoMicrosCached(end);
  flow.srcIp = srcIp;
  flow.srcPort = srcPort;
  flow.dstIp = dstIp;
  flow.dstPort = dstPort;
  flow.ipVersion = version;
  flow.protocol = proto;
  flow.transport = transportName(proto);
  flow.srcPackets = cnt[sBase];
  flow.srcBytes = cnt[sBase + 1];
  flow.srcIpBytes = cnt[sBase + 2];
  flow.dstPackets = cnt[dBase];
  flow.dstBytes = cnt[dBase + 1];
  flow.dstIpBytes = cnt[dBase + 2];
  flow.communityId = communityIdOfWords(
    version,
    k,
    so,
    k,
    doff,
    proto,
    srcPort,
    dstPort,
    (f & F_ONE_WAY) !== 0,
  );
  flow.vlans = vlans;
  flow.tunnel = tunnel;
  flow.names = c.names[slot] ?? [];
  flow.sample = verdict;
  flow.secflow = verdict === "kept" ? secflowOf(k, o, f, proto) : undefined;
  flow.tcpFlags = proto === 6
    ? {
      syn: (f & F_SYN) !== 0,
      fin: (f & (F_FIN_A | F_FIN_B)) !== 0,
      rst: (f & F_RST) !== 0,
    }
    : undefined;
  flow.uid = undefined;
  flow.fragments = c.fragments[slot] > 0 ? c.fragments[slot] : undefined;
  return flow;
}

/** The Secflow a kept flow joins: the session its first packet creates (SECFLOW.md 3). */
function secflowOf(
  k: Int32Array,
  o: number,
  f: number,
  proto: number,
): { src: string; dst: string } {
  const firstA = (f & F_FIRST_FROM_A) !== 0;
  const s = (firstA ? k[o + 3] : k[o + 7]) >>> 0;
  const dd = (firstA ? k[o + 7] : k[o + 3]) >>> 0;
  const pa = k[o + 11] >>> 16, pb = k[o + 11] & 0xffff;
  const sp = firstA ? pa : pb, dp = firstA ? pb : pa;
  if (proto === 1) {
    const sIsSource = isLocal(s) || !isLocal(dd);
    return sIsSource
      ? { src: ipToString(s), dst: ipToString(dd) }
      : { src: ipToString(dd), dst: ipToString(s) };
  }
  let sourceIsS: boolean;
  if (isLocal(s)) {
    if (sp > 49151) sourceIsS = true;
    else if (dp > 49151) sourceIsS = false;
    else if (dp < 1024) sourceIsS = true;
    else sourceIsS = !(dp > sp);
  } else sourceIsS = !(dp > sp);
  const S = `${ipToString(s)}:${sp}`, D = `${ipToString(dd)}:${dp}`;
  return sourceIsS ? { src: S, dst: D } : { src: D, dst: S };
}
