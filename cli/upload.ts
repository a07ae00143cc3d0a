/**
 * `upload FILE`: endpoint 1, optionally waiting for processing (helpers 2 and 3).
 * @module
 */
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  clientFrom,
  onePositional,
  privatePermissions,
  secondsOption,
} from "./_api.ts";
import { UPLOAD_TYPES, type UploadType } from "../api/types.ts";
import { detectUploadType } from "../api/detect.ts";

/** `upload FILE [--type T] [--dns DNSLOG] [--name NAME] [--wait]`. */
export const uploadCommand: Command = {
  name: "upload",
  help:
    `usage: networksage upload FILE [--type pcap|pcapng|zeek|secflow] [--dns DNSLOG] [--name NAME]
                         [--wait [--interval S] [--timeout S]] [--json] [--api-url URL]

Uploads FILE (endpoint 1), streaming it from disk. The type is detected from the content when
--type is absent (pcap and pcapng by magic number, a JSON object with "flashes" as secflow,
anything else as zeek). With --wait, finds the upload's UUID and waits until it is processed.
--json prints the upload answer's body, or with --wait the processed sample's metadata.

options:
  --type T           pcap, pcapng, zeek or secflow
  --dns DNSLOG       the dns.log that goes with a Zeek conn.log
  --name NAME        the sample's name (default: FILE's base name)
  --wait             wait until the sample is processed, then print its UUID
  --interval S       with --wait: seconds between polls (default 15)
  --timeout S        with --wait: give up after S seconds (default: never)
${API_OPTIONS_HELP}

example: NETWORKSAGE_API_KEY=... networksage upload capture.pcap --wait --interval 5

${privatePermissions(" --allow-read=FILE[,DNSLOG]")}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("upload", args, {
      ...API_OPTIONS,
      type: { type: "string" },
      dns: { type: "string" },
      name: { type: "string" },
      wait: { type: "boolean" },
      interval: { type: "string" },
      timeout: { type: "string" },
    });
    const path = onePositional(positionals, "FILE");
    if (values.type !== undefined && !UPLOAD_TYPES.includes(values.type as UploadType)) {
      throw new UsageError(
        `--type must be one of ${UPLOAD_TYPES.join(", ")}, not '${values.type}'`,
      );
    }
    const intervalMs = secondsOption("interval", values.interval);
    const timeoutMs = secondsOption("timeout", values.timeout);
    const client = clientFrom(values, true);
    let type = values.type as UploadType | undefined;
    try {
      type ??= await detectUploadType(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw new UsageError(`no such file '${path}'`);
      throw e;
    }
    if (values.dns !== undefined && type !== "zeek") {
      throw new UsageError(`--dns goes only with Zeek logs (this file is ${type})`);
    }
    const fileName = values.name ?? path.split(/[\\/]/).filter(Boolean).pop() ?? path;
    const started = Date.now();
    const body = await client.upload({ path, type, fileName, dnsLog: values.dns });
    if (!values.wait) {
      if (values.json) ctx.out(JSON.stringify(body));
      else {ctx.out(
          `uploaded ${fileName} (${type}): ${
            typeof body === "string" ? body : JSON.stringify(body)
          }`,
        );}
      return 0;
    }
    if (!values.json) ctx.err(`uploaded ${fileName} (${type}); waiting for processing`);
    const found = await client.findUploadUuid(fileName, new Date(started), {
      intervalMs,
      timeoutMs,
    });
    const meta = await client.waitForProcessing(found.uuid, { intervalMs, timeoutMs });
    if (values.json) ctx.out(JSON.stringify(meta));
    else {
      ctx.out(
        `${found.uuid}  ${fileName}  processed, trafficDate ${
          meta.trafficDate || "(none: no Secflows)"
        }`,
      );
    }
    return 0;
  },
};
