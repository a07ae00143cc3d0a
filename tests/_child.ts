/**
 * Running the CLI as a child process with its peak memory, and a timeout that kills it. The peak
 * is the child's maximum resident set as GNU time reports it (`/usr/bin/time -f %M`, from the
 * kernel's accounting when the child exits). It was read from `/proc/PID/status` while the child
 * ran, but Deno lets only `--allow-all` read /proc: under the test task's permissions every read
 * failed, every peak was 0, and the memory assertions could not fail. Without /usr/bin/time
 * (Debian package `time`, which `.ci/run` installs) the peak is NaN, so that those assertions fail
 * instead of passing unmeasured.
 */

export const CLI = new URL("../cli.ts", import.meta.url).pathname;
export const REPO = new URL("../", import.meta.url).pathname;

/** What a child run produced. */
export interface ChildRun {
  code: number;
  stdout: Uint8Array;
  stderr: string;
  /** Peak resident memory of the child, in MiB (NaN when it could not be measured). */
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

const TIME = "/usr/bin/time";
const haveTime = (() => {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
})();

/** Runs `deno run PERMISSIONS cli.ts ARGS` and measures it. */
export async function runCli(args: string[], o: ChildOptions = {}): Promise<ChildRun> {
  const started = performance.now();
  const report = haveTime ? await Deno.makeTempFile({ prefix: "ns_child_peak_" }) : undefined;
  const deno = [
    Deno.execPath(),
    "run",
    "--no-prompt",
    ...(o.permissions ?? ["--allow-read", "--allow-write"]),
    CLI,
    ...args,
  ];
  const [cmd, ...cmdArgs] = report ? [TIME, "-o", report, "-f", "%M", ...deno] : deno;
  const child = new Deno.Command(cmd, {
    args: cmdArgs,
    cwd: o.cwd ?? REPO,
    stdin: o.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(async () => {
    timedOut = true;
    // time(1) does not pass SIGKILL on: stop its child (deno) first.
    if (report) {
      await new Deno.Command("pkill", { args: ["-KILL", "-P", String(child.pid)] }).output();
    }
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
  clearTimeout(timer);
  let peakKiB = NaN;
  if (report) {
    const text = (await Deno.readTextFile(report)).trim().split("\n").pop() ?? "";
    if (/^\d+$/.test(text)) peakKiB = Number(text);
    await Deno.remove(report).catch(() => {});
  }
  return {
    // time(1) exits with its child's status; a child killed by a signal it reports as 128 + N.
    code: out.code,
    stdout: out.stdout,
    stderr: new TextDecoder().decode(out.stderr),
    peakMiB: peakKiB / 1024,
    ms: performance.now() - started,
    timedOut,
  };
}

/** Whether the program `name` runs here (`name --version` succeeds): tests of peers skip without. */
export function hasCommand(name: string): boolean {
  try {
    return new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
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

/** Whether something is at `path` (a dangling link counts). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
