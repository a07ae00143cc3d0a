/**
 * Running the CLI the way a person does: under a pseudo-terminal (`script -qec`, util-linux), as
 * a shell command line. (No tests here.)
 * @module
 */

/** Whether `name` is on the PATH. */
export function hasCommand(name: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" }).outputSync()
    .success;
}

const CLI_PATH = new URL("../cli.ts", import.meta.url).pathname;

/** A shell-quoted `deno run --quiet PERMS cli.ts`. */
export function denoRun(...perms: string[]): string {
  return [Deno.execPath(), "run", "--quiet", "--no-prompt", ...perms, CLI_PATH].map(shellQuote)
    .join(" ");
}

/** `s` quoted for sh. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Runs a shell command line under a pseudo-terminal (`script -qec`); everything it printed. */
export async function underTerminal(
  command: string,
  env: Record<string, string> = {},
): Promise<string> {
  const out = await new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env: { TERM: "xterm", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}
