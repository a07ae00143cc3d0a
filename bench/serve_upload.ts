/**
 * The upload benchmark (issue 9, acceptance 1): a capture uploaded to a local `serve` by
 * `curl -F` and by `networksage upload`, alternating; serve's peak RSS (VmHWM) over all of it;
 * then the slowest answer to `GET /upload/v1.0/uploads/list` polled every 100 ms while two
 * uploads of the capture convert.
 *
 *     deno run -A bench/serve_upload.ts CAPTURE [--rounds 3]
 *
 * Make a 320 MB capture with `python3 ../shared/bench/gen-pcap.py /tmp/x.pcap --packets 600000`.
 * Linux only (reads /proc); needs curl.
 * @module
 */
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: { rounds: { type: "string", default: "3" } },
  allowPositionals: true,
});
const capture = positionals[0];
if (!capture) throw new Error("usage: serve_upload.ts CAPTURE [--rounds N]");
const cli = new URL("../cli.ts", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "ns-serve-bench-" });
const key = "bench-key-" + crypto.randomUUID();
await Deno.writeTextFile(`${dir}/keys`, `${key}\n`, { mode: 0o600 });

const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--quiet",
    "--allow-net=127.0.0.1",
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    `--allow-run=${Deno.execPath()}`,
    cli,
    "serve",
    "--port",
    "0",
    "--data",
    `${dir}/data`,
    "--keys-file",
    `${dir}/keys`,
  ],
  stdout: "piped",
  stderr: "null",
}).spawn();
const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
let first = "";
while (!first.includes("\n")) first += (await reader.read()).value ?? "";
const url = /listening on (\S+)/.exec(first)![1];
const hwm = () =>
  Number(/VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${server.pid}/status`))![1]) / 1024;

async function timed(cmd: string[], env: Record<string, string> = {}): Promise<number> {
  const t = performance.now();
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), env, stdout: "null" }).output();
  if (!r.success) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return (performance.now() - t) / 1000;
}
const curl = () =>
  timed([
    "curl",
    "-sf",
    "-o",
    "/dev/null",
    "-H",
    `apikey: ${key}`,
    "-F",
    "type=pcap",
    "-F",
    `file=@${capture}`,
    `${url}/upload/v1.0/uploader`,
  ]);
const upload = () =>
  timed([
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-env",
    "--allow-net=127.0.0.1",
    `--allow-read=${capture}`,
    cli,
    "upload",
    capture,
    "--type",
    "pcap",
    "--api-url",
    url,
  ], { NETWORKSAGE_API_KEY: key });
const settle = () => new Promise((r) => setTimeout(r, 8000)); // let conversions finish

const size = Deno.statSync(capture).size;
console.log(`capture ${(size / 1e6).toFixed(1)} MB, serve ${url}`);
for (let i = 0; i < Number(values.rounds); i++) {
  const c = await curl();
  await settle();
  const u = await upload();
  await settle();
  console.log(
    `round ${i + 1}: curl -F ${c.toFixed(2)} s, networksage upload ${u.toFixed(2)} s ` +
      `(ratio ${(u / c).toFixed(2)})`,
  );
}
// Two uploads at once, then requests while both convert.
await Promise.all([curl(), curl()]);
let worst = 0;
for (let i = 0; i < 60; i++) {
  const t = performance.now();
  const r = await fetch(`${url}/upload/v1.0/uploads/list`, { headers: { apikey: key } });
  await r.body?.cancel();
  worst = Math.max(worst, performance.now() - t);
  await new Promise((r) => setTimeout(r, 100));
}
console.log(`slowest answer over 6 s while two uploads converted: ${worst.toFixed(0)} ms`);
console.log(`serve peak RSS (VmHWM): ${hwm().toFixed(0)} MiB`);
server.kill("SIGTERM");
await server.status;
await reader.cancel();
await Deno.remove(dir, { recursive: true });
