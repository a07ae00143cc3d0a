/**
 * The standalone HTML report of every flow (`report --flows`): a header (file, span, totals, how
 * many flows the platform's sample keeps and the Secflows they make, transports), a table of the
 * reasons flows are left out, then the flows themselves in groups: those the sample keeps, then
 * one group per reason it leaves flows out (most flows first), each a plain table in start order.
 *
 * Same rules as the Secflow report (`html.ts`): pure (flows in, one HTML string out), every
 * string from traffic escaped ({@link escapeHtml}: names, and a conn.log's addresses, can hold
 * anything), and the page's own style and script allowed by hash in its Content-Security-Policy;
 * no request is made when it is opened.
 * @module
 */
import type { Flow, LeftOutReason, SampleVerdict } from "../secflow/flows/types.ts";
import { hasPorts, tunnelText } from "../secflow/flows/format.ts";
import { formatBytes } from "../fmt/bytes.ts";
import { formatCount } from "../fmt/count.ts";
import { escapeHtml } from "./escape.ts";
import { reportDocument } from "./html.ts";
import { byFlows, FlowTally, REASON_TEXT } from "./flows_model.ts";
import { seconds } from "./svg.ts";

/** What a flows report says besides its flows. */
export interface FlowsReportOptions {
  /** The input's base name (the page's title). */
  fileName: string;
  /** The filters that chose the flows, and how many flows there were before them. */
  filter?: { text: string; total: number };
}

/**
 * Extra rules of the flows page. Like the Secflow table (`REPORT_CSS`), each flow table's rows are
 * grid rows of fixed columns with `content-visibility: auto`, so the browser lays out only the
 * rows on screen: as a plain table, 15,559 flows took 26-40 s to open in headless Chromium.
 */
const FLOWS_CSS = `
table.fl,table.fl thead,table.fl tbody{display:block}
table.fl{min-width:136em}
table.fl thead{position:sticky;top:0;z-index:1}
table.fl tr{display:grid;grid-template-columns:10em 6em 4.5em 13em 13em minmax(12em,1fr) 4.5em 4.5em 6.5em 6.5em 18em 9em 21em;border-bottom:1px solid var(--line)}
table.fl th,table.fl td{border-bottom:0;overflow-wrap:anywhere}
table.fl tbody tr{content-visibility:auto;contain-intrinsic-size:auto 1.7em}
section.group{margin-top:18px}
section.group h2{margin-bottom:2px}
@media print{table.fl{min-width:0}table.fl tbody tr{content-visibility:visible}}
`.trim();

const int = formatCount;

/** UTC time of day with microseconds (`22:13:20.001500`): the date is in the header. */
function timeOfDay(us: number): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  return `${iso.slice(11, 19)}.${String(((us % 1e6) + 1e6) % 1e6).padStart(6, "0")}`;
}

function endpoint(ip: string, port: number, protocol: number): string {
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return hasPorts(protocol) ? `${host}:${port}` : host;
}

const HEADS: [string, boolean][] = [
  ["start (UTC)", false],
  ["duration (s)", true],
  ["proto", false],
  ["source", false],
  ["destination", false],
  ["names", false],
  ["pkts out", true],
  ["pkts in", true],
  ["IP bytes out", true],
  ["IP bytes in", true],
  ["Community ID", false],
  ["VLAN, tunnel", false],
  ["Secflow", false],
];

function flowsTable(flows: Flow[]): string {
  const out = [
    `<div class="tablewrap"><table class="fl"><thead><tr>${
      HEADS.map(([h, n]) => `<th${n ? ' class="n"' : ""} scope="col">${h}</th>`).join("")
    }</tr></thead><tbody>`,
  ];
  for (const f of flows) {
    const names = f.names.map((n) => `${n.name} (${n.source})`).join(", ");
    const carried = [
      f.vlans.length ? `VLAN ${f.vlans.join(".")}` : "",
      tunnelText(f.tunnel),
    ].filter((x) => x !== "").join("; ");
    out.push(
      `<tr><td>${timeOfDay(f.start)}</td><td class="n">${seconds(f.duration / 1e6)}</td><td>${
        escapeHtml(f.transport)
      }</td><td>${escapeHtml(endpoint(f.srcIp, f.srcPort, f.protocol))}</td><td>${
        escapeHtml(endpoint(f.dstIp, f.dstPort, f.protocol))
      }</td><td>${escapeHtml(names)}</td><td class="n">${int(f.srcPackets)}</td><td class="n">${
        int(f.dstPackets)
      }</td><td class="n">${int(f.srcIpBytes)}</td><td class="n">${
        int(f.dstIpBytes)
      }</td><td class="id">${escapeHtml(f.communityId)}</td><td>${escapeHtml(carried)}</td><td>${
        f.secflow ? escapeHtml(`${f.secflow.src} > ${f.secflow.dst}`) : ""
      }</td></tr>`,
    );
  }
  out.push("</tbody></table></div>");
  return out.join("\n");
}

