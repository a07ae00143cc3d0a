/**
 * Errors raised by the pure Secflow core. Each one carries a single-line message that names what
 * was wrong (and where, when a byte offset or line helps); the CLI prints it as is.
 * @module
 */

/** The input is not what it claims to be, or is damaged beyond use. CLI exit code 2. */
export class InputError extends Error {
  override name = "InputError";
  /** Process exit code the CLI uses for this error. */
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
  }
}
