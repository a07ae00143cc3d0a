/**
 * Upload type detection: the one place `upload` and `serve` decide what a file is. It asks the
 * converter's own detector (`io/input_format.ts`: gzip looked through, refusals worded as
 * `convert` words them), so an upload is refused exactly when `convert` would refuse the file.
 * @module
 */
import type { UploadType } from "./types.ts";

/**
 * The upload type of the file at `path`, detected from its content as `convert` detects it, or
 * `asked` when the content does not contradict it. Throws the converter's `InputError` (exit code
 * 2, one line naming the file) when `convert` would refuse it from its start: empty, not a
 * capture, Zeek log or Secflow sample, a Zeek dns.log alone, or certainly not of the `asked` type.
 */
export async function detectUploadType(path: string, asked?: UploadType): Promise<UploadType> {
  // Loaded on use: the client's other calls do not pay for the converter.
  const { detectConvertible } = await import("../io/input_format.ts");
  return await detectConvertible(path, asked);
}
