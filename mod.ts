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
 * // An empty little-endian pcap (Ethernet): a valid capture with no Secflows.
 * const header = new Uint8Array([
 *   0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
 * ]);
 * const result = await convertCaptureBytes(header, "empty.pcap", { fileName: "empty.sf" });
 * assert.equal(result.format, "pcap");
 * assert.equal(result.sample, null);
 * ```
 * @module
 */
export * from "./convert.ts";
export * from "./client.ts";
