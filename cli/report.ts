/**
 * `report INPUT [-o report.html]` and `report --uuid UUID`: the standalone HTML report of a
 * sample (`report/html.ts`). INPUT is read in memory and nothing but the report is written.
 * @module
 */
import { basename, dirname, extname, join, resolve } from "node:path";
import { type Command, parseCommandArgs, positiveInt, UsageError } from "./command.ts";
import { API_ENV, API_OPTIONS, clientFrom } from "./_api.ts";
import { checkUuid, ROWS_LIMIT } from "./_rows.ts";
import { InputError } from "../secflow/errors.ts";
import { formatCount, plural } from "./_format.ts";
import { INPUT_FORMATS, type InputFormat } from "../io/convert.ts";
import { loadSample } from "../io/load.ts";
import { printable } from "../secflow/printable.ts";
import { isStdout, removeUnfinishedOnInterrupt, writeTextOutput } from "../io/output.ts";
import { isStdin } from "../io/files.ts";
import { renderReport } from "../report/html.ts";
import { fromActivities, type ReportExtras } from "../report/model.ts";
import type { Sample } from "../secflow/types.ts";
import {
  fillSecflowAddresses,
  fillSecflowKey,
  FILTER_OPTIONS,
  filterHelp,
  filterOf,
  flowTest,
  keep,
  type RecordFilter,
} from "./_filter.ts";

/**
 * The most Secflows a report holds: the page is one HTML file with a row, a bar and a lane each
 * (about 400 bytes a Secflow, 40 MB here), which a browser still opens; a million made 393 MB.
 */
export const REPORT_SECFLOW_LIMIT = 100_000;

/**
 * The sample and extras with only the Secflows `filter` keeps (their extras and annotations with
 * them), judged by the same numbers `view` shows for them.
 */
export function filterReport(
  sample: Sample,
  extras: ReportExtras,
  filter: RecordFilter,
): { sample: Sample; extras: ReportExtras } {
  const t0 = Number(sample.trafficDate) || 0;
  const flashes = sample.flashes;
  const kept = keep(
    flashes.map((_, i) => i),
    filter,
    (key, uses, i) => {
      const f = flashes[i];
      const icmp = f.protocolInformation === "ICMP";
      fillSecflowKey(key, uses, f.src, f.dst, icmp, t0 + f.relativeStart, f.duration);
    },
    (key, i) => {
      const f = flashes[i];
      fillSecflowAddresses(key, f.src, f.dst, f.protocolInformation === "ICMP");
    },
  );
  const secflows = extras.secflows && kept.map((i) => extras.secflows![i] ?? {});
  let annotations = extras.annotations;
  if (annotations) {
    // Metadata of Secflows left out has nothing left to annotate.
    const dsts = new Set(kept.map((i) => flashes[i].dst));
    const flowIds = new Set(secflows?.map((x) => x.flowId));
    const eventIds = new Set(secflows?.map((x) => x.eventId));
    const only = <V>(m: Map<string, V>, keys: Set<string | undefined>) =>
      new Map([...m].filter(([k]) => keys.has(k)));
    annotations = {
      destination: only(annotations.destination, dsts),
      behavior: only(annotations.behavior, flowIds),
      event: only(annotations.event, eventIds),
    };
  }
  return {
    sample: { ...sample, flashes: kept.map((i) => flashes[i]) },
    extras: {
      ...extras,
      secflows,
      annotations,
      filter: { text: filter.text, total: flashes.length },
    },
  };
}

/** `NAME.html` (or `NAME` and another `suffix`) next to INPUT (its last extension replaced). */
function defaultReportPath(input: string, suffix = ".html"): string {
  const base = basename(input);
  const ext = extname(base);
  return join(dirname(input), `${ext ? base.slice(0, -ext.length) : base}${suffix}`);
}

