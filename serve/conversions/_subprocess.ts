/**
 * Conversions of `serve` in subprocesses, so that a hostile upload costs a clear failure and
 * never the server: each conversion runs in its own `deno` process with a V8 heap limit, a
 * resident-memory watchdog (`_subprocess_main.ts`) and a wall-clock limit, reading and writing only
 * the upload's own directory, at a lower scheduling priority (nice 10) than the server. The server's event loop only waits for the process, so requests
 * never queue behind a conversion.
 *
 * Needs `--allow-run` for the `deno` executable. Under `deno compile` (no `deno` to run) or
 * without that permission, conversions run in the server's process instead, without those caps.
 * @module
 */
import type { ConversionOutput, Converter } from "./converter.ts";
import type { PlatformSecflow } from "../../api/types.ts";

/** Limits of one conversion subprocess. */
export interface IsolationOptions {
  /** Resident memory cap of one conversion in bytes. */
  memoryBytes: number;
  /** Wall-clock limit of one conversion in ms. */
  timeoutMs: number;
}

/** A conversion that ended badly: `message` is what the upload's `processingError` says. */
export class ConversionFailure extends Error {}

/**
 * The `deno` this process may run for conversions: its own executable when `--allow-run` names
 * that path, else `deno` from PATH when `--allow-run=deno` is granted; null otherwise (and under
 * `deno compile`, where there is no `deno` to run).
 */
export function isolationCommand(): string | null {
  const exe = Deno.execPath();
  if (!/(^|[\\/])deno(\.exe)?$/.test(exe)) return null;
  for (const command of [exe, "deno"]) {
    if (Deno.permissions.querySync({ name: "run", command }).state === "granted") return command;
  }
  return null;
}

/** A {@link Converter} that runs each conversion in a capped `deno` subprocess. */
export function isolatedConverter(command: string, options: IsolationOptions): Converter {
  const worker = new URL("./_subprocess_main.ts", import.meta.url).href;
  // The subprocess loads its conversion thread's modules from this library's source tree, which
  // Deno checks like reads: it may read that tree (code only) besides the upload's directory.
  const root = new URL("../../", import.meta.url);
  const jobRead = root.protocol === "file:" ? `,${decodeURIComponent(root.pathname)}` : "";
  const heapMiB = Math.max(64, Math.floor(options.memoryBytes / 1048576 * 0.75));
  return async (path, job) => {
    const dir = path.slice(0, path.lastIndexOf("/"));
    const output = `${dir}/result.json`;
    await Deno.remove(output).catch(() => {});
    const child = new Deno.Command(command, {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--no-config",
        "--no-lock",
        `--v8-flags=--max-old-space-size=${heapMiB}`,
        `--allow-read=${dir}${jobRead}`,
        `--allow-write=${dir}`,
        "--allow-sys=setPriority",
        worker,
        path,
        job.format,
        job.fileName,
        output,
        String(options.memoryBytes),
        job.dnsLog ?? "",
      ],
      // Kept open and never written: the worker exits when it closes (this process died).
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let timedOut = false;
    const onAbort = () => child.kill("SIGKILL");
    job.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    const stderr = readCapped(child.stderr, 4096);
    const status = await child.status;
    await child.stdin.close().catch(() => {});
    clearTimeout(timer);
    job.signal?.removeEventListener("abort", onAbort);
    const said = (await stderr).trim().split("\n").filter(Boolean);
    if (job.signal?.aborted) throw new ConversionFailure("abandoned");
    if (timedOut) {
      throw new ConversionFailure(
        `the conversion took longer than the limit of ${Math.round(options.timeoutMs / 1000)} s`,
      );
    }
    const cap = `${Math.round(options.memoryBytes / 1048576)} MiB`;
    if (status.code === 3 || said.some((l) => /out of memory|heap limit/i.test(l))) {
      throw new ConversionFailure(`the conversion needed more than the memory cap of ${cap}`);
    }
    if (status.code === 2) throw new ConversionFailure(said[0] ?? "the conversion failed");
    if (status.code !== 0) {
      throw new ConversionFailure(
        `the conversion process died (${status.signal ?? `exit ${status.code}`})`,
      );
    }
    try {
      return await readResult(output);
    } finally {
      await Deno.remove(output).catch(() => {});
    }
  };
}

/** The longest line of a conversion result: a Secflow's strings are at most a few KiB. */
const MAX_RESULT_LINE = 1 << 20;

/**
 * Reads the JSON lines `_subprocess_worker.ts` wrote: `{sample, warnings}`, then one Secflow per line.
 * Read in pieces, so the server never holds the result's text whole, only its Secflows.
 */
async function readResult(path: string): Promise<ConversionOutput> {
  using file = await Deno.open(path);
  const lines: unknown[] = [];
  let rest = "";
  for await (const text of file.readable.pipeThrough(new TextDecoderStream())) {
    const pieces = (rest + text).split("\n");
    rest = pieces.pop()!;
    if (rest.length > MAX_RESULT_LINE) {
      throw new ConversionFailure("the conversion's result is damaged");
    }
    for (const piece of pieces) lines.push(JSON.parse(piece));
  }
  if (rest !== "" || lines.length === 0) {
    throw new ConversionFailure("the conversion's result is incomplete");
  }
  const head = lines[0] as Pick<ConversionOutput, "sample" | "warnings">;
  lines[0] = undefined;
  return {
    sample: head.sample,
    warnings: head.warnings,
    secflows: lines.slice(1) as PlatformSecflow[],
  };
}

async function readCapped(stream: ReadableStream<Uint8Array>, max: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    if (text.length < max) text += decoder.decode(chunk, { stream: true });
  }
  return text.slice(0, max);
}
