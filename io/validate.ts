/**
 * Validating a `.sf` file against section 1 of the spec, streaming (memory does not grow with the
 * file), every problem listed with its JSON path.
 * @module
 */
import type { SampleProblem } from "../secflow/sample_validate.ts";
import { SampleReader } from "../secflow/sample_reader.ts";
import { openSource } from "./files.ts";

/** The outcome of validating one `.sf` file. */
export interface ValidationReport {
  /** Every problem found (at most 1000 kept), each with its JSON path; empty when valid. */
  problems: SampleProblem[];
  /** Problems found in all. */
  problemCount: number;
  /** Number of flashes read. */
  flashes: number;
}

/**
 * Validates the `.sf` file at `path` (gzip looked through; `-` is standard input) against
 * section 1, streaming: memory does not grow with the file. A file that cannot be read or is not
 * JSON is reported as a problem at `$`, not thrown; a missing permission is thrown.
 */
export async function validateSampleFile(path: string): Promise<ValidationReport> {
  const reader = new SampleReader();
  try {
    const source = await openSource(path);
    for await (const chunk of source.content()) {
      reader.push(chunk);
      // Every problem of a sample is listed, but past broken JSON nothing more can be (/dev/zero).
      if (reader.stopped) break;
    }
    if (!reader.stopped) reader.end();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || (e as Error)?.name === "NotCapable") throw e;
    const message = firstLine(e).replace(`${path}: `, "");
    return {
      problems: [...reader.problems, { path: "$", message: `cannot read: ${message}` }],
      problemCount: reader.problemCount + 1,
      flashes: reader.flashes,
    };
  }
  return { problems: reader.problems, problemCount: reader.problemCount, flashes: reader.flashes };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
