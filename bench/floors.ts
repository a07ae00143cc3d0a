/**
 * The floors under the convert goals: what this runtime costs before any conversion work, and the
 * floor of issue 25, a plain loop (`bench/floor_loop.ts`, not our engine) that reads the capture,
 * decodes Ethernet/IPv4/TCP/UDP and counts packets and bytes per 5-tuple; measured side by side
 * with tcpdump and `convert`, whose time is printed as a multiple of the floor's (goal: 2x).
 *
 *     deno run -A bench/floors.ts [CAPTURE] [--rounds 9]
 *
 * Fresh processes, alternating round by round (wall time and CPU time of all threads, median):
 * - `tcpdump -r CAPTURE -w /dev/null`, the reference of issue 12;
 * - `deno run` of an empty module (Deno's own start and exit);
 * - `deno run` of a module that only reads CAPTURE through 256 KiB reads (start + the copy out of
 *   the page cache, no parsing);
 * - the same plus walking the records (`CaptureReader` into a sink that does nothing);
 * - the floor (`bench/floor_loop.ts`), and `../shared/bench/floor/floor.ts` when it exists (the
 *   issue's own copy of the same loop: the two should agree);
 * - `networksage convert CAPTURE`.
 *
 * In this process, after one warm-up pass (so the JIT has compiled everything): decoding and
 * counting (`CaptureReader` + `FlowEngine`) over the file's bytes already in memory, then
 * `finish()`: our engine warm, for comparison with its cold run inside `convert`.
 *
 * And the capture worker's fixed cost (the collector's design runs one per run): the CPU time of
 * all threads and the growth of resident memory from starting one Web Worker that loads
 * `capture/worker.ts` until it answers a message, and the same for an empty worker, each in five
 * fresh processes.
 * @module
 */
import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { CaptureReader, type PacketSink } from "../secflow/capture_reader.ts";
import { FlowEngine } from "../secflow/engine.ts";
import { CHUNK_BYTES } from "../io/files.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { rounds: { type: "string", default: "9" }, "worker-child": { type: "string" } },
});
const root = new URL("../", import.meta.url).pathname;
const capture = positionals[0] ?? `${root}bench/out/bench-300000.pcap`;
const rounds = Number(values.rounds);
const out = `${root}bench/out`;
Deno.mkdirSync(out, { recursive: true });

const empty = `${out}/floor-empty.ts`;
const readOnly = `${out}/floor-read.ts`;
const walkOnly = `${out}/floor-walk.ts`;
Deno.writeTextFileSync(empty, "export {};\n");
Deno.writeTextFileSync(
  readOnly,
  `const f = Deno.openSync(Deno.args[0]);
const buf = new Uint8Array(${CHUNK_BYTES});
while (f.readSync(buf)) { /* only the copy */ }
`,
);
Deno.writeTextFileSync(
  walkOnly,
  `import { CaptureReader } from ${JSON.stringify(`${root}secflow/capture_reader.ts`)};
const reader = new CaptureReader({ packet() {} }, "x");
const f = Deno.openSync(Deno.args[0]);
const buf = new Uint8Array(${CHUNK_BYTES});
for (let n; (n = f.readSync(buf));) reader.push(buf.subarray(0, n));
reader.end();
`,
);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Wall and CPU time (user + system, all threads) of one run, in ms, from /usr/bin/time. */
async function wall(cmd: string, args: string[]): Promise<{ wall: number; cpu: number }> {
  const t = performance.now();
  const r = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%U %S", cmd, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  const elapsed = performance.now() - t;
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
  const [user, sys] = new TextDecoder().decode(r.stderr).trim().split("\n").pop()!.split(" ")
    .map(Number);
  return { wall: elapsed, cpu: (user + sys) * 1000 };
}

