/**
 * Benchmark: a deterministic Zeek TSV conn.log of about a million rows with its dns.log, converted
 * through the CLI (`deno run --allow-read=DIR --allow-write=DIR cli.ts convert conn.log --dns
 * dns.log -o out.sf`: read and write access to the log folder only, one JavaScript thread), wall
 * time, CPU time (user + system, all threads) and peak RSS of the converting process per run, then
 * the best and the median.
 *
 *   deno run -A bench/zeek.ts [--rows 1000000] [--runs 5] [--dir DIR] [--keep] [--against TREE]...
 *
 * `--against TREE` (repeatable) converts the same logs with another checkout's `cli.ts` too, the
 * trees taking turns run by run (this machine's load drifts: only alternating runs compare), then
 * prints each tree's medians, the ratio of the median wall times, and checks that every tree wrote
 * the same bytes (the random `hash` aside). The load average is printed before and after.
 *
 * The log mixes what real sensors see: outbound TCP and UDP from ~2,000 internal hosts to
 * ~30,000 external servers (most rows their own session), local-only traffic (dropped), inbound
 * connections to local servers (flipped), repeated keys (groups of several rows, out of ts order
 * now and then), ICMP, unset (`-`) values, and a dns.log naming most servers.
 * @module
 */
import { join } from "node:path";
import { prng as rng } from "./synthetic.ts";

const args = Deno.args;
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const ROWS = Number(opt("rows", "1000000"));
const RUNS = Number(opt("runs", "5"));
const keep = args.includes("--keep");
const dir = opt("dir", "") || await Deno.makeTempDir({ prefix: "zeek-bench-" });
await Deno.mkdir(dir, { recursive: true }); // a --dir that does not exist yet is made
const root = new URL("..", import.meta.url).pathname;

const CONN_HEADER = [
  "#separator \\x09",
  "#set_separator\t,",
  "#empty_field\t(empty)",
  "#unset_field\t-",
  "#path\tconn",
  "#open\t2024-01-01-00-00-00",
  "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents",
  "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]",
].join("\n") + "\n";

const DNS_HEADER = [
  "#separator \\x09",
  "#set_separator\t,",
  "#empty_field\t(empty)",
  "#unset_field\t-",
  "#path\tdns",
  "#open\t2024-01-01-00-00-00",
  "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected",
  "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool",
].join("\n") + "\n";

