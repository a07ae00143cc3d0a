/**
 * `capture -i IFACE [--duration S] [--windows K] [--output DIR] [--state-dir DIR] [--no-upload]
 * [EXPRESSION]` and `capture -r FILE`: the live Secflow collector.
 * @module
 */
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import {
  Collector,
  DEFAULT_NICE,
  DEFAULT_WINDOW_SECONDS,
  MIN_WINDOW_SECONDS,
  windowLine,
} from "../capture/collector.ts";
import { apiUploader } from "../capture/spool.ts";
import { linkTypeName, resolveInterface } from "./interfaces.ts";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

export const captureCommand: Command = {
  name: "capture",
  help:
    `usage: networksage capture -i IFACE [--duration S] [--windows K] [--output DIR] [--state-dir DIR]
                           [--no-upload] [EXPRESSION]
       networksage capture -r FILE [--duration S] [--output DIR] [--state-dir DIR] [--no-upload]

Captures IPv4 traffic with libpcap (snapshot length 350, the platform's kernel filter; a trailing
BPF EXPRESSION narrows it further) and turns every window into a Secflow sample named
<os>_<trafficDate seconds>.sf. Each sample is written to the output directory first; with
NETWORKSAGE_API_KEY set it is then uploaded (type secflow), and kept in the spool of the state
directory, retried with backoff (also after a restart), until the platform acknowledges it.
SIGINT/SIGTERM close the current window (written, then uploaded) and exit 0. One stderr line per
window: window NAME: N secflows, packets P, dropped D, if-dropped I, saved|uploaded|spooled|empty
(D and I: libpcap's drop counters during that window).

options:
  -i, --interface IFACE  interface to capture on (see: networksage interfaces)
  -r, --read FILE        run a pcap/pcapng file through the same pipeline (windows by packet time)
  --duration S           window length in seconds (default ${DEFAULT_WINDOW_SECONDS}, at least ${MIN_WINDOW_SECONDS})
  --windows K            stop after K windows (default: run until a signal or the file's end)
  --output DIR           where samples are written (default ./secflows)
  --state-dir DIR        name cache and upload spool (default $NETWORKSAGE_STATE_DIR, else
                         ~/.local/state/networksage or the OS's equivalent)
  --no-upload            never upload, even with NETWORKSAGE_API_KEY set
  -B, --buffer-size KiB  kernel capture buffer (default 16384 = 16 MiB), as tcpdump's -B
  --immediate            libpcap immediate mode (default: buffered, 100 ms timeout)
  --inline               build sessions on the reading thread instead of in a worker
                         (one thread and heap less: the lightest mode)
  --nice N               lower the collector's priority to niceness N (default ${DEFAULT_NICE}; 0: unchanged)

environment: NETWORKSAGE_API_KEY, NETWORKSAGE_API_URL, NETWORKSAGE_LIBPCAP (libpcap path),
  NETWORKSAGE_STATE_DIR, NETWORKSAGE_SPOOL_RETRY_MS (first retry delay, default 5000)

Capturing needs root or CAP_NET_RAW.
permissions: --allow-ffi (libpcap, libc) --allow-read --allow-write (output, state directory)
  --allow-env --allow-net (upload only)`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("capture", args, {
      interface: { type: "string", short: "i" },
      read: { type: "string", short: "r" },
      duration: { type: "string" },
      windows: { type: "string" },
      output: { type: "string" },
      "state-dir": { type: "string" },
      "no-upload": { type: "boolean" },
      immediate: { type: "boolean" },
      nice: { type: "string" },
      inline: { type: "boolean" },
      "buffer-size": { type: "string", short: "B" },
    });
    if ((values.interface === undefined) === (values.read === undefined)) {
      throw new UsageError("give either -i IFACE or -r FILE");
    }
    const duration = values.duration === undefined
      ? DEFAULT_WINDOW_SECONDS
      : Number(values.duration);
    if (!Number.isFinite(duration) || duration < MIN_WINDOW_SECONDS) {
      throw new UsageError(
        `--duration must be a number of seconds, at least ${MIN_WINDOW_SECONDS} (got '${values.duration}')`,
      );
    }
    let windows: number | undefined;
    if (values.windows !== undefined) {
      windows = Number(values.windows);
      if (!Number.isInteger(windows) || windows < 1) {
        throw new UsageError(`--windows must be a positive integer (got '${values.windows}')`);
      }
    }
    const nice = values.nice === undefined ? DEFAULT_NICE : Number(values.nice);
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
      throw new UsageError(`--nice must be an integer from 0 to 19 (got '${values.nice}')`);
    }
    let bufferSize: number | undefined;
    if (values["buffer-size"] !== undefined) {
      const kib = Number(values["buffer-size"]);
      if (!Number.isInteger(kib) || kib < 256 || kib > 4 * 1024 * 1024) {
        throw new UsageError(
          `--buffer-size is in KiB, from 256 to 4194304 (got '${values["buffer-size"]}')`,
        );
      }
      bufferSize = kib * 1024;
    }
    const upload = !values["no-upload"] && env("NETWORKSAGE_API_KEY") !== undefined;
    const retryMs = Number(env("NETWORKSAGE_SPOOL_RETRY_MS") ?? "5000");
    const collector = new Collector({
      interface: values.interface === undefined ? undefined : resolveInterface(values.interface),
      file: values.read,
      expression: positionals.length > 0 ? positionals.join(" ") : undefined,
      windowSeconds: duration,
      windows,
      outputDir: values.output ?? "./secflows",
      stateDir: values["state-dir"],
      uploader: upload ? apiUploader() : null,
      spool: { initialBackoffMs: Number.isFinite(retryMs) && retryMs > 0 ? retryMs : 5000 },
      immediate: values.immediate,
      nice,
      inline: values.inline,
      bufferSize,
      onStart: (info) =>
        ctx.err(
          values.interface !== undefined
            ? `listening on ${info.source}, link-type ${
              linkTypeName(info.linkType)
            }, snapshot length 350 bytes`
            : `reading from file ${info.source}, link-type ${linkTypeName(info.linkType)}`,
        ),
      onWindow: (r) => ctx.err(windowLine(r)),
      onEvent: (line) => ctx.err(line),
    });
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    const onSignal = () => collector.stop();
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    try {
      await collector.run();
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
    return 0;
  },
};
