/**
 * The long fuzz campaign of `convert` (issue 8; the test suite runs a short one):
 *
 *     deno run -A bench/convert_fuzz.ts [CASES=50000] [SEED=1] [BATCH=500]
 *
 * Same checks as tests/integration/convert_fuzz_test.ts: exit 0 or 1, no stack trace, one outcome
 * per input, no written sample that `validate` rejects. Prints the problems found and exits 1 if any.
 * @module
 */
import { fuzzConvert } from "../tests/_fuzz.ts";

const [cases = 50_000, seed = 1, batch = 500] = Deno.args.map(Number);
const dir = await Deno.makeTempDir({ prefix: "ns_fuzz_bench_" });
try {
  const report = await fuzzConvert(dir, cases, seed, batch, 300_000, Math.ceil(cases / 100));
  console.log(
    `${report.cases} cases (seed ${seed}) in ${report.batches} batches: ${report.converted} converted ` +
      `or empty, ${report.failedOrSkipped} refused, ${report.samplesValidated} samples validated, ` +
      `${(report.ms / 1000).toFixed(1)} s`,
  );
  for (const p of report.problems) console.log(`PROBLEM ${p}`);
  if (report.problems.length > 0) Deno.exitCode = 1;
} finally {
  await Deno.remove(dir, { recursive: true });
}
