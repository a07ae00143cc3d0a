/**
 * A folder of 1,000 small captures: one `convert DIR -o OUT` (a worker per core) against 1,000
 * separate `convert FILE -o OUT.sf` runs (issue 8, acceptance 4).
 *
 *     deno run -A bench/convert_batch.ts [FILES=1000] [SEPARATE=FILES]
 *
 * SEPARATE runs fewer separate processes and scales their time to FILES (for a quick look). CPU
 * time is the children's (cutime + cstime): CPU over wall time near 2 means both cores were busy.
 * @module
 */
import { join } from "node:path";
import { dnsA, ether, pcap, type Rec, T0, tcp } from "../tests/_pcap.ts";

const [files = 1000, separate = files] = Deno.args.map(Number);
const CLI = new URL("../cli.ts", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "ns_batch_bench_" });

function capture(i: number): Uint8Array {
  const host = `10.0.${(i >> 8) & 255}.${i & 255}`;
  const dst = `93.184.${(i * 7) & 255}.${(i * 13) & 255}`;
  const recs: Rec[] = [
    {
      us: T0,
      data: ether(dnsA({ server: "8.8.8.8", client: host, qname: `s${i}.example`, addrs: [dst] })),
    },
  ];
  for (let k = 0; k < 40; k++) {
    const t = T0 + 1000 * (k + 1);
    recs.push({
      us: t,
      data: ether(tcp({ src: host, dst, sp: 40000 + (k % 8), dp: 443, payload: 200 })),
    });
    recs.push({
      us: t + 5,
      data: ether(tcp({ src: dst, dst: host, sp: 443, dp: 40000 + (k % 8), payload: 1400 })),
    });
  }
  return pcap(recs);
}

/** CPU seconds of this process's waited-for children (cutime + cstime of /proc/self/stat). */
function childrenCpu(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields from "state" (3rd in proc(5)) on: cutime and cstime are the 16th and 17th.
  return (Number(fields[16 - 3]) + Number(fields[17 - 3])) / 100;
}

/** Runs a shell command: [wall s, CPU s of it and its children]. */
async function timed(command: string): Promise<[number, number]> {
  const cpu0 = childrenCpu();
  const t0 = performance.now();
  await new Deno.Command("bash", { args: ["-c", command], stdout: "null", stderr: "null" })
    .output();
  return [(performance.now() - t0) / 1000, childrenCpu() - cpu0];
}

try {
  const inputs = join(dir, "in");
  await Deno.mkdir(inputs);
  for (let i = 0; i < files; i++) {
    await Deno.writeFile(join(inputs, `c${String(i).padStart(4, "0")}.pcap`), capture(i));
  }
  const run = `deno run --allow-read --allow-write ${CLI} convert`;
  const results: string[] = [];
  const batch = async (n: number) => {
    const [wall, cpu] = await timed(`${run} -q ${inputs} -o ${join(dir, `out${n}`)}`);
    results.push(
      `batch ${n}: ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU (${
        (cpu / wall).toFixed(2)
      } cores busy)`,
    );
    return wall;
  };
  const b1 = await batch(1);
  const list = [...Deno.readDirSync(inputs)].map((e) => e.name).sort().slice(0, separate);
  const script = list.map((n) => `${run} -q ${join(inputs, n)} -o ${join(dir, "sep", n)}.sf`).join(
    "\n",
  );
  await Deno.mkdir(join(dir, "sep"));
  await Deno.writeTextFile(join(dir, "separate.sh"), script);
  const [sepWall, sepCpu] = await timed(`bash ${join(dir, "separate.sh")}`);
  const sepScaled = (sepWall * files) / list.length;
  results.push(
    `${list.length} separate runs: ${sepWall.toFixed(2)} s wall, ${sepCpu.toFixed(2)} s CPU` +
      (list.length < files ? ` (scaled to ${files}: ${sepScaled.toFixed(2)} s)` : ""),
  );
  const b2 = await batch(2);
  const best = Math.min(b1, b2);
  results.push(
    `speedup: ${(sepScaled / best).toFixed(1)}x (${files} files; separate / best batch)`,
  );
  const written = [...Deno.readDirSync(join(dir, "out1"))].length;
  results.push(`samples written by the batch: ${written}`);
  console.log(results.join("\n"));
} finally {
  await Deno.remove(dir, { recursive: true });
}
