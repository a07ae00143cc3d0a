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

/** A web flash as the platform writes one: 192.168.1.10:50001 to example.com:443 for 1.5 s. */
export const WEB_FLASH: Flash = flashOf({
  src: "192.168.1.10:50001",
  srcPkts: 3,
  srcBytes: 100,
  dstPkts: 4,
  dstBytes: 2000,
  duration: 1.5,
});