/** Writes conn.log and dns.log; returns their paths. Same content for the same row count. */
async function generate(rows: number): Promise<{ conn: string; dns: string }> {
  const conn = join(dir, `conn_${rows}.log`);
  const dns = join(dir, `dns_${rows}.log`);
  try {
    await Deno.stat(conn);
    await Deno.stat(dns);
    return { conn, dns };
  } catch { /* generate */ }
  const rand = rng(20240101);
  const int = (n: number) => Math.floor(rand() * n);
  const clients = Array.from(
    { length: 2000 },
    (_, i) => `10.${1 + (i >> 8)}.${i & 255}.${10 + int(200)}`,
  );
  const servers = Array.from(
    { length: 30000 },
    () => `${11 + int(180)}.${int(256)}.${int(256)}.${1 + int(254)}`,
  );
  const names = servers.map((_, i) => `host${i}.example${i % 97}.com`);
  const localServers = ["10.0.0.5", "10.0.0.6", "192.168.1.20"];
  const uid = () => `C${int(2 ** 31).toString(36)}${int(2 ** 31).toString(36)}`;
  const enc = new TextEncoder();

  // dns.log: every named server looked up a few times, at times spread over the capture.
  const dnsFile = await Deno.open(dns, { write: true, create: true, truncate: true });
  dnsFile.writeSync(enc.encode(DNS_HEADER));
  const t0 = 1704067200;
  const span = 3600;
  let out = "";
  const dnsRows = Math.round(rows / 10);
  for (let i = 0; i < dnsRows; i++) {
    const s = int(servers.length * 0.9); // 10% of servers never named
    const ts = (t0 - 5 + (span * i) / dnsRows + rand()).toFixed(6);
    const kind = int(10);
    const c = clients[int(clients.length)];
    if (kind < 7) {
      const extra = servers[(s + 1) % servers.length];
      out +=
        `${ts}\t${uid()}\t${c}\t${1024 + int(60000)}\t10.0.0.1\t53\tudp\t${int(65536)}\t0.0${
          int(9)
        }${int(10)}12\t` +
        `${names[s]}\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\tcdn.${names[s]},${
          servers[s]
        },${extra}\t60.000000,30.000000,30.000000\tF\n`;
    } else if (kind < 9) {
      out +=
        `${ts}\t${uid()}\t${c}\t${1024 + int(60000)}\t10.0.0.1\t53\tudp\t${int(65536)}\t0.011\t` +
        `${names[s]}\t1\tC_INTERNET\t28\tAAAA\t0\tNOERROR\tF\tF\tT\tT\t0\t2001:db8::${
          int(65535).toString(16)
        }\t60.000000\tF\n`;
    } else {
      out += `${ts}\t${uid()}\t${c}\t${1024 + int(60000)}\t10.0.0.1\t53\tudp\t${int(65536)}\t-\t` +
        `${names[s]}\t1\tC_INTERNET\t1\tA\t3\tNXDOMAIN\tF\tF\tT\tT\t0\t-\t-\tF\n`;
    }
    if (out.length > 1 << 20) {
      dnsFile.writeSync(enc.encode(out));
      out = "";
    }
  }
  dnsFile.writeSync(enc.encode(out + "#close\t2024-01-01-01-00-00\n"));
  dnsFile.close();

  // conn.log
  const connFile = await Deno.open(conn, { write: true, create: true, truncate: true });
  connFile.writeSync(enc.encode(CONN_HEADER));
  out = "";
  const recent: string[] = []; // earlier client endpoints, for repeated keys
  const histories = [
    "ShADadFf",
    "ShADadfF",
    "ShAdDaFf",
    "S",
    "ShADadR",
    "Dd",
    "ShAD",
    "D",
    "d",
    "ShADadtFf",
  ];
  for (let i = 0; i < rows; i++) {
    let ts = t0 + (span * i) / rows + rand() * 2;
    if (int(50) === 0) ts -= 30 * rand(); // out of order now and then
    const kind = int(100);
    const c = clients[int(clients.length)];
    const sv = servers[Math.min(servers.length - 1, Math.floor(servers.length * rand() * rand()))];
    const dur = int(40) === 0 ? "-" : (rand() * (int(10) === 0 ? 120 : 2)).toFixed(6);
    const ob = int(60) === 0 ? "-" : String(int(5000));
    const rb = int(60) === 0 ? "-" : String(int(200000));
    const op = 1 + int(40), rp = 1 + int(200);
    const hist = histories[int(histories.length)];
    let line: string;
    if (kind < 62) {
      let src = `${c}\t${49152 + int(16384)}`;
      if (int(25) === 0 && recent.length > 0) src = recent[int(recent.length)];
      else if (recent.length < 5000) recent.push(src);
      else recent[int(5000)] = src;
      const port = int(4) === 0 ? 80 : 443;
      const service = int(3) === 0 ? "-" : port === 80 ? "http" : "ssl";
      line =
        `${src}\t${sv}\t${port}\ttcp\t${service}\t${dur}\t${ob}\t${rb}\tSF\t-\t-\t0\t${hist}\t${op}\t${
          op * 52 + int(5000)
        }\t${rp}\t${rp * 52 + int(200000)}\t-`;
    } else if (kind < 74) {
      const port = [53, 123, 443, 3478][int(4)];
      line = `${c}\t${1024 + int(64000)}\t${sv}\t${port}\tudp\t${
        port === 53 ? "dns" : "-"
      }\t${dur}\t${ob}\t${rb}\tSF\t-\t-\t0\tDd\t${op}\t${op * 28 + int(900)}\t${rp}\t${
        rp * 28 + int(900)
      }\t-`;
    } else if (kind < 86) {
      // Local only: DNS to the local resolver, file shares (dropped).
      line = `${c}\t${
        1024 + int(64000)
      }\t10.0.0.1\t53\tudp\tdns\t0.001\t40\t90\tSF\t-\t-\t0\tDd\t1\t68\t1\t118\t-`;
    } else if (kind < 95) {
      // Inbound to a local server: flipped.
      line = `${sv}\t${1024 + int(64000)}\t${localServers[int(3)]}\t${
        [22, 443, 25][int(3)]
      }\ttcp\t-\t${dur}\t${ob}\t${rb}\tSF\t-\t-\t0\t${hist}\t${op}\t${op * 52 + int(900)}\t${rp}\t${
        rp * 52 + int(9000)
      }\t-`;
    } else if (kind < 97) {
      line = `${c}\t8\t${sv}\t0\ticmp\t-\t${dur}\t${ob}\t${rb}\tOTH\t-\t-\t0\t-\t${op}\t${
        op * 84
      }\t${rp}\t${rp * 84}\t-`;
    } else {
      // Two external hosts (e.g. a sensor outside NAT).
      const other = servers[int(servers.length)];
      line = `${other}\t${
        1024 + int(64000)
      }\t${sv}\t443\ttcp\tssl\t${dur}\t${ob}\t${rb}\tSF\t-\t-\t0\t${hist}\t${op}\t${
        op * 52 + int(900)
      }\t${rp}\t${rp * 52 + int(9000)}\t-`;
    }
    out += `${ts.toFixed(6)}\t${uid()}\t${line}\n`;
    if (out.length > 1 << 20) {
      connFile.writeSync(enc.encode(out));
      out = "";
    }
  }
  connFile.writeSync(enc.encode(out + "#close\t2024-01-01-01-00-00\n"));
  connFile.close();
  return { conn, dns };
}

