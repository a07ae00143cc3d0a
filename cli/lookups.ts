/**
 * `count`, `destination`, `behavior`, `event`: endpoints 6 to 9. Each argument is checked before
 * any request: a destination for its `NAME:PORT` shape, so a typo is a usage error (exit 2), not a
 * `(none)` from the server; an ID only for being one URL path segment (its shape is the platform's).
 * @module
 */
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  checkPathId,
  clientFrom,
  onePositional,
  privatePermissions,
} from "./_api.ts";
import type { NetworkSageClient } from "../api/client.ts";
import { cellText, formatTags } from "./_format.ts";
import { printable } from "../secflow/printable.ts";

/** `name:port` (a host name or an IPv4 address, a port from 0 to 65535), else a usage error. */
export function checkDestination(value: string): string {
  const m = /^([^\s/:]{1,253}):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) {
    const hint = /^[^\s/:]+$/.test(value)
      ? ` (add the port, e.g. ${printable(value, 60)}:443)`
      : "";
    throw new UsageError(`a destination is NAME:PORT, not '${printable(value, 60)}'${hint}`);
  }
  return value;
}

/**
 * A flowId or eventId: any text that can be one URL path segment (the platform says nothing of
 * their shape), else a usage error.
 */
export function checkId(value: string, what: "flowId" | "eventId"): string {
  return checkPathId(value, what);
}

function lookup(
  name: string,
  arg: string,
  summary: string,
  example: string,
  check: (value: string) => string,
  call: (c: NetworkSageClient, value: string) => Promise<unknown>,
  render: (body: unknown) => string[],
): Command {
  return {
    name,
    help: `usage: networksage ${name} ${arg} [--json] [--api-url URL]

${summary}

options:
${API_OPTIONS_HELP}

example: NETWORKSAGE_API_KEY=... networksage ${name} ${example}

${privatePermissions()}`,
    async run(args, ctx) {
      const { values, positionals } = parseCommandArgs(name, args, API_OPTIONS);
      const value = check(onePositional(positionals, arg));
      const client = clientFrom(values, true);
      const body = await call(client, value);
      if (values.json) ctx.out(JSON.stringify(body));
      else for (const line of render(body)) ctx.out(line);
      return 0;
    },
  };
}

/**
 * Metadata as `key: value` lines: tags as `web, cdn`, other values as text (`(none)` for `{}`,
 * which is what the API answers for a destination nobody described).
 */
export function metadataLines(body: unknown): string[] {
  if (!body || typeof body !== "object" || Array.isArray(body)) return [cellText(body)];
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length === 0) return ["(none)"];
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) =>
    `${(printable(k, 60) + ":").padEnd(width + 1)} ${k === "tags" ? formatTags(v) : cellText(v)}`
  );
}

/** `count FLOWID`: endpoint 6. */
export const countCommand: Command = lookup(
  "count",
  "FLOWID",
  "how many samples contain a Secflow (flowId)",
  "3f2a9c...",
  (v) => checkId(v, "flowId"),
  (c, v) => c.secflowCount(v),
  (body) => [String(body)],
);

/** `destination NAME:PORT`: endpoint 7. */
export const destinationCommand: Command = lookup(
  "destination",
  "NAME:PORT",
  "Destination metadata (title, description, relevance, tags)",
  "example.com:443",
  checkDestination,
  (c, v) => c.destination(v),
  metadataLines,
);

/** `behavior FLOWID`: endpoint 8. */
export const behaviorCommand: Command = lookup(
  "behavior",
  "FLOWID",
  "Behavior metadata of a Secflow (flowId)",
  "3f2a9c...",
  (v) => checkId(v, "flowId"),
  (c, v) => c.behavior(v),
  metadataLines,
);

/** `event EVENTID`: endpoint 9. */
export const eventCommand: Command = lookup(
  "event",
  "EVENTID",
  "Event metadata",
  "ev-123",
  (v) => checkId(v, "eventId"),
  (c, v) => c.event(v),
  metadataLines,
);
