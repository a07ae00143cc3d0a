/**
 * `convert INPUT [--dns DNSLOG] [-o OUT.sf] [--dns-cache FILE] [--format F]`
 * @module
 */
import { basename } from "node:path";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { convertFile, defaultOutputPath, type InputFormat, writeSample } from "../io/convert.ts";

const FORMATS: InputFormat[] = ["pcap", "pcapng", "zeek", "secflow"];

export const convertCommand: Command = {
  name: "convert",
  summary: "convert a capture, Zeek log or .sf file into a Secflow sample, locally",
  help: `usage: networksage convert INPUT [--dns DNSLOG] [-o OUT.sf] [--dns-cache FILE] [--format F]

Converts INPUT (pcap, pcapng, Zeek conn.log, or .sf; detected from the content) into a Secflow
sample. Nothing leaves the machine.

options:
  -o, --output OUT.sf   where to write the sample (default: next to INPUT, extension .sf)
  --dns DNSLOG          Zeek dns.log that goes with a conn.log
  --dns-cache FILE      persistent name cache (ip name lines): read before naming, updated after
  --format F            force the input format: ${FORMATS.join(", ")}
  -q, --quiet           no summary line

When no Secflows result, a notice is printed and no file is written (exit 0).
Warnings (a capture cut short, skipped records) go to stderr.

permissions: --allow-read (INPUT, DNSLOG, cache) --allow-write (OUT, cache)`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("convert", args, {
      output: { type: "string", short: "o" },
      dns: { type: "string" },
      "dns-cache": { type: "string" },
      format: { type: "string" },
      quiet: { type: "boolean", short: "q" },
    });
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0
          ? "INPUT is missing"
          : `one INPUT expected, got ${positionals.length}`,
      );
    }
    const format = values.format as InputFormat | undefined;
    if (format !== undefined && !FORMATS.includes(format)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, not '${format}'`);
    }
    const input = positionals[0];
    const output = values.output ?? defaultOutputPath(input);
    const result = await convertFile(input, {
      format,
      dnsLog: values.dns,
      dnsCache: values["dns-cache"],
      fileName: basename(output),
      onWarning: (w) => ctx.err(`warning: ${w}`),
    });
    const s = result.stats;
    const seen = s
      ? `${s.records} packets (${s.kept} kept, ${s.filtered} filtered, ${s.notIPv4} not IPv4, ${s.truncated} truncated)`
      : "";
    if (!result.sample || result.sample.flashes.length === 0) {
      ctx.err(`${input}: no Secflows${seen ? ` in ${seen}` : ""}; nothing written`);
      return 0;
    }
    await writeSample(output, result.sample);
    if (!values.quiet) {
      ctx.err(`${output}: ${result.sample.flashes.length} Secflows from ${seen || input}`);
    }
    return 0;
  },
};
