/**
 * `upload FILE`: endpoint 1, optionally waiting for processing (helpers 2 and 3).
 * @module
 */
import { type Command, OperationError, parseCommandArgs, UsageError } from "./command.ts";
import { Progress } from "./_progress.ts";
import { printable } from "../secflow/printable.ts";
import { formatDate } from "./_format.ts";
import { NetworkSageError } from "../api/errors.ts";
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
import { envVar } from "../io/env.ts";

/** A refused key is final: one line saying so, exit 1, no retry (the client never retries 4xx). */
function keyRefused(e: unknown): never {
  if (e instanceof NetworkSageError && (e.status === 401 || e.status === 403)) {
    throw new OperationError(
      `the server refused the API key (${e.status} ${e.serverMessage}); check NETWORKSAGE_API_KEY`,
    );
  }
  throw e;
}

/**
 * Where `--convert` writes the sample before sending it. Deno's own error names `<TMP>`, which
 * no flag takes: name the directory (TMPDIR when it may be read, else /tmp on Unix).
 */
async function temporaryDirectory(): Promise<string> {
  try {
    return await Deno.makeTempDir({ prefix: "networksage-upload-" });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable || (e as Error)?.name === "NotCapable")) throw e;
    const dir = envVar("TMPDIR") ?? (Deno.build.os === "windows" ? "%TEMP%" : "/tmp");
    throw new Deno.errors.NotCapable(
      `--convert writes the converted sample to a temporary directory first: run again with ` +
        `--allow-read=${dir} --allow-write=${dir}`,
    );
  }
}

/** `upload FILE [--type T] [--dns DNSLOG] [--name NAME] [--convert] [--wait]`. */
export const uploadCommand: Command = {
  name: "upload",
  help:
    `usage: networksage upload FILE [--type pcap|pcapng|zeek|secflow] [--dns DNSLOG] [--name NAME]
                         [--convert] [--wait [--interval S] [--timeout S]] [--json] [--quiet]
                         [--api-url URL]

Uploads FILE (endpoint 1), streamed from disk with an exact Content-Length. The type is detected
from the content as convert detects it (gzip looked through), and --type is checked against it;
what convert refuses from the file's start (empty, not recognised, certainly not of --type) is
refused before any byte is sent (exit 2). With --convert, FILE is converted here
and only the resulting Secflows are uploaded: the capture or log itself never leaves the machine.
With --wait, finds the upload's UUID and waits until it is processed. --json prints the upload
answer's body, or with --wait the processed sample's metadata. A refused key (401/403) is final:
exit 1 without retrying. Progress (bytes, rate, ETA) is drawn on a terminal only.

options:
  --type T           pcap, pcapng, zeek or secflow
  --dns DNSLOG       the dns.log that goes with a Zeek conn.log
  --name NAME        the sample's name (default: FILE's base name)
  --convert          convert locally and upload only the Secflows (privacy: FILE stays here)
  -q, --quiet        no progress line
  --wait             wait until the sample is processed, then print its UUID
  --interval S       with --wait: seconds between polls (default 15)
  --timeout S        with --wait: give up after S seconds (default: never)
${API_OPTIONS_HELP}

example: NETWORKSAGE_API_KEY=... networksage upload capture.pcap --wait --interval 5

${privatePermissions(" --allow-read=FILE[,DNSLOG]")}
  (--convert also needs --allow-read and --allow-write on the temporary directory)`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("upload", args, {
      ...API_OPTIONS,
      type: { type: "string" },
      dns: { type: "string" },
      name: { type: "string" },
      wait: { type: "boolean" },
      interval: { type: "string" },
      timeout: { type: "string" },
      convert: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
    });
    const path = onePositional(positionals, "FILE");
    if (values.type !== undefined && !UPLOAD_TYPES.includes(values.type as UploadType)) {
      throw new UsageError(
        `--type must be one of ${UPLOAD_TYPES.join(", ")}, not '${values.type}'`,
      );
    }
    const intervalMs = secondsOption("interval", values.interval);
    const timeoutMs = secondsOption("timeout", values.timeout);
    if (path === "-" || path === "/dev/stdin") {
      // The body is sent with its exact length: a file, not a stream.
      throw new UsageError("upload sends a file, not standard input (save it to a file first)");
    }
    const client = clientFrom(values, true);
    let type: UploadType;
    try {
      // The converter's own detector: refuses (InputError, exit 2) what convert refuses.
      type = await detectUploadType(path, values.type as UploadType | undefined);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new UsageError(`no such file '${printable(path)}'`);
      }
      throw e;
    }
    if (values.dns !== undefined && type !== "zeek") {
      throw new UsageError(`--dns goes only with Zeek logs (this file is ${type})`);
    }
    // Control characters are sent as nothing: serve drops them from stored names, and --wait
    // finds the upload by the name stored (with them kept it waited for a name never listed).
    const given = values.name ?? path.split(/[\\/]/).filter(Boolean).pop() ?? path;
    // deno-lint-ignore no-control-regex
    let fileName = given.replace(/[\x00-\x1f\x7f]/g, "");
    let sendPath = path;
    let tempDir: string | undefined;
    if (values.convert && type !== "secflow") {
      const { convertFileTo } = await import("../io/convert.ts");
      tempDir = await temporaryDirectory();
      // The sample is named after the input, unless --name names it (then exactly that: `uuid`
      // and `wait` find it by the name given).
      if (values.name === undefined) fileName = fileName.replace(/(\.gz)?(\.[^.]*)?$/, "") + ".sf";
      sendPath = `${tempDir}/converted.sf`; // not the name: --name may hold a slash
      const written = await convertFileTo(path, sendPath, {
        format: type,
        dnsLog: values.dns,
        fileName,
        onWarning: (w) => ctx.err(`warning: ${w}`),
      });
      if (written.flashes === 0) {
        await Deno.remove(tempDir, { recursive: true });
        ctx.err(`${printable(path)}: no Secflows; nothing uploaded`);
        return 0;
      }
      if (!values.quiet) {
        ctx.err(`${printable(path)}: ${written.flashes} Secflows; uploading only those`);
      }
      type = "secflow";
    }
    const progress = new Progress({
      label: `upload ${printable(fileName)}`,
      unit: "bytes",
      quiet: values.quiet,
    });
    const started = Date.now();
    let body;
    try {
      body = await client.upload(
        { path: sendPath, type, fileName, dnsLog: values.convert ? undefined : values.dns },
        { onProgress: (sent, total) => progress.update(sent, total) },
      ).catch(keyRefused);
    } finally {
      progress.clear();
      if (tempDir) await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    }
    if (!values.wait) {
      if (values.json) ctx.out(JSON.stringify(body));
      else {ctx.out(
          `uploaded ${printable(fileName)} (${type}): ${
            printable(typeof body === "string" ? body : JSON.stringify(body), 1000)
          }`,
        );}
      return 0;
    }
    if (!values.json) ctx.err(`uploaded ${printable(fileName)} (${type}); waiting for processing`);
    const found = await client.findUploadUuid(fileName, new Date(started), {
      intervalMs,
      timeoutMs,
    }).catch(keyRefused);
    const meta = await client.waitForProcessing(found.uuid, { intervalMs, timeoutMs })
      .catch(keyRefused);
    if (values.json) ctx.out(JSON.stringify(meta));
    else {
      ctx.out(
        `${found.uuid}  ${printable(fileName)}  processed, trafficDate ${
          meta.trafficDate
            ? `${meta.trafficDate} (${formatDate(Number(meta.trafficDate))})`
            : "(none: no Secflows)"
        }`,
      );
    }
    return 0;
  },
};
