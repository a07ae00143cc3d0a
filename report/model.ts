/**
 * What a report shows, computed once from a sample and its optional platform extras: one row per
 * Secflow (numbers as numbers), the destinations with their totals, the categories in order of
 * use, and the header's summary. Rendering ({@link ./html.ts}) only formats this.
 * @module
 */
import type { Flash, Sample } from "../secflow/types.ts";
import { TimeSpan } from "../secflow/span.ts";
import type { Activity, Metadata, PlatformSecflow } from "../api/types.ts";

/** What the platform (or `serve`) knows about one Secflow, beyond the `.sf` flash. */
export interface SecflowExtra {
  /** `flowCategory`: the platform's label, or `serve`'s `local:` one. */
  category?: string;
  /** This destination with this category across the platform. */
  flowId?: string;
  /** Samples holding this flowId (endpoint 6). */
  count?: number;
  /** The Event the Secflow is part of, if any. */
  eventId?: string;
}

/** Annotations by name: Destinations by `name:port`, Behaviors by flowId, Events by eventId. */
export interface Annotations {
  /** Destination metadata by `name:port`. */
  destination: Map<string, Metadata>;
  /** Behavior metadata by flowId. */
  behavior: Map<string, Metadata>;
  /** Event metadata by eventId. */
  event: Map<string, Metadata>;
}

/** Optional extras of a report; `secflows[i]` goes with `sample.flashes[i]`. */
export interface ReportExtras {
  /** Per flash, in the sample's order. */
  secflows?: SecflowExtra[];
  /** Metadata shown inline and in the annotations section. */
  annotations?: Annotations;
  /** The filters that chose the sample's Secflows, and how many there were before them. */
  filter?: ReportFilter;
}

/** How a report's Secflows were chosen (`report --port 443`): shown in its header. */
export interface ReportFilter {
  /** The filters as given (`--port 443 --net 10.0.0.0/8`). */
  text: string;
  /** Secflows before filtering. */
  total: number;
}

/** One table row / timeline bar. */
export interface ReportRow {
  /** The flash's index in the sample. */
  index: number;
  /** The Secflow. */
  flash: Flash;
  /** What the platform adds to it (`{}` when nothing). */
  extra: SecflowExtra;
}

/** One destination: its Secflows' indexes and totals. */
export interface DestinationTotals {
  /** `name:port` (or `name` for ICMP), as the flashes' `dst`. */
  name: string;
  /** Indexes of its Secflows in {@link ReportModel.rows}. */
  rows: number[];
  /** Payload bytes both ways. */
  bytes: number;
  /** Payload bytes sent by the sources. */
  srcBytes: number;
  /** Payload bytes sent by the destination. */
  dstBytes: number;
  /** Packets both ways. */
  packets: number;
  /** The earliest `relativeStart` of its Secflows. */
  firstStart: number;
}

/** The header's numbers. */
export interface Summary {
  /** Number of Secflows. */
  secflows: number;
  /** Distinct destinations (`dst`). */
  destinations: number;
  /** Distinct source addresses. */
  sources: number;
  /** Packets both ways, all Secflows. */
  packets: number;
  /** Payload bytes both ways, all Secflows. */
  bytes: number;
  /**
   * The time span in seconds, as `stats` has it (`secflow/span.ts`): from the start of the
   * Secflow that starts first to the end of the one that ends last.
   */
  span: number;
  /** Where the timeline's axis ends: seconds from `trafficDate` to the end of the last Secflow. */
  axisEnd: number;
  /** Secflows whose destination has a name (`passive`, `cache` or `session`). */
  named: number;
  /** Secflows per `destinationNameSource`. */
  nameSources: Map<string, number>;
  /** The start as an ISO time (UTC), or null when `trafficDate` is not a number. */
  start: string | null;
}

/** Everything the renderer needs. */
export interface ReportModel {
  /** The sample's `fileName`. */
  fileName: string;
  /** The sample's `trafficDate` as written. */
  trafficDate: string;
  /** One per flash, in the sample's order. */
  rows: ReportRow[];
  /** In order of first appearance. */
  destinations: DestinationTotals[];
  /** Categories by number of Secflows, most used first (empty when none is known). */
  categories: string[];
  /** The header's numbers. */
  summary: Summary;
  /** Metadata to show, when the extras had any. */
  annotations?: Annotations;
  /** True when any row has a category (the table gets the platform's columns). */
  hasCategory: boolean;
  /** True when any row has a count (the table gets the platform's columns). */
  hasCount: boolean;
  /** The filters that chose the rows, when any. */
  filter?: ReportFilter;
}

/**
 * Builds the model of a report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reportModel } from "./model.ts";
 * const m = reportModel({
 *   hash: "0".repeat(32), trafficDate: "1700000000.0", fileName: "a.sf",
 *   flashes: [{ src: "10.0.0.1:50000", dst: "example.com:443", destinationNameSource: "passive",
 *     srcPkts: 3, srcBytes: 100, dstPkts: 2, dstBytes: 500, relativeStart: 0,
 *     protocolInformation: "", duration: 0.5 }],
 * });
 * assert.equal(m.summary.destinations, 1);
 * assert.equal(m.summary.named, 1);
 * ```
 */
