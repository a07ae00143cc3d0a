/**
 * `samples`, `sample`, `secflows`, `aggregate`, `uuid`, `wait`: reading samples back.
 * @module
 */
import {
  type Command,
  isPlainDecimal,
  isPlainWhole,
  parseCommandArgs,
  UsageError,
} from "./command.ts";
import {
  API_ENV,
  API_OPTIONS,
  API_OPTIONS_HELP,
  clientFrom,
  onePositional,
  privatePermissions,
  PUBLIC_URL_HELP,
  PUBLIC_URL_OPTIONS,
  secondsOption,
} from "./_api.ts";
import type { Activity, PlatformSecflow, UploadEntry } from "../api/types.ts";
import { checkUuid } from "./_rows.ts";
import {
  cellText,
  cellValue,
  type Column,
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  platformDate,
  renderTable,
} from "./_format.ts";
import { metadataLines } from "./lookups.ts";
import { terminalColumns } from "./view.ts";
import { Progress } from "./_progress.ts";
import { printable } from "../secflow/printable.ts";

/**
 * A public sample UUID: the base64 of `<id>#hash#<hash>` (API.md), else a usage error. Checked
 * before any request.
 */
export function checkPublicUuid(value: string): string {
  let decoded = "";
  try {
    if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
      decoded = atob(value.replaceAll("-", "+").replaceAll("_", "/"));
    }
  } catch { /* not base64 */ }
  if (!/^[^#]+#hash#[^#]+$/.test(decoded)) {
    throw new UsageError(
      `a public UUID is the base64 of ID#hash#HASH (networksage uuid NAME --time T --public prints it), not '${
        printable(value, 60)
      }'`,
    );
  }
  return value;
}

/** Sample metadata as `key: value` lines, dates in ISO 8601 UTC next to the raw values. */
function metadataView(meta: Record<string, unknown>): Record<string, unknown> {
  const out = { ...meta };
  for (const key of ["dateCreated", "dateProcessed"]) {
    if (typeof out[key] === "string") out[key] = platformDate(out[key] as string);
  }
  const traffic = Number(out.trafficDate);
  if (typeof out.trafficDate === "string" && out.trafficDate !== "" && Number.isFinite(traffic)) {
    out.trafficDate = `${out.trafficDate} (${formatDate(traffic)})`;
  }
  return out;
}

const PUBLIC_PERMISSIONS =
  `with --public: --allow-env=${API_ENV} --allow-net=ns-genericservice.app.seclarity.io
  (no key needed; with --public-url, the host:port of that URL)`;

const num = (text: string, format: (n: number) => string) => {
  const n = Number(text);
  return text !== "" && Number.isFinite(n) ? format(n) : cellValue(text);
};

/** Lines of a Secflow table (platform Secflows: every field a string), sized to the terminal. */
export function secflowTable(secflows: PlatformSecflow[]): string[] {
  if (secflows.length === 0) return ["(no Secflows)"];
  const columns: Column[] = [
    { header: "source", shrink: true, min: 21 },
    { header: "destination", shrink: true, min: 24 },
    { header: "named", drop: 8 },
    { header: "pkts out", align: "right", drop: 5 },
    { header: "bytes out", align: "right" },
    { header: "pkts in", align: "right", drop: 5 },
    { header: "bytes in", align: "right" },
    { header: "after", align: "right", drop: 6 },
    { header: "duration", align: "right", drop: 6 },
    { header: "category", shrink: true },
    { header: "flowId", min: 12, shrink: true },
  ];
  return renderTable(
    columns,
    secflows.map((s) => [
      cellValue(s.sourceData),
      cellValue(s.destinationData),
      cellValue(s.destinationNameSource),
      num(s.sourcePackets, formatCount),
      num(s.sourceBytes, formatBytes),
      num(s.destinationPackets, formatCount),
      num(s.destinationBytes, formatBytes),
      num(s.relativeStart, formatDuration),
      num(s.duration, formatDuration),
      cellValue(s.flowCategory),
      cellValue(s.flowId) + (s.eventId ? ` (event ${cellValue(s.eventId)})` : ""),
    ]),
    terminalColumns(),
  );
}

const title = (m: Record<string, unknown>) =>
  typeof m.title === "string" ? m.title : Object.keys(m).length ? JSON.stringify(m) : "-";

function activityTable(activities: Activity[]): string[] {
  if (activities.length === 0) return ["(no activities)"];
  const columns: Column[] = [
    { header: "source", shrink: true, min: 21 },
    { header: "destination", shrink: true, min: 24 },
    { header: "category", shrink: true },
    { header: "count", align: "right" },
    { header: "destination title", shrink: true },
    { header: "behavior", shrink: true },
    { header: "event", shrink: true },
  ];
  return renderTable(
    columns,
    activities.map((a) => [
      cellValue(a.secflow.sourceData),
      cellValue(a.secflow.destinationData),
      cellValue(a.secflow.flowCategory),
      formatCount(a.flowIdCount),
      cellValue(title(a.destination)),
      cellValue(title(a.behavior)),
      a.secflow.eventId ? cellValue(title(a.event)) : "-",
    ]),
    terminalColumns(),
  );
}

