/**
 * The convert benchmark (issues 12 and 25): `networksage convert` against the floor (issue 25:
 * `bench/floor_loop.ts`, a plain loop that reads the capture and counts its 5-tuples; goal 2x)
 * and `tcpdump -r FILE -w /dev/null` (issue 12) on the 300k-packet (159 MB) and 600k-packet
 * (319 MB) benchmark captures. For each capture, the three commands run alternately in the same
 * run (the machine is shared, so only side-by-side ratios mean something); it prints the median
 * and best wall time and the peak RSS of each, the ratios of the medians, and how the input was
 * read (read calls on the capture and bytes read per byte of file, from strace), then how time
 * scales from one capture to the other.
 *
 *     deno task bench [--packets 300000,600000] [--rounds 7] [--capture FILE] [--against TREE]
 *
 * `--against TREE` (repeatable) also runs the `cli.ts` of another checkout (`git worktree add` or
 * `git archive`) in the same rounds, prints its ratio to the floor, and checks that its output is
 * the same as this tree's (the random hash aside): before/after ratios measured side by side.
 *
 * Captures come from ../shared/bench/gen-pcap.py when it exists (the reference generator),
 * otherwise from bench/synthetic.ts. Needs /usr/bin/time (Debian package `time`), tcpdump, and
 * strace for the read count (skipped with a note when it is missing).
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    packets: { type: "string", default: "300000,600000" },
    rounds: { type: "string", default: "7" },
    capture: { type: "string", multiple: true },
    against: { type: "string", multiple: true },
  },
});
const root = new URL("../", import.meta.url).pathname;
const out = `${root}bench/out`;
Deno.mkdirSync(out, { recursive: true });

async function sh(
  cmd: string[],
  quiet = true,
): Promise<{ code: number; stderr: string }> {
  const r = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: quiet ? "null" : "inherit",
    stderr: "piped",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The benchmark capture of `packets` packets, generated once into bench/out. */
async function benchCapture(packets: string): Promise<string> {
  const path = `${out}/bench-${packets}.pcap`;
  if (exists(path)) return path;
  const gen = `${root}../shared/bench/gen-pcap.py`;
  if (exists(gen)) {
    const r = await sh(["python3", gen, path, "--packets", packets], false);
    if (r.code === 0) return path;
  }
  console.error("../shared/bench/gen-pcap.py not available: using bench/synthetic.ts");
  const synthetic = `${out}/bench-synthetic-${packets}.pcap`;
  if (!exists(synthetic)) {
    const { writeBenchCapture } = await import("./synthetic_bench.ts");
    await writeBenchCapture(synthetic, Number(packets));
  }
  return synthetic;
}

interface Run {
  wall: number;
  rssKiB: number;
}

async function measure(cmd: string[]): Promise<Run> {
  const r = await sh(["/usr/bin/time", "-f", "%e %M", ...cmd]);
  const last = r.stderr.trim().split("\n").pop() ?? "";
  const [wall, rss] = last.split(" ").map(Number);
  if (r.code !== 0 || !Number.isFinite(wall)) {
    throw new Error(`${cmd.join(" ")} failed: ${r.stderr}`);
  }
  return { wall, rssKiB: rss };
}

