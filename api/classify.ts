/**
 * The local classifier `serve` uses for `flowCategory`, and the `flowId` it derives. These are
 * NOT the platform's labels: every local category starts with `local:` so nobody mistakes one
 * for a NetworkSage classification.
 *
 * Rules, applied to one Secflow:
 * - protocol: an ICMP Secflow is `local:icmp`;
 * - port (of the destination): 53 dns, 853 dns-over-tls, 80/8000/8080 http, 443/8443 https,
 *   22 ssh, 21 ftp, 23 telnet, 25/465/587 smtp, 110/995 pop3, 143/993 imap, 123 ntp,
 *   3389 rdp, 3478/5349/19302 stun, 1194 openvpn, 51820 wireguard; other ports below 1024
 *   `tcp-udp-<port>`; everything else `other`;
 * - volume (payload bytes of both sides): `empty` (0), `small` (up to 16 KiB), `medium` (up to
 *   1 MiB), `large` (more); `medium` and `large` get `-upload` when the source sent over four
 *   times what it received and `-download` for the reverse.
 *
 * So `local:<service>:<volume>`, e.g. `local:https:large-download`.
 * @module
 */
import { createHash } from "node:crypto";
import type { PlatformSecflow } from "./types.ts";

const SERVICES: Record<number, string> = {
  21: "ftp",
  22: "ssh",
  23: "telnet",
  25: "smtp",
  53: "dns",
  80: "http",
  110: "pop3",
  123: "ntp",
  143: "imap",
  443: "https",
  465: "smtp",
  587: "smtp",
  853: "dns-over-tls",
  993: "imap",
  995: "pop3",
  1194: "openvpn",
  3389: "rdp",
  3478: "stun",
  5349: "stun",
  8000: "http",
  8080: "http",
  8443: "https",
  19302: "stun",
  51820: "wireguard",
};

/** What the classifier looks at. */
export interface ClassifierInput {
  /** `name:port`, or `name` for ICMP. */
  dst: string;
  /** `"ICMP"` for ICMP, `""` otherwise. */
  protocolInformation?: string;
  /** Payload bytes sent by the source. */
  srcBytes: number;
  /** Payload bytes sent by the destination. */
  dstBytes: number;
}

/**
 * The local category of a Secflow (see the module documentation for the rules).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyLocally } from "./classify.ts";
 * assert.equal(
 *   classifyLocally({ dst: "example.com:443", srcBytes: 500, dstBytes: 2000 }),
 *   "local:https:small",
 * );
 * ```
 */
export function classifyLocally(flow: ClassifierInput): string {
  if (flow.protocolInformation === "ICMP") return "local:icmp";
  const m = /:(\d+)$/.exec(flow.dst);
  const port = m ? Number(m[1]) : NaN;
  const service = SERVICES[port] ??
    (Number.isInteger(port) && port < 1024 ? `tcp-udp-${port}` : "other");
  const src = Math.max(0, flow.srcBytes || 0);
  const dst = Math.max(0, flow.dstBytes || 0);
  const total = src + dst;
  let volume = total === 0
    ? "empty"
    : total <= 16 * 1024
    ? "small"
    : total <= 1024 * 1024
    ? "medium"
    : "large";
  if (volume === "medium" || volume === "large") {
    if (src > 4 * dst) volume += "-upload";
    else if (dst > 4 * src) volume += "-download";
  }
  return `local:${service}:${volume}`;
}

/**
 * The stable flowId of a destination with a category: the first 32 hex digits of the SHA-256 of
 * `<destinationData>\n<flowCategory>`. Synchronous on purpose: an asynchronous digest per Secflow
 * left hundreds of thousands of operations in flight for a large sample (a 300k-Secflow sample
 * took minutes and over a GiB to classify).
 */
export function flowIdOf(destinationData: string, flowCategory: string): string {
  return createHash("sha256").update(`${destinationData}\n${flowCategory}`).digest("hex")
    .slice(0, 32);
}

/** A `.sf` flash, plus any extra keys it carries (an `eventId` is kept). */
export interface FlashLike extends ClassifierInput {
  /** `ip:port` of the source (`ip` for ICMP). */
  src: string;
  /** Where the destination's name came from. */
  destinationNameSource: string;
  /** Packets sent by the source. */
  srcPkts: number;
  /** Packets sent by the destination. */
  dstPkts: number;
  /** Seconds from the sample's start. */
  relativeStart: number;
  /** Seconds from first to last packet. */
  duration: number;
  /** The Event the flash belongs to, when it has one. */
  eventId?: unknown;
}

/** A `.sf` flash in the platform's shape (every field a string), classified locally. */
export function toPlatformSecflow(flash: FlashLike): PlatformSecflow {
  const flowCategory = classifyLocally(flash);
  const out: PlatformSecflow = {
    sourceData: flash.src,
    destinationData: flash.dst,
    destinationNameSource: String(flash.destinationNameSource),
    sourcePackets: String(flash.srcPkts),
    sourceBytes: String(flash.srcBytes),
    destinationPackets: String(flash.dstPkts),
    destinationBytes: String(flash.dstBytes),
    relativeStart: String(flash.relativeStart),
    duration: String(flash.duration),
    flowCategory,
    flowId: flowIdOf(flash.dst, flowCategory),
  };
  if (typeof flash.eventId === "string" && flash.eventId !== "") out.eventId = flash.eventId;
  return out;
}
