/**
 * Benchmark of the live collector (issues 5 and 12). Needs Linux, root, libpcap, tcpreplay,
 * iproute2 and python3. Generates the 300k-packet benchmark capture, replays it with
 * `tcpreplay --topspeed` inside a private network namespace and captures it with `capture -i`
 * (one 10 s window by default, run under /usr/bin/time for CPU time and peak RSS, start-up included):
 * - one replay: out of one end of a veth pair, captured on the other end;
 * - two replays at once: two tcpreplay processes writing into the same veth end, so the pair is
 *   fed twice as fast (a bridge over two pairs did not pass the replayed frames up to the
 *   bridge device here, so this is the "one pair fed twice as fast" form of the test).
 * Then compares the window's Secflows with those of `capture -r` on the same file (packet and
 * byte counts doubled for two replays), and reports libpcap's drop counters and the collector's
 * CPU time as a multiple of `convert`'s on the same file (issue 25: at most 1.2x for one replay).
 *
 *   deno run -A bench/capture.ts [--packets 300000] [--pcap /tmp/x.pcap] [--runs 1] [--replays 1,2]
 *     [--duration 10]
 *
 * Traffic never leaves the namespace the script creates, which is always deleted afterwards.
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    packets: { type: "string", default: "300000" },
    pcap: { type: "string", default: "/tmp/networksage-bench.pcap" },
    runs: { type: "string", default: "1" },
    immediate: { type: "boolean", default: false },
    nice: { type: "string" },
    inline: { type: "boolean", default: false },
    "buffer-size": { type: "string" },
    replays: { type: "string", default: "1,2" },
    // Seconds of the captured window: under load tcpreplay slows, and a replay that outlasts the
    // window leaves packets out (not drops: sessions then differ from `capture -r`'s).
    duration: { type: "string", default: "10" },
  },
});
const replayCounts = values.replays!.split(",").map(Number);
const repo = new URL("../", import.meta.url).pathname;
const cli = `${repo}cli.ts`;
const generator = new URL("../../shared/bench/gen-pcap.py", import.meta.url).pathname;
const deno = Deno.execPath();
/** What `capture --help` asks for (no upload, so no network). */
const CAPTURE_PERMISSIONS = ["--allow-ffi", "--allow-read", "--allow-write", "--allow-env"];