export const reportCommand: Command = {
  name: "report",
  help: `usage: networksage report INPUT [-o REPORT.html] [FILTERS] [--dns DNSLOG] [--format F]
       networksage report --flows INPUT [-o REPORT.html] [FILTERS]
       networksage report --uuid UUID [-o REPORT.html] [FILTERS] [--api-url URL]

Writes one self-contained HTML report of a sample: a header (file name, traffic date, span,
totals, naming coverage), a timeline of the Secflows by destination, the top destinations by
payload bytes, and the Secflows table (sortable and filterable in the page; a plain table
without script). The file needs no network access when opened, prints, and reads on a phone.

INPUT is a .sf sample, a pcap/pcapng capture, a Zeek conn.log or a Zeek folder (converted in
memory, nothing else written). With --uuid, the report is of a platform sample and adds each Secflow's
category, flowId and count, and the Destination, Behavior and Event metadata. A sample of more than
100,000 Secflows is refused in one line (exit 2): one page cannot show it.

--flows reports every flow of a capture or Zeek conn.log instead (IPv6, LAN, tunnels, any
protocol; see view --flows): a header (span, totals, how many flows the platform's sample keeps
and the Secflows they make, transports), the reasons flows are left out with their counts, then
the flows in groups: those the sample keeps, then one group per reason (ipv6, lan-internal,
in-tunnel, blocked-port, ...), each a table in start order with transport, endpoints, names,
packets and IP bytes each way, Community ID, VLAN and tunnel. More than 100,000 flows (after the
filters) are refused in one line (exit 2).

options:
  -o, --output FILE  where to write (default: INPUT with extension .html, or .flows.html with
                     --flows; standard output for INPUT -; UUID.html for --uuid)
  --flows            every flow instead of Secflows
  --max-flows N      with --flows: flows tracked at once (default 1,000,000)
  --uuid UUID        a private sample of NetworkSage (or of serve, with --api-url)
  --dns DNSLOG       Zeek dns.log that goes with a conn.log
  --format F         force the input format: ${INPUT_FORMATS.join(", ")}
  -q, --quiet        no summary line
  --api-url URL      with --uuid: private API base URL (default $NETWORKSAGE_API_URL)
  --retries N        with --uuid: retries on network errors, 429 and 5xx (default 4)
${filterHelp()}
With filters the report holds only the Secflows (or flows) they keep, and its header says which
filters and how many of all.

permissions: --allow-read=INPUT,OUTDIR --allow-write=OUTDIR (the report is written beside and
  renamed; with --allow-write=OUT alone it is written in place, and an existing OUT needs
  --allow-read=OUT)
  with --uuid: --allow-env=${API_ENV} --allow-net=api.seclarity.io (or the --api-url host)`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("report", args, {
      "api-url": API_OPTIONS["api-url"],
      retries: API_OPTIONS.retries,
      output: { type: "string", short: "o" },
      uuid: { type: "string" },
      dns: { type: "string" },
      format: { type: "string" },
      quiet: { type: "boolean", short: "q" },
      flows: { type: "boolean" },
      "max-flows": { type: "string" },
      ...FILTER_OPTIONS,
    });
    const format = values.format as InputFormat | undefined;
    if (format !== undefined && !INPUT_FORMATS.includes(format)) {
      throw new UsageError(
        `--format must be one of ${INPUT_FORMATS.join(", ")}, not '${printable(format, 40)}'`,
      );
    }
    if (values.flows && (values.uuid !== undefined || values.dns !== undefined || format)) {
      throw new UsageError("--flows reads one local INPUT, without --uuid, --dns or --format");
    }
    if (!values.flows && values["max-flows"] !== undefined) {
      throw new UsageError("--max-flows goes with --flows");
    }
    // Flows know their transport, Secflows only ICMP or not (cli/_filter.ts).
    const filter = values.flows ? undefined : filterOf(values, "Secflows");
    const flowFilter = values.flows ? filterOf(values, "flows") : undefined;
    let sample: Sample | null;
    let extras: ReportExtras = {};
    let output: string;
    if (values.uuid !== undefined) {
      if (positionals.length) {
        throw new UsageError("give INPUT or --uuid UUID, not both");
      }
      if (values.dns !== undefined || format !== undefined) {
        throw new UsageError("--dns and --format go with INPUT, not with --uuid");
      }
      const uuid = checkUuid(values.uuid, "--uuid");
      const client = clientFrom(values, true);
      const [meta, activities] = await Promise.all([
        client.getSample(uuid),
        client.aggregated(uuid),
      ]);
      ({ sample, extras } = fromActivities(meta, activities));
      output = values.output ?? `${uuid}.html`;
    } else {
      if (positionals.length !== 1) {
        throw new UsageError(
          positionals.length === 0
            ? "INPUT (or --uuid UUID) is missing"
            : `one INPUT expected, got ${positionals.length}`,
        );
      }
      const input = positionals[0];
      // Standard input has no name to put .html after (`-.html`, `/dev/stdin.html`): stdout.
      output = values.output ??
        (isStdin(input) ? "-" : defaultReportPath(input, values.flows ? ".flows.html" : ".html"));
      if (
        !isStdout(output) &&
        (resolve(output) === resolve(input) || resolve(output) === resolve(values.dns ?? "\0"))
      ) {
        throw new UsageError(
          values.output === undefined
            ? `the report's default name ${printable(output)} is the input itself; give -o FILE`
            : `-o ${printable(output)} would overwrite an input`,
        );
      }
      if (values.flows) {
        const { flowsReport } = await import("./_flows_report.ts");
        const report = await flowsReport(input, {
          keep: flowFilter && flowTest(flowFilter),
          filterText: flowFilter?.text,
          maxFlows: positiveInt("max-flows", values["max-flows"]),
          onWarning: (w) => ctx.err(`warning: ${w}`),
        });
        return await writeReport(output, report.html, {
          what: report.shown === 0 ? undefined : plural(report.shown, "flow"),
          none: report.total > 0 && flowFilter
            ? `no flows match ${flowFilter.text} (${formatCount(report.total)} in all)`
            : "no flows",
          filter: flowFilter && report.shown > 0
            ? ` (of ${formatCount(report.total)}; ${flowFilter.text})`
            : "",
          input,
          quiet: values.quiet,
        }, ctx);
      }
      // In memory, nothing else written (io/load.ts); the header names the file the user gave.
      let loaded;
      try {
        loaded = await loadSample(input, {
          format,
          dnsLog: values.dns,
          onWarning: (w) => ctx.err(`warning: ${w}`),
          maxSecflows: REPORT_SECFLOW_LIMIT,
        });
      } catch (e) {
        if (!(e instanceof InputError && e.kind === "too-large")) throw e;
        throw new InputError(
          `${printable(input)}: more than ${
            formatCount(REPORT_SECFLOW_LIMIT)
          } Secflows, more than one report page can show (view and stats take up to ${
            formatCount(ROWS_LIMIT)
          })`,
          { kind: "too-large", file: input },
        );
      }
      sample = loaded.sample && { ...loaded.sample, fileName: basename(input) };
    }
    const total = sample?.flashes.length ?? 0;
    if (sample && filter) ({ sample, extras } = filterReport(sample, extras, filter));
    const n = sample?.flashes.length ?? 0;
    return await writeReport(output, sample && n > 0 ? renderReport(sample, extras) : undefined, {
      what: plural(n, "Secflow"),
      none: total > 0 && filter
        ? `no Secflows match ${filter.text} (${formatCount(total)} in all)`
        : "no Secflows",
      filter: filter ? ` (of ${formatCount(total)}; ${filter.text})` : "",
      input: values.uuid ?? positionals[0],
      quiet: values.quiet,
    }, ctx);
  },
};

