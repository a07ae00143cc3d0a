/**
 * The CLI as the benchmarks run it: the arguments of `deno` for one conversion, with the
 * permissions `convert --help` documents.
 * @module
 */

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** `deno` arguments running `networksage convert CAPTURE -o OUTPUT --quiet`. */
export function convertArgs(capture: string, output: string): string[] {
  return ["run", "--allow-read", "--allow-write", CLI, "convert", capture, "-o", output, "--quiet"];
}
