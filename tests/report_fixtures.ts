/**
 * Fixtures of the report and page tests: a sample with a hostile destination name.
 * (No tests here.)
 * @module
 */
import type { Flash, Sample } from "../secflow/types.ts";

/**
 * The hostile name of the issue: markup that would run script if it were not escaped. It holds no
 * whitespace, so it passes the `.sf` rules (a name is any run of non-space characters without a
 * colon) and reaches `serve`'s pages through an upload, as an attacker's would.
 */
export const HOSTILE = "x<svg/onload=window.__pwned=1>.example";

/** A sample of `n` Secflows over `destinations` names, one of them hostile. */
export function reportSample(n = 12, destinations = 5): Sample {
  const flashes: Flash[] = [];
  for (let i = 0; i < n; i++) {
    const d = i % destinations;
    flashes.push({
      // ICMP Secflows (d === 4) name the source without a port, as section 1 has it.
      src: `192.168.1.${10 + (i % 3)}${d === 4 ? "" : `:${50000 + i}`}`,
      dst: d === 0
        ? `${HOSTILE}:443`
        : d === 4
        ? "203.0.113.9"
        : `host${d}.example.com:${d === 3 ? 53 : 443}`,
      destinationNameSource: d === 4 ? "original" : "passive",
      srcPkts: 3 + i,
      srcBytes: 100 * (i + 1),
      dstPkts: 2 + i,
      dstBytes: 1000 * ((i * 7) % 11),
      relativeStart: i * 0.5,
      protocolInformation: d === 4 ? "ICMP" : "",
      duration: i % 4 === 0 ? 0 : 0.25 * i,
    });
  }
  return { hash: "0".repeat(32), trafficDate: "1700000000.5", fileName: "r<b>.sf", flashes };
}
