/**
 * `validate FILE...`: checks `.sf` files against SECFLOW.md section 1 and reports every problem
 * with its JSON path.
 * @module
 */
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { validateSampleFile } from "../io/convert.ts";
import { escapeControls } from "./convert.ts";

export const validateCommand: Command = {
  name: "validate",
  help: `usage: networksage validate FILE... [-q]

Checks each FILE (a .sf Secflow sample, gzip looked through; - for standard input) against the
format: keys, their order, types, value formats and ranges (numbers finite, integers within
2^53, names not empty, at most 253 characters, without control characters), and the ordering of
flashes. The file is read as a stream: memory does not grow with its size. Every problem is
printed as FILE: JSON-PATH: message (to stdout; the first 1000 per file, then a count); a valid
file prints FILE: valid (N flashes).

options:
  -q, --quiet   print only the problems

exit codes: 0 every file is valid, 1 some file is invalid or unreadable, 2 usage error or a
missing permission

permissions: --allow-read=FILE...`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("validate", args, {
      quiet: { type: "boolean", short: "q" },
    });
    if (positionals.length === 0) throw new UsageError("FILE is missing");
    const out = (line: string) => ctx.out(escapeControls(line));
    let invalid = 0;
    for (const file of positionals) {
      const shown = file === "-" ? "standard input" : file;
      const report = await validateSampleFile(file);
      if (report.problems.length === 0) {
        const n = report.flashes;
        if (!values.quiet) out(`${shown}: valid (${n} ${n === 1 ? "flash" : "flashes"})`);
        continue;
      }
      invalid++;
      for (const p of report.problems) out(`${shown}: ${p.path}: ${p.message}`);
      const more = report.problemCount - report.problems.length;
      if (more > 0) out(`${shown}: ... and ${more} more problem${more === 1 ? "" : "s"}`);
    }
    if (invalid > 0 && positionals.length > 1) {
      ctx.err(`${invalid} of ${positionals.length} files invalid`);
    }
    return invalid > 0 ? 1 : 0;
  },
};
