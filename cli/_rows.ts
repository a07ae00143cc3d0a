/**
 * The Secflows `view` and `stats` look at, and the options they share to name them, in one shape
 * whatever their source: flashes of local inputs (`.sf`, captures, Zeek logs, loaded in memory
 * by `io/load.ts`), or a platform sample's Secflows (every field a string there) with their
 * category and global count. Times become absolute (epoch seconds), so Secflows of several
 * inputs sort together.
 * @module
 */
import type { Flash } from "../secflow/types.ts";
import type { PlatformSecflow } from "../api/types.ts";
import type { NetworkSageClient } from "../api/client.ts";
import { type LoadOptions, loadSample } from "../io/load.ts";
import { UsageError } from "./command.ts";
import { API_OPTIONS, checkPathId, clientFrom } from "./_api.ts";
import { Progress } from "./_progress.ts";
import { INPUT_FORMATS, type InputFormat } from "../io/convert.ts";
import { printable } from "../secflow/printable.ts";
import { InputError } from "../secflow/errors.ts";
import { formatCount } from "./_format.ts";
import type { PacketCounts } from "../secflow/packet_counts.ts";

/** One Secflow, normalised. */
export interface SecflowRow {
  src: string;
  dst: string;
  nameSource: string;
  srcPkts: number;
  srcBytes: number;
  dstPkts: number;
  dstBytes: number;
  /** Epoch seconds of the first packet. */
  start: number;
  /** Seconds from first to last packet. */
  duration: number;
  /** `ICMP`, or `""` for TCP and UDP (the format does not tell them apart). */
  protocol: string;
  /** Platform Secflows only: `flowCategory`. */
  category?: string;
  /** Platform Secflows only: how many samples hold this flowId (endpoint 6). */
  count?: number;
  /** The record as its source holds it: a `.sf` flash, or a platform Secflow. */
  raw: Flash | PlatformSecflow;
}

/**
 * The most Secflows `view` and `stats` hold: each costs them about 1-3 KB (its row and its text),
 * so a hostile 4 MB `.sf.gz` of 5 million flashes took view to 4.9 GB and a V8 abort.
 */
export const ROWS_LIMIT = 500_000;

/** The rows of local inputs, in input order then file order. */
export async function localRows(
  inputs: string[],
  options: LoadOptions,
  onPackets?: (path: string, packets: PacketCounts) => void,
): Promise<{ rows: SecflowRow[]; empty: string[] }> {
  const rows: SecflowRow[] = [];
  const empty: string[] = [];
  for (const path of inputs) {
    const { sample, packets } = await loadSample(path, {
      ...options,
      maxSecflows: (options.maxSecflows ?? Infinity) - rows.length,
    });
    if (packets) onPackets?.(path, packets);
    if (!sample || sample.flashes.length === 0) {
      empty.push(path);
      continue;
    }
    const t0 = Number(sample.trafficDate);
    for (const f of sample.flashes) {
      rows.push({
        src: f.src,
        dst: f.dst,
        nameSource: f.destinationNameSource,
        srcPkts: f.srcPkts,
        srcBytes: f.srcBytes,
        dstPkts: f.dstPkts,
        dstBytes: f.dstBytes,
        start: t0 + f.relativeStart,
        duration: f.duration,
        protocol: f.protocolInformation,
        raw: f,
      });
    }
  }
  return { rows, empty };
}

/**
 * A sample's ID, or a usage error naming the option. Any ID that can be one URL path segment is
 * taken (the platform's are not all `8-4-4-4-12`: 32-hex hashes, base64 ending in `=`); only
 * what cannot be one is refused (`api/_path_id.ts`).
 */
export function checkUuid(value: string, what = "UUID"): string {
  return checkPathId(value, what);
}

/**
 * The Secflows of the private sample `uuid` (endpoints 3 and 4), each with its global count
 * (endpoint 6, one request per distinct flowId, `concurrency` at once). `onCount` reports
 * counts done of total.
 */
export async function platformRows(
  client: NetworkSageClient,
  uuid: string,
  options: { concurrency?: number; onCount?: (done: number, total: number) => void } = {},
): Promise<SecflowRow[]> {
  const [meta, secflows] = await Promise.all([client.getSample(uuid), client.listSecflows(uuid)]);
  const t0 = Number(meta.trafficDate) || 0;
  const flowIds = [...new Set(secflows.map((s) => s.flowId))];
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < flowIds.length) {
      const id = flowIds[next++];
      counts.set(id, Number(await client.secflowCount(id)));
      options.onCount?.(counts.size, flowIds.length);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? 8, flowIds.length) }, worker),
  );
  return secflows.map((s) => ({
    src: s.sourceData,
    dst: s.destinationData,
    nameSource: s.destinationNameSource,
    srcPkts: Number(s.sourcePackets),
    srcBytes: Number(s.sourceBytes),
    dstPkts: Number(s.destinationPackets),
    dstBytes: Number(s.destinationBytes),
    start: t0 + Number(s.relativeStart),
    duration: Number(s.duration),
    protocol: s.sourceData.includes(":") ? "" : "ICMP",
    category: s.flowCategory,
    count: counts.get(s.flowId),
    raw: s,
  }));
}

