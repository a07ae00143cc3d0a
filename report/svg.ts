/**
 * The report's two charts as inline SVG strings, drawn by us (no chart library): the timeline
 * (one bar per Secflow, a row per destination) and the top destinations by payload bytes (one
 * bar per destination). Colours are CSS classes (`c0`..`c9`, `cx` for the rest), so the charts
 * carry no `style` attributes and the page's Content-Security-Policy stays strict. Hovering a bar
 * shows its numbers through the SVG `<title>` tooltip, which needs no script.
 * @module
 */
import { escapeHtml } from "./escape.ts";
import type { ReportModel } from "./model.ts";
import { formatBytes } from "../cli/_progress.ts";
import { plural } from "../cli/_format.ts";

/** Distinct colours for the most used categories; the rest share `cx`. */
export const PALETTE_SIZE = 10;

const WIDTH = 1000;
const LABEL = 230;
const ROW = 14;
const AXIS = 22;

/** The colour class of a category (`c0` for the most used; `cx` past the palette or unknown). */
export function colourClass(model: ReportModel, category: string | undefined): string {
  if (category === undefined) return "c0";
  const i = model.categories.indexOf(category);
  return i >= 0 && i < PALETTE_SIZE ? `c${i}` : "cx";
}

/** A label cut to `max` characters (the full text stays in the tooltip). */
function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Seconds with up to 6 decimals and no trailing zeros. */
export function seconds(s: number): string {
  return `${Number(s.toFixed(6))}`;
}

/** Axis ticks: about six round steps over `span` seconds. */
function ticks(span: number): number[] {
  if (span <= 0) return [0];
  const raw = span / 6;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = 0; t <= span + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/**
 * The timeline: a row per destination (in order of first start), in it a bar per Secflow from
 * its start for its duration (at least 1 unit wide, so instant Secflows stay visible).
 */
export function timelineSvg(model: ReportModel): string {
  const { destinations, rows, summary } = model;
  const span = summary.axisEnd > 0 ? summary.axisEnd : 1;
  const plot = WIDTH - LABEL - 10;
  const ordered = [...destinations].sort((a, b) => a.firstStart - b.firstStart);
  const height = AXIS + ordered.length * ROW + 4;
  const out: string[] = [];
  out.push(
    `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="Timeline of ${
      plural(rows.length, "Secflow")
    } over ${plural(ordered.length, "destination")}">`,
  );
  out.push(`<g class="axis">`);
  for (const t of ticks(summary.axisEnd)) {
    const x = (LABEL + (t / span) * plot).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${AXIS - 4}" x2="${x}" y2="${height}"/><text x="${x}" y="${
        AXIS - 8
      }" text-anchor="middle">${seconds(t)} s</text>`,
    );
  }
  out.push(`</g>`);
  ordered.forEach((d, r) => {
    const y = AXIS + r * ROW;
    const name = escapeHtml(d.name);
    out.push(
      `<g class="lane"><text class="label" x="${LABEL - 6}" y="${y + ROW - 3}" text-anchor="end">${
        escapeHtml(cut(d.name, 34))
      }<title>${name}</title></text>`,
    );
    for (const i of d.rows) {
      const { flash: f, extra } = rows[i];
      const x = LABEL + (f.relativeStart / span) * plot;
      const w = Math.max(1, (f.duration / span) * plot);
      const tip = `${name}\n${escapeHtml(f.src)} · start ${seconds(f.relativeStart)} s · ${
        seconds(f.duration)
      } s\npackets ${f.srcPkts} out / ${f.dstPkts} in · bytes ${f.srcBytes} out / ${f.dstBytes} in${
        extra.category !== undefined ? `\n${escapeHtml(extra.category)}` : ""
      }`;
      out.push(
        `<rect class="bar ${colourClass(model, extra.category)}" x="${x.toFixed(2)}" y="${
          y + 2
        }" width="${w.toFixed(2)}" height="${ROW - 4}"><title>${tip}</title></rect>`,
      );
    }
    out.push(`</g>`);
  });
  out.push(`</svg>`);
  return out.join("");
}

/** The number of destinations {@link topDestinationsSvg} draws. */
export const TOP_DESTINATIONS = 20;

/** Top destinations by payload bytes (both directions): a bar each, sent and received stacked. */
export function topDestinationsSvg(model: ReportModel, limit = TOP_DESTINATIONS): string {
  const top = [...model.destinations].sort((a, b) =>
    b.bytes - a.bytes || b.packets - a.packets || (a.name < b.name ? -1 : 1)
  ).slice(0, limit);
  const max = Math.max(1, ...top.map((d) => d.bytes));
  const row = 20;
  const valueWidth = 90;
  const plot = WIDTH - LABEL - valueWidth;
  const height = top.length * row + 4;
  const out: string[] = [
    `<svg class="top" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="Top ${top.length} destinations by payload bytes">`,
  ];
  top.forEach((d, i) => {
    const y = i * row;
    const name = escapeHtml(d.name);
    const sent = (d.srcBytes / max) * plot;
    const received = (d.dstBytes / max) * plot;
    const tip = `${name}\n${d.bytes} bytes: ${d.srcBytes} sent, ${d.dstBytes} received · ${
      plural(d.rows.length, "Secflow")
    } · ${plural(d.packets, "packet")}`;
    out.push(
      `<g class="dest"><title>${tip}</title><text class="label" x="${LABEL - 6}" y="${
        y + 14
      }" text-anchor="end">${escapeHtml(cut(d.name, 34))}</text>` +
        `<rect class="sent" x="${LABEL}" y="${y + 3}" width="${
          Math.max(d.bytes > 0 ? 1 : 0, sent).toFixed(2)
        }" height="${row - 6}"/>` +
        `<rect class="received" x="${(LABEL + sent).toFixed(2)}" y="${y + 3}" width="${
          received.toFixed(2)
        }" height="${row - 6}"/>` +
        `<text class="value" x="${(LABEL + sent + received + 6).toFixed(2)}" y="${y + 14}">${
          formatBytes(d.bytes)
        }</text></g>`,
    );
  });
  out.push(`</svg>`);
  return out.join("");
}
