/**
 * `annotate destination|behavior|event ID --title T [--description D] [--relevance R]
 * [--tag T]...`: writes the metadata that endpoints 7 to 9 return, on a server that accepts it
 * (`serve` does; the platform curates its own).
 * @module
 */
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { API_OPTIONS, API_OPTIONS_HELP, clientFrom, privatePermissions } from "./_api.ts";
import { checkDestination, checkId, metadataLines } from "./lookups.ts";
import type { Metadata } from "../api/types.ts";
import { printable } from "../secflow/printable.ts";

const KINDS = ["destination", "behavior", "event"] as const;

export const annotateCommand: Command = {
  name: "annotate",
  help: `usage: networksage annotate destination|behavior|event ID --title T [--description D]
                            [--relevance R] [--tag T]... [--json] [--api-url URL]

Writes Destination (ID is NAME:PORT), Behavior (ID is a flowId) or Event (ID is an eventId)
metadata with a PUT on the path the lookups read. The object sent is {title, description,
relevance, tags}, only the keys given (tags as a list); it replaces what the server had. Prints
what the server stored (--json: as JSON). A local serve accepts annotations; the platform does not.

options:
  --title T          the title (required)
  --description D    a longer description
  --relevance R      e.g. low, medium, high
  --tag T            a tag; repeat for several (--tag web --tag cdn)
${API_OPTIONS_HELP}

example: NETWORKSAGE_API_KEY=my-local-key networksage annotate destination example.com:443 \\
           --title "Example" --relevance low --tag web --api-url http://127.0.0.1:8787

${privatePermissions()}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("annotate", args, {
      ...API_OPTIONS,
      title: { type: "string" },
      description: { type: "string" },
      relevance: { type: "string" },
      tag: { type: "string", multiple: true },
    });
    const [kind, id, ...extra] = positionals;
    if (kind === undefined) {
      throw new UsageError(`what to annotate is missing: ${KINDS.join(", ")}`);
    }
    if (!(KINDS as readonly string[]).includes(kind)) {
      throw new UsageError(`annotate ${KINDS.join(", ")}, not '${printable(kind, 40)}'`);
    }
    if (id === undefined) throw new UsageError("ID is missing");
    if (extra.length) throw new UsageError(`unexpected argument '${printable(extra[0], 60)}'`);
    if (kind === "destination") checkDestination(id);
    else checkId(id, kind === "behavior" ? "flowId" : "eventId");
    if (values.title === undefined || values.title.trim() === "") {
      throw new UsageError("--title is required");
    }
    const metadata: Metadata = { title: values.title };
    if (values.description !== undefined) metadata.description = values.description;
    if (values.relevance !== undefined) metadata.relevance = values.relevance;
    if (values.tag !== undefined) metadata.tags = values.tag;
    const client = clientFrom(values, true);
    const stored = await client.annotate(kind as typeof KINDS[number], id, metadata);
    if (values.json) ctx.out(JSON.stringify(stored));
    else for (const line of metadataLines(stored)) ctx.out(line);
    return 0;
  },
};
