/**
 * A reference model of SECFLOW.md sections 2 to 4, written from the spec with string keys and
 * the platform's three passes (UDP, then TCP, then ICMP) done literally: the converter's one-pass
 * engine is tested against it.
 */
import type { Flash } from "../secflow/types.ts";

/** Ports filter rule 2 drops. */
export const BLOCKED = [67, 68, 137, 139, 389, 445, 636, 1900, 5353, 5355];

/** One packet as the model sees it. */
export interface ModelPkt {
  us: number;
  proto: 1 | 6 | 17;
  src: string;
  dst: string;
  sp: number;
  dp: number;
  bytes: number;
  /** A DNS response's first question name and A answers. */
  dns?: { name: string; answers: string[] };
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const n = (s: string) => s.split(".").reduce((a, p) => a * 256 + Number(p), 0);
  const size = 2 ** (32 - Number(bits ?? 32));
  return Math.floor(n(ip) / size) === Math.floor(n(base) / size);
}

const LOCAL = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.170/31",
  "192.0.2.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "255.255.255.255/32",
]; // deno-fmt-ignore
const modelLocal = (ip: string) =>
  LOCAL.some((c) => inCidr(ip, c)) ||
  (inCidr(ip, "192.0.0.0/24") && ip !== "192.0.0.9" && ip !== "192.0.0.10");
const FILTER_LOCAL = [
  "0.0.0.0/32",
  "10.0.0.0/8",
  "127.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "224.0.0.0/4",
  "239.255.255.250/32",
  "255.255.255.255/32",
]; // deno-fmt-ignore
const RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
const LOOKUP = [...RFC1918, "127.0.0.0/8", "169.254.0.0/16"];

interface ModelSession {
  src: string;
  dst: string;
  dstIp: string;
  icmp: boolean;
  srcPkts: number;
  dstPkts: number;
  srcBytes: number;
  dstBytes: number;
  first: number;
  last: number;
}

/** The sample the platform would make of `pkts` (null when no Secflows). */
export function model(pkts: ModelPkt[]): { trafficDate: string; flashes: Flash[] } | null {
  // Step A
  const harvested: { name: string; time: number; ip: string }[] = [];
  let localLookups = false;
  for (const p of pkts) {
    if (!p.dns) continue;
    for (const ip of p.dns.answers) {
      harvested.push({ name: p.dns.name, time: p.us / 1e6, ip });
      if (LOOKUP.some((c) => inCidr(ip, c))) localLookups = true;
    }
  }
  // Step B
  const kept = pkts.filter((p) => {
    const ports = p.proto !== 1;
    if (ports && (BLOCKED.includes(p.sp) || BLOCKED.includes(p.dp))) return false;
    const port53 = ports && (p.sp === 53 || p.dp === 53);
    const fl = (ip: string) => FILTER_LOCAL.some((c) => inCidr(ip, c));
    if (fl(p.src) && fl(p.dst) && !port53) return false;
    const rfc = (ip: string) => RFC1918.some((c) => inCidr(ip, c));
    if (localLookups && port53 && rfc(p.src) && rfc(p.dst)) return false;
    return true;
  });
  if (kept.length === 0) return null;
  // Step C
  const start = Math.min(...kept.map((p) => p.us)) / 1e6;
  // Section 3
  const table = new Map<string, ModelSession>();
  const order: ModelSession[] = [];
  const count = (s: ModelSession, source: boolean, bytes: number, t: number) => {
    if (source) {
      s.srcPkts++;
      s.srcBytes += bytes;
    } else {
      s.dstPkts++;
      s.dstBytes += bytes;
    }
    s.last = Math.max(s.last, t);
  };
  const create = (
    key: string,
    src: string,
    dst: string,
    dstIp: string,
    icmp: boolean,
    t: number,
  ) => {
    const s = {
      src,
      dst,
      dstIp,
      icmp,
      srcPkts: 0,
      dstPkts: 0,
      srcBytes: 0,
      dstBytes: 0,
      first: t,
      last: t,
    };
    table.set(key, s);
    order.push(s);
    return s;
  };
  for (const proto of [17, 6]) {
    for (const p of kept.filter((x) => x.proto === proto)) {
      const t = p.us / 1e6;
      const a = `${p.src}:${p.sp}`, b = `${p.dst}:${p.dp}`;
      if (table.has(a)) count(table.get(a)!, true, p.bytes, t);
      else if (table.has(b)) count(table.get(b)!, false, p.bytes, t);
      else {
        const sl = modelLocal(p.src), dl = modelLocal(p.dst);
        if (sl && dl) continue;
        const sourceIsS = modelSourceIsSource(sl, p.sp, p.dp);
        const s = sourceIsS ? create(a, a, b, p.dst, false, t) : create(b, b, a, p.src, false, t);
        count(s, sourceIsS, p.bytes, t);
      }
    }
  }
  for (const p of kept.filter((x) => x.proto === 1)) {
    const t = p.us / 1e6;
    const a = `${p.src}:ICMP`, b = `${p.dst}:ICMP`;
    const s1 = table.get(a) ?? table.get(b);
    const ab = table.get(`${a}-${b}`), ba = table.get(`${b}-${a}`);
    if (s1) throw new Error("unreachable");
    if (ab) count(ab, true, 0, t);
    else if (ba) count(ba, false, 0, t);
    else if (modelLocal(p.src) || !modelLocal(p.dst)) {
      count(create(`${a}-${b}`, p.src, p.dst, p.dst, true, t), true, 0, t);
    } else count(create(`${b}-${a}`, p.dst, p.src, p.src, true, t), false, 0, t);
  }
  // Section 4
  const active = new Set(kept.flatMap((p) => [p.src, p.dst]).filter((ip) => !modelLocal(ip)));
  const passive = (ip: string) =>
    active.has(ip) ? harvested.filter((h) => h.ip === ip).sort((x, y) => x.time - y.time) : [];
  const flashes: Flash[] = order.map((s) => {
    const names = passive(s.dstIp);
    const before = names.filter((n) => n.time <= s.first);
    let name = s.dstIp, source: Flash["destinationNameSource"] = "original";
    if (before.length > 0) [name, source] = [before[before.length - 1].name, "passive"];
    else if (!modelLocal(s.dstIp) && names.length > 0) [name, source] = [names[0].name, "passive"];
    const port = s.icmp ? "" : s.dst.slice(s.dst.lastIndexOf(":"));
    return {
      src: s.src,
      dst: `${name}${port}`,
      destinationNameSource: source,
      srcPkts: s.srcPkts,
      srcBytes: s.srcBytes,
      dstPkts: s.dstPkts,
      dstBytes: s.dstBytes,
      relativeStart: Number((s.first - start).toFixed(6)),
      protocolInformation: s.icmp ? "ICMP" : "",
      duration: Number((s.last - s.first).toFixed(6)),
    };
  });
  if (flashes.length === 0) return null;
  flashes.sort((x, y) => x.relativeStart - y.relativeStart);
  const td = String(start);
  return { trafficDate: td.includes(".") ? td : `${td}.0`, flashes };
}

/**
 * Whether a new session's first packet comes from its source: from a local sender,
 * an ephemeral source port (> 49151) says yes, an ephemeral destination port no, a well-known
 * destination port (< 1024) yes; otherwise, and from an external sender, the higher port is the
 * source's.
 */
export function modelSourceIsSource(senderLocal: boolean, sp: number, dp: number): boolean {
  if (senderLocal) {
    if (sp > 49151) return true;
    if (dp > 49151) return false;
    if (dp < 1024) return true;
  }
  return !(dp > sp);
}
