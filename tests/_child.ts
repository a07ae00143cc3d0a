/**
 * Running the CLI as a child process with its peak memory: `VmHWM` of the child, read from
 * `/proc/PID/status` while it runs (the high-water mark only grows, so the last reading is the
 * peak up to then), and a timeout that kills it.
 */

export const CLI = new URL("../cli.ts", import.meta.url).pathname;
export const REPO = new URL("../", import.meta.url).pathname;

/** What a child run produced. */
export interface ChildRun {
  code: number;
  stdout: Uint8Array;
  stderr: string;
  /** Peak resident memory seen, in MiB. */
  peakMiB: number;
  /** Wall time in ms. */
  ms: number;
  timedOut: boolean;
}

/** Options of {@link runCli}. */
export interface ChildOptions {
  /** Deno permission flags (default: `--allow-read --allow-write`). */
  permissions?: string[];
  /** Bytes for the child's stdin (default: none, stdin is null). */
  stdin?: Uint8Array;
  cwd?: string;
  timeoutMs?: number;
}

function vmHwmKiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Runs `deno run PERMISSIONS cli.ts ARGS` and measures it. */
export async function runCli(args: string[], o: ChildOptions = {}): Promise<ChildRun> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...(o.permissions ?? ["--allow-read", "--allow-write"]),
      CLI,
      ...args,
    ],
    cwd: o.cwd ?? REPO,
    stdin: o.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let peak = 0;
  const poll = setInterval(() => {
    peak = Math.max(peak, vmHwmKiB(child.pid));
  }, 10);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, o.timeoutMs ?? 60_000);
  if (o.stdin) {
    const w = child.stdin.getWriter();
    await w.write(o.stdin).catch(() => {});
    await w.close().catch(() => {});
  }
  const out = await child.output();
  clearInterval(poll);
  clearTimeout(timer);
  return {
    code: out.code,
    stdout: out.stdout,
    stderr: new TextDecoder().decode(out.stderr),
    peakMiB: peak / 1024,
    ms: performance.now() - started,
    timedOut,
  };
}

/** Non-empty lines. */
export function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

/** Asserts no stack trace and no uncaught error in the child's output. */
export function noStack(r: ChildRun): string | undefined {
  const all = new TextDecoder().decode(r.stdout.subarray(0, 4096)) + r.stderr;
  if (/^\s+at /m.test(all) || /Uncaught|error: /.test(all)) return all;
  return undefined;
}

/** A temporary directory for `fn`, removed afterwards. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ns_io_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** gzip of `size` bytes made of `fill` after `prefix`, produced in pieces (never held whole). */
export async function gzipBomb(
  prefix: Uint8Array,
  fill: number,
  size: number,
): Promise<Uint8Array> {
  const piece = new Uint8Array(1 << 20).fill(fill);
  let left = size;
  const stream = new ReadableStream<BufferSource>({
    start(c) {
      c.enqueue(prefix as Uint8Array<ArrayBuffer>);
    },
    pull(c) {
      if (left <= 0) return c.close();
      const n = Math.min(left, piece.length);
      c.enqueue(piece.subarray(0, n));
      left -= n;
    },
  }).pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