/** How `--sort` orders rows. */
export const SORT_KEYS = ["start", "bytes", "packets", "duration", "dst"] as const;
/** One of {@link SORT_KEYS}. */
export type SortKey = typeof SORT_KEYS[number];

/**
 * Rows kept by `match` (src or dst contains it, ignoring case), ordered by `sort` (start and dst
 * ascending; bytes, packets, duration descending, both directions summed; ties keep their
 * order), then the first `top`.
 */
export function selectRows(
  rows: SecflowRow[],
  options: { match?: string; sort?: SortKey; top?: number },
): SecflowRow[] {
  const needle = options.match?.toLowerCase();
  let out = needle === undefined
    ? rows.slice()
    : rows.filter((r) =>
      r.src.toLowerCase().includes(needle) || r.dst.toLowerCase().includes(needle)
    );
  const by: Record<SortKey, (a: SecflowRow, b: SecflowRow) => number> = {
    start: (a, b) => a.start - b.start,
    bytes: (a, b) => (b.srcBytes + b.dstBytes) - (a.srcBytes + a.dstBytes),
    packets: (a, b) => (b.srcPkts + b.dstPkts) - (a.srcPkts + a.dstPkts),
    duration: (a, b) => b.duration - a.duration,
    dst: (a, b) => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0),
  };
  out.sort(by[options.sort ?? "start"]); // stable: ties keep input order
  if (options.top !== undefined) out = out.slice(0, options.top);
  return out;
}

/** Options `view` and `stats` share. */
export const INPUT_OPTIONS = {
  json: API_OPTIONS.json,
  "api-url": API_OPTIONS["api-url"],
  retries: API_OPTIONS.retries,
  uuid: { type: "string" },
  dns: { type: "string" },
  format: { type: "string" },
  quiet: { type: "boolean", short: "q" },
} as const;

/** Help lines for {@link INPUT_OPTIONS}. */
export const INPUT_HELP =
  `  --uuid UUID        a private platform sample instead of INPUT (needs NETWORKSAGE_API_KEY)
  --dns DNSLOG       Zeek dns.log that goes with a conn.log INPUT (one INPUT only)
  --format F         read an unrecognised INPUT as ${INPUT_FORMATS.join(", ")}
  -q, --quiet        no progress line and no notices
  --api-url URL      with --uuid: private API base URL (default $NETWORKSAGE_API_URL)
  --retries N        with --uuid: retries on network errors, 429 and 5xx (default 4)
Local INPUTs of more than 500,000 Secflows in all are refused in one line (exit 2): they are held
in memory (convert writes any number of them).`;

/**
 * The rows of the command's inputs: local files or `--uuid`. `onPackets` hears where the packets
 * of each capture input went.
 */
export async function inputRows(
  command: string,
  values: {
    uuid?: string;
    dns?: string;
    format?: string;
    quiet?: boolean;
    "api-url"?: string;
    retries?: string;
  },
  positionals: string[],
  err: (line: string) => void,
  onPackets?: (path: string, packets: PacketCounts) => void,
): Promise<SecflowRow[]> {
  if (values.uuid !== undefined) {
    if (positionals.length > 0) throw new UsageError("give INPUT files or --uuid UUID, not both");
    if (values.dns !== undefined || values.format !== undefined) {
      throw new UsageError("--dns and --format go with INPUT files, not with --uuid");
    }
    const uuid = checkUuid(values.uuid, "--uuid");
    const client = clientFrom(values, true);
    const progress = new Progress({
      label: `${command}: counts`,
      unit: "items",
      quiet: values.quiet,
    });
    try {
      return await platformRows(client, uuid, { onCount: (d, t) => progress.update(d, t) });
    } finally {
      progress.clear();
    }
  }
  if (positionals.length === 0) throw new UsageError("INPUT is missing (or give --uuid UUID)");
  const format = values.format as InputFormat | undefined;
  if (format !== undefined && !INPUT_FORMATS.includes(format)) {
    throw new UsageError(
      `--format must be one of ${INPUT_FORMATS.join(", ")}, not '${printable(format, 40)}'`,
    );
  }
  if (values.dns !== undefined && positionals.length > 1) {
    throw new UsageError("--dns goes with a single conn.log INPUT");
  }
  let loaded;
  try {
    loaded = await localRows(positionals, {
      format,
      dnsLog: values.dns,
      onWarning: (w) => err(`warning: ${w}`),
      maxSecflows: ROWS_LIMIT,
    }, onPackets);
  } catch (e) {
    if (!(e instanceof InputError && e.kind === "too-large")) throw e;
    throw new InputError(
      `${printable(e.facts.file ?? "input")}: ${
        positionals.length > 1 ? "with the inputs before it, " : ""
      }more than ${formatCount(ROWS_LIMIT)} Secflows, more than ${command} holds in ` +
        `memory (convert writes any number of them)`,
      { kind: "too-large", file: e.facts.file },
    );
  }
  const { rows, empty } = loaded;
  if (!values.quiet) { for (const path of empty) err(`${path}: no Secflows`); }
  return rows;
}
