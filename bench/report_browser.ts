/**
 * The report benchmark (issue 14, acceptance 3): how long the HTML report of a large sample takes
 * to open and to sort in a real browser (headless Debian chromium over DevTools).
 *
 *     deno run -A bench/report_browser.ts [--capture FILE.pcap] [--packets 300000] [--rounds 5]
 *
 * Without --capture, the capture comes from ../shared/bench/gen-pcap.py (300k packets give 7,712
 * Secflows). Measured per round, in a fresh tab: render (Deno, ms), open (navigation until the
 * load event and the next painted frame), sort (a click on "bytes out", then on it again to
 * reverse) and filter (typing "svc1"), each until the next painted frame. Prints each round and
 * the medians.
 * @module
 */
import { parseArgs } from "node:util";
import { convertFile } from "../io/convert.ts";
import { renderReport } from "../report/html.ts";
import { launchChromium } from "../tests/_chromium.ts";

const { values } = parseArgs({
  options: {
    capture: { type: "string" },
    packets: { type: "string", default: "300000" },
    rounds: { type: "string", default: "5" },
  },
});
const root = new URL("../", import.meta.url).pathname;
const out = `${root}bench/out`;
Deno.mkdirSync(out, { recursive: true });

let capture = values.capture;
if (!capture) {
  capture = `${out}/bench-${values.packets}.pcap`;
  try {
    Deno.statSync(capture);
  } catch {
    const gen = `${root}../shared/bench/gen-pcap.py`;
    const r = await new Deno.Command("python3", {
      args: [gen, capture, "--packets", values.packets!],
      stdout: "null",
    }).output();
    if (!r.success) {
      console.error(`cannot generate the capture with ${gen}; pass --capture FILE`);
      Deno.exit(1);
    }
  }
}

const { sample } = await convertFile(capture);
if (!sample) throw new Error(`${capture}: no Secflows`);
const t0 = performance.now();
const html = renderReport(sample);
const renderMs = performance.now() - t0;
const file = `${out}/report-${sample.flashes.length}.html`;
await Deno.writeTextFile(file, html);
console.log(
  `${capture}: ${sample.flashes.length} Secflows; report ${(html.length / 1e6).toFixed(1)} MB, ` +
    `rendered in ${renderMs.toFixed(0)} ms`,
);

const browser = await launchChromium();
if (!browser) Deno.exit(1);
const frame = `new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))`;
// A click on a header, timed in the page until the frame after it is painted.
const sortOnce = (column: number) =>
  `(async () => { const t = performance.now();
    document.querySelectorAll("#secflows th")[${column}].click();
    await ${frame}; return performance.now() - t; })()`;
// Typing into the filter, timed the same way.
const filterOnce = (text: string) =>
  `(async () => { const t = performance.now(); const f = document.getElementById("filter");
    f.value = ${JSON.stringify(text)}; f.dispatchEvent(new Event("input"));
    await ${frame}; return performance.now() - t; })()`;
const rows: { open: number; sort: number; reverse: number; filter: number }[] = [];
try {
  // One warm-up tab: the first navigation of a fresh browser also pays for its own start.
  const warm = await browser.newPage();
  await warm.goto("about:blank");
  await warm.close();
  for (let i = 0; i < Number(values.rounds); i++) {
    const page = await browser.newPage();
    await page.viewport(1280, 900);
    const start = performance.now();
    await page.goto(`file://${file}`);
    await page.evaluate(frame);
    const open = performance.now() - start;
    const sort = await page.evaluate<number>(sortOnce(7));
    const reverse = await page.evaluate<number>(sortOnce(7));
    const first = await page.evaluate<string>(
      `document.querySelector("#secflows tbody tr").cells[7].textContent`,
    );
    const filter = await page.evaluate<number>(filterOnce("svc1"));
    const shown = await page.evaluate<string>(`document.getElementById("shown").textContent`);
    if (page.errors.length) throw new Error(`page errors: ${page.errors.join("; ")}`);
    rows.push({ open, sort, reverse, filter });
    console.log(
      `round ${i + 1}: open ${open.toFixed(0)} ms, sort ${sort.toFixed(0)} ms, reverse ${
        reverse.toFixed(0)
      } ms, filter ${filter.toFixed(0)} ms (${shown}; largest bytes out: ${first})`,
    );
    await page.close();
  }
} finally {
  await browser.close();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `median of ${rows.length}: open ${median(rows.map((r) => r.open)).toFixed(0)} ms, sort ${
    median(rows.map((r) => r.sort)).toFixed(0)
  } ms, reverse ${median(rows.map((r) => r.reverse)).toFixed(0)} ms, filter ${
    median(rows.map((r) => r.filter)).toFixed(0)
  } ms; open + sort ${median(rows.map((r) => r.open + r.sort)).toFixed(0)} ms`,
);
