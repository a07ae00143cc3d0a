/**
 * The flows benchmark (issue 22): `networksage view --flows --ecs CAPTURE > /dev/null` against
 * `networksage convert CAPTURE` on the 300k-packet benchmark capture, alternately in the same run
 * (the machine is shared: only side-by-side ratios mean something). Prints, for each, the median
 * and best wall time, the median CPU time (user + system) and the peak RSS, then the ratios of
 * the medians. The goal: flows within 1.3x convert's time and under 160 MiB.
 *
 *     deno run --allow-read --allow-write --allow-run bench/flows.ts [--rounds 7] [--capture FILE]
 *
 * The capture comes from ../shared/bench/gen-pcap.py (or bench/synthetic.ts when it is missing),
 * written once into bench/out. Needs /usr/bin/time (Debian package `time`).
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    capture: { type: "string" },
  },
});
const root = new URL("../", import.meta.url).pathname;
const out = `${root}bench/out`;
Deno.mkdirSync(out, { recursive: true });
const cli = `${root}cli.ts`;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function capture(): Promise<string> {
  if (values.capture) return values.capture;
  const path = `${out}/bench-300000.pcap`;
  if (exists(path)) return path;
  const gen = `${root}../shared/bench/gen-pcap.py`;
  if (exists(gen)) {
    const r = await new Deno.Command("python3", { args: [gen, path, "--packets", "300000"] })
      .output();
    if (r.code === 0) return path;
  }
  const { writeBenchCapture } = await import("./synthetic_bench.ts");
  await writeBenchCapture(path, 300000);
  return path;
}

interface Run {
  wall: number;
  cpu: number;
  rssKiB: number;
}

async function measure(args: string[], stdout: "null" | "piped" = "null"): Promise<Run> {
  const r = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%e %U %S %M", Deno.execPath(), "run", ...args],
    stdout,
    stderr: "piped",
  }).output();
  const last = new TextDecoder().decode(r.stderr).trim().split("\n").pop() ?? "";
  const [wall, user, sys, rss] = last.split(" ").map(Number);
  if (r.code !== 0 || !Number.isFinite(wall)) throw new Error(`${args.join(" ")} failed: ${last}`);
  return { wall, cpu: user + sys, rssKiB: rss };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const file = await capture();
const sf = `${out}/flows-bench.sf`;
const rounds = Number(values.rounds);
const conv: Run[] = [], flows: Run[] = [];
for (let i = 0; i < rounds; i++) {
  try {
    Deno.removeSync(sf);
  } catch { /* absent */ }
  conv.push(await measure(["--allow-read", "--allow-write", cli, "convert", "-q", file, "-o", sf]));
  flows.push(await measure(["--allow-read", cli, "view", "--flows", "--ecs", "-q", file]));
}
const show = (name: string, runs: Run[]) =>
  console.log(
    `${name.padEnd(22)} wall median ${median(runs.map((r) => r.wall)).toFixed(2)} s, best ${
      Math.min(...runs.map((r) => r.wall)).toFixed(2)
    } s; cpu median ${median(runs.map((r) => r.cpu)).toFixed(2)} s; peak ${
      (Math.max(...runs.map((r) => r.rssKiB)) / 1024).toFixed(0)
    } MiB`,
  );
console.log(`capture: ${file}, ${rounds} rounds each, alternating`);
show("convert", conv);
show("view --flows --ecs", flows);
const ratio = (f: (r: Run) => number) => (median(flows.map(f)) / median(conv.map(f))).toFixed(2);
console.log(`ratio flows/convert: wall ${ratio((r) => r.wall)}x, cpu ${ratio((r) => r.cpu)}x`);