const deno = Deno.execPath();
const sharedFloor = (() => {
  const path = `${root}../shared/bench/floor/floor.ts`;
  try {
    Deno.statSync(path);
    return path;
  } catch {
    return undefined;
  }
})();
const runs: Record<string, [string, string[]]> = {
  "tcpdump -r F -w /dev/null": ["tcpdump", ["-r", capture, "-w", "/dev/null"]],
  "deno: empty module": [deno, ["run", empty]],
  "deno: read F only (256 KiB reads)": [deno, ["run", "--allow-read", readOnly, capture]],
  "deno: read F + walk its records": [deno, ["run", "--allow-read", walkOnly, capture]],
  "floor: plain loop (floor_loop.ts)": [deno, [
    "run",
    "--allow-read",
    `${root}bench/floor_loop.ts`,
    capture,
  ]],
  ...(sharedFloor
    ? { "floor: ../shared/bench/floor": [deno, ["run", "--allow-read", sharedFloor, capture]] }
    : {}) as Record<string, [string, string[]]>,
  "networksage convert F": [deno, [
    "run",
    "--allow-read",
    "--allow-write",
    `${root}cli.ts`,
    "convert",
    capture,
    "-o",
    `${out}/floor.sf`,
    "--quiet",
  ]],
};
// The capture worker's fixed cost, each in a fresh process (a terminated worker's memory stays
// with the process, so a second measurement in the same one would see none).
if (values["worker-child"]) {
  const rss0 = Deno.memoryUsage().rss;
  const cpu0 = cpuUsage();
  const w = new Worker(values["worker-child"], { type: "module" });
  // A module worker handles messages once its modules are loaded: the round trip proves it is up.
  await new Promise<void>((resolve, reject) => {
    w.onmessage = () => resolve();
    w.onerror = (e) => reject(e);
    w.postMessage({ type: "peek" });
  });
  const cpu = cpuUsage(cpu0);
  console.log(JSON.stringify({
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssMiB: (Deno.memoryUsage().rss - rss0) / 1048576,
  }));
  Deno.exit(0);
}
const echo = `${out}/floor-worker.ts`;
Deno.writeTextFileSync(echo, "self.onmessage = () => self.postMessage(0);\n");
async function workerCost(url: string): Promise<{ cpuMs: number; rssMiB: number }> {
  const samples = [];
  for (let i = 0; i < 5; i++) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, "--worker-child", url],
      stderr: "inherit",
    }).output();
    samples.push(JSON.parse(new TextDecoder().decode(r.stdout)));
  }
  return {
    cpuMs: median(samples.map((s) => s.cpuMs)),
    rssMiB: median(samples.map((s) => s.rssMiB)),
  };
}
const emptyWorker = await workerCost(`file://${echo}`);
const captureWorker = await workerCost(new URL("../capture/worker.ts", import.meta.url).href);
console.log(
  `worker start (median of 5 fresh processes; CPU of all threads, RSS growth): empty worker ` +
    `${ms(emptyWorker.cpuMs)}, ${emptyWorker.rssMiB.toFixed(1)} MiB; capture/worker.ts ` +
    `${ms(captureWorker.cpuMs)}, ${captureWorker.rssMiB.toFixed(1)} MiB`,
);

const times: Record<string, { wall: number; cpu: number }[]> = {};
for (const name of Object.keys(runs)) {
  await wall(...runs[name]); // warm the page cache and Deno's module cache
  times[name] = [];
}
for (let r = 0; r < rounds; r++) {
  for (const [name, [cmd, args]] of Object.entries(runs)) times[name].push(await wall(cmd, args));
}
const FLOOR = "floor: plain loop (floor_loop.ts)";
const CONVERT = "networksage convert F";
const tcpdump = median(times["tcpdump -r F -w /dev/null"].map((x) => x.wall));
const floor = median(times[FLOOR].map((x) => x.wall));
console.log(
  `capture: ${capture}, ${rounds} alternating rounds (median; spawn included); load average ` +
    `${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")} at the end`,
);
for (const [name, xs] of Object.entries(times)) {
  const w = median(xs.map((x) => x.wall));
  console.log(
    `  ${name.padEnd(36)} wall ${ms(w).padStart(9)}  CPU ${
      ms(median(xs.map((x) => x.cpu))).padStart(9)
    }  (${(w / tcpdump).toFixed(2)}x tcpdump, ${(w / floor).toFixed(2)}x the floor)`,
  );
}
// Round by round, so both sides of a ratio saw the same load.
const perRound = (pick: "wall" | "cpu") =>
  median(times[CONVERT].map((x, i) => x[pick] / times[FLOOR][i][pick]));
console.log(
  `  convert / floor: ${(median(times[CONVERT].map((x) => x.wall)) / floor).toFixed(2)}x ` +
    `(medians), ${perRound("wall").toFixed(2)}x (median of the rounds' ratios), CPU ` +
    `${perRound("cpu").toFixed(2)}x; goal <= 2x`,
);

// The per-packet work at its best: bytes in memory, the JIT warm.
const bytes = Deno.readFileSync(capture);
function pass(): { stream: number; finish: number } {
  const engine = new FlowEngine();
  const reader = new CaptureReader(engine as PacketSink, capture);
  const t0 = performance.now();
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
    reader.push(bytes.subarray(at, Math.min(at + CHUNK_BYTES, bytes.length)));
  }
  reader.end();
  const t1 = performance.now();
  engine.finish();
  return { stream: t1 - t0, finish: performance.now() - t1 };
}
pass();
const warm = Array.from({ length: 5 }, pass);
console.log(
  `warm, in-process (median of 5 after one warm-up): decoding and counting ${
    ms(median(warm.map((w) => w.stream)))
  }, finish ${ms(median(warm.map((w) => w.finish)))}`,
);