/** Read calls on `capture` and bytes read from it, by strace; undefined without strace. */
async function readCount(
  cmd: string[],
  capture: string,
): Promise<{ calls: number; bytes: number } | undefined> {
  const log = `${out}/strace.txt`;
  const real = Deno.realPathSync(capture);
  const r = await sh(["strace", "-f", "-y", "-e", "trace=read,pread64,readv", "-o", log, ...cmd]);
  if (r.code !== 0) return undefined;
  let calls = 0, bytes = 0;
  // With -f, a call another thread interrupts is split into "<unfinished ...>" and
  // "<... read resumed>" lines, each starting with the thread id.
  const pending = new Set<string>();
  for (const line of Deno.readTextFileSync(log).split("\n")) {
    const [, tid, call] = /^(\d+)\s+(.*)$/.exec(line) ?? [];
    if (!call) continue;
    let result: string | undefined;
    if (call.includes(`<${real}>`)) {
      if (call.endsWith("<unfinished ...>")) {
        pending.add(tid);
        continue;
      }
      result = call;
    } else if (pending.has(tid) && call.includes("resumed>")) {
      pending.delete(tid);
      result = call;
    }
    const m = result && / = (\d+)$/.exec(result);
    if (!m) continue;
    calls++;
    bytes += Number(m[1]);
  }
  Deno.removeSync(log);
  return { calls, bytes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const best = (xs: number[]) => Math.min(...xs);
const rounds = Number(values.rounds);
const captures = values.capture ??
  await Promise.all(values.packets!.split(",").map((n) => benchCapture(n.trim())));
const haveStrace = (await sh(["strace", "-V"]).catch(() => ({ code: 1 }))).code === 0;

/** The 1, 5 and 15 minute load averages (Deno reads /proc only with --allow-all: ask cat). */
async function loadavg(): Promise<string> {
  const r = await new Deno.Command("cat", { args: ["/proc/loadavg"], stdout: "piped" }).output();
  return new TextDecoder().decode(r.stdout).split(" ").slice(0, 3).join(" ");
}

console.log(
  `machine: ${navigator.hardwareConcurrency} CPUs, load average ${await loadavg()} at start; ${rounds} alternating rounds per capture`,
);
const summary: { size: number; ours: number; theirs: number }[] = [];
for (const capture of captures) {
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
  const floor = [Deno.execPath(), "run", "--allow-read", `${root}bench/floor_loop.ts`, capture];
  // Warm the page cache and Deno's module cache.
  await measure(tcpdump);
  await measure(floor);
  await measure(convert);
  // Other checkouts: the same command with their cli.ts, writing a file of the same name.
  const others = (values.against ?? []).map((tree, i) => {
    Deno.mkdirSync(`${out}/against-${i}`, { recursive: true });
    const cmd = [...convert];
    cmd[4] = `${tree.replace(/\/$/, "")}/cli.ts`;
    cmd[cmd.indexOf("-o") + 1] = `${out}/against-${i}/bench.sf`;
    return { tree, cmd, runs: [] as Run[] };
  });
  for (const o of others) await measure(o.cmd);
  const ours: Run[] = [];
  const theirs: Run[] = [];
  const floors: Run[] = [];
  for (let i = 0; i < rounds; i++) {
    theirs.push(await measure(tcpdump));
    floors.push(await measure(floor));
    ours.push(await measure(convert));
    for (const o of others) o.runs.push(await measure(o.cmd));
  }
  const size = Deno.statSync(capture).size;
  const row = (name: string, r: Run[]) =>
    `  ${name.padEnd(28)} median ${median(r.map((x) => x.wall)).toFixed(3)} s  best ${
      best(r.map((x) => x.wall)).toFixed(3)
    } s  peak RSS ${(Math.max(...r.map((x) => x.rssKiB)) / 1024).toFixed(0)} MiB`;
  console.log(`${capture} (${(size / 1e6).toFixed(0)} MB)`);
  console.log(row("tcpdump -r -w /dev/null", theirs));
  console.log(row("floor (bench/floor_loop.ts)", floors));
  console.log(row("networksage convert", ours));
  const floorMedian = median(floors.map((x) => x.wall));
  const toFloor = (r: Run[]) =>
    floorMedian > 0 ? `${(median(r.map((x) => x.wall)) / floorMedian).toFixed(2)}x` : "none";
  console.log(`  convert / floor (medians): ${toFloor(ours)}   target: <= 2x, <= 120 MiB`);
  const withoutHash = (path: string) =>
    Deno.readTextFileSync(path).replace(/^\{"hash": "[0-9a-f]*"/, "");
  for (const o of others) {
    console.log(row(`  ${o.tree}`, o.runs));
    const same = withoutHash(o.cmd[o.cmd.indexOf("-o") + 1]) === withoutHash(`${out}/bench.sf`);
    console.log(`    its convert / floor (medians): ${toFloor(o.runs)}; output the same: ${same}`);
  }
  const m = { ours: median(ours.map((x) => x.wall)), theirs: median(theirs.map((x) => x.wall)) };
  summary.push({ size, ...m });
  // /usr/bin/time counts wall time in hundredths of a second: a tiny capture reads as 0.
  const ratio = m.theirs > 0
    ? `${(m.ours / m.theirs).toFixed(2)}x`
    : "none (tcpdump took under /usr/bin/time's 0.01 s resolution: use a larger capture)";
  console.log(`  convert / tcpdump (medians): ${ratio}   (issue 12's target: <= 1.5x)`);
  if (haveStrace) {
    const reads = await readCount(convert, capture);
    if (reads) {
      console.log(
        `  input reads (strace): ${reads.calls} read calls, ${
          (reads.bytes / size).toFixed(2)
        } x the file's bytes (${reads.bytes} of ${size})`,
      );
    }
  } else console.log("  input reads: strace not installed (apt-get install strace)");
}
console.log(`load average ${await loadavg()} at the end`);
if (summary.length >= 2) {
  const [a, b] = summary;
  console.log(
    `scaling: ${(b.size / a.size).toFixed(2)}x the bytes took ${
      (b.ours / a.ours).toFixed(2)
    }x the time (tcpdump ${(b.theirs / a.theirs).toFixed(2)}x)`,
  );
}
