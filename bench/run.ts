/**
 * The convert benchmark (issue 2, acceptance 3): `networksage convert` against
 * `tcpdump -r FILE -w /dev/null` on the same capture, side by side, alternating runs, reporting
 * the median and best wall time and the peak RSS of each.
 *
 *     deno task bench [--packets 300000] [--rounds 7]
 *
 * The capture comes from ../shared/bench/gen-pcap.py when it exists (the reference generator),
 * otherwise from bench/synthetic.ts. Needs /usr/bin/time (Debian package `time`) and tcpdump.
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    packets: { type: "string", default: "300000" },
    rounds: { type: "string", default: "7" },
    capture: { type: "string" },
  },
});
const root = new URL("../", import.meta.url).pathname;
const out = `${root}bench/out`;
await Deno.mkdirSync(out, { recursive: true });

async function sh(cmd: string[], quiet = true): Promise<{ code: number; stderr: string }> {
  const r = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: quiet ? "null" : "inherit",
    stderr: "piped",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

let capture = values.capture ?? `${out}/bench-${values.packets}.pcap`;
if (!values.capture) {
  try {
    Deno.statSync(capture);
  } catch {
    const gen = `${root}../shared/bench/gen-pcap.py`;
    let made = false;
    try {
      Deno.statSync(gen);
      const r = await sh(["python3", gen, capture, "--packets", values.packets!], false);
      made = r.code === 0;
    } catch { /* no shared generator */ }
    if (!made) {
      capture = `${out}/bench-synthetic.pcap`;
      console.error("../shared/bench/gen-pcap.py not available: using bench/synthetic.ts");
      const { writeBenchCapture } = await import("./synthetic_bench.ts");
      await writeBenchCapture(capture, Number(values.packets));
    }
  }
}

async function measure(cmd: string[]): Promise<{ wall: number; rssKiB: number }> {
  const r = await sh(["/usr/bin/time", "-f", "%e %M", ...cmd]);
  const last = r.stderr.trim().split("\n").pop() ?? "";
  const [wall, rss] = last.split(" ").map(Number);
  if (r.code !== 0 || !Number.isFinite(wall)) {
    throw new Error(`${cmd.join(" ")} failed: ${r.stderr}`);
  }
  return { wall, rssKiB: rss };
}

const convert = [
  Deno.execPath(),
  "run",
  "--allow-read",
  "--allow-write",
  `${root}cli.ts`,
  "convert",
  capture,
  "-o",
  `${out}/bench.sf`,
  "--quiet",
];
const tcpdump = ["tcpdump", "-r", capture, "-w", "/dev/null"];
// Warm the page cache and Deno's module cache.
await measure(tcpdump);
await measure(convert);
const rounds = Number(values.rounds);
const ours: { wall: number; rssKiB: number }[] = [];
const theirs: { wall: number; rssKiB: number }[] = [];
for (let i = 0; i < rounds; i++) {
  theirs.push(await measure(tcpdump));
  ours.push(await measure(convert));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const best = (xs: number[]) => Math.min(...xs);
const size = Deno.statSync(capture).size;
const row = (name: string, r: typeof ours) =>
  `${name.padEnd(28)} median ${median(r.map((x) => x.wall)).toFixed(2)} s  best ${
    best(r.map((x) => x.wall)).toFixed(2)
  } s  peak RSS ${(Math.max(...r.map((x) => x.rssKiB)) / 1024).toFixed(0)} MiB`;
console.log(`capture: ${capture} (${(size / 1e6).toFixed(0)} MB), ${rounds} alternating rounds`);
console.log(row("tcpdump -r -w /dev/null", theirs));
console.log(row("networksage convert", ours));
const ratio = median(ours.map((x) => x.wall)) / median(theirs.map((x) => x.wall));
console.log(`ratio (median): ${ratio.toFixed(2)}x   target: <= 2x, <= 150 MiB`);
