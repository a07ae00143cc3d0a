/**
 * Shared fixtures of the SECFLOW.md rule tests (rules_*_test.ts): a local host, an external
 * server, and short ways to build packets and read the converted sessions back.
 */
import assert from "node:assert/strict";
import {
  convertBytes,
  dnsMessage,
  type DnsMessageOptions,
  type DnsRecord,
  pcapOf,
  type Pkt,
  T0,
  tcp,
  udp,
} from "./_pcap.ts";
import type { Flash, Sample } from "../secflow/types.ts";

export const H = "10.0.0.5"; // the local host
export const X = "93.184.216.34"; // an external server
export const at = (s: number) => T0 + Math.round(s * 1e6);

export async function conv(packets: Pkt[]): Promise<Sample | null> {
  return await convertBytes(pcapOf(packets));
}

export async function flashes(packets: Pkt[]): Promise<Flash[]> {
  return (await conv(packets))?.flashes ?? [];
}

export function find(fs: Flash[], dstSuffix: string): Flash | undefined {
  return fs.find((f) => f.dst.endsWith(dstSuffix));
}

/** A UDP DNS response 8.8.8.8:53 → H:40000 at time `s`. */
export function dnsResp(
  s: number,
  o: Partial<DnsMessageOptions> & { qname?: DnsMessageOptions["qname"] },
): Pkt {
  return {
    us: at(s),
    ip: udp({
      src: "8.8.8.8",
      dst: H,
      sp: 53,
      dp: 40000,
      payload: dnsMessage({ qname: "example.com", qtype: 1, ...o }),
    }),
  };
}

/** The local resolver's answer 192.168.1.1:53 → H:40001 at time `s`: a.corp is `answer`. */
export function localAnswer(s: number, answer: string): Pkt {
  return {
    us: at(s),
    ip: udp({
      src: "192.168.1.1",
      dst: H,
      sp: 53,
      dp: 40001,
      payload: dnsMessage({ qname: "a.corp", qtype: 1, answers: [A(answer)] }),
    }),
  };
}

/** A TCP packet H:50000 → dst:443 at time `s` (source H because sp > 49151). */
export function toServer(s: number, dst: string, sp = 50000, dp = 443, payload = 10): Pkt {
  return { us: at(s), ip: tcp({ src: H, dst, sp, dp, payload }) };
}

export const A = (data: string, extra: Partial<DnsRecord> = {}): DnsRecord => ({
  type: 1,
  data,
  ...extra,
});

/** The destination text of the session to `ip` after a DNS packet. */
export async function nameAfter(dns: Pkt, ip = X): Promise<string> {
  const f = find(await flashes([dns, toServer(2, ip)]), ":443");
  assert.ok(f, "no session to port 443");
  return `${f.dst} ${f.destinationNameSource}`;
}
