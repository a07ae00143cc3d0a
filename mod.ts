/**
 * networksage: Secflows from captures, Zeek logs and live interfaces, and a client for the
 * NetworkSage platform.
 * @module
 */

// Conversion: files in, Secflow samples out.
export {
  convertFile,
  type ConvertOptions,
  type ConvertResult,
  defaultOutputPath,
  detectFormat,
  type InputFormat,
  writeSample,
} from "./io/convert.ts";
export { readNameCache, parseNameCache, formatNameCache } from "./io/name_cache.ts";
// The pure core: bytes in, samples out, no I/O.
export type { Flash, NameSource, Sample } from "./secflow/types.ts";
export {
  buildSample,
  type BuildOptions,
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
  convertCapture,
  type ChunkSource,
} from "./secflow/convert_capture.ts";
export { CaptureReader, type CaptureFormat, type PacketSink, sniffCapture } from "./secflow/capture_reader.ts";
export { type Analysis, type EngineStats, FlowEngine, type FlowEngineOptions } from "./secflow/engine.ts";
export type { SessionRecord } from "./secflow/session.ts";
export { InputError } from "./secflow/errors.ts";
export { ipToString, isLocal, parseIPv4 } from "./secflow/net.ts";
export { pyFloat } from "./secflow/format.ts";

// The API client and the local server.
export * from "./api/types.ts";
export { NetworkSageError } from "./api/errors.ts";
export * from "./api/client.ts";
export { sniffUploadType, detectUploadType } from "./api/detect.ts";
export { classifyLocally, flowIdOf, toPlatformSecflow } from "./api/classify.ts";
export * from "./api/server.ts";
