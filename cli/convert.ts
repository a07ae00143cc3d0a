/**
 * `convert INPUT [--dns DNSLOG] [-o OUT.sf] [--dns-cache FILE] [--format F]`
 * @module
 */
import { basename, extname, resolve } from "node:path";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { convertFileTo, defaultOutputPath, type InputFormat } from "../io/convert.ts";

const FORMATS: InputFormat[] = ["pcap", "pcapng", "zeek", "secflow"];

export const convertCommand: Command = {
  name: "convert",
  help: `usage: networksage convert INPUT [--dns DNSLOG] [-o OUT.sf] [--dns-cache FILE] [--format F]

Converts INPUT (pcap, pcapng, Zeek conn.log as TSV or JSON, or .sf; detected from the content,
gzip looked through) into a Secflow sample. A .sf INPUT is validated and written back with a new
hash. Nothing leaves the machine.

options:
  -o, --output OUT.sf   where to write the sample (default: next to INPUT, extension .sf; for an
                        INPUT that is itself NAME.sf, NAME.converted.sf: the input is never
                        overwritten unless -o names it)
  --dns DNSLOG          Zeek dns.log that goes with a conn.log
  --dns-cache FILE      persistent name cache (ip name lines): read before naming, updated after
  --format F            force the input format: ${FORMATS.join(", ")}
  -q, --quiet           no summary line

When no Secflows result, a notice is printed and no file is written (exit 0).
Warnings (a capture cut short, skipped records; at most 20 malformed log lines are named, then
counted) go to stderr.

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
    const output = values.output ?? safeDefaultOutput(input);
    const result = await convertFileTo(input, output, {
      format,
      dnsLog: values.dns,
      dnsCache: values["dns-cache"],
      fileName: basename(output),
      onWarning: (w) => ctx.err(`warning: ${w}`),
    });
    const s = result.stats;
    const z = result.zeek;
    const seen = s
      ? `${s.records} packets (${s.kept} kept, ${s.filtered} filtered, ${s.notIPv4} not IPv4, ${s.truncated} truncated)`
      : z
      ? `${z.records} conn.log records (${z.rows} kept, ${z.local} local-only, ${z.ipv6} IPv6, ${z.skipped} malformed)`
      : "";
    if (result.flashes === 0) {
      ctx.err(`${input}: no Secflows${seen ? ` in ${seen}` : ""}; nothing written`);
      return 0;
    }
    if (!values.quiet) {
      ctx.err(`${output}: ${result.flashes} Secflows from ${seen || input}`);
    }
    return 0;
  },
};

/** The default output, except that it never is the input itself (`x.sf` → `x.converted.sf`). */
function safeDefaultOutput(input: string): string {
  const output = defaultOutputPath(input);
  if (resolve(output) !== resolve(input)) return output;
  const ext = extname(output);
  return `${output.slice(0, output.length - ext.length)}.converted${ext}`;
}
