/**
 * The shape of a CLI command and the errors commands raise. `cli.ts` holds the table; each command
 * lives in its own module under `cli/` and only parses arguments, calls the library, and prints.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { printable } from "../secflow/printable.ts";
import { closest } from "./_format.ts";

/** What a command gets besides its arguments. */
export interface CliContext {
  /** Writes a line to stdout. */
  out(line: string): void;
  /** Writes a line to stderr (warnings, progress). */
  err(line: string): void;
  /** Writes bytes to stdout as they are; absent when stdout is a terminal (lines are guarded). */
  outBytes?(bytes: Uint8Array): void;
}

/** A loaded command. */
export interface Command {
  /** The word typed after the program name. */
  name: string;
  /** Other words that select the command (e.g. `-D` for `interfaces`). */
  aliases?: string[];
  /** Full help text: usage line first, then options, then the Deno permissions it needs. */
  help: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[], ctx: CliContext): Promise<number>;
}

/**
 * One entry of the command table: what `--help` lists, and how to load the command. Commands are
 * loaded on use, so `convert` does not pay for the API client, the server or libpcap.
 */
export interface CommandEntry {
  name: string;
  aliases?: string[];
  /** One line for the command list. */
  summary: string;
  load(): Promise<Command>;
}

/** Wrong command-line use: exit code 2, with a hint to see `--help`. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly exitCode = 2;
}

/** The operation was attempted and failed (network, server, disk): exit code 1. */
export class OperationError extends Error {
  override name = "OperationError";
  readonly exitCode = 1;
}

/**
 * Whether an option's text is a whole number in plain digits. `Number()` alone would also take
 * `1e3`, `0x10`, ` 5 ` and the empty string (as 0), which no one means as a count.
 */
export function isPlainWhole(text: string): boolean {
  return /^\d{1,15}$/.test(text);
}

/** Whether an option's text is a plain decimal number of seconds (`30`, `0.5`; not `1e3`). */
export function isPlainDecimal(text: string): boolean {
  return /^\d{1,15}(\.\d{1,9})?$/.test(text);
}

/** A positive whole number option (`--top`, `--conversions`), or a usage error. */
export function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!isPlainWhole(value) || n < 1) {
    throw new UsageError(
      `--${name} must be a whole number of at least 1, not '${printable(value, 40)}'`,
    );
  }
  return n;
}

/**
 * `node:util` parseArgs with the errors turned into {@link UsageError}s (the CLI names the
 * command); an unknown long option close to a known one gets "did you mean". `allowPositionals`
 * is on; unknown options are errors.
 */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig["options"]>>(
  _command: string,
  args: string[],
  options: T,
): {
  values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true }>>["values"];
  positionals: string[];
} {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    let text = msg.replace(/\. To specify a positional.*$/, "");
    // node says "argument is ambiguous." and explains only on lines the CLI does not print.
    const dashed = /^Option '(-[^']*)' argument is ambiguous\.$/.exec(text);
    if (dashed) {
      const value = args[args.indexOf(dashed[1]) + 1] ?? "-X";
      text = `option '${dashed[1]}' needs a value; for one starting with a dash write ${
        dashed[1]
      }=${printable(value, 40)}`;
    }
    const unknown = /^Unknown option '(-{1,2})([^'=]*)/.exec(text);
    if (unknown) {
      const names = Object.keys(options);
      const guess = unknown[1] === "--" ? closest(unknown[2], names) : undefined;
      if (guess) text += ` (did you mean --${guess}?)`;
    }
    // The CLI prefixes "networksage COMMAND: "; node's capitalised sentence reads oddly after it.
    throw new UsageError(text.charAt(0).toLowerCase() + text.slice(1));
  }
  // An empty value is an unset shell variable, never a choice: `serve --data "$DIR"` with DIR
  // unset meant `/`, and `--dns-cache ""` was silently no cache.
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === "" || (Array.isArray(value) && value.includes(""))) {
      throw new UsageError(`--${name} needs a value, not an empty string`);
    }
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** The long options a help text documents (permissions excluded), sorted. */
export function optionsInHelp(help: string): string[] {
  const text = help.split(/\npermissions:/)[0];
  const found = new Set<string>(["--help"]);
  for (const m of text.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*)/g)) found.add(m[1]);
  return [...found].sort();
}
