#!/usr/bin/env -S deno run
/**
 * networksage: convert captures and Zeek logs into Secflows, collect them live, query the
 * NetworkSage platform. Run `deno run cli.ts --help`.
 * @module
 */
import { commands } from "./cli/_command_table.ts";
import {
  type CliContext,
  type Command,
  type CommandEntry,
  OperationError,
  optionsInHelp,
} from "./cli/command.ts";
import { closest } from "./cli/_format.ts";
import { controlsEscaped, printable } from "./secflow/printable.ts";
import denoJson from "./deno.json" with { type: "json" };
import { cliMessage, exitCodeOf } from "./cli/errors.ts";
import { envVar } from "./io/env.ts";

/**
 * Every line goes out through here, with the last guard on it: answers and files can hold any
 * character, and a command forgetting printable() once (a count, a trafficDate, a name source)
 * put raw ESC sequences on the terminal. Messages are escaped always; data on stdout only on a
 * terminal, so that a pipe gets the exact values (as `ls` does).
 */
const stdoutIsTerminal = Deno.stdout.isTerminal();
/** Escaped line by line: a call may print several lines at once (a table, a debug trace). */
const guarded = (text: string) => text.split("\n").map(controlsEscaped).join("\n");
const encoder = new TextEncoder();
/**
 * Writes `text` and a newline to stdout, all of it. Not console.log, which formats its arguments
 * first: for the ~10 MB `view --flows --ecs` prints from the benchmark capture it cost ~40 ms
 * more than encoding and writing (60 calls of 256 lines, measured).
 */
function writeOut(text: string): void {
  writeBytes(encoder.encode(text + "\n"));
}
/** Writes `bytes` to stdout, all of them (see {@link writeOut}). */
function writeBytes(bytes: Uint8Array): void {
  if (readerGone) return;
  try {
    for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
  } catch (e) {
    // A reader that stopped (`| head`): the rest is dropped quietly, as console.log does.
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
    readerGone = true;
  }
}
let readerGone = false;
/** Runs a write to stdout; its failure becomes one line naming stdout. */
function stdoutWrite(write: () => void): void {
  try {
    write();
  } catch (e) {
    // `view > /dev/full` said "No space left on device (os error 28)", naming nothing.
    const reason = (e instanceof Error ? e.message : String(e)).replace(/ \(os error \d+\)$/, "");
    throw new OperationError(`standard output: cannot write: ${reason}`);
  }
}
const context: CliContext = {
  out: (line) => stdoutWrite(() => writeOut(stdoutIsTerminal ? guarded(line) : line)),
  // Raw bytes only to a pipe or file: a terminal gets lines through the guard.
  outBytes: stdoutIsTerminal ? undefined : (bytes) => stdoutWrite(() => writeBytes(bytes)),
  err: (line) => console.error(guarded(line)),
};

function toolHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `networksage ${denoJson.version}: Secflows from captures, Zeek logs and live interfaces`,
    "",
    "usage: networksage <command> [options]     (networksage help <command> for details)",
    "",
    "commands:",
    ...lines,
    "",
    "global options (before or after the command, where the command has them):",
    "  --json             machine-readable output",
    "  --api-url URL      the API to talk to (default $NETWORKSAGE_API_URL)",
    "  -q, --quiet        no progress, no summary lines",
    "",
    "exit codes: 0 done, 1 operation failed, 2 usage or input error",
  ].join("\n");
}

function findCommand(word: string): CommandEntry | undefined {
  return commands.find((c) => c.name === word || c.aliases?.includes(word));
}

/** `unknown command 'conver' (did you mean convert?)`. */
function unknownCommand(word: string): string {
  const guess = closest(word, commands.map((c) => c.name));
  return `unknown command '${printable(word, 60)}'${
    guess ? ` (did you mean ${guess}?)` : ""
  } (see networksage --help)`;
}

/** Options every command that has them accepts before the command word too. */
const GLOBAL_FLAGS = new Set(["--json", "-q", "--quiet"]);
const GLOBAL_VALUES = new Set(["--api-url"]);

/**
 * Moves global options written before the command word to just after it, where the command's
 * own parser reads them: `networksage --json -q samples` is `networksage samples --json -q`.
 * Returns an error message for an option there that is not global.
 */