interface Run {
  seconds: number;
  /** user + system CPU seconds of the converting process (all its threads). */
  cpu: number;
  rssMiB: number;
  summary: string;
}

async function run(tree: string, conn: string, dns: string, out: string): Promise<Run> {
  const t = performance.now();
  const p = new Deno.Command("/usr/bin/time", {
    args: [
      "-f",
      "%U %S %M",
      Deno.execPath(),
      "run",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      join(tree, "cli.ts"),
      "convert",
      conn,
      "--dns",
      dns,
      "-o",
      out,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const r = await p.output();
  const seconds = (performance.now() - t) / 1000;
  const err = new TextDecoder().decode(r.stderr).trim().split("\n");
  if (!r.success) throw new Error(`convert failed (${tree}): ${err.join(" | ")}`);
  const [user, sys, kib] = err[err.length - 1].split(" ").map(Number);
  return {
    seconds,
    cpu: user + sys,
    rssMiB: kib / 1024,
    summary: err.slice(0, -1).join(" | "),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The bytes of a `.sf` file with its random `hash` value blanked (same length). */
async function withoutHash(path: string): Promise<Uint8Array> {
  const bytes = await Deno.readFile(path);
  const at = new TextDecoder().decode(bytes.subarray(0, 64)).indexOf('"hash": "') + 9;
  if (at >= 9) bytes.fill(48, at, at + 32);
  return bytes;
}

const loadAverage = async () =>
  (await Deno.readTextFile("/proc/loadavg").catch(() => "? ? ?")).split(" ").slice(0, 3).join(" ");

const trees = [root, ...args.flatMap((a, i) => args[i - 1] === "--against" ? [a] : [])];
const { conn, dns } = await generate(ROWS);
const sizes = `${((await Deno.stat(conn)).size / 1e6).toFixed(0)} MB conn.log, ${
  ((await Deno.stat(dns)).size / 1e6).toFixed(0)
} MB dns.log`;
console.log(`${ROWS} rows (${sizes}) in ${dir}; load average ${await loadAverage()}`);
// One output folder per tree, the same file name in each: the file name is part of the bytes.
const outputs = trees.map((_, k) => join(dir, `tree${k}`, "out.sf"));
for (const out of outputs) await Deno.mkdir(join(out, ".."), { recursive: true });
const runs: Run[][] = trees.map(() => []);
for (let i = 0; i < RUNS; i++) {
  for (let k = 0; k < trees.length; k++) {
    const r = await run(trees[k], conn, dns, outputs[k]);
    runs[k].push(r);
    console.log(
      `run ${i + 1} ${trees[k]}: ${r.seconds.toFixed(2)} s (CPU ${r.cpu.toFixed(2)} s), peak RSS ${
        r.rssMiB.toFixed(0)
      } MiB  (${r.summary})`,
    );
  }
}
console.log(`load average ${await loadAverage()}`);
const first = median(runs[0].map((r) => r.seconds));
for (let k = 0; k < trees.length; k++) {
  const secs = runs[k].map((r) => r.seconds), rss = runs[k].map((r) => r.rssMiB);
  const cpu = runs[k].map((r) => r.cpu);
  console.log(
    `${trees[k]}: best ${Math.min(...secs).toFixed(2)} s, median ${median(secs).toFixed(2)} s` +
      (k > 0 ? ` (this tree / it: ${(first / median(secs)).toFixed(2)})` : "") +
      `; CPU (user+sys) median ${median(cpu).toFixed(2)} s; peak RSS max ${
        Math.max(...rss).toFixed(0)
      } MiB`,
  );
}
console.log("targets (issue 13): <= 1.2 s, <= 200 MiB");
if (trees.length > 1) {
  const expected = await withoutHash(outputs[0]);
  for (let k = 1; k < trees.length; k++) {
    const got = await withoutHash(outputs[k]);
    const same = got.length === expected.length && got.every((b, i) => b === expected[i]);
    console.log(
      `${trees[k]}: output ${
        same ? "identical" : `DIFFERENT (${got.length} bytes, this tree ${expected.length})`
      } (the hash aside)`,
    );
  }
}
if (!keep && !opt("dir", "")) await Deno.remove(dir, { recursive: true });
