/**
 * The command table. A new command is one module under `cli/` exporting a {@link Command}, plus
 * one line here.
 * @module
 */
import type { Command } from "./command.ts";
import { convertCommand } from "./convert.ts";

/** Every command, in the order `--help` lists them. */
export const commands: Command[] = [
  convertCommand,
];
