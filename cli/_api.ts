/**
 * What the API commands share: their common options, the client they build from options and
 * environment, permission text for their help, and plain-text tables.
 * @module
 */
import { printable } from "../secflow/printable.ts";
import { isPlainDecimal, isPlainWhole, UsageError } from "./command.ts";
import { MAX_TIMER_MS, NetworkSageClient } from "../api/client.ts";
import { envGranted, envVar } from "../io/env.ts";
import { pathIdProblem } from "../api/_path_id.ts";

/** Options every API command takes. */
export const API_OPTIONS = {
  json: { type: "boolean" },
  "api-url": { type: "string" },
  retries: { type: "string" },
} as const;

/** Help lines for {@link API_OPTIONS}. */
export const API_OPTIONS_HELP = `  --json             print exactly the response body as JSON
  --api-url URL      private API base URL (default $NETWORKSAGE_API_URL, then https://api.seclarity.io)
  --retries N        retries on network errors, 429 and 5xx (default 4; a refused connection: 1)`;

/**
 * The public service's URL, for the commands that reach it (endpoint 5: `secflows --public`,
 * `aggregate --public`); the others listed it and never used it.
 */
export const PUBLIC_URL_OPTIONS = { "public-url": { type: "string" } } as const;

/** Help lines for {@link PUBLIC_URL_OPTIONS}. */
export const PUBLIC_URL_HELP =
  `  --public-url URL   with --public: public service base URL (default $NETWORKSAGE_PUBLIC_URL,
                     then https://ns-genericservice.app.seclarity.io)`;

/** Environment variables the API commands read. */
export const API_ENV = "NETWORKSAGE_API_KEY,NETWORKSAGE_API_URL,NETWORKSAGE_PUBLIC_URL";

/** The permissions paragraph of a private command's help. */
export function privatePermissions(extra = ""): string {
  return `permissions: --allow-env=${API_ENV} --allow-net=api.seclarity.io${extra}
  (with --api-url, the host:port of that URL instead of api.seclarity.io; add NETWORKSAGE_DEBUG
  to --allow-env for stack traces)`;
}

/**
 * A client configured from the command's options and the environment. With `needsKey`, a missing
 * `NETWORKSAGE_API_KEY` is a usage error raised before any request.
 */
export function clientFrom(
  values: { "api-url"?: string; "public-url"?: string; retries?: string },
  needsKey: boolean,
): NetworkSageClient {
  let maxAttempts: number | undefined;
  if (values.retries !== undefined) {
    const n = Number(values.retries);
    if (!isPlainWhole(values.retries) || n > 20) {
      throw new UsageError(`--retries must be a whole number from 0 to 20`);
    }
    maxAttempts = n + 1;
  }
  const urls = [
    ["api-url", "NETWORKSAGE_API_URL"],
    ["public-url", "NETWORKSAGE_PUBLIC_URL"],
  ] as const;
  for (const [opt, variable] of urls) {
    const v = values[opt];
    if (v !== undefined && !/^https?:\/\/[^/]/.test(v)) {
      throw new UsageError(
        `--${opt} must be an http:// or https:// URL, not '${printable(v, 80)}'`,
      );
    }
    // The environment's URL is checked the same way (a bad one failed later, with exit 1).
    const fromEnv = v === undefined ? envVar(variable) : undefined;
    if (fromEnv !== undefined && !/^https?:\/\/[^/]/.test(fromEnv)) {
      throw new UsageError(
        `${variable} must be an http:// or https:// URL, not '${printable(fromEnv, 80)}'`,
      );
    }
  }
  const client = new NetworkSageClient({
    apiUrl: values["api-url"],
    publicUrl: values["public-url"],
    maxAttempts,
  });
  if (needsKey && !client.hasApiKey) {
    // Set but not granted reads as unset: say how to let it be read.
    const grant = envGranted("NETWORKSAGE_API_KEY")
      ? ""
      : " and let it be read (--allow-env=NETWORKSAGE_API_KEY)";
    throw new UsageError(
      `no API key: set NETWORKSAGE_API_KEY${grant} (private endpoints need one)`,
    );
  }
  return client;
}

/** Exactly one positional argument, or a usage error naming it. */
export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? `${what} is missing`
        : `expected one ${what}, got ${positionals.length} arguments`,
    );
  }
  return positionals[0];
}

/** `value` when it can be one URL path segment, else a one-line usage error naming `what`. */
export function checkPathId(value: string, what: string): string {
  const problem = pathIdProblem(value);
  if (problem) {
    throw new UsageError(
      `${what} '${
        printable(value, 60)
      }' ${problem}: an ID is one URL path segment (not empty, '.' or '..'; no '/', whitespace or control characters)`,
    );
  }
  return value;
}

/** A seconds option as ms, or undefined when absent. */
export function secondsOption(
  name: string,
  value: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!isPlainDecimal(value) || !(n > 0)) {
    throw new UsageError(
      `--${name} must be a number of seconds above 0, not '${printable(value, 40)}'`,
    );
  }
  return checkedSeconds(name, n) * 1000;
}

/** The most seconds a timer can wait (24.8 days); a longer delay fired at once. */
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** `seconds`, or a usage error when no timer can wait that long. */
export function checkedSeconds(name: string, seconds: number): number {
  if (seconds > MAX_TIMER_SECONDS) {
    throw new UsageError(
      `--${name} must be at most ${MAX_TIMER_SECONDS} seconds (24.8 days), not ${seconds}`,
    );
  }
  return seconds;
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** Renders rows as a left-aligned table under a header. */
export function table(headers: string[], rows: unknown[][]): string[] {
  const text = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(headers), ...text.map(line)];
}

/** Renders an object as `key: value` lines (`(none)` for `{}`). */
export function keyValues(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj);
  if (keys.length === 0) return ["(none)"];
  const width = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `${(k + ":").padEnd(width + 1)} ${cell(obj[k])}`);
}
