/**
 * Issue 8, acceptance 2: a fixed-seed fuzz campaign through the CLI (see tests/_fuzz.ts): a few
 * thousand mutated captures, logs and samples; every run ends with exit 0 or 1, no stack trace,
 * one outcome per input, and every sample written passes `validate`.
 */
import assert from "node:assert/strict";
import { fuzzConvert } from "../_fuzz.ts";

const CASES = 3000;
const SEED = 0x5ec710;
/** Also through the one-input path (one child each, so few). */
const SINGLES = 40;

Deno.test(`fuzz: ${CASES} mutated inputs (seed ${SEED}) convert without crashes or invalid samples`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "ns_fuzz_" });
  try {
    const report = await fuzzConvert(dir, CASES, SEED, 250, 60_000, SINGLES);
    console.log(
      `  ${report.cases} cases in ${report.batches} batches: ${report.converted} converted or empty, ` +
        `${report.failedOrSkipped} refused, ${report.samplesValidated} samples validated, ` +
        `${(report.ms / 1000).toFixed(1)} s`,
    );
    assert.deepEqual(report.problems, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