/** `samples`: endpoint 2. */
export const samplesCommand: Command = {
  name: "samples",
  help: `usage: networksage samples [--json] [--api-url URL]

Lists your uploads (endpoint 2): uuid, name, type, processed, upload date.

options:
${API_OPTIONS_HELP}

example: NETWORKSAGE_API_KEY=... networksage samples

${privatePermissions()}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("samples", args, API_OPTIONS);
    if (positionals.length) {
      throw new UsageError(`unexpected argument '${printable(positionals[0], 60)}'`);
    }
    const client = clientFrom(values, true);
    const body = await client.listUploads();
    if (values.json) {
      ctx.out(JSON.stringify(body));
      return 0;
    }
    if (body.length === 0) {
      ctx.out("(no samples)");
      return 0;
    }
    const lines = renderTable(
      [
        { header: "uuid" },
        { header: "fileName", shrink: true, min: 16 },
        { header: "type" },
        { header: "processed", shrink: true },
        { header: "created (UTC)" },
      ],
      body.map((e: UploadEntry) => [
        cellValue(e.uuid),
        cellValue(e.fileName),
        cellValue(e.fileType),
        typeof e.processingError === "string"
          ? `failed: ${cellValue(e.processingError)}`
          : e.processed
          ? (Array.isArray(e.warnings) && e.warnings.length
            ? `yes, ${e.warnings.length} warning${e.warnings.length === 1 ? "" : "s"}`
            : "yes")
          : "no",
        cellValue(platformDate(e.dateCreated)),
      ]),
      terminalColumns(),
    );
    for (const line of lines) ctx.out(line);
    return 0;
  },
};

/** `sample UUID`: endpoint 3. */
export const sampleCommand: Command = {
  name: "sample",
  help: `usage: networksage sample UUID [--json] [--api-url URL]

Shows a sample's metadata (endpoint 3); trafficDate is empty until it is processed.

options:
${API_OPTIONS_HELP}

example: NETWORKSAGE_API_KEY=... networksage sample 0b6f3c1e-...

${privatePermissions()}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("sample", args, API_OPTIONS);
    const uuid = checkUuid(onePositional(positionals, "UUID"));
    const body = await clientFrom(values, true).getSample(uuid);
    if (values.json) ctx.out(JSON.stringify(body));
    else for (const line of metadataLines(metadataView(body))) ctx.out(line);
    return 0;
  },
};

const PUBLIC_OPTIONS = {
  ...API_OPTIONS,
  ...PUBLIC_URL_OPTIONS,
  public: { type: "boolean" },
} as const;

/** `secflows UUID [--public]`: endpoint 4 (or 5 for a public sample). */
export const secflowsCommand: Command = {
  name: "secflows",
  help: `usage: networksage secflows UUID [--public] [--json] [--api-url URL] [--public-url URL]

Lists the Secflows of a private sample (endpoint 4), or of a public one with --public (from
endpoint 5; --json then prints that endpoint's body, the activities).

options:
  --public           UUID is a public sample UUID (public service, no key)
${API_OPTIONS_HELP}
${PUBLIC_URL_HELP}

examples: NETWORKSAGE_API_KEY=... networksage secflows 0b6f3c1e-...
          networksage secflows --public MTIzI2hhc2gjYWJj...

${privatePermissions()}
${PUBLIC_PERMISSIONS}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("secflows", args, PUBLIC_OPTIONS);
    const uuid = onePositional(positionals, "UUID");
    if (values.public) checkPublicUuid(uuid);
    else checkUuid(uuid);
    const client = clientFrom(values, !values.public);
    const body = values.public
      ? await client.publicAggregated(uuid)
      : await client.listSecflows(uuid);
    if (values.json) ctx.out(JSON.stringify(body));
    else {
      const secflows = values.public
        ? (body as Activity[]).map((a) => a.secflow)
        : body as PlatformSecflow[];
      for (const line of secflowTable(secflows)) ctx.out(line);
    }
    return 0;
  },
};

/** `aggregate UUID [--public]`: helper 1. */
export const aggregateCommand: Command = {
  name: "aggregate",
  help:
    `usage: networksage aggregate UUID [--public] [--concurrency N] [-q] [--json] [--api-url URL]
                             [--public-url URL]

The aggregated view of a sample. Public (--public): endpoint 5 as is. Private: endpoint 4, then for
each Secflow its count (6), Destination (7), Behavior (8) and Event (9, when it has an eventId),
at most --concurrency requests at once (default 8). --json prints the activities array.

options:
  --public           UUID is a public sample UUID (public service, no key)
  --concurrency N    requests in flight at once (default 8)
  -q, --quiet        no progress line (it shows on a terminal only: lookups done of total)
${API_OPTIONS_HELP}
${PUBLIC_URL_HELP}

examples: NETWORKSAGE_API_KEY=... networksage aggregate 0b6f3c1e-...
          networksage aggregate --public MTIzI2hhc2gjYWJj...

${privatePermissions()}
${PUBLIC_PERMISSIONS}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("aggregate", args, {
      ...PUBLIC_OPTIONS,
      concurrency: { type: "string" },
      quiet: { type: "boolean", short: "q" },
    });
    const uuid = onePositional(positionals, "UUID");
    if (values.public) checkPublicUuid(uuid);
    else checkUuid(uuid);
    let concurrency: number | undefined;
    if (values.concurrency !== undefined) {
      concurrency = Number(values.concurrency);
      if (!isPlainWhole(values.concurrency) || concurrency < 1 || concurrency > 64) {
        throw new UsageError("--concurrency must be a whole number from 1 to 64");
      }
    }
    const client = clientFrom(values, !values.public);
    const progress = new Progress({
      label: "aggregate lookups",
      unit: "items",
      quiet: values.quiet,
    });
    let body: Activity[];
    try {
      body = await client.aggregated(uuid, {
        public: values.public,
        concurrency,
        onProgress: (done, total) => progress.update(done, total),
      });
    } finally {
      progress.clear();
    }
    if (values.json) ctx.out(JSON.stringify(body));
    else for (const line of activityTable(body)) ctx.out(line);
    return 0;
  },
};

