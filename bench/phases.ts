/**
 * Where a conversion's time goes: runs fresh processes (cold, like the CLI) that each convert the
 * capture once through the same modules as `networksage convert`, timing each phase, and prints
 * the median of every phase over the runs.
 *
 *     deno run --allow-read --allow-write --allow-run bench/phases.ts CAPTURE [--runs 7]
 *
 * Phases: start-up (process start to the first line of this script, modules loaded), reading the
 * file (the read calls alone), decoding and counting (the rest of the streaming pass), the
 * engine's end (placing the flows into sessions), naming and building the sample, and writing
 * the `.sf` (JSON text and the file).
 * @module
 */
import { parseArgs } from "node:util";
import { CaptureReader } from "../secflow/capture_reader.ts";
import { FlowEngine } from "../secflow/engine.ts";
import { buildSample, sampleChunks } from "../secflow/sample.ts";
import { CHUNK_BYTES } from "../io/files.ts";
import { writeOutput } from "../io/output.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { runs: { type: "string", default: "7" }, child: { type: "boolean", default: false } },
});
const path = positionals[0];
if (!path) {
  console.error("usage: deno run -A bench/phases.ts CAPTURE [--runs N]");
  Deno.exit(2);
}

const PHASES = ["startup", "read", "decode+count", "finish", "naming", "write", "total"] as const;

/** One cold conversion, timed by phase (milliseconds). */
async function child(): Promise<Record<string, number>> {
  const t0 = performance.now(); // milliseconds since the process started
  const engine = new FlowEngine();
  const reader = new CaptureReader(engine, path);
  const buf = new Uint8Array(CHUNK_BYTES);
  const file = Deno.openSync(path);
  let read = 0;
  while (true) {
    const r0 = performance.now();
    const n = file.readSync(buf);
    read += performance.now() - r0;
    if (n === null) break;
    reader.push(buf.subarray(0, n));
  }
  file.close();
  reader.end();
  const t1 = performance.now();
  const analysis = engine.finish();
  const t2 = performance.now();
  const built = buildSample({
    sessions: analysis.sessions,
    startTime: analysis.startTime,
    active: analysis.active,
    names: analysis.harvest.byAddress,
  }, { fileName: "phases.sf" });
  const t3 = performance.now();
  const out = await Deno.makeTempFile({ suffix: ".sf" });
  await writeOutput(out, sampleChunks(built.sample!));
  await Deno.remove(out);
  const t4 = performance.now();
  return {
    startup: t0,
    read,
    "decode+count": t1 - t0 - read,
    finish: t2 - t1,
    naming: t3 - t2,
    write: t4 - t3,
    total: t4,
  };
}

if (values.child) {
  console.log(JSON.stringify(await child()));
} else {
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, path, "--child"],
      stdout: "piped",
    }).output();
    runs.push(JSON.parse(new TextDecoder().decode(out.stdout)));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`${path}: median of ${runs.length} cold runs (ms)`);
  for (const phase of PHASES) {
    console.log(
      `  ${phase.padEnd(14)} ${median(runs.map((r) => r[phase])).toFixed(1).padStart(7)}`,
    );
  }
}
