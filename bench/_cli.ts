/**
 * The programs the benchmarks time, as `deno` arguments: one conversion by the CLI (with the
 * permissions `convert --help` documents) and the floors it is measured against.
 * @module
 */

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** `deno` arguments running `networksage convert CAPTURE -o OUTPUT --quiet`. */
export function convertArgs(capture: string, output: string): string[] {
  return ["run", "--allow-read", "--allow-write", CLI, "convert", capture, "-o", output, "--quiet"];
}

const BENCH = new URL("./", import.meta.url).pathname;

/** `deno` arguments running the plain floor loop (`floor_loop.ts`) over CAPTURE. */
export function floorArgs(capture: string): string[] {
  return ["run", "--allow-read", `${BENCH}floor_loop.ts`, capture];
}

/** `deno` arguments running the floor of the whole job (`floor_job.ts`), writing OUTPUT. */
export function jobFloorArgs(capture: string, output: string): string[] {
  return ["run", "--allow-read", "--allow-write", `${BENCH}floor_job.ts`, capture, output];
}