export function reportModel(sample: Sample, extras: ReportExtras = {}): ReportModel {
  const rows: ReportRow[] = sample.flashes.map((flash, index) => ({
    index,
    flash,
    extra: extras.secflows?.[index] ?? {},
  }));
  const byName = new Map<string, DestinationTotals>();
  const sources = new Set<string>();
  const nameSources = new Map<string, number>();
  const categoryUse = new Map<string, number>();
  let packets = 0, bytes = 0, axisEnd = 0, named = 0;
  const span = new TimeSpan();
  let hasCategory = false, hasCount = false;
  for (const { index, flash: f, extra } of rows) {
    let d = byName.get(f.dst);
    if (!d) {
      d = {
        name: f.dst,
        rows: [],
        bytes: 0,
        srcBytes: 0,
        dstBytes: 0,
        packets: 0,
        firstStart: f.relativeStart,
      };
      byName.set(f.dst, d);
    }
    d.rows.push(index);
    d.srcBytes += f.srcBytes;
    d.dstBytes += f.dstBytes;
    d.bytes += f.srcBytes + f.dstBytes;
    d.packets += f.srcPkts + f.dstPkts;
    d.firstStart = Math.min(d.firstStart, f.relativeStart);
    sources.add(hostOf(f.src));
    packets += f.srcPkts + f.dstPkts;
    bytes += f.srcBytes + f.dstBytes;
    axisEnd = Math.max(axisEnd, f.relativeStart + f.duration);
    span.add(f.relativeStart, f.duration);
    nameSources.set(f.destinationNameSource, (nameSources.get(f.destinationNameSource) ?? 0) + 1);
    if (f.destinationNameSource !== "original") named++;
    if (extra.category !== undefined) {
      hasCategory = true;
      categoryUse.set(extra.category, (categoryUse.get(extra.category) ?? 0) + 1);
    }
    if (extra.count !== undefined) hasCount = true;
  }
  const categories = [...categoryUse].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([c]) => c);
  const seconds = Number(sample.trafficDate);
  // Any float is a valid trafficDate; JavaScript dates end at ±8.64e15 ms.
  const start = sample.trafficDate !== "" && Math.abs(seconds) < 8.64e12
    ? new Date(seconds * 1000).toISOString()
    : null;
  return {
    fileName: sample.fileName,
    trafficDate: sample.trafficDate,
    rows,
    destinations: [...byName.values()],
    categories,
    summary: {
      secflows: rows.length,
      destinations: byName.size,
      sources: sources.size,
      packets,
      bytes,
      span: span.seconds,
      axisEnd,
      named,
      nameSources,
      start,
    },
    annotations: extras.annotations,
    hasCategory,
    hasCount,
    filter: extras.filter,
  };
}

/** The address part of `ip:port` (or `ip` for ICMP). */
function hostOf(endpoint: string): string {
  const at = endpoint.lastIndexOf(":");
  return at < 0 ? endpoint : endpoint.slice(0, at);
}

/** A number from a platform field (every field there is a string); 0 when it is not one. */
function num(text: unknown): number {
  const n = typeof text === "number" ? text : Number(text);
  return Number.isFinite(n) ? n : 0;
}

/**
 * A platform Secflow (endpoint 4, or `serve`'s store) as a `.sf` flash plus its extras. The
 * platform's Secflow has no protocol field: a destination without a port is ICMP.
 */
export function fromPlatformSecflow(s: PlatformSecflow): { flash: Flash; extra: SecflowExtra } {
  const dst = String(s.destinationData ?? "");
  const flash: Flash = {
    src: String(s.sourceData ?? ""),
    dst,
    destinationNameSource: String(s.destinationNameSource ?? "") as Flash["destinationNameSource"],
    srcPkts: num(s.sourcePackets),
    srcBytes: num(s.sourceBytes),
    dstPkts: num(s.destinationPackets),
    dstBytes: num(s.destinationBytes),
    relativeStart: num(s.relativeStart),
    protocolInformation: /:\d+$/.test(dst) ? "" : "ICMP",
    duration: num(s.duration),
  };
  const extra: SecflowExtra = {};
  if (typeof s.flowCategory === "string" && s.flowCategory !== "") extra.category = s.flowCategory;
  if (typeof s.flowId === "string" && s.flowId !== "") extra.flowId = s.flowId;
  if (typeof s.eventId === "string" && s.eventId !== "") extra.eventId = s.eventId;
  return { flash, extra };
}

/** A metadata object worth showing (a non-empty object). */
function present(m: Metadata | undefined): m is Metadata {
  return !!m && typeof m === "object" && Object.keys(m).length > 0;
}

/**
 * A platform sample (metadata of endpoint 3 and the activities of the aggregated helper) as a
 * sample plus report extras: categories, flowIds, counts and the non-empty annotations.
 */
export function fromActivities(
  meta: { fileName?: unknown; trafficDate?: unknown; hash?: unknown },
  activities: Activity[],
): { sample: Sample; extras: ReportExtras } {
  const annotations: Annotations = {
    destination: new Map(),
    behavior: new Map(),
    event: new Map(),
  };
  const flashes: Flash[] = [];
  const secflows: SecflowExtra[] = [];
  for (const a of activities) {
    const { flash, extra } = fromPlatformSecflow(a.secflow);
    if (typeof a.flowIdCount === "number") extra.count = a.flowIdCount;
    flashes.push(flash);
    secflows.push(extra);
    if (present(a.destination)) annotations.destination.set(flash.dst, a.destination);
    if (extra.flowId && present(a.behavior)) annotations.behavior.set(extra.flowId, a.behavior);
    if (extra.eventId && present(a.event)) annotations.event.set(extra.eventId, a.event);
  }
  return {
    sample: {
      hash: String(meta.hash ?? ""),
      trafficDate: String(meta.trafficDate ?? ""),
      fileName: String(meta.fileName ?? ""),
      flashes,
    },
    extras: { secflows, annotations },
  };
}
