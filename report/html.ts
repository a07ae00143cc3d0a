/**
 * The standalone HTML report of a sample: a header (file name, traffic date, span, totals, naming
 * coverage), a timeline, the top destinations by bytes, and the Secflows table, sortable and
 * filterable in the page (a plain table without script). Pure: a sample (plus optional platform
 * extras) in, one self-contained HTML string out; no I/O, no network access when opened.
 *
 * Safety: every string from traffic, a file or an annotation is escaped ({@link escapeHtml});
 * CSS and script are inline and allowed by their SHA-256 hashes in a Content-Security-Policy
 * (`default-src 'none'`), so no inline event handler or injected script could run even if a
 * name slipped through.
 * @module
 */
import { createHash } from "node:crypto";
import type { Sample } from "../secflow/types.ts";
import { escapeHtml } from "./escape.ts";
import { type ReportExtras, type ReportModel, reportModel } from "./model.ts";
import { colourClass, PALETTE_SIZE, timelineSvg, topDestinationsSvg } from "./svg.ts";
import { CLIENT_SCRIPT } from "./_client.ts";
import { formatBytes } from "../fmt/bytes.ts";
import { formatCount } from "../fmt/count.ts";
import { formatDuration } from "../fmt/duration.ts";
import type { Metadata } from "../api/types.ts";

/** Widest text of a start or duration cell the table has a column width for, in characters. */
const MAX_NUMBER_CHARS = 16;

/**
 * Widths of the start and duration columns by the widest text in them (`ws9`: 9 characters), as
 * classes: each row is a grid of its own, so the columns line up only with widths fixed up front,
 * and a value wider than its column ran into the next one (`35.7337491.362104`). Classes, not a
 * style attribute, because the pages' CSP allows no inline style.
 */
const NUMBER_WIDTHS = Array.from({ length: MAX_NUMBER_CHARS - 3 }, (_, i) => i + 4)
  .map((n) =>
    `table.flows.ws${n}{--ws:calc(${n}ch + 12px)}table.flows.wd${n}{--wd:calc(${n}ch + 12px)}`
  )
  .join("\n");

/**
 * The report's stylesheet (also used by `serve`'s pages). The Secflows table's rows are grid rows
 * with `content-visibility: auto`: the browser lays out and paints only the rows on screen, so a
 * table of 7,712 rows opens about twice and sorts about five times faster than with table layout.
 * Elements hidden with the `hidden` attribute get an explicit `display: none`, since any author
 * `display` would override it.
 */
