/**
 * `convert INPUT... [--dns DNSLOG] [-o OUT] [--dns-cache FILE] [--format F] [-q]`
 * @module
 */
import { basename, dirname, extname, join } from "node:path";
import { absolutePath } from "../io/_paths.ts";
import {
  type CliContext,
  type Command,
  isPlainDecimal,
  parseCommandArgs,
  UsageError,
} from "./command.ts";
import { endProgressLines, Progress } from "./_progress.ts";
import { checkedSeconds } from "./_api.ts";
import { formatCount, plural } from "./_format.ts";
import { noSecflowReason, packetsText } from "./_packets.ts";
import {
  convertFileTo,
  defaultOutputPath,
  INPUT_FORMATS,
  type InputFormat,
  type WriteResult,
  zeekFolder,
} from "../io/convert.ts";
import {
  canUseWorkers,
  type ConvertJob,
  type JobOutcome,
  runJob,
  runPool,
} from "../io/convert_pool.ts";
import type { InputSource } from "../io/files.ts";
import { isStdin } from "../io/files.ts";
import { isStdout, onInterruptExit, removeUnfinishedOnInterrupt } from "../io/output.ts";
import { printable } from "../secflow/printable.ts";
import { InputError } from "../secflow/errors.ts";

export const convertCommand: Command = {
  name: "convert",
  help: `usage: networksage convert INPUT... [--dns DNSLOG] [-o OUT] [--dns-cache FILE] [--format F]
                                    [--timeout S] [-q]

Converts each INPUT (pcap, pcapng, Zeek conn.log as TSV or JSON, or .sf; detected from the
content, gzip looked through) into a Secflow sample. A .sf INPUT is validated and written back
with a new hash. Nothing leaves the machine.

INPUT is a file; - or /dev/stdin for standard input (read once); a Zeek folder (conn.log, .gz,
or rotated conn.*.log[.gz], with its dns.log) as one input; or a directory, whose files are each
converted (hidden files and .sf files in it are left alone; files that are not captures or logs
are reported and skipped). Several inputs are converted on all cores; a failed one does not stop
the others.

options:
  -o, --output OUT      one input: where to write the sample (default: next to INPUT, extension
                        .sf, a .gz with it: x.pcap.gz gives x.sf; NAME.sf becomes
                        NAME.converted.sf; standard input goes to stdout).
                        - is stdout; a device, FIFO or socket is written to; a symlink is
                        followed; a file is replaced atomically (via .OUT.PID.tmp beside it).
                        An existing directory, or several inputs: a directory (created if
                        missing) that gets INPUT-NAME.sf for each (default: each sample next to
                        its input)
  --dns DNSLOG          Zeek dns.log that goes with a conn.log (one input only)
  --dns-cache FILE      persistent name cache (ip name lines): read before naming, updated after
  --format F            read the input as ${
    INPUT_FORMATS.join(", ")
  } when its content is not recognised
                        (content recognised as another format is refused)
  --timeout S           several inputs: give up on an input after S seconds (it counts as
                        failed; needs the worker pool, see permissions)
  -q, --quiet           no summary lines and no progress (warnings and errors still show)

One summary line per input (and a total for several), on stderr, saying where every packet (or
log record) went and how destinations were named (dns.log, the capture's own DNS, the cache).
When no Secflows result, a notice says why, no file is written, and an existing OUT is left as
it was (the notice says so). Warnings (a capture cut short, skipped records; at most 20
malformed log lines are named, then counted) go to stderr.

exit codes: 0 done; 1 nothing was written (no Secflows: for several inputs, any input without
  Secflows, or none converted), some of several inputs failed, or the output could not be
  written; 2 usage error, a missing permission, or the one INPUT is not usable (a log whose
  every record is malformed included)

permissions: --allow-read=INPUT,OUTDIR --allow-write=OUTDIR (add the dns.log and the cache to
  --allow-read, the cache to --allow-write). Without read and write access to OUTDIR the output
  is written in place instead of replaced atomically (Deno's rename needs both); an existing OUT
  then needs --allow-read=OUT. Several inputs use all cores
  when the program's own files are readable (e.g. plain --allow-read). See docs/CONVERT.md.`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("convert", args, {
      output: { type: "string", short: "o" },
      dns: { type: "string" },
      "dns-cache": { type: "string" },
      format: { type: "string" },
      quiet: { type: "boolean", short: "q" },
      timeout: { type: "string" },
    });
    if (positionals.length === 0) throw new UsageError("INPUT is missing");
    const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeout !== undefined && (!isPlainDecimal(values.timeout!) || !(timeout > 0))) {
      throw new UsageError(`--timeout takes seconds (> 0), not '${printable(values.timeout!)}'`);
    }
    if (timeout !== undefined) checkedSeconds("timeout", timeout);
    const format = values.format as InputFormat | undefined;
    if (format !== undefined && !INPUT_FORMATS.includes(format)) {
      throw new UsageError(
        `--format must be one of ${INPUT_FORMATS.join(", ")}, not '${printable(format)}'`,
      );
    }
    if (positionals.filter(isStdin).length > 1) {
      throw new UsageError("standard input can be given once");
    }
    const seen = new Set<string>();
    for (const p of positionals) {
      if (seen.has(absolutePath(p))) throw new UsageError(`${printable(p)} is given twice`);
      seen.add(absolutePath(p));
    }
    const out = safeContext(ctx);
    const quiet = values.quiet ?? false;
    const options = { format, dnsLog: values.dns, dnsCache: values["dns-cache"] };
    const single = positionals.length === 1 && !(await isPlainDirectory(positionals[0]));
    // Ctrl-C leaves no temporary file or half output behind (workers' included, below), and
    // ends the progress line (the shell's prompt followed it on the same row).
    removeUnfinishedOnInterrupt();
    onInterruptExit(endProgressLines);
    if (single) {
      const input = positionals[0];
      let output = values.output ?? (isStdin(input) ? "-" : safeDefaultOutput(input));
      // -o DIR with one input: the sample goes into DIR, named as in a batch.
      if (values.output !== undefined && await isDirectory(values.output)) {
        output = join(values.output, `${isStdin(input) ? "stdin" : basename(input)}.sf`);
      }
      return await convertOne(input, output, { ...options, fileName: outputName(output, input) }, {
        quiet,
        out,
      });
    }
    if (values.dns !== undefined) {
      throw new UsageError("--dns goes with one conn.log; a Zeek folder brings its own dns.log");
    }
    if (values.output !== undefined && isStdout(values.output)) {
      throw new UsageError("with several inputs, -o names a directory, not standard output");
    }
    return await convertMany(positionals, values.output, options, { quiet, out }, timeout);
  },
};

