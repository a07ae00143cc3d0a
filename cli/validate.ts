/**
 * `validate FILE...`: checks `.sf` files against SECFLOW.md section 1 and reports every problem
 * with its JSON path.
 * @module
 */
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { validateSampleFile } from "../io/convert.ts";

export const validateCommand: Command = {
  name: "validate",
  help: `usage: networksage validate FILE... [-q]

Checks each FILE (a .sf Secflow sample, gzip looked through) against the format: keys, their
order, types, value formats, and the ordering of flashes. Every problem is printed as
FILE: JSON-PATH: message (to stdout); a valid file prints FILE: valid (N flashes).

options:
  -q, --quiet   print only the problems

exit codes: 0 every file is valid, 1 some file is invalid or unreadable, 2 usage error

permissions: --allow-read (FILE)`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("validate", args, {
      quiet: { type: "boolean", short: "q" },
    });
    if (positionals.length === 0) throw new UsageError("validate: FILE is missing");
    let invalid = 0;
    for (const file of positionals) {
      const report = await validateSampleFile(file);
      if (report.problems.length === 0) {
        if (!values.quiet) ctx.out(`${file}: valid (${report.flashes} flashes)`);
        continue;
      }
      invalid++;
      for (const p of report.problems) ctx.out(`${file}: ${p.path}: ${p.message}`);
    }
    if (invalid > 0 && positionals.length > 1) {
      ctx.err(`${invalid} of ${positionals.length} files invalid`);
    }
    return invalid > 0 ? 1 : 0;
  },
};
