#!/usr/bin/env -S deno run
/**
 * networksage: convert captures and Zeek logs into Secflows, collect them live, query the
 * NetworkSage platform. Run `deno run cli.ts --help`.
 * @module
 */
import { commands } from "./cli/commands.ts";
import type { CliContext, Command, CommandEntry } from "./cli/command.ts";
import denoJson from "./deno.json" with { type: "json" };
import { cliMessage, exitCodeOf } from "./cli/errors.ts";

const context: CliContext = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

function toolHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `networksage ${denoJson.version}: Secflows from captures, Zeek logs and live interfaces`,
    "",
    "usage: networksage <command> [options]     (networksage <command> --help for details)",
    "",
    "commands:",
    ...lines,
    "",
    "exit codes: 0 done, 1 operation failed, 2 usage or input error",
  ].join("\n");
}

function findCommand(word: string): CommandEntry | undefined {
  return commands.find((c) => c.name === word || c.aliases?.includes(word));
}

/** Runs the CLI with `args`; resolves to the exit code. Never throws. */
export async function main(args: string[]): Promise<number> {
  const [word, ...rest] = args;
  if (word === undefined || word === "--help" || word === "-h" || word === "help") {
    const target = word === "help" && rest[0] ? findCommand(rest[0]) : undefined;
    context.out(target ? (await target.load()).help : toolHelp());
    return word === undefined ? 2 : 0;
  }
  if (word === "--version" || word === "-V") {
    context.out(denoJson.version);
    return 0;
  }
  const entry = findCommand(word);
  if (!entry) {
    context.err(`networksage: unknown command '${word}' (see networksage --help)`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    context.out(command.help);
    return 0;
  }
  try {
    return await command.run(rest, context);
  } catch (e) {
    return reportFailure(command, e);
  }
}

function reportFailure(command: Command, e: unknown): number {
  if (e instanceof Deno.errors.NotCapable || (e instanceof Error && e.name === "NotCapable")) {
    context.err(
      `networksage ${command.name}: ${
        firstLine(e)
      } (see networksage ${command.name} --help for the permissions it needs)`,
    );
    return 2;
  }
  const code = exitCodeOf(e);
  const suffix = (e as Error)?.name === "UsageError"
    ? ` (see networksage ${command.name} --help)`
    : "";
  context.err(`networksage ${command.name}: ${cliMessage(e)}${suffix}`);
  if (debugEnabled() && e instanceof Error && e.stack) context.err(e.stack);
  return code;
}

/** NETWORKSAGE_DEBUG=1 prints stack traces; read only when env access was granted. */
function debugEnabled(): boolean {
  const query = { name: "env", variable: "NETWORKSAGE_DEBUG" } as const;
  return Deno.permissions.querySync(query).state === "granted" &&
    Boolean(Deno.env.get("NETWORKSAGE_DEBUG"));
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0];
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
