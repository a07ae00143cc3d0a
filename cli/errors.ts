/**
 * How the CLI speaks about errors the library raises: the core's {@link InputError}s carry a kind
 * and facts, never flag names or exit codes; this module adds the command-line advice (which flag
 * takes which file) and picks the exit code. Other errors keep an `exitCode` of their own
 * (`UsageError` 2, `OperationError` 1, ...), and anything else is 1.
 * @module
 */
import { InputError } from "../secflow/errors.ts";

/** Exit code for bad input: the user must change what they gave, not retry. */
export const INPUT_EXIT_CODE = 2;

/** The process exit code for an error a command raised. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof InputError || (e as Error)?.name === "SampleError") return INPUT_EXIT_CODE;
  const code = (e as { exitCode?: unknown })?.exitCode;
  return typeof code === "number" ? code : 1;
}

/** The error's one-line message, with the command-line advice its kind calls for. */
export function cliMessage(e: unknown): string {
  const line = (e instanceof Error ? e.message : String(e)).split("\n")[0];
  if (!(e instanceof InputError) || e.kind !== "wrong-log") return line;
  return e.facts.wanted === "dns"
    ? `${line}; --dns takes the dns.log that goes with the conn.log (give the conn.log as INPUT)`
    : `${line}; give the conn.log as INPUT and the dns.log with --dns`;
}
