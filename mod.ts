/**
 * networksage: Secflows from captures, Zeek logs and live interfaces, and a client for the
 * NetworkSage platform.
 * @module
 */

// Conversion: files in, Secflow samples out.
export {
  convertFile,
  convertFileTo,
  type ConvertOptions,
  type ConvertResult,
  defaultOutputPath,
  detectFormat,
  type InputFormat,
  readSecflow,
  validateSampleFile,
  type ValidationReport,
  type WriteResult,
  writeSample,
} from "./io/convert.ts";
// Zeek logs (conn.log + dns.log) as text, bytes, streams or chunks; paths go through convertFile.
export {
  analyzeZeek,
  convertZeek,
  type ZeekAnalysis,
  type ZeekConversion,
  type ZeekInput,
  type ZeekSource,
  type ZeekStats,
} from "./secflow/zeek.ts";
export {
  type ZeekSampleText,
  zeekSampleText,
  type ZeekTextOptions,
} from "./secflow/zeek_sample.ts";
export { sniffText, type ZeekKind, type ZeekShape } from "./secflow/zeek_parse.ts";
export { formatNameCache, parseNameCache, readNameCache } from "./io/name_cache.ts";
// The pure core: bytes in, samples out, no I/O.
export type { Flash, NameSource, Sample } from "./secflow/types.ts";
export {
  type BuildOptions,
  buildSample,
  formatSample,
  parseSample,
  SampleError,
  type SampleInput,
  type SampleProblem,
  validateSample,
} from "./secflow/sample.ts";
export {
  analyzeCapture,
  type CaptureAnalysis,
  type ChunkSource,
  convertCapture,
} from "./secflow/convert_capture.ts";
export {
  type CaptureFormat,
  CaptureReader,
  type PacketSink,
  sniffCapture,
} from "./secflow/capture_reader.ts";
export {
  type Analysis,
  type EngineStats,
  FlowEngine,
  type FlowEngineOptions,
} from "./secflow/engine.ts";
export type { SessionRecord } from "./secflow/session.ts";
export { InputError } from "./secflow/errors.ts";
export { ipToString, isLocal, parseIPv4 } from "./secflow/net.ts";
export { pyFloat } from "./secflow/format.ts";

// The API client and the local server.
export * from "./api/types.ts";
export { NetworkSageError } from "./api/errors.ts";
export * from "./api/client.ts";
export { detectUploadType } from "./api/detect.ts";
export { classifyLocally, flowIdOf, toPlatformSecflow } from "./api/classify.ts";
export * from "./api/server.ts";

// Live collection (libpcap through FFI): one Secflow sample per window.
export {
  CAPTURE_FILTER,
  collect,
  Collector,
  type CollectorOptions,
  DEFAULT_WINDOW_SECONDS,
  defaultStateDir,
  MIN_WINDOW_SECONDS,
  type SampleStream,
  windowLine,
  type WindowReport,
} from "./capture/collector.ts";
export { apiUploader, type SampleUploader, Spool, type SpoolOptions } from "./capture/spool.ts";
export {
  CaptureError,
  findAllDevices,
  libpcapVersion,
  type PcapDevice,
  type PcapStats,
} from "./capture/libpcap.ts";
