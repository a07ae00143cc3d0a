/**
 * The command table. A new command is one module under `cli/` exporting a {@link Command}, plus
 * one line here.
 * @module
 */
import type { Command } from "./command.ts";
import { convertCommand } from "./convert.ts";
import { validateCommand } from "./validate.ts";
import { uploadCommand } from "./upload.ts";
import {
  aggregateCommand,
  sampleCommand,
  samplesCommand,
  secflowsCommand,
  uuidCommand,
  waitCommand,
} from "./samples.ts";
import { behaviorCommand, countCommand, destinationCommand, eventCommand } from "./lookups.ts";
import { serveCommand } from "./serve.ts";

/** Every command, in the order `--help` lists them. */
export const commands: Command[] = [
  convertCommand,
  validateCommand,
  uploadCommand,
  samplesCommand,
  sampleCommand,
  secflowsCommand,
  countCommand,
  destinationCommand,
  behaviorCommand,
  eventCommand,
  aggregateCommand,
  uuidCommand,
  waitCommand,
  serveCommand,
];