interface Printer {
  quiet: boolean;
  out: CliContext;
}

/** Every line this command prints has control bytes escaped: input names and text are quoted. */
function safeContext(ctx: CliContext): CliContext {
  return { out: (l) => ctx.out(escapeControls(l)), err: (l) => ctx.err(escapeControls(l)) };
}

/** `text` with control bytes shown as `\xNN` (text already escaped is left as it is). */
export function escapeControls(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => printable(c));
}

async function isDirectory(path: string): Promise<boolean> {
  if (isStdout(path) || Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
    return false;
  }
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

async function isPlainDirectory(path: string): Promise<boolean> {
  if (isStdin(path)) return false;
  try {
    if (!(await Deno.stat(path)).isDirectory) return false;
  } catch {
    return false;
  }
  return (await zeekFolder(path)) === undefined;
}

/** The `fileName` written into the sample: the output's name (the input's for stdout). */
function outputName(output: string, input: string): string {
  if (!isStdout(output)) return basename(output);
  return isStdin(input) ? "stdin.sf" : basename(defaultOutputPath(input));
}

async function convertOne(
  input: string,
  output: string,
  options: ConvertJob["options"],
  p: Printer,
): Promise<number> {
  let progress: Progress | undefined;
  let source: InputSource | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const shown = isStdin(input) ? "standard input" : input;
  try {
    const result = await convertFileTo(input, output, {
      ...options,
      onWarning: (w) => {
        progress?.clear();
        p.out.err(`warning: ${w}`);
      },
      onOpen: (s) => {
        source = s;
        progress = new Progress({ label: `convert ${printable(shown)}`, quiet: p.quiet });
        // Zeek files are read by their own reader: no byte count, a status instead.
        timer = setInterval(() => {
          if (source!.bytesRead > 0) progress!.update(source!.bytesRead, source!.size ?? 0);
          else progress!.status("reading");
        }, 125);
      },
    });
    progress?.clear();
    const stale = result.flashes === 0 && await existsToUser(output);
    for (const line of summaryLines(result, input, output, stale)) {
      if (!p.quiet || line.always) p.out.err(line.text);
    }
    return exitCodeOf(result);
  } catch (e) {
    // Messages quote input (names, fields): control bytes are escaped before cli.ts prints.
    if (e instanceof Error) e.message = escapeControls(e.message);
    throw e;
  } finally {
    if (timer !== undefined) clearInterval(timer);
    progress?.clear();
  }
}

/** A count as every number of the summary is written (`3,000,000`, as `plural` writes it). */
const c = formatCount;

/**
 * The exit code of one conversion: 0 when a sample was written; 2 for a log whose every record
 * is malformed (the input is not usable); else 1: nothing was written (`convert X -o OUT &&
 * upload OUT` must not go on with what OUT held before).
 */
function exitCodeOf(r: WriteResult): number {
  if (r.flashes > 0) return 0;
  return allMalformed(r) ? 2 : 1;
}

/** A Zeek log with records, every one of them malformed. */
function allMalformed(r: WriteResult): boolean {
  return r.zeek !== undefined && r.zeek.records > 0 && r.zeek.skipped === r.zeek.records;
}

/** Whether `path` names something that exists (as far as the granted permissions show). */
async function existsToUser(path: string): Promise<boolean> {
  if (isStdout(path) || Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
    return false;
  }
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** What was read, e.g. `5 packets (5 kept; ...)`. */
function seenText(r: WriteResult): string {
  const s = r.stats;
  const z = r.zeek;
  if (r.packets) return packetsText(r.packets);
  if (s) {
    return `${plural(s.records, "packet")} (${c(s.kept)} kept, ${c(s.filtered)} filtered, ${
      c(s.notIPv4)
    } not IPv4, ${c(s.truncated)} truncated)`;
  }
  if (z) {
    return `${plural(z.records, "conn.log record")} (${c(z.rows)} kept, ${c(z.local)} local-only, ${
      c(z.ipv6)
    } IPv6, ${c(z.skipped)} malformed)`;
  }
  return "";
}

function namingText(r: WriteResult): string {
  const n = r.naming;
  if (!n || n.total === 0) return "";
  const named = n.passive + n.cache + n.session;
  const parts = [
    `dns.log ${c(n.fromDnsLog ? n.passive : 0)}`,
    `passive ${c(n.fromDnsLog ? 0 : n.passive)}`,
    `cache ${c(n.cache)}`,
  ];
  if (n.session > 0) parts.push(`session ${c(n.session)}`);
  let text = `; named ${c(named)} of ${plural(n.total, "destination")} (${parts.join(", ")})`;
  if (n.rejectedNames > 0) {
    text += `; ${plural(n.rejectedNames, "DNS answer")} skipped for a name no resolver accepts`;
  }
  return text;
}

/**
 * The lines summing up one conversion; `stale`: nothing was written and `output` exists (it holds
 * what an earlier run wrote).
 */
function summaryLines(
  r: WriteResult,
  input: string,
  output: string,
  stale = false,
): { text: string; always: boolean }[] {
  const lines: { text: string; always: boolean }[] = [];
  const seen = seenText(r);
  const where = isStdout(output) ? "standard output" : output;
  if (r.flashes === 0) {
    const reason = r.packets ? noSecflowReason(r.packets) : undefined;
    const what = allMalformed(r)
      ? `: every one of its ${plural(r.zeek!.records, "conn.log record")} is malformed`
      : r.packets?.read === 0
      ? `: ${reason}`
      : `${seen ? ` in ${seen}` : ""}${reason ? `: ${reason}` : ""}`;
    const nothing = isStdout(output)
      ? "nothing written to standard output"
      : stale
      ? `nothing written; ${output} was left as it was`
      : "nothing written";
    lines.push({
      text: `${r.name}: no Secflows${what}; ${nothing}`,
      always: true,
    });
  } else {
    lines.push({
      text: `${where}: ${plural(r.flashes, "Secflow")} from ${seen || r.name}${namingText(r)}`,
      always: false,
    });
  }
  if (r.dnsLogBeside) {
    lines.push({
      text: `hint: ${r.dnsLogBeside} sits beside ${input}; add --dns ${r.dnsLogBeside} to name ` +
        `destinations from it`,
      always: false,
    });
  }
  return lines;
}

/**
 * The default output, except that it never is the input itself (`x.sf` → `x.converted.sf`),
 * whatever the case (`UP.SF` would be `UP.sf`: the same file where names ignore case).
 */
function safeDefaultOutput(input: string): string {
  const output = defaultOutputPath(input);
  if (absolutePath(output).toLowerCase() !== absolutePath(input).toLowerCase()) return output;
  const ext = extname(output);
  return `${output.slice(0, output.length - ext.length)}.converted${ext}`;
}

/** One input of a batch. */
interface BatchInput {
  path: string;
  /** Found in a directory (not named on the command line): unrecognised means skipped. */
  fromDirectory: boolean;
}

async function expand(
  positionals: string[],
  out: CliContext,
): Promise<{ inputs: BatchInput[]; emptyDirectories: number }> {
  const inputs: BatchInput[] = [];
  const empty: string[] = [];
  for (const p of positionals) {
    if (!(await isPlainDirectory(p))) {
      inputs.push({ path: p, fromDirectory: false });
      continue;
    }
    const names: { name: string; dir: boolean }[] = [];
    for await (const e of Deno.readDir(p)) {
      if (e.name.startsWith(".") || e.name.endsWith(".sf")) continue;
      names.push({ name: e.name, dir: e.isDirectory });
    }
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let found = 0;
    for (const { name, dir } of names) {
      const path = join(p, name);
      // A subdirectory counts only when it is a Zeek folder.
      if (dir && (await zeekFolder(path).catch(() => undefined)) === undefined) continue;
      inputs.push({ path, fromDirectory: true });
      found++;
    }
    if (found === 0) empty.push(p);
  }
  if (inputs.length === 0) {
    throw new InputError(`${printable(empty[0])}: no files to convert in this directory`);
  }
  for (const p of empty) out.err(`failed: ${p}: no files to convert in this directory`);
  return { inputs, emptyDirectories: empty.length };
}

async function convertMany(
  positionals: string[],
  outDir: string | undefined,
  options: Omit<ConvertJob["options"], "fileName">,
  p: Printer,
  timeoutSeconds?: number,
): Promise<number> {
  const { inputs, emptyDirectories } = await expand(positionals, p.out);
  if (outDir !== undefined) {
    try {
      await Deno.mkdir(outDir, { recursive: true });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists || e instanceof Deno.errors.NotADirectory) {
        throw new UsageError(`-o ${printable(outDir)}: with several inputs, -o names a directory`);
      }
      throw e;
    }
  }
  const jobs: ConvertJob[] = [];
  const byOutput = new Map<string, string>();
  const fromDirectory = new Set<string>();
  let failed = emptyDirectories;
  let notCapable = false;
  for (const input of inputs) {
    const name = isStdin(input.path) ? "stdin" : basename(input.path);
    const output = outDir !== undefined
      ? join(outDir, `${name}.sf`)
      : isStdin(input.path)
      ? join(".", "stdin.sf")
      : safeDefaultOutput(input.path);
    const earlier = byOutput.get(absolutePath(output));
    if (earlier !== undefined) {
      p.out.err(
        `${input.path}: not converted: its output ${output} is also ${earlier}'s (give -o DIR)`,
      );
      failed++;
      continue;
    }
    byOutput.set(absolutePath(output), input.path);
    if (input.fromDirectory) fromDirectory.add(input.path);
    jobs.push({ input: input.path, output, options: { ...options, fileName: basename(output) } });
  }
  removeUnfinishedOnInterrupt(new Set(jobs.map((j) => dirname(absolutePath(j.output)))));
  // Outputs there before: one left as it was (no Secflows) is named as such.
  const existed = new Set<string>();
  for (const j of jobs) if (await existsToUser(j.output)) existed.add(j.output);
  const progress = new Progress({ label: "convert", unit: "items", quiet: p.quiet });
  let done = 0, converted = 0, empty = 0, skipped = 0, flashes = 0;
  // Standard input cannot travel to a worker: it is converted here first.
  const here = jobs.filter((j) => isStdin(j.input));
  const pooled = jobs.filter((j) => !isStdin(j.input));
  const onWarning = (_job: ConvertJob, w: string) => {
    progress.clear();
    p.out.err(`warning: ${w}`);
  };
  const onDone = (job: ConvertJob, outcome: JobOutcome) => {
    done++;
    progress.clear();
    if (outcome.ok) {
      const r = outcome.result;
      flashes += r.flashes;
      if (r.flashes > 0) converted++;
      else if (allMalformed(r)) failed++;
      else empty++;
      const stale = r.flashes === 0 && existed.has(job.output);
      for (const line of summaryLines(r, job.input, job.output, stale)) {
        if (!p.quiet || line.always) p.out.err(line.text);
      }
    } else if (fromDirectory.has(job.input) && outcome.exitCode === 2 && !outcome.notCapable) {
      skipped++;
      p.out.err(`skipped: ${outcome.message}`);
    } else {
      failed++;
      notCapable ||= outcome.notCapable;
      const hint = outcome.notCapable ? " (see networksage convert --help for permissions)" : "";
      p.out.err(`failed: ${outcome.message}${hint}`);
    }
    progress.update(done, jobs.length);
  };
  if (timeoutSeconds !== undefined && pooled.length > 0 && !canUseWorkers()) {
    p.out.err(
      "warning: --timeout needs the worker pool, which needs read access to this program's " +
        "files (e.g. plain --allow-read): converting one input at a time, with no time limit",
    );
  }
  for (const job of here) onDone(job, await runJob(job, (w) => onWarning(job, w)));
  await runPool(pooled, { onWarning, onDone }, {
    jobTimeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
  });
  progress.clear();
  if (!p.quiet || failed > 0 || converted === 0) {
    const parts = [`${converted} converted`];
    if (empty > 0) parts.push(`${empty} without Secflows`);
    if (skipped > 0) parts.push(`${skipped} skipped`);
    if (failed > 0) parts.push(`${failed} failed`);
    p.out.err(
      `total: ${plural(inputs.length, "input")}: ${parts.join(", ")}; ${
        plural(flashes, "Secflow")
      } written`,
    );
  }
  // A missing permission is the caller's to fix, as for one input: exit 2. Any input that wrote
  // nothing (failed, no Secflows) or a batch where none converted is exit 1, as for one input.
  return notCapable ? 2 : failed > 0 || empty > 0 || converted === 0 ? 1 : 0;
}
