/**
 * The Secflow sample as written to `.sf` files (SECFLOW.md section 1).
 * @module
 */

/** Where a flash's destination name came from. */
export type NameSource = "passive" | "cache" | "original" | "session";

/** One Secflow ("flash"), keys in the order the `.sf` format requires. */
export interface Flash {
  /** `"ip:port"` of the session's source; `"ip"` for ICMP. */
  src: string;
  /** `"name:port"` or `"ip:port"`; `"name"` or `"ip"` for ICMP. */
  dst: string;
  /** Where the destination's name came from (section 4). */
  destinationNameSource: NameSource;
  /** Packets sent by the source side. */
  srcPkts: number;
  /** Transport payload bytes sent by the source side. */
  srcBytes: number;
  /** Packets sent by the destination side. */
  dstPkts: number;
  /** Transport payload bytes sent by the destination side. */
  dstBytes: number;
  /** Seconds from `trafficDate` to the first packet, rounded to 6 decimals. */
  relativeStart: number;
  /** `""` for TCP/UDP, `"ICMP"` for ICMP. */
  protocolInformation: "" | "ICMP";
  /** Seconds from first to last packet, rounded to 6 decimals. */
  duration: number;
}

/** A Secflow sample: the content of one `.sf` file. */
export interface Sample {
  /** 32 lowercase hex digits, new for every sample. */
  hash: string;
  /** The start time in seconds, written the way Python writes a float (`"1700000003.0"`). */
  trafficDate: string;
  /** Base name of the `.sf` file. */
  fileName: string;
  /** Ordered by `relativeStart`, ties in creation order. */
  flashes: Flash[];
}

/** The keys of a flash, in file order. */
export const FLASH_KEYS = [
  "src",
  "dst",
  "destinationNameSource",
  "srcPkts",
  "srcBytes",
  "dstPkts",
  "dstBytes",
  "relativeStart",
  "protocolInformation",
  "duration",
] as const;

/** The keys of a sample, in file order. */
export const SAMPLE_KEYS = ["hash", "trafficDate", "fileName", "flashes"] as const;
