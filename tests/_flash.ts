/**
 * One valid flash for samples built in tests: every field set, any of them overridden.
 * @module
 */
import type { Flash } from "../secflow/types.ts";

/** A flash from 10.0.0.1:1000 to example.com:443, one packet each way; `f` overrides fields. */
export function flashOf(f: Partial<Flash> = {}): Flash {
  return {
    src: "10.0.0.1:1000",
    dst: "example.com:443",
    destinationNameSource: "passive",
    srcPkts: 1,
    srcBytes: 1,
    dstPkts: 1,
    dstBytes: 1,
    relativeStart: 0,
    protocolInformation: "",
    duration: 0,
    ...f,
  };
}
