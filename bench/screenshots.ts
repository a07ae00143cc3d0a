/**
 * The pictures the README and docs/REPORT.md show, made from the demo data (the capture
 * `deno task demo` writes) in headless chromium (`tests/_chromium.ts`), so that they show what a
 * user gets and can be made again after any change to the report or the pages:
 *
 *     deno task screenshots            (writes docs/report.png, docs/report-phone.png,
 *                                       docs/sample-page.png, docs/sample-page-table.png)
 *     deno run --allow-read --allow-write --allow-run --allow-env --allow-net=127.0.0.1 \
 *       bench/screenshots.ts --out DIR
 *
 * - `report.png` (1280x900) and `report-phone.png` (390x844): `networksage report` of the demo
 *   sample, opened from a file.
 * - `sample-page.png` and `sample-page-table.png` (1280x900): `serve` (in this process, on
 *   127.0.0.1 and a free port, data in a temp directory) given the demo capture by the client,
 *   logged in through the form with an admin key, one destination annotated through the form;
 *   the page's top, then its Secflows table.
 *
 * Needs Debian's `chromium` (or `CHROMIUM=/path`); exits 1 saying so without it.
 * @module
 */
import { parseArgs } from "node:util";
import { writeDemoCapture } from "./synthetic.ts";
import { convertFile } from "../io/convert.ts";
import { renderReport } from "../report/html.ts";
import { serve } from "../api/server.ts";
import { NetworkSageClient } from "../api/client.ts";
import { launchChromium, type Page } from "../tests/_chromium.ts";

/** The files written, in order. */
export const SCREENSHOTS = [
  "report.png",
  "report-phone.png",
  "sample-page.png",
  "sample-page-table.png",
] as const;

const ADMIN = "screenshots-admin-key-0001";

/** The destination annotated on the sample page (one of the demo's). */
const ANNOTATED = "www.example.com:443";

async function main(out: string): Promise<number> {
  const browser = await launchChromium();
  if (!browser) return 1;
  const work = await Deno.makeTempDir({ prefix: "ns_screenshots_" });
  const server = await serve({
    dataDir: `${work}/data`,
    apiKeys: [{ key: ADMIN, admin: true }],
    port: 0,
    onLog: () => {},
  });
  try {
    const capture = `${work}/demo.pcap`;
    await writeDemoCapture(capture);
    const { sample } = await convertFile(capture, { fileName: "demo.sf" });
    if (!sample) throw new Error("the demo capture made no Secflows");
    await Deno.writeTextFile(`${work}/report.html`, renderReport(sample));
    const shot = async (page: Page, name: string) => {
      await Deno.writeFile(`${out}/${name}`, await page.screenshot());
      console.log(`wrote ${out}/${name}`);
    };

    const page = await browser.newPage();
    await page.viewport(1280, 900);
    await page.goto(`file://${work}/report.html`);
    await shot(page, "report.png");
    await page.viewport(390, 844, true);
    await page.goto(`file://${work}/report.html`);
    await shot(page, "report-phone.png");

    const client = new NetworkSageClient({
      apiKey: ADMIN,
      apiUrl: server.url,
      useEnv: false,
      maxAttempts: 1,
    });
    await client.upload({ path: capture });
    await server.idle();
    await page.viewport(1280, 900);
    await page.goto(`${server.url}/`);
    await page.evaluate(
      `document.querySelector("input[name=apikey]").value = ${JSON.stringify(ADMIN)}`,
    );
    await page.navigation(() =>
      page.evaluate(`document.querySelector("form[action='/login'] button").click()`)
    );
    await page.navigation(() => page.evaluate(`document.querySelector("#samples a").click()`));
    await page.evaluate(`(() => {
      const f = document.querySelector("#annotate form");
      f.kind.value = "destination"; f.name.value = ${JSON.stringify(ANNOTATED)};
      f.title.value = "Example web server"; f.tags.value = "web"; })()`);
    await page.navigation(() =>
      page.evaluate(`document.querySelector("#annotate button").click()`)
    );
    await page.evaluate(`window.scrollTo(0, 0)`);
    await shot(page, "sample-page.png");
    await page.evaluate(`document.getElementById("table-section").scrollIntoView()`);
    await shot(page, "sample-page-table.png");
    if (page.errors.length) throw new Error(`the pages logged errors: ${page.errors.join("; ")}`);
    return 0;
  } finally {
    await browser.close();
    await server.shutdown();
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const out = values.out ?? new URL("../docs", import.meta.url).pathname;
  Deno.exit(await main(out));
}