/**
 * The report of `flows` (in the order given, start order from the engine): one self-contained
 * HTML page, its policy in a `<meta>` tag.
 */
export function renderFlowsReport(flows: Flow[], o: FlowsReportOptions): string {
  const tally = new FlowTally();
  const groups = new Map<SampleVerdict, Flow[]>();
  for (const f of flows) {
    tally.add(f);
    let g = groups.get(f.sample);
    if (!g) groups.set(f.sample, g = []);
    g.push(f);
  }
  const t = tally.totals;
  const item = (label: string, value: string) => `<div><dt>${label}</dt><dd>${value}</dd></div>`;
  const date = (us: number | null) =>
    us === null
      ? "-"
      : `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19).replace("T", " ")} UTC`;
  const kept = t.sample.get("kept")?.flows ?? 0;
  const reasons = byFlows(t.sample).filter(([v]) => v !== "kept") as [LeftOutReason, {
    flows: number;
    packets: number;
    ipBytes: number;
  }][];
  const header = `<header><h1>${
    escapeHtml(o.fileName || "capture")
  }: every flow</h1><dl class="summary">${
    [
      item("first packet", date(t.start)),
      item("span", `${seconds(((t.end ?? 0) - (t.start ?? 0)) / 1e6)} s`),
      item("flows", int(t.flows)),
      item("kept by the sample", `${int(kept)} flows, ${int(t.secflows)} Secflows`),
      item("left out", int(t.flows - kept)),
      item("packets", int(t.packets)),
      item("IP bytes", `${formatBytes(t.ipBytes)} (${int(t.ipBytes)})`),
      item("payload bytes", `${formatBytes(t.bytes)} (${int(t.bytes)})`),
      item(
        "transports",
        byFlows(t.transports).map(([k, c]) => `${escapeHtml(k)} ${int(c.flows)}`).join(", "),
      ),
      o.filter
        ? item(
          "filtered",
          `${escapeHtml(o.filter.text)} (${int(t.flows)} of ${int(o.filter.total)})`,
        )
        : "",
    ].join("")
  }</dl></header>`;
  const reasonsTable = reasons.length === 0
    ? `<p class="key">The sample keeps every flow.</p>`
    : `<table><thead><tr><th scope="col">reason</th><th scope="col">why</th><th class="n" scope="col">flows</th><th class="n" scope="col">packets</th><th class="n" scope="col">IP bytes</th></tr></thead><tbody>${
      reasons.map(([r, c]) =>
        `<tr><td><a href="#left-out-${escapeHtml(r)}">${escapeHtml(r)}</a></td><td>${
          escapeHtml(REASON_TEXT[r] ?? "")
        }</td><td class="n">${int(c.flows)}</td><td class="n">${int(c.packets)}</td><td class="n">${
          int(c.ipBytes)
        }</td></tr>`
      ).join("")
    }</tbody></table>`;
  const sections = [
    header,
    `<section id="reasons"><h2>Left out of the sample, by reason</h2>${reasonsTable}</section>`,
  ];
  const keptFlows = groups.get("kept");
  if (keptFlows) {
    sections.push(
      `<section class="group" id="kept"><h2>Kept by the sample: ${
        int(keptFlows.length)
      } flows</h2><p class="key">The flows the platform's converter keeps; the Secflow column is the Secflow each belongs to (before naming).</p>${
        flowsTable(keptFlows)
      }</section>`,
    );
  }
  for (const [r] of reasons) {
    const g = groups.get(r)!;
    sections.push(
      `<section class="group" id="left-out-${escapeHtml(r)}"><h2>Left out: ${escapeHtml(r)}, ${
        int(g.length)
      } flows</h2><p class="key">${escapeHtml(REASON_TEXT[r] ?? "")}</p>${flowsTable(g)}</section>`,
    );
  }
  const title = `${o.fileName || "capture"}: flows report`;
  return reportDocument(title, `<main>${sections.join("\n")}</main>`, {
    metaCsp: true,
    extraCss: FLOWS_CSS,
  }).html;
}