const WAIT_OPTIONS = {
  ...API_OPTIONS,
  interval: { type: "string" },
  timeout: { type: "string" },
} as const;

/** `uuid NAME --time EPOCH [--public]`: helper 2. */
export const uuidCommand: Command = {
  name: "uuid",
  help: `usage: networksage uuid NAME --time EPOCH [--public] [--interval S] [--timeout S] [--json]

Finds the upload named NAME made within 60 s of EPOCH (seconds since 1970, UTC) and prints its
UUID. With --public, also waits until the sample has a hash and prints its public UUID.
--json prints {"uuid": ..., "publicUuid": ...}.

options:
  --time EPOCH       when the upload was made (required)
  --public           also print the public UUID (polls the metadata until it has a hash)
  --interval S       seconds between polls (default 15)
  --timeout S        give up after S seconds (default: never)
${API_OPTIONS_HELP}

example: NETWORKSAGE_API_KEY=... networksage uuid capture.pcap --time 1700000000

${privatePermissions()}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("uuid", args, {
      ...WAIT_OPTIONS,
      time: { type: "string" },
      public: { type: "boolean" },
    });
    const name = onePositional(positionals, "NAME");
    if (values.time === undefined) throw new UsageError("--time EPOCH is required");
    const time = Number(values.time);
    if (!isPlainDecimal(values.time)) {
      throw new UsageError(`--time must be epoch seconds, not '${printable(values.time, 40)}'`);
    }
    // Options are checked before the key is looked for: a mistake in them is named either way.
    const intervalMs = secondsOption("interval", values.interval);
    const timeoutMs = secondsOption("timeout", values.timeout);
    const client = clientFrom(values, true);
    const found = await client.findUploadUuid(name, time, {
      public: values.public,
      intervalMs,
      timeoutMs,
    });
    if (values.json) {
      ctx.out(JSON.stringify({ uuid: found.uuid, publicUuid: found.publicUuid }));
    } else {
      ctx.out(found.uuid);
      if (found.publicUuid) ctx.out(`public: ${found.publicUuid}`);
    }
    return 0;
  },
};

/** `wait UUID`: helper 3. */
export const waitCommand: Command = {
  name: "wait",
  help: `usage: networksage wait UUID [--interval S] [--timeout S] [--json] [--api-url URL]

Polls the sample's metadata (endpoint 3) until its trafficDate is set, then prints it. Exits 1 when
the timeout passes or the server reports that processing failed. --json prints the metadata.

options:
  --interval S       seconds between polls (default 15)
  --timeout S        give up after S seconds (default: never)
${API_OPTIONS_HELP}

example: NETWORKSAGE_API_KEY=... networksage wait 0b6f3c1e-... --interval 5 --timeout 600

${privatePermissions()}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("wait", args, WAIT_OPTIONS);
    const uuid = checkUuid(onePositional(positionals, "UUID"));
    const intervalMs = secondsOption("interval", values.interval);
    const timeoutMs = secondsOption("timeout", values.timeout);
    const client = clientFrom(values, true);
    const meta = await client.waitForProcessing(uuid, { intervalMs, timeoutMs });
    if (values.json) ctx.out(JSON.stringify(meta));
    else {
      ctx.out(
        `processed: ${cellText(meta.fileName)} (${uuid}), trafficDate ${
          meta.trafficDate
            ? `${meta.trafficDate} (${formatDate(Number(meta.trafficDate))})`
            : "(none: no Secflows)"
        }`,
      );
    }
    return 0;
  },
};
