/**
 * Shared fixtures of the API tests: temp dirs, tiny captures and samples, servers on 127.0.0.1
 * with ephemeral ports, and a runner of the CLI as a subprocess with chosen permissions.
 * (No tests here.)
 * @module
 */
import { type RunningServer, serve, type ServeOptions } from "../api/server.ts";
import { POSTGRES_LOCK } from "../api/_postgres_client.ts";

export const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** The lock file pinning the PostgreSQL client, as docs/POSTGRES.md runs `serve --database`. */
export const POSTGRES_LOCK_FILE = new URL(`../${POSTGRES_LOCK}`, import.meta.url).pathname;

/** A temp dir removed by the returned disposer. */
export async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "ns_api_test_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

function ip(text: string): number[] {
  return text.split(".").map(Number);
}

/** One TCP packet in an Ethernet frame. */
function tcpFrame(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  flags: number,
  payload: number,
): Uint8Array {
  const frame = new Uint8Array(14 + 20 + 20 + payload);
  const v = new DataView(frame.buffer);
  frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  v.setUint16(12, 0x0800);
  frame[14] = 0x45;
  v.setUint16(16, 20 + 20 + payload);
  v.setUint16(18, 1);
  frame[22] = 64;
  frame[23] = 6;
  frame.set(ip(src), 26);
  frame.set(ip(dst), 30);
  v.setUint16(34, sport);
  v.setUint16(36, dport);
  v.setUint32(38, 1000);
  v.setUint32(42, 2000);
  frame[46] = 5 << 4;
  frame[47] = flags;
  v.setUint16(48, 65535);
  return frame;
}

/**
 * A tiny pcap (little-endian, microseconds, Ethernet): one TCP session between
 * 192.168.1.10:50000 and 93.184.216.34:443 (handshake, 100 bytes out, 500 bytes in, FIN),
 * starting at `start` (epoch seconds), plus `extraSessions` more sessions from other ports.
 */
export function tinyPcap(start = 1_700_000_000, extraSessions = 0): Uint8Array {
  const C = "192.168.1.10", S = "93.184.216.34";
  const packets: [number, Uint8Array][] = [];
  const session = (sport: number, t0: number) => {
    packets.push(
      [t0, tcpFrame(C, sport, S, 443, 0x02, 0)],
      [t0 + 0.01, tcpFrame(S, 443, C, sport, 0x12, 0)],
      [t0 + 0.02, tcpFrame(C, sport, S, 443, 0x10, 0)],
      [t0 + 0.03, tcpFrame(C, sport, S, 443, 0x18, 100)],
      [t0 + 0.05, tcpFrame(S, 443, C, sport, 0x18, 500)],
      [t0 + 0.25, tcpFrame(C, sport, S, 443, 0x11, 0)],
    );
  };
  session(50000, start);
  for (let i = 1; i <= extraSessions; i++) session(50000 + i, start + i);
  const size = 24 + packets.reduce((n, [, f]) => n + 16 + f.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true);
  let o = 24;
  for (const [t, f] of packets) {
    const sec = Math.floor(t);
    v.setUint32(o, sec, true);
    v.setUint32(o + 4, Math.round((t - sec) * 1e6), true);
    v.setUint32(o + 8, f.length, true);
    v.setUint32(o + 12, f.length, true);
    out.set(f, o + 16);
    o += 16 + f.length;
  }
  return out;
}

/** A `.sf` sample with the given flashes (defaults filled in). */
export function sfSample(
  flashes: Record<string, unknown>[],
  hash = crypto.randomUUID().replaceAll("-", ""),
): string {
  return JSON.stringify({
    hash,
    trafficDate: "1700000000.0",
    fileName: "x.sf",
    flashes: flashes.map((f, i) => ({
      src: `192.168.1.10:${50000 + i}`,
      dst: "example.com:443",
      destinationNameSource: "passive",
      srcPkts: 5,
      srcBytes: 100,
      dstPkts: 4,
      dstBytes: 500,
      relativeStart: i,
      protocolInformation: "",
      duration: 0.25,
      ...f,
    })),
  });
}

