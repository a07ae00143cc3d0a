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
} from "./_columns.ts";
import { communityIdOfWords } from "./community_id.ts";
import { addressText, isoMicrosCached, transportName } from "./text.ts";
import type { Flow, SampleVerdict, TunnelHop } from "./types.ts";

/**
 * The flow in `slot` of `c` as an object (made once, when the flow is emitted), with its sample
 * verdict as the engine gave it and its tunnel path.
 */
export function flowObject(
  c: Columns,
  slot: number,
  engineVerdict: SampleVerdict,
  tunnel: TunnelHop[],
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
  let verdict = engineVerdict;
  if (verdict === "kept" && (f & F_BIG) === 0) verdict = "too-short";
  const vlanWord = k[o + 1];
  const vlans: number[] = [];
  if (vlanWord !== 0) {
    vlans.push((vlanWord >> 12) & 0xfff);
    if (vlanWord >>> 24 > 1) vlans.push(vlanWord & 0xfff);
  }
  const flow: Flow = {
    start,
    end,
    duration: end - start,
    startTime: isoMicrosCached(start),
    endTime: isoMicrosCached(end),
    srcIp,
    srcPort,
    dstIp,
    dstPort,
    ipVersion: version,
    protocol: proto,
    transport: transportName(proto),
    srcPackets: cnt[sBase],
    srcBytes: cnt[sBase + 1],
    srcIpBytes: cnt[sBase + 2],
    dstPackets: cnt[dBase],
    dstBytes: cnt[dBase + 1],
    dstIpBytes: cnt[dBase + 2],
    communityId: communityIdOfWords(
      version,
      k,
      so,
      k,
      doff,
      proto,
      srcPort,
      dstPort,
      (f & F_ONE_WAY) !== 0,
    ),
    vlans,
    tunnel,
    names: c.names[slot] ?? [],
    sample: verdict,
    // Every flow object has every key (absent ones undefined): one shape, fast to read.
    secflow: verdict === "kept" ? secflowOf(k, o, f, proto) : undefined,
    tcpFlags: proto === 6
      ? {
        syn: (f & F_SYN) !== 0,
        fin: (f & (F_FIN_A | F_FIN_B)) !== 0,
        rst: (f & F_RST) !== 0,
      }
      : undefined,
    uid: undefined,
    fragments: c.fragments[slot] > 0 ? c.fragments[slot] : undefined,
  };
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