export function hoistGlobalOptions(args: string[]): string[] | string {
  const globals: string[] = [];
  let i = 0;
  for (; i < args.length && args[i].startsWith("-") && args[i] !== "-D"; i++) {
    const arg = args[i];
    const name = arg.split("=")[0];
    if (["--help", "-h", "--version", "-V"].includes(arg)) break;
    if (GLOBAL_FLAGS.has(arg)) globals.push(arg);
    else if (GLOBAL_VALUES.has(name)) {
      if (arg.includes("=")) globals.push(arg);
      else if (i + 1 < args.length) globals.push(arg, args[++i]);
      else return `${arg} needs a value`;
    } else {
      return `'${
        printable(arg, 60)
      }' before the command is not a global option (global: --json, --api-url URL, -q/--quiet)`;
    }
  }
  if (globals.length === 0) return args;
  if (i >= args.length) return "a command is missing after the global options";
  return [args[i], ...globals, ...args.slice(i + 1)];
}

/** Runs the CLI with `args`; resolves to the exit code. Never throws. */
export async function main(args: string[]): Promise<number> {
  try {
    return await dispatch(args);
  } catch (e) {
    // Outside a command: the help or version itself could not be written (`--help >/dev/full`
    // ended in an uncaught error and a stack trace).
    context.err(`networksage: ${controlsEscaped(cliMessage(e))}`);
    return exitCodeOf(e);
  }
}

async function dispatch(args: string[]): Promise<number> {
  const hoisted = hoistGlobalOptions(args);
  if (typeof hoisted === "string") {
    context.err(`networksage: ${hoisted}`);
    return 2;
  }
  const [word, ...rest] = hoisted;
  if (word === undefined || word === "--help" || word === "-h" || word === "help") {
    if (word === "help" && rest[0] !== undefined && rest[0] !== "help") {
      const target = findCommand(rest[0]);
      if (!target) {
        context.err(`networksage help: ${unknownCommand(rest[0])}`);
        return 2;
      }
      context.out((await target.load()).help);
      return 0;
    }
    if (word === undefined) {
      // No command is a usage mistake: a line on stderr, not the whole help on stdout.
      context.err("usage: networksage <command> [options] (see networksage --help)");
      return 2;
    }
    context.out(toolHelp());
    return 0;
  }
  if (word === "--version" || word === "-V") {
    context.out(denoJson.version);
    return 0;
  }
  const entry = findCommand(word);
  if (!entry) {
    context.err(`networksage: ${unknownCommand(word)}`);
    return 2;
  }
  const command = await entry.load();
  // Only before `--`: after it, `-h` is a file's name (`view -- -h`).
  const dashes = rest.indexOf("--");
  const options = dashes < 0 ? rest : rest.slice(0, dashes);
  if (options.includes("--help") || options.includes("-h")) {
    context.out(command.help);
    return 0;
  }
  // -q asks for no progress and no summary: a command that prints neither takes it as a no-op.
  const commandArgs = optionsInHelp(command.help).includes("--quiet")
    ? rest
    : rest.filter((a) => a !== "-q" && a !== "--quiet");
  try {
    return await command.run(commandArgs, context);
  } catch (e) {
    return reportFailure(command, e);
  }
}

function reportFailure(command: Command, e: unknown): number {
  if (e instanceof Deno.errors.NotCapable || (e instanceof Error && e.name === "NotCapable")) {
    context.err(
      `networksage ${command.name}: ${
        controlsEscaped(firstLine(e))
      } (see networksage ${command.name} --help for the permissions it needs)`,
    );
    return 2;
  }
  const code = exitCodeOf(e);
  const suffix = (e as Error)?.name === "UsageError"
    ? ` (see networksage ${command.name} --help)`
    : "";
  context.err(`networksage ${command.name}: ${controlsEscaped(cliMessage(e))}${suffix}`);
  if (debugEnabled() && e instanceof Error && e.stack) context.err(e.stack);
  return code;
}

/** NETWORKSAGE_DEBUG=1 prints stack traces; read only when env access was granted. */
function debugEnabled(): boolean {
  return envVar("NETWORKSAGE_DEBUG") !== undefined;
}

/**
 * The last guard before the terminal: an error may quote a file name or a path from the system
 * (a permission error) raw, and `ESC[2J` in a file name must not clear the screen. Control
 * characters become `\xNN` like {@link printable} writes them; backslashes are left alone so
 * text already escaped by printable is not escaped twice.
 */
function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0];
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
