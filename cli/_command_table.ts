/**
 * The command table. A new command is one module under `cli/` exporting a {@link Command}, plus
 * one entry here. Modules load only when their command runs (static specifiers, so
 * `deno compile` still bundles every one of them).
 * @module
 */
import type { CommandEntry } from "./command.ts";

/** Every command, in the order `--help` lists them. */
export const commands: CommandEntry[] = [
  {
    name: "convert",
    summary: "convert a capture, Zeek log or .sf file into a Secflow sample, locally",
    load: async () => (await import("./convert.ts")).convertCommand,
  },
  {
    name: "validate",
    summary: "check .sf files against the Secflow format, every problem with its JSON path",
    load: async () => (await import("./validate.ts")).validateCommand,
  },
  {
    name: "view",
    summary: "show Secflows of .sf files, captures or Zeek logs as a table, JSON or CSV",
    load: async () => (await import("./view.ts")).viewCommand,
  },
  {
    name: "stats",
    summary: "totals, time span, naming coverage, top destinations and sources",
    load: async () => (await import("./stats.ts")).statsCommand,
  },
  {
    name: "report",
    summary: "write a self-contained HTML report of a sample (timeline, top destinations, table)",
    load: async () => (await import("./report.ts")).reportCommand,
  },
  {
    name: "capture",
    summary: "collect Secflows live from an interface (or a capture file), one sample per window",
    load: async () => (await import("./capture.ts")).captureCommand,
  },
  {
    name: "interfaces",
    aliases: ["-D"],
    summary: "list the interfaces live capture can use",
    load: async () => (await import("./interfaces.ts")).interfacesCommand,
  },
  {
    name: "upload",
    summary: "upload a capture, Zeek log or Secflow sample to NetworkSage",
    load: async () => (await import("./upload.ts")).uploadCommand,
  },
  {
    name: "samples",
    summary: "list the samples uploaded with this API key",
    load: async () => (await import("./samples.ts")).samplesCommand,
  },
  {
    name: "sample",
    summary: "show a private sample's metadata",
    load: async () => (await import("./samples.ts")).sampleCommand,
  },
  {
    name: "secflows",
    summary: "list a sample's Secflows",
    load: async () => (await import("./samples.ts")).secflowsCommand,
  },
  {
    name: "count",
    summary: "how many samples contain a Secflow (flowId)",
    load: async () => (await import("./lookups.ts")).countCommand,
  },
  {
    name: "destination",
    summary: "Destination metadata (title, description, relevance, tags)",
    load: async () => (await import("./lookups.ts")).destinationCommand,
  },
  {
    name: "behavior",
    summary: "Behavior metadata of a Secflow (flowId)",
    load: async () => (await import("./lookups.ts")).behaviorCommand,
  },
  {
    name: "event",
    summary: "Event metadata",
    load: async () => (await import("./lookups.ts")).eventCommand,
  },
  {
    name: "aggregate",
    summary: "a sample's Secflows with their Destination, Behavior, Event and count",
    load: async () => (await import("./samples.ts")).aggregateCommand,
  },
  {
    name: "uuid",
    summary: "find the UUID of an upload by file name and time",
    load: async () => (await import("./samples.ts")).uuidCommand,
  },
  {
    name: "wait",
    summary: "wait until a sample is processed",
    load: async () => (await import("./samples.ts")).waitCommand,
  },
  {
    name: "annotate",
    summary: "write Destination, Behavior or Event metadata (a local serve's PUT)",
    load: async () => (await import("./annotate.ts")).annotateCommand,
  },
  {
    name: "serve",
    summary: "run a NetworkSage-compatible API server (SQLite, or PostgreSQL for several nodes)",
    load: async () => (await import("./serve.ts")).serveCommand,
  },
  {
    name: "completions",
    summary: "print a bash, zsh or fish completion script",
    load: async () => (await import("./completions.ts")).completionsCommand,
  },
];
