/**
 * `capture -i IFACE [--duration S] [--windows K] [--output DIR] [--state-dir DIR] [--no-upload]
 * [EXPRESSION]` and `capture -r FILE`: the live Secflow collector.
 * @module
 */
import {
  type Command,
  isPlainDecimal,
  isPlainWhole,
  parseCommandArgs,
  UsageError,
} from "./command.ts";
import { printable } from "../secflow/printable.ts";
import {
  Collector,
  type CollectorSummary,
  DEFAULT_NICE,
  DEFAULT_WINDOW_SECONDS,
  everythingArrived,
  MIN_WINDOW_SECONDS,
  windowLine,
  type WindowProgress,
} from "../capture/collector.ts";
import { apiUploader } from "../capture/spool.ts";
import { linkTypeName, resolveInterface } from "./interfaces.ts";
import { Progress } from "./_progress.ts";
import { countNoun } from "../fmt/count.ts";
import { envGranted, envVar } from "../io/env.ts";

export const captureCommand: Command = {
  name: "capture",
  help:
    `usage: networksage capture -i IFACE [--duration S] [--windows K] [--output DIR] [--state-dir DIR]
                           [--no-upload] [EXPRESSION]
       networksage capture -r FILE [--duration S] [--output DIR] [--state-dir DIR] [--no-upload]

Captures IPv4 traffic with libpcap (snapshot length 350, the platform's kernel filter; a trailing
BPF EXPRESSION narrows it further) and turns every window into a Secflow sample named
<os>_<trafficDate seconds>.sf. The moment a window closes its sample is written (fsynced) to the
output directory and, with NETWORKSAGE_API_KEY set, to the spool in the state directory; an
uploader drains the spool on its own (type secflow), exactly once, also across restarts. Samples
the platform refuses for good move to spool/rejected/ with a .reason file. See docs/CAPTURE.md.
SIGINT/SIGTERM close the current window and give the uploader one last pass; a second signal stops
uploading at once (what is not acknowledged stays spooled). One stderr line per window:
window NAME: N secflows, packets P, dropped D, if-dropped I, spooled|saved|held|memory|empty
(D and I: libpcap's drop counters during that window); on a terminal, a progress line shows the
current window's packets, Secflows and drops.
Exit status: 0 only when every sample arrived (uploaded, or written when not uploading); 1 when a
sample was rejected, is still spooled or held, or was lost; 2 for usage errors.

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
  --nice N               lower the collector's priority to niceness N, 0-19 (default ${DEFAULT_NICE}:
                         unchanged; a lowered priority drops packets on a busy machine)
  -q, --quiet            no window lines and no progress line (failures are still reported)

environment: NETWORKSAGE_API_KEY, NETWORKSAGE_API_URL, NETWORKSAGE_LIBPCAP (libpcap path),
  NETWORKSAGE_STATE_DIR, NETWORKSAGE_SPOOL_RETRY_MS (first retry delay, default 5000),
  NETWORKSAGE_UPLOAD_TIMEOUT_MS (one upload, default 60000)

Capturing needs root or CAP_NET_RAW.
permissions: --allow-ffi (libpcap, libc) --allow-read --allow-write (output, state directory)
  --allow-env=HOME,XDG_STATE_HOME,NETWORKSAGE_STATE_DIR (the default state directory; not
  needed with --state-dir)  --allow-env --allow-net (upload only)`,
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
      quiet: { type: "boolean", short: "q" },
    });
    if ((values.interface === undefined) === (values.read === undefined)) {
      throw new UsageError("give either -i IFACE or -r FILE");
    }
    const duration = values.duration === undefined
      ? DEFAULT_WINDOW_SECONDS
      : Number(values.duration);
    if (
      (values.duration !== undefined && !isPlainDecimal(values.duration)) ||
      duration < MIN_WINDOW_SECONDS
    ) {
      throw new UsageError(
        `--duration must be a number of seconds, at least ${MIN_WINDOW_SECONDS} (got '${
          printable(String(values.duration), 40)
        }')`,
      );
    }
    let windows: number | undefined;
    if (values.windows !== undefined) {
      windows = Number(values.windows);
      if (!isPlainWhole(values.windows) || windows < 1) {
        throw new UsageError(
          `--windows must be a positive integer (got '${printable(values.windows, 40)}')`,
        );
      }
    }
    const nice = values.nice === undefined ? DEFAULT_NICE : Number(values.nice);
    if ((values.nice !== undefined && !isPlainWhole(values.nice)) || nice > 19) {
      throw new UsageError(
        `--nice must be a whole number from 0 to 19 (got '${printable(String(values.nice), 40)}')`,
      );
    }
    let bufferSize: number | undefined;
    if (values["buffer-size"] !== undefined) {
      const kib = Number(values["buffer-size"]);
      if (!isPlainWhole(values["buffer-size"]) || kib < 256 || kib > 4 * 1024 * 1024) {
        throw new UsageError(
          `--buffer-size is in KiB, from 256 to 4194304 (got '${
            printable(values["buffer-size"], 40)
          }')`,
        );
      }
      bufferSize = kib * 1024;
    }
    if (values["state-dir"] === undefined && !stateDirKnown()) {
      throw new UsageError(
        "the state directory (name cache, upload spool) is found from $HOME: give --state-dir DIR " +
          "or --allow-env=HOME,XDG_STATE_HOME,NETWORKSAGE_STATE_DIR",
      );
    }
    const upload = !values["no-upload"] && envVar("NETWORKSAGE_API_KEY") !== undefined;
    const retryMs = positiveEnv("NETWORKSAGE_SPOOL_RETRY_MS", 5000);
    const uploadTimeoutMs = positiveEnv("NETWORKSAGE_UPLOAD_TIMEOUT_MS", 60_000);
    const quiet = values.quiet === true;
    const progress = new Progress({ label: "capture", quiet, delayMs: 0 });
    // Every ordinary line first erases the progress line, so the two never mix.
    const say = (line: string) => {
      progress.clear();
      // Lines quote spool file names, libpcap's messages and the platform's answers: the CLI's
      // context (cli.ts) escapes their control bytes, as for every command.
      ctx.err(line);
    };
    let windowNumber = 1;
    const collector = new Collector({
      interface: values.interface === undefined ? undefined : resolveInterface(values.interface),
      file: values.read,
      expression: positionals.length > 0 ? positionals.join(" ") : undefined,
      windowSeconds: duration,
      windows,
      outputDir: values.output ?? "./secflows",
      stateDir: values["state-dir"],
      uploader: upload ? apiUploader(undefined, { uploadTimeoutMs }) : null,
      spool: { initialBackoffMs: retryMs },
      immediate: values.immediate,
      nice,
      inline: values.inline,
      bufferSize,
      onStart: (info) =>
        quiet || say(
          values.interface !== undefined
            ? `listening on ${printable(info.source)}, link-type ${
              linkTypeName(info.linkType)
            }, snapshot length 350 bytes`
            : `reading from file ${printable(info.source)}, link-type ${
              linkTypeName(info.linkType)
            }`,
        ),
      onWindow: (r) => {
        windowNumber++;
        if (!quiet) say(windowLine(r));
      },
      onEvent: say,
      onProgress: progress.active
        ? (p) => progress.status(progressText(windowNumber, p), true)
        : undefined,
    });
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    let interrupts = 0;
    const onSignal = () => {
      if (interrupts++ === 0) collector.stop();
      else {
        say("second interrupt: uploads stop now; samples not acknowledged stay in the spool");
        collector.abortUploads();
      }
    };
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    let summary: CollectorSummary;
    try {
      summary = await collector.run();
    } finally {
      progress.clear();
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
    if (summary.samples === 0 && values.read !== undefined && !quiet) {
      // Silence here looked like success with nothing to show for it.
      say(
        `${printable(values.read)}: no Secflows (no packet passed the capture filter or made a ` +
          `session: it keeps untagged IPv4 only; networksage convert also reads VLAN-tagged ` +
          `frames)`,
      );
    }
    if (everythingArrived(summary)) return 0;
    say(pendingLine(summary));
    return 1;
  },
};