export const REPORT_CSS: string = `
:root{color-scheme:light;--fg:#1d2430;--muted:#5b6473;--line:#d9dee7;--bg:#fff;--head:#f3f5f8}
*{box-sizing:border-box}
body{margin:0;padding:16px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.35rem;margin:0 0 8px;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:24px 0 8px}
.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:6px 18px;margin:0}
.summary div{border-left:3px solid var(--line);padding-left:8px}
.summary dt{color:var(--muted);font-size:.8rem}
.summary dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.chart{overflow:auto;max-height:70vh;border:1px solid var(--line);border-radius:4px}
.chart svg{display:block;min-width:800px;width:100%;height:auto}
.chart svg{font-size:11px}
svg text{fill:var(--fg)}
.axis line{stroke:#e6e9ef}
.axis text{fill:var(--muted)}
.bar{fill-opacity:.75}
.bar:hover,.dest:hover rect{stroke:#000;stroke-width:1;fill-opacity:1}
.sent{fill:#4e79a7}.received{fill:#a0cbe8}
.c0{fill:#4e79a7;background:#4e79a7}.c1{fill:#f28e2b;background:#f28e2b}.c2{fill:#59a14f;background:#59a14f}
.c3{fill:#e15759;background:#e15759}.c4{fill:#76b7b2;background:#76b7b2}.c5{fill:#edc948;background:#edc948}
.c6{fill:#b07aa1;background:#b07aa1}.c7{fill:#ff9da7;background:#ff9da7}.c8{fill:#9c755f;background:#9c755f}
.c9{fill:#bab0ac;background:#bab0ac}.cx{fill:#6b6b6b;background:#6b6b6b}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:6px 0;padding:0;list-style:none;font-size:.85rem}
.sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:4px;vertical-align:-1px}
.key{font-size:.85rem;color:var(--muted);margin:4px 0}
.key .sw.sent{background:#4e79a7}.key .sw.received{background:#a0cbe8}
#filterbar{margin:6px 0;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
#filterbar[hidden]{display:none}
#filter{font:inherit;padding:4px 8px;min-width:16em;border:1px solid var(--line);border-radius:4px}
.tablewrap{overflow:auto;max-height:85vh;border:1px solid var(--line);border-radius:4px}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.flows td,td.dst{overflow-wrap:anywhere}
th{background:var(--head);vertical-align:bottom;overflow-wrap:normal}
th.sortable{cursor:pointer}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.n{white-space:nowrap}
td.id{font-size:.7rem}
table.flows,table.flows thead,table.flows tbody{display:block}
table.flows thead{position:sticky;top:0;z-index:1}
table.flows{min-width:70em}
table.flows.wide{min-width:88em}
table.flows{--ws:calc(8ch + 12px);--wd:calc(8ch + 12px);--ep:calc(21ch + 12px)}
table.flows tr{display:grid;grid-template-columns:var(--ws) var(--wd) var(--ep) minmax(var(--ep),1fr) 5em 4.5em 4.5em 6em 6em;border-bottom:1px solid var(--line)}
table.flows.wide tr{grid-template-columns:var(--ws) var(--wd) var(--ep) minmax(var(--ep),1fr) 5em 4.5em 4.5em 6em 6em 10.5em 5.5em 8.5em}
table.flows td.src{white-space:nowrap}
.port{white-space:nowrap}
${NUMBER_WIDTHS}
table.flows th,table.flows td{border-bottom:0}
table.flows tbody tr{content-visibility:auto;contain-intrinsic-size:auto 1.7em}
table.flows tr[hidden]{display:none}
.note{color:var(--muted);font-size:.8rem}
.annotations dt{font-weight:600;overflow-wrap:anywhere}
.annotations dd{margin:0 0 8px 12px}
@media (max-width:600px){body{padding:8px;font-size:13px}.summary{grid-template-columns:1fr 1fr}}
@media print{body{padding:0;font-size:9pt}.chart,.tablewrap{overflow:visible;max-height:none;border:0}.chart svg{min-width:0}table.flows,table.flows.wide{min-width:0}
#filterbar{display:none}tr{break-inside:avoid}table.flows tbody tr{content-visibility:visible}a{color:inherit;text-decoration:none}}
`.trim();

