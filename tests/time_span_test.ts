/**
 * One time span for one sample wherever it is shown (`secflow/span.ts`): `stats` (text and
 * `--json`), the report's header and `serve`'s sample page all measure from the start of the
 * Secflow that starts first to the end of the one that ends last. The sample here starts its
 * first Secflow 2 s after its `trafficDate` (the first packet read was filtered), so a span
 * measured from `trafficDate` (what the report and the page showed: 5.0 s) differs from the
 * Secflows' (3.0 s, what `stats` showed).
 */
import assert from "node:assert/strict";
import { NetworkSageClient } from "../api/client.ts";
import { renderReport } from "../report/html.ts";
import { reportModel } from "../report/model.ts";
import { formatSample } from "../secflow/sample.ts";
import type { Flash, Sample } from "../secflow/types.ts";
import { TimeSpan } from "../secflow/span.ts";
import { startServe, tempDir } from "./api_fixtures.ts";
import { cli } from "./zeek_fixtures.ts";
import { flashOf } from "./_flash.ts";

const KEY = "key-span-0123456789";

const flash = (dst: string, relativeStart: number, duration: number): Flash =>
  flashOf({
    src: "192.168.1.20:50100",
    dst,
    destinationNameSource: "original",
    relativeStart,
    duration,
  });

const sample: Sample = {
  hash: "0".repeat(32),
  trafficDate: "1700000000.0",
  fileName: "span.sf",
  flashes: [flash("93.184.216.34:443", 2.0, 1.0), flash("93.184.216.35:443", 2.5, 2.5)],
};

/** The value of the report header's `span` item. */
function headerSpan(html: string): string | undefined {
  return /<dt>span<\/dt><dd>([^<]*)<\/dd>/.exec(html)?.[1];
}

Deno.test("TimeSpan: first start to last end, in any time base, to the microsecond", () => {
  const relative = new TimeSpan(), absolute = new TimeSpan();
  for (const f of sample.flashes) {
    relative.add(f.relativeStart, f.duration);
    absolute.add(1_700_000_000 + f.relativeStart, f.duration);
  }
  assert.deepEqual([relative.start, relative.end, relative.seconds], [2, 5, 3]);
  assert.equal(absolute.seconds, 3);
  assert.equal(new TimeSpan().seconds, 0);
  assert.ok(new TimeSpan().empty);
});

Deno.test("stats, the report and the sample page show one time span for one sample", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/span.sf`;
  await Deno.writeTextFile(path, formatSample(sample));

  const text = await cli(["stats", path]);
  assert.equal(text.code, 0, text.err.join("\n"));
  assert.ok(
    text.out.includes("time span  2023-11-14 22:13:22Z to 2023-11-14 22:13:25Z (3.0 s)"),
    text.out.join("\n"),
  );
  const json = await cli(["stats", path, "--json"]);
  const stats = JSON.parse(json.out.join("\n"));
  assert.equal(stats.start, "2023-11-14T22:13:22.000000Z");
  assert.equal(stats.end, "2023-11-14T22:13:25.000000Z");

  assert.equal(reportModel(sample).summary.span, 3);
  assert.equal(headerSpan(renderReport(sample)), "3.0 s");

  const server = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  try {
    const client = new NetworkSageClient({
      apiKey: KEY,
      apiUrl: server.url,
      useEnv: false,
      maxAttempts: 1,
    });
    await client.upload({ path });
    await server.idle();
    const [{ uuid }] = await client.listUploads();
    const login = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: server.url,
        "sec-fetch-site": "same-origin",
      },
      body: new URLSearchParams({ apikey: KEY }).toString(),
      redirect: "manual",
    });
    await login.body?.cancel();
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    const page = await fetch(`${server.url}/samples/${uuid}`, { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.equal(headerSpan(await page.text()), "3.0 s");
  } finally {
    await server.shutdown();
  }
});