function positiveEnv(name: string, fallback: number): number {
  const n = Number(envVar(name) ?? fallback);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** The progress line of the current window. */
export function progressText(window: number, p: WindowProgress): string {
  const parts = [
    `${p.packets} ${countNoun(p.packets, "packet")}`,
    p.secflows === null ? "? Secflows" : `${p.secflows} ${countNoun(p.secflows, "Secflow")}`,
    `${p.dropped} dropped`,
  ];
  if (p.ifDropped > 0) parts.push(`${p.ifDropped} if-dropped`);
  return `window ${window}: ${parts.join(", ")}`;
}

/** The last line of a run that did not deliver everything: what is where, and why it exits 1. */
export function pendingLine(s: CollectorSummary): string {
  const parts: string[] = [];
  if (s.rejected > 0) {
    parts.push(
      `${s.rejected} ${countNoun(s.rejected, "sample")} rejected (in ${s.spoolDir}/rejected)`,
    );
  }
  if (s.keyRefused) parts.push("the API refused the key");
  if (s.spooled) {
    parts.push(`${s.spooled} ${countNoun(s.spooled, "sample")} still spooled in ${s.spoolDir}`);
  }
  if (s.unspooled > 0) {
    parts.push(
      `${s.unspooled} ${
        countNoun(s.unspooled, "sample")
      } only in the output directory (not uploaded)`,
    );
  }
  if (s.held > 0) parts.push(`${s.held} ${countNoun(s.held, "sample")} held in ${s.heldDir}`);
  if (s.lost > 0) {
    parts.push(`${s.lost} ${countNoun(s.lost, "sample")} lost (no directory could take them)`);
  }
  return `not everything arrived: ${parts.join("; ")}`;
}

/**
 * Whether the default state directory can be found. Without env access HOME reads as unset and
 * the name cache and spool would land in ./.local/state of whatever directory the user is in.
 */
function stateDirKnown(): boolean {
  if (Deno.build.os === "windows") return true;
  return envVar("NETWORKSAGE_STATE_DIR") !== undefined || envGranted("HOME");
}
