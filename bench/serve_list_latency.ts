/**
 * How long the upload list takes while finished conversions are being stored (issue 24): serve on
 * 127.0.0.1 with a converter that returns `--secflows` Secflows at once (the storing is what is
 * measured, not converting), `--uploads` uploads, and a list request every 20 ms until every
 * upload is processed. Prints the slowest and the median list answer.
 *
 *     deno run -A bench/serve_list_latency.ts [--uploads 50] [--secflows 5000] [--database URL]
 * @module
 */
import { parseArgs } from "node:util";
import { serve } from "../api/server.ts";
import type { PlatformSecflow } from "../api/types.ts";

const { values } = parseArgs({
  options: {
    uploads: { type: "string", default: "50" },
    secflows: { type: "string", default: "5000" },
    database: { type: "string" },
  },
});
const uploads = Number(values.uploads), perSample = Number(values.secflows);
const key = "bench-key-0123456789";
const root = await Deno.makeTempDir({ prefix: "ns_list_latency_" });

function secflows(seed: number): PlatformSecflow[] {
  return Array.from({ length: perSample }, (_, i) => ({
    sourceData: `10.0.${seed % 250}.${i % 250}:${40000 + (i % 20000)}`,
    destinationData: `host${i % 500}.example.com:443`,
    destinationNameSource: "passive",
    sourcePackets: "5",
    sourceBytes: "100",
    destinationPackets: "4",
    destinationBytes: "500",
    relativeStart: String(i),
    duration: "0.25",
    flowCategory: "local:web",
    flowId: (seed * 1_000_003 + i).toString(16).padStart(32, "0"),
  }));
}

let seed = 0;
const server = await serve({
  dataDir: `${root}/data`,
  apiKeys: [key],
  port: 0,
  database: values.database,
  onLog: (l) => Deno.env.get("BENCH_LOG") && console.error(l),
  conversions: 2,
  convert: () => Promise.resolve({ sample: null, warnings: [], secflows: secflows(seed++) }),
});
const list = async () => {
  const started = performance.now();
  const r = await fetch(`${server.url}/upload/v1.0/uploads/list`, { headers: { apikey: key } });
  const body = await r.json();
  return {
    ms: performance.now() - started,
    entries: body.body as { processed: boolean; processingError?: string }[],
  };
};
const sf = JSON.stringify({ hash: "0".repeat(32), trafficDate: "1700000000.0", flashes: [] });
const times: number[] = [];
// All uploaded first (their conversions finish at once), then the list is asked for while
// the results are stored.
await Promise.all(Array.from({ length: uploads }, async (_, i) => {
  const form = new FormData();
  form.append("file", new Blob([sf]), `s${i}.sf`);
  form.append("type", "secflow");
  const r = await fetch(`${server.url}/upload/v1.0/uploader`, {
    method: "POST",
    headers: { apikey: key },
    body: form,
  });
  await r.body?.cancel();
}));
const until = Date.now() + 300_000;
while (Date.now() < until) {
  const { ms, entries } = await list();
  times.push(ms);
  if (entries.every((e) => e.processed || e.processingError)) break;
  await new Promise((r) => setTimeout(r, 20));
}
await server.idle();
await server.shutdown();
await Deno.remove(root, { recursive: true });
times.sort((a, b) => a - b);
console.log(
  `${uploads} uploads of ${perSample} Secflows: ${times.length} list requests, median ${
    times[times.length >> 1].toFixed(1)
  } ms, slowest ${times.at(-1)!.toFixed(1)} ms`,
);
