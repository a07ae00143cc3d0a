/**
 * networksage: Secflows from captures, Zeek logs and live interfaces, and a client for the
 * NetworkSage platform.
 *
 * This entry re-exports the light parts, which load neither `node:sqlite` nor the libpcap
 * binding: conversion ({@link convertFile}, {@link convertZeek}, the `.sf` format; also
 * `@networksage/networksage/convert`) and the API client ({@link NetworkSageClient}; also
 * `@networksage/networksage/client`). The heavy parts have their own entries:
 * `@networksage/networksage/capture` (live collection through libpcap, needs `--allow-ffi`) and
 * `@networksage/networksage/serve` (the local compatible server on SQLite).
 *
 * @example Converting a capture given as bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { convertCaptureBytes } from "./mod.ts";
 * // A pcap of one UDP packet, 10.0.0.2:50000 -> 93.184.216.34:443.
 * const capture = Uint8Array.fromHex(
 *   "d4c3b2a1020004000000000000000000ffff000001000000" + // file header: Ethernet
 *     "00f15365000000002a0000002a000000" + // record header: 1700000000 s, 42 bytes
 *     "0000000000020000000000010800" + // Ethernet header: IPv4
 *     "4500001c0000000040110000" + "0a0000025db8d822" + // IPv4 header: UDP, addresses
 *     "c35001bb00080000", // UDP header: ports 50000 -> 443
 * );
 * const result = await convertCaptureBytes(capture, "one.pcap", { fileName: "one.sf" });
 * assert.equal(result.format, "pcap");
 * assert.equal(result.sample?.trafficDate, "1700000000.0");
 * assert.equal(result.sample?.flashes[0].src, "10.0.0.2:50000");
 * assert.equal(result.sample?.flashes[0].dst, "93.184.216.34:443");
 * ```
 * @module
 */
export * from "./convert.ts";
export * from "./client.ts";