async function run(cmd: string, args: string[], check = true) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (check && !out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

try {
  await Deno.stat(values.pcap!);
} catch {
  console.error(`generating ${values.pcap} (${values.packets} packets)`);
  await run("python3", [generator, values.pcap!, "--packets", values.packets!]);
}

function keys(sample: { flashes: Record<string, unknown>[] } | null, times = 1): string[] {
  const n = (x: unknown) => Number(x) * times;
  return (sample?.flashes ?? []).map((f) =>
    [
      f.src,
      f.dst,
      f.destinationNameSource,
      n(f.srcPkts),
      n(f.dstPkts),
      n(f.srcBytes),
      n(
        f.dstBytes,
      ),
    ].join("|")
  ).sort();
}

async function readOne(dir: string) {
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".sf")) return JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`));
  }
  return null;
}

/** Busy CPU time of the whole VM so far, in jiffies (user, nice, system, irq, softirq). */
function busyJiffies(): number {
  const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).map(Number);
  return f[1] + f[2] + f[3] + f[6] + f[7];
}

const tmp = await Deno.makeTempDir({ prefix: "capture_bench_" });
try {
  // Reference: the same file through `capture -r`.
  const t0 = performance.now();
  await run(deno, [
    "run",
    ...CAPTURE_PERMISSIONS,
    cli,
    "capture",
    "-r",
    values.pcap!,
    "--duration",
    "100000000",
    "--no-upload",
    "--output",
    `${tmp}/file`,
    "--state-dir",
    `${tmp}/state-file`,
  ]);
  const fileMs = performance.now() - t0;
  const reference = await readOne(`${tmp}/file`);
  const refKeys = keys(reference);

  // Issue 25's yardstick: the CPU time of our own `convert` of the same file (median of 3),
  // which the collector's CPU for one replay is compared with (goal: at most 1.2x).
  const convertCpus: number[] = [];
  for (let i = 0; i < 3; i++) {
    const text = await run("/usr/bin/time", [
      "-f",
      "TIME %U %S",
      deno,
      "run",
      "--allow-read",
      "--allow-write",
      cli,
      "convert",
      values.pcap!,
      "-o",
      `${tmp}/convert.sf`,
      "--quiet",
    ]);
    const [, user, sys] = /TIME ([\d.]+) ([\d.]+)/.exec(text) ?? [];
    convertCpus.push(Number(user) + Number(sys));
  }
  const convertCpu = [...convertCpus].sort((a, b) => a - b)[1];
  console.log(JSON.stringify({ convertCpuSeconds: convertCpus }));

  const custom = values.inline || values.immediate || values.nice !== undefined ||
    values["buffer-size"] !== undefined;
  const configs: { name: string; args: string[] }[] = custom
    ? [{
      name: "custom",
      args: [
        ...(values.immediate ? ["--immediate"] : []),
        ...(values.inline ? ["--inline"] : []),
        ...(values["buffer-size"] ? ["--buffer-size", values["buffer-size"]] : []),
        ...(values.nice !== undefined ? ["--nice", values.nice] : []),
      ],
    }]
    : [
      { name: "default (worker, 16 MiB buffer)", args: [] },
      { name: "--inline -B 32768", args: ["--inline", "--buffer-size", "32768"] },
    ];
  const summary: string[] = [];
  for (const config of configs) {
    for (const replays of replayCounts) {
      for (let i = 0; i < Number(values.runs); i++) {
        const ns = `nsbench${Deno.pid}x${i}${config.args.length}r${replays}`;
        await run("ip", ["netns", "add", ns]);
        try {
          await run("ip", ["-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb"]);
          // No IPv6 on the pair: no address configuration work competing with the collector.
          await run("ip", [
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
          ], false);
          for (const dev of ["va", "vb"]) {
            await run("ip", ["-n", ns, "link", "set", dev, "mtu", "65535", "up"]);
          }
          const out = `${tmp}/live${configs.indexOf(config)}-${replays}-${i}`;
          // Other processes' CPU use during the run (the VM is shared): busy jiffies of /proc/stat.
          const busy0 = busyJiffies();
          const child = new Deno.Command("ip", {
            args: [
              "netns",
              "exec",
              ns,
              "/usr/bin/time",
              "-f",
              "TIME %U %S %M",
              deno,
              "run",
              // The permissions `capture --help` documents, not -A: Deno reads /proc only with
              // --allow-all, so -A measured a path users without it did not get.
              ...CAPTURE_PERMISSIONS,
              cli,
              "capture",
              "-i",
              "vb",
              "--duration",
              values.duration!,
              "--windows",
              "1",
              "--no-upload",
              "--output",
              out,
              "--state-dir",
              `${tmp}/state${configs.indexOf(config)}-${replays}-${i}`,
              ...config.args,
            ],
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          const lines: string[] = [];
          let listening!: () => void;
          const ready = new Promise<void>((r) => listening = r);
          const reading = (async () => {
            let rest = "";
            for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) {
              rest += c;
              let nl;
              while ((nl = rest.indexOf("\n")) >= 0) {
                const line = rest.slice(0, nl);
                rest = rest.slice(nl + 1);
                lines.push(line);
                if (line.startsWith("listening on")) listening();
              }
            }
          })();
          await ready;
          const replayTexts = await Promise.all(Array.from({ length: replays }, () =>
            run("ip", [
              "netns",
              "exec",
              ns,
              "/usr/bin/time",
              "-f",
              "REPLAYTIME %U %S",
              "tcpreplay",
              "-i",
              "va",
              "--topspeed",
              values.pcap!,
            ])));
          const replayText = replayTexts.join("\n");
          await child.status;
          await reading;
          await child.stdout.cancel();
          const time = lines.find((l) => l.startsWith("TIME "))!.split(" ");
          const windowLine = lines.find((l) => l.startsWith("window ")) ?? "(no window line)";
          const live = await readOne(out);
          const liveKeys = keys(live);
          const same = JSON.stringify(liveKeys) === JSON.stringify(keys(reference, replays));
          const pkts = (s: typeof live) =>
            (s?.flashes ?? []).reduce(
              (n: number, f: { srcPkts: number; dstPkts: number }) => n + f.srcPkts + f.dstPkts,
              0,
            );
          const rate = [...replayText.matchAll(/Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/g)]
            .reduce((sum, m) => sum + Number(m[1]), 0);
          const cpu = Number(time[1]) + Number(time[2]);
          const replayCpu = [...replayText.matchAll(/REPLAYTIME ([\d.]+) ([\d.]+)/g)]
            .reduce((sum, m) => sum + Number(m[1]) + Number(m[2]), 0);
          const others = (busyJiffies() - busy0) / 100 - cpu - replayCpu;
          const drops = /dropped (\d+), if-dropped (\d+)/.exec(windowLine);
          summary.push(
            `${config.name}, ${replays} replay${replays > 1 ? "s" : ""} at once: CPU ${
              cpu.toFixed(2)
            } s (${(cpu / convertCpu).toFixed(2)}x convert's ${
              convertCpu.toFixed(2)
            } s), peak RSS ${(Number(time[3]) / 1024).toFixed(0)} MiB, drops ${
              drops ? Number(drops[1]) + Number(drops[2]) : "?"
            }, sessions equal ${same}, others' CPU meanwhile ${Math.max(0, others).toFixed(2)} s`,
          );
          console.log(JSON.stringify({
            config: config.name,
            replays,
            run: i + 1,
            replayPps: rate || null,
            cpuSeconds: Number(cpu.toFixed(2)),
            cpuPerConvertCpu: Number((cpu / convertCpu).toFixed(2)),
            userSeconds: Number(time[1]),
            sysSeconds: Number(time[2]),
            peakRssMiB: Number((Number(time[3]) / 1024).toFixed(1)),
            window: windowLine,
            liveSecflows: liveKeys.length,
            fileSecflows: refKeys.length,
            sessionPacketsLive: pkts(live),
            sessionPacketsFile: pkts(reference) * replays,
            sessionsEqual: same,
            fileModeMs: Math.round(fileMs),
            otherCpuSeconds: Number(Math.max(0, others).toFixed(2)),
          }));
        } finally {
          await run("ip", ["netns", "del", ns], false);
        }
      }
    }
  }
  for (const line of summary) console.log(line);
} finally {
  await Deno.remove(tmp, { recursive: true });
}
