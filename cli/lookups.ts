/**
 * `count`, `destination`, `behavior`, `event`: endpoints 6 to 9.
 * @module
 */
import { type Command, parseCommandArgs } from "./command.ts";
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  clientFrom,
  keyValues,
  onePositional,
  privatePermissions,
} from "./_api.ts";
import type { NetworkSageClient } from "../api/client.ts";

function lookup(
  name: string,
  arg: string,
  summary: string,
  example: string,
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
      const value = onePositional(positionals, arg);
      const client = clientFrom(values, true);
      const body = await call(client, value);
      if (values.json) ctx.out(JSON.stringify(body));
      else for (const line of render(body)) ctx.out(line);
      return 0;
    },
  };
}

const metadataLines = (body: unknown) =>
  body && typeof body === "object" ? keyValues(body as Record<string, unknown>) : [String(body)];

/** `count FLOWID`: endpoint 6. */
export const countCommand: Command = lookup(
  "count",
  "FLOWID",
  "how many samples contain a Secflow (flowId)",
  "3f2a9c...",
  (c, v) => c.secflowCount(v),
  (body) => [String(body)],
);

/** `destination NAME:PORT`: endpoint 7. */
export const destinationCommand: Command = lookup(
  "destination",
  "NAME:PORT",
  "Destination metadata (title, description, relevance, tags)",
  "example.com:443",
  (c, v) => c.destination(v),
  metadataLines,
);

/** `behavior FLOWID`: endpoint 8. */
export const behaviorCommand: Command = lookup(
  "behavior",
  "FLOWID",
  "Behavior metadata of a Secflow (flowId)",
  "3f2a9c...",
  (c, v) => c.behavior(v),
  metadataLines,
);

/** `event EVENTID`: endpoint 9. */
export const eventCommand: Command = lookup(
  "event",
  "EVENTID",
  "Event metadata",
  "ev-123",
  (c, v) => c.event(v),
  metadataLines,
);