/**
 * Writes a report's `html` to `output` and says so in one line (`what`, then `filter`); without
 * `html`, says `none` and writes nothing. A directory as `output` is a usage error.
 */
async function writeReport(
  output: string,
  html: string | undefined,
  o: { what?: string; none: string; filter: string; input: string; quiet?: boolean },
  ctx: { err(line: string): void },
): Promise<number> {
  // Only when OUT may be read (help: --allow-write=OUT alone writes in place): a stat without
  // the grant would stop at a permission prompt. Writing into a directory fails clearly anyway.
  const mayRead = Deno.permissions.querySync({ name: "read", path: output }).state === "granted";
  const existing = mayRead ? await Deno.stat(output).catch(() => null) : null;
  if (existing?.isDirectory) {
    throw new UsageError(`-o ${printable(output)} is a directory; give a file name`);
  }
  if (html === undefined) {
    ctx.err(`${printable(o.input)}: ${o.none}; nothing written`);
    return 0;
  }
  removeUnfinishedOnInterrupt(); // Ctrl-C leaves no temporary file or half report behind
  await writeTextOutput(output, html);
  const shown = isStdout(output) ? "standard output" : printable(output);
  if (!o.quiet) ctx.err(`${shown}: report of ${o.what}${o.filter}`);
  return 0;
}