/** A `serve` on 127.0.0.1 with an ephemeral port, logs collected. */
export async function startServe(
  options: Partial<ServeOptions> & { dataDir: string },
): Promise<RunningServer & { logs: string[] }> {
  const logs: string[] = [];
  const server = await serve({
    apiKeys: ["key-alice"],
    port: 0,
    onLog: (l) => logs.push(l),
    ...options,
  });
  return Object.assign(server, { logs });
}

/**
 * A server on 127.0.0.1 that answers 503 (`Retry-After: 0`) to the first request of every
 * method+path, then passes requests to `handler`. `hits` counts requests per method+path.
 */
export function flakyFront(handler: (r: Request) => Promise<Response> | Response) {
  const seen = new Set<string>();
  const hits = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const key = `${req.method} ${new URL(req.url).pathname}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
    if (!seen.has(key)) {
      seen.add(key);
      await req.body?.cancel().catch(() => {});
      return new Response(JSON.stringify({ error: true, body: "try again" }), {
        status: 503,
        headers: { "retry-after": "0", "content-type": "application/json" },
      });
    }
    return handler(req);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits,
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    shutdown: () => server.shutdown(),
  };
}

/** What a CLI run gave. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The narrowest permissions of a private API command against `url`. */
export function apiPermissions(url: string, ...extra: string[]): string[] {
  return [
    "--allow-env=NETWORKSAGE_API_KEY,NETWORKSAGE_API_URL,NETWORKSAGE_PUBLIC_URL",
    `--allow-net=${new URL(url).host}`,
    ...extra,
  ];
}

/**
 * Runs `deno run --no-prompt PERMISSIONS cli.ts ARGS` with a clean environment (only `env` plus
 * what Deno needs to find its cache).
 */
export async function runCli(
  args: string[],
  permissions: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const base: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) base[k] = v;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--quiet", ...permissions, CLI, ...args],
    env: { ...base, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The permissions `serve` needs for a data dir (any port on 127.0.0.1, for port 0). */
export function servePermissions(dataDir: string): string[] {
  return [
    "--allow-net=127.0.0.1",
    `--allow-read=${dataDir}`,
    `--allow-write=${dataDir}`,
    `--allow-run=${Deno.execPath()}`,
  ];
}

/** How {@link serveProcess} runs `serve`. */
export interface ServeProcessOptions {
  /** The key is an admin key (`--admin-key`) rather than `--api-key`. */
  admin?: boolean;
  /** Grant `--allow-run` for capped conversion subprocesses (default true). */
  allowRun?: boolean;
  /** A command that runs deno, e.g. `["prlimit", "--nofile=1024"]` (default none). */
  prefix?: string[];
}

/** `cli.ts serve` as a subprocess on an ephemeral port; resolves once it listens. */
export async function serveProcess(
  dataDir: string,
  key: string,
  extra: string[] = [],
  options: ServeProcessOptions = {},
) {
  const permissions = servePermissions(dataDir)
    .filter((p) => options.allowRun !== false || !p.startsWith("--allow-run"));
  const [command, ...before] = [...(options.prefix ?? []), Deno.execPath()];
  const child = new Deno.Command(command, {
    args: [
      ...before,
      "run",
      "--no-prompt",
      "--quiet",
      ...permissions,
      // The PostgreSQL client reads PG* variables and is pinned in its own lock file.
      ...(extra.includes("--database") ? ["--allow-env", `--lock=${POSTGRES_LOCK_FILE}`] : []),
      CLI,
      "serve",
      "--port",
      "0",
      "--data",
      dataDir,
      options.admin ? "--admin-key" : "--api-key",
      key,
      ...extra,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const m = /listening on (http:\/\/\S+)/.exec(text);
  if (!m) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`serve did not start: ${text} ${await stderr}`);
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += value;
    }
  })();
  return {
    url: m[1],
    firstLine: text.split("\n")[0],
    /** Sends `signal` (SIGTERM by default), then the exit code, the signal and all output. */
    async stop(signal: Deno.Signal = "SIGTERM"): Promise<CliRun & { signal: Deno.Signal | null }> {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const status = await child.status;
      return {
        code: status.code,
        signal: status.signal,
        stdout: await rest,
        stderr: await stderr,
      };
    },
  };
}