/** A CSP source for an inline `<script>` or `<style>`: `'sha256-<base64>'` of its exact text. */
export function cspHash(text: string): string {
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

/** The policy of a page whose only style and script are the given inline texts. */
export function contentSecurityPolicy(styles: string[], scripts: string[], forms = false): string {
  return [
    "default-src 'none'",
    `style-src ${styles.map(cspHash).join(" ") || "'none'"}`,
    `script-src ${scripts.map(cspHash).join(" ") || "'none'"}`,
    "img-src data:",
    "base-uri 'none'",
    `form-action ${forms ? "'self'" : "'none'"}`,
  ].join("; ");
}

const int = formatCount;

function percent(part: number, whole: number): string {
  return whole === 0 ? "-" : `${((part / whole) * 100).toFixed(1)}%`;
}

/** The time span as `stats` writes it (the span itself is `secflow/span.ts`'s). */
function spanText(s: number): string {
  return formatDuration(s);
}

/**
 * A start or duration in the Secflows table: seconds with milliseconds, which tell flows apart
 * (the `.sf` keeps microseconds; whole seconds did not).
 */
function millis(s: number): string {
  return s.toFixed(3);
}

/**
 * An endpoint (`address:port` or a name with a port) whose port stays on its line: a narrow
 * column breaks before the colon, never inside the port (`141.142.220.118:35` / `634`).
 */
function endpointHtml(text: string): string {
  const m = /^(.*?)(:\d{1,5})$/.exec(text);
  return m ? `${escapeHtml(m[1])}<span class="port">${m[2]}</span>` : escapeHtml(text);
}

function header(model: ReportModel): string {
  const s = model.summary;
  const sources = [...s.nameSources].sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${escapeHtml(k)} ${int(v)}`).join(", ");
  const item = (label: string, value: string) => `<div><dt>${label}</dt><dd>${value}</dd></div>`;
  const date = s.start
    ? `${s.start.replace("T", " ").replace(/\.000Z$|Z$/, "")} UTC`
    : escapeHtml(model.trafficDate || "unknown");
  return `<header><h1>${escapeHtml(model.fileName || "Secflow sample")}</h1><dl class="summary">${
    [
      item("traffic date", date),
      item("span", spanText(s.span)),
      item("Secflows", int(s.secflows)),
      item("destinations", int(s.destinations)),
      item("sources", int(s.sources)),
      item("packets", int(s.packets)),
      item("payload bytes", `${formatBytes(s.bytes)} (${int(s.bytes)})`),
      item(
        "named destinations",
        `${int(s.named)} of ${int(s.secflows)} (${percent(s.named, s.secflows)})`,
      ),
      item("name sources", sources || "-"),
      model.filter
        ? item(
          "filtered",
          `${escapeHtml(model.filter.text)} (${int(s.secflows)} of ${int(model.filter.total)})`,
        )
        : "",
    ].join("")
  }</dl></header>`;
}

function legend(model: ReportModel): string {
  if (model.categories.length === 0) return "";
  const shown = model.categories.slice(0, PALETTE_SIZE);
  const rest = model.categories.length - shown.length;
  return `<ul class="legend">${
    shown.map((c) => `<li><span class="sw ${colourClass(model, c)}"></span>${escapeHtml(c)}</li>`)
      .join("")
  }${rest > 0 ? `<li><span class="sw cx"></span>${rest} more categories</li>` : ""}</ul>`;
}

function titleOf(m: Metadata | undefined): string | undefined {
  if (!m) return undefined;
  if (typeof m.title === "string" && m.title !== "") return m.title;
  return Object.keys(m).length ? JSON.stringify(m).slice(0, 200) : undefined;
}

function note(text: string | undefined): string {
  return text === undefined ? "" : `<div class="note">${escapeHtml(text)}</div>`;
}

function secflowsTable(model: ReportModel): string {
  const a = model.annotations;
  // With platform extras, three more columns; the grid templates in REPORT_CSS match these.
  const wide = model.hasCategory || model.hasCount;
  const heads: [string, boolean][] = [
    ["start (s)", true],
    ["duration (s)", true],
    ["source", false],
    ["destination", false],
    ["named", false],
    ["pkts out", true],
    ["pkts in", true],
    ["bytes out", true],
    ["bytes in", true],
  ];
  if (wide) heads.push(["category", false], ["in samples", true], ["flowId", false]);
  // At least the headers' widths ("start", "duration" in bold).
  let ws = 6, wd = 9;
  for (const { flash: f } of model.rows) {
    ws = Math.max(ws, millis(f.relativeStart).length);
    wd = Math.max(wd, millis(f.duration).length);
  }
  const widths = ` ws${Math.min(ws, MAX_NUMBER_CHARS)} wd${Math.min(wd, MAX_NUMBER_CHARS)}`;
  const out: string[] = [
    `<div id="filterbar" hidden><label>Filter <input id="filter" type="search" placeholder="name, address, category…" autocomplete="off"></label><span id="shown">${
      int(model.rows.length)
    } of ${int(model.rows.length)} shown</span></div>`,
    `<div class="tablewrap"><table id="secflows" class="flows${
      wide ? " wide" : ""
    }${widths}"><thead><tr>${
      heads.map(([h, n]) =>
        `<th${n ? ' class="n" data-type="num"' : ""}${
          h === "in samples" ? ' title="samples holding this flowId"' : ""
        } scope="col">${h}</th>`
      ).join("")
    }</tr></thead><tbody>`,
  ];
  for (const { flash: f, extra } of model.rows) {
    let row = `<tr><td class="n">${millis(f.relativeStart)}</td><td class="n">${
      millis(f.duration)
    }</td><td class="src">${endpointHtml(f.src)}</td><td>${endpointHtml(f.dst)}${
      note(titleOf(a?.destination.get(f.dst)))
    }</td><td>${escapeHtml(f.destinationNameSource)}</td><td class="n">${
      int(f.srcPkts)
    }</td><td class="n">${int(f.dstPkts)}</td><td class="n">${int(f.srcBytes)}</td><td class="n">${
      int(f.dstBytes)
    }</td>`;
    if (wide) {
      const event = extra.eventId ? titleOf(a?.event.get(extra.eventId)) : undefined;
      row += `<td><span class="sw ${colourClass(model, extra.category)}"></span>${
        escapeHtml(extra.category ?? "")
      }${
        note(extra.flowId ? titleOf(a?.behavior.get(extra.flowId)) : undefined)
      }</td><td class="n">${extra.count === undefined ? "" : int(extra.count)}</td><td class="id">${
        escapeHtml(extra.flowId ?? "")
      }${extra.eventId ? note(`event ${extra.eventId}${event ? `: ${event}` : ""}`) : ""}</td>`;
    }
    out.push(row + "</tr>");
  }
  out.push(`</tbody></table></div>`);
  return out.join("\n");
}

function metadataList(m: Metadata): string {
  return Object.entries(m).map(([k, v]) =>
    `<div><b>${escapeHtml(k)}</b>: ${
      escapeHtml(typeof v === "string" ? v : JSON.stringify(v) ?? String(v))
    }</div>`
  ).join("");
}

function annotationsSection(model: ReportModel): string {
  const a = model.annotations;
  if (!a) return "";
  const groups: [string, Map<string, Metadata>][] = [
    ["Destinations", a.destination],
    ["Behaviors", a.behavior],
    ["Events", a.event],
  ];
  const parts = groups.filter(([, m]) => m.size > 0).map(([label, m]) =>
    `<h3>${label}</h3><dl class="annotations">${
      [...m].map(([name, meta]) => `<dt>${escapeHtml(name)}</dt><dd>${metadataList(meta)}</dd>`)
        .join("")
    }</dl>`
  );
  return `<section id="annotations"><h2>Annotations</h2>${
    parts.length
      ? parts.join("")
      : "<p>None of this sample's Destinations, Behaviors or Events is annotated.</p>"
  }</section>`;
}

/**
 * The report's sections (header, charts, table, annotations when given) as an HTML fragment,
 * for a page that brings its own document ({@link reportDocument}) and chrome.
 */
export function reportSections(model: ReportModel): string {
  const tops = Math.min(20, model.destinations.length);
  return [
    header(model),
    `<section id="timeline-section"><h2>Timeline</h2><p class="key">Each bar is a Secflow, from its start for its duration (instant ones are drawn 1 unit wide), in a row per destination${
      model.hasCategory ? ", coloured by category" : ""
    }. Hover a bar for its numbers.</p>${legend(model)}<div class="chart">${
      timelineSvg(model)
    }</div></section>`,
    `<section id="top-section"><h2>Top ${tops} destinations by payload bytes</h2><p class="key"><span class="sw sent"></span>sent <span class="sw received"></span>received</p><div class="chart">${
      topDestinationsSvg(model)
    }</div></section>`,
    `<section id="table-section"><h2>Secflows</h2>${secflowsTable(model)}</section>`,
    annotationsSection(model),
  ].join("\n");
}

/** A complete document around `body`; its CSP allows exactly its inline style and script. */
export function reportDocument(
  title: string,
  body: string,
  options: { extraCss?: string; metaCsp?: boolean; head?: string } = {},
): { html: string; csp: string } {
  const css = options.extraCss ? `${REPORT_CSS}\n${options.extraCss}` : REPORT_CSS;
  const csp = contentSecurityPolicy([css], [CLIENT_SCRIPT], !options.metaCsp);
  const meta = options.metaCsp
    ? `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">\n`
    : "";
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
${meta}<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
${options.head ?? ""}<style>${css}</style>
</head>
<body>
${body}
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
  return { html, csp };
}

/**
 * The standalone report of a sample: one self-contained HTML file, its policy in a `<meta>` tag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderReport } from "./html.ts";
 * const html = renderReport({
 *   hash: "0".repeat(32), trafficDate: "1700000000.0", fileName: "a.sf",
 *   flashes: [{ src: "10.0.0.1:50000", dst: "x<b>.example:443", destinationNameSource: "passive",
 *     srcPkts: 3, srcBytes: 100, dstPkts: 2, dstBytes: 500, relativeStart: 0,
 *     protocolInformation: "", duration: 0.5 }],
 * });
 * assert.ok(html.includes("x&lt;b&gt;.example:443")); // names are escaped
 * assert.ok(!html.includes("x<b>"));
 * ```
 */
export function renderReport(sample: Sample, extras: ReportExtras = {}): string {
  const model = reportModel(sample, extras);
  const title = `${model.fileName || "Secflow sample"}: Secflows report`;
  return reportDocument(title, `<main>${reportSections(model)}</main>`, { metaCsp: true }).html;
}
