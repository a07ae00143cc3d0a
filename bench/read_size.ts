/**
 * Which read size suits the page cache: converts the same capture (already cached) through the
 * real reader and engine with reads of 64 KiB to 1 MiB, the sizes alternating round by round in
 * one process, and prints the median time of the whole analysis and of the reads alone per size.
 *
 *     deno run --allow-read bench/read_size.ts CAPTURE [--rounds 9]
 *
 * The first round warms the JIT and is not counted.
 * @module
 */
import { parseArgs } from "node:util";
import { CaptureReader } from "../secflow/capture_reader.ts";
import { FlowEngine } from "../secflow/engine.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { rounds: { type: "string", default: "9" } },
});
const path = positionals[0];
if (!path) {
  console.error("usage: deno run --allow-read bench/read_size.ts CAPTURE [--rounds N]");
  Deno.exit(2);
}
const sizes = [64, 128, 256, 512, 1024];

/** One analysis with reads of `kib` KiB: total and read-only milliseconds, read calls. */
function analyze(kib: number): { total: number; read: number; reads: number } {
  const t0 = performance.now();
  const engine = new FlowEngine();
  const reader = new CaptureReader(engine, path);
  const buf = new Uint8Array(kib * 1024);
  const file = Deno.openSync(path);
  let read = 0, reads = 0;
  try {
    while (true) {
      const r0 = performance.now();
      const n = file.readSync(buf);
      read += performance.now() - r0;
      reads++;
      if (n === null) break;
      reader.push(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  reader.end();
  engine.finish();
  return { total: performance.now() - t0, read, reads };
}

const results = new Map(sizes.map((s) => [s, [] as { total: number; read: number }[]]));
let readCalls = new Map<number, number>();
for (let round = 0; round <= Number(values.rounds); round++) {
  // Alternate the order too, so no size always runs right after the same neighbour.
  const order = round % 2 === 0 ? sizes : [...sizes].reverse();
  for (const kib of order) {
    const r = analyze(kib);
    if (round > 0) results.get(kib)!.push(r);
    readCalls.set(kib, r.reads);
  }
}
readCalls = new Map(readCalls);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const size = Deno.statSync(path).size;
console.log(`${path}: ${(size / 1e6).toFixed(0)} MB, ${values.rounds} alternating rounds`);
for (const kib of sizes) {
  const r = results.get(kib)!;
  console.log(
    `${String(kib).padStart(5)} KiB reads: analysis median ${
      median(r.map((x) => x.total)).toFixed(1)
    } ms, of which read() ${median(r.map((x) => x.read)).toFixed(1)} ms (${
      readCalls.get(kib)
    } read calls)`,
  );
}
