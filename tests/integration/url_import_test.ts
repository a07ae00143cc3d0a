/**
 * `import ... from "<url>/mod.ts"` works: the working tree is served over HTTP on 127.0.0.1, and a
 * separate Deno process imports mod.ts from that URL (no import map, no config) and converts a
 * capture with it.
 */
import assert from "node:assert/strict";
import { dnsAnswer, frame, PcapWriter } from "../../bench/synthetic.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function contentType(path: string): string {
  if (path.endsWith(".ts")) return "application/typescript; charset=utf-8";
  if (path.endsWith(".json")) return "application/json";
  return "application/octet-stream";
}

Deno.test("mod.ts imported by URL from a local HTTP server converts a capture", async () => {
  const requested: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    requested.push(path);
    if (path.includes("..")) return new Response("no", { status: 400 });
    try {
      const body = await Deno.readFile(ROOT + path.slice(1));
      return new Response(body, { headers: { "content-type": contentType(path) } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const dir = await Deno.makeTempDir();
  try {
    const port = server.addr.port;
    const w = new PcapWriter();
    const t = 1_700_000_000_000_000;
    w.record(
      t,
      frame(
        "udp",
        "192.168.1.1",
        53,
        "192.168.1.20",
        50000,
        dnsAnswer(1, "example.com", ["93.184.216.34"]),
      ),
    );
    w.record(t + 1000, frame("tcp", "192.168.1.20", 50001, "93.184.216.34", 443, 100));
    w.record(t + 2000, frame("tcp", "93.184.216.34", 443, "192.168.1.20", 50001, 1400));
    await Deno.writeFile(`${dir}/in.pcap`, w.bytes());
    const script = `
      import { convertFile, formatSample } from "http://127.0.0.1:${port}/mod.ts";
      const { sample } = await convertFile(Deno.args[0]);
      console.log(formatSample(sample));
    `;
    await Deno.writeTextFile(`${dir}/use.ts`, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--reload",
        `--allow-import=127.0.0.1:${port}`,
        `--allow-read=${dir}`,
        `${dir}/use.ts`,
        `${dir}/in.pcap`,
      ],
      env: { DENO_DIR: `${dir}/deno_dir`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const sample = JSON.parse(new TextDecoder().decode(out.stdout));
    // The DNS answer is kept traffic too (port 53), so it opens the sample.
    assert.equal(sample.trafficDate, "1700000000.0");
    assert.deepEqual(sample.flashes.map((f: { src: string; dst: string }) => [f.src, f.dst]), [
      ["192.168.1.20:50001", "example.com:443"],
    ]);
    assert.ok(requested.includes("/mod.ts"));
    assert.ok(requested.some((p) => p.startsWith("/secflow/")), "the core came over HTTP too");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
