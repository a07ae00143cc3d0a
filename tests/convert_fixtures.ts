/**
 * What the convert tests (`tests/integration/convert_*_test.ts`) share: a small web visit as a
 * capture, and checks on a CLI run's result. (No tests here.)
 * @module
 */
import assert from "node:assert/strict";
import { dnsA, ether, pcap, type Rec, T0, tcp } from "./_pcap.ts";
import { noStack, runCli } from "./_child.ts";

/** The local host of {@link WEB_VISIT}. */
export const H = "10.0.0.5";
/** The web server of {@link WEB_VISIT}. */
export const X = "93.184.216.34";

/** A DNS answer naming {@link X} `example.com`, then one HTTPS request and its answer. */
export const WEB_VISIT: Rec[] = [
  { us: T0, data: ether(dnsA({ server: "8.8.8.8", client: H, qname: "example.com", addrs: [X] })) },
  { us: T0 + 100_000, data: ether(tcp({ src: H, dst: X, sp: 50000, dp: 443, payload: 100 })) },
  { us: T0 + 200_000, data: ether(tcp({ src: X, dst: H, sp: 443, dp: 50000, payload: 1000 })) },
];

/** {@link WEB_VISIT} as a pcap file. */
export const CAPTURE: Uint8Array = pcap(WEB_VISIT);

const decoder = new TextDecoder();

/** Asserts that `networksage validate PATH` accepts the file. */
export async function validates(path: string): Promise<void> {
  const r = await runCli(["validate", path]);
  assert.equal(r.code, 0, `${path} must validate:\n${decoder.decode(r.stdout)}${r.stderr}`);
}

/** Asserts that a run printed no stack trace or uncaught error and did not time out. */
export function assertClean(r: Awaited<ReturnType<typeof runCli>>): void {
  const stack = noStack(r);
  assert.equal(stack, undefined, `stack trace or uncaught error:\n${stack}`);
  assert.ok(!r.timedOut, "timed out");
}

/** A sample's bytes as JSON. */
export function sampleOf(bytes: Uint8Array): { flashes: { dst: string }[]; fileName: string } {
  return JSON.parse(decoder.decode(bytes));
}
