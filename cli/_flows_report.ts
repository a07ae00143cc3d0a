/**
 * `report --flows`: reads every flow of one capture or Zeek conn.log, keeps those the filters
 * keep (as they are read, so only they are held), and renders the flows report
 * (`report/flows_html.ts`).
 * @module
 */
import { basename } from "node:path";
import { readFlowBatches } from "../io/flows.ts";
import type { Flow } from "../secflow/flows/types.ts";
import { InputError } from "../secflow/errors.ts";
import { printable } from "../secflow/printable.ts";
import { renderFlowsReport } from "../report/flows_html.ts";
import { formatCount } from "./_format.ts";

/**
 * The most flows a report holds: like the Secflow report's limit, what one page a browser still
 * opens can show (a row is about 500 bytes of HTML).
 */
export const REPORT_FLOW_LIMIT = 100_000;

/** The report of `input`'s flows: its HTML (none without flows), flows shown and read. */
export async function flowsReport(
  input: string,
  o: {
    keep?: (f: Flow) => boolean;
    filterText?: string;
    maxFlows?: number;
    onWarning?: (w: string) => void;
    /** At most this many flows (default {@link REPORT_FLOW_LIMIT}). */
    limit?: number;
  },
): Promise<{ html?: string; shown: number; total: number }> {
  const flows: Flow[] = [];
  const limit = o.limit ?? REPORT_FLOW_LIMIT;
  let total = 0;
  // Not streamed: the engine hands flows over in start order, the order of each group's table.
  const batches = readFlowBatches(input, {
    maxFlows: o.maxFlows,
    streaming: false,
    onWarning: o.onWarning,
  });
  for await (const batch of batches) {
    for (const f of batch) {
      total++;
      if (o.keep && !o.keep(f)) continue;
      if (flows.length === limit) {
        throw new InputError(
          `${printable(input)}: more than ${formatCount(limit)} flows${
            o.filterText ? ` match ${o.filterText}` : ""
          }, more than one report page can show; narrow them with --since, --until, --proto, --port or --net (view --flows --ndjson takes any number)`,
          { kind: "too-large", file: input },
        );
      }
      flows.push(f);
    }
  }
  if (flows.length === 0) return { shown: 0, total };
  const html = renderFlowsReport(flows, {
    fileName: basename(input),
    filter: o.filterText === undefined ? undefined : { text: o.filterText, total },
  });
  return { html, shown: flows.length, total };
}
