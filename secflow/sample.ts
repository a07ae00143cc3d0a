/**
 * The Secflow sample, one job a module: `sample_build.ts` (sessions to a sample, named),
 * `sample_format.ts` (the `.sf` text), `sample_validate.ts` (section 1's rules, each problem with
 * its JSON path) and `sample_reader.ts` (the streaming `.sf` reader, `parseSample`). This module
 * gathers them for callers that want the whole format; none of the four imports it.
 * @module
 */
export {
  type BuildOptions,
  buildSample,
  type BuiltSample,
  newSampleHash,
  type SampleInput,
} from "./sample_build.ts";
export { flashText, formatSample, sampleChunks, sampleHeadText } from "./sample_format.ts";
export { type SampleProblem, validateFlash, validateSample } from "./sample_validate.ts";
export { MAX_STRING_BYTES, parseSample, SampleError } from "./sample_reader.ts";
