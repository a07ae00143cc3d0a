/**
 * The Secflows table of the report (and of `serve`'s sample page, which is the same table with
 * the platform's columns) laid out by a real browser (headless chromium, `tests/_chromium.ts`):
 * an address never breaks inside itself or its port (`141.142.220.118:35` / `634`), a start or
 * duration never runs into the next column (`35.7337491.362104`), and starts and durations show
 * milliseconds. Skips with a message when chromium is not installed.
 */
import assert from "node:assert/strict";
import { renderReport } from "../report/html.ts";
import type { ReportExtras } from "../report/model.ts";
import type { Flash, Sample } from "../secflow/types.ts";
import { chromiumPath, launchChromium } from "./_chromium.ts";
import { tempDir } from "./api_fixtures.ts";
import { flashOf } from "./_flash.ts";

const LONG_NAME = "a-rather-long-host-name-from-a-content-delivery-network.example-cdn.com";

function flash(src: string, dst: string, relativeStart: number, duration: number): Flash {
  return flashOf({
    src,
    dst,
    destinationNameSource: "original",
    srcPkts: 123_456,
    srcBytes: 987_654_321,
    dstPkts: 12,
    dstBytes: 1_234_567_890,
    relativeStart,
    duration,
  });
}

/** Endpoints as wide as IPv4 makes them, long names, and starts up to a day into the capture. */
const sample: Sample = {
  hash: "0".repeat(32),
  trafficDate: "1700000000.0",
  fileName: "wide.sf",
  flashes: [
    flash("141.142.220.118:35634", "141.142.220.235:6666", 35.733749, 1.362104),
    flash("255.255.255.255:65535", "255.255.255.254:65534", 35.7342, 0.000002),
    flash("192.168.100.200:50000", `${LONG_NAME}:443`, 86399.999999, 12345.678901),
    flash("10.0.0.1", "203.0.113.254", 0, 0),
  ],
};

/**
 * Per row: whether each start and duration text stays inside its cell, how many lines the source
 * and destination take, whether each port is on one line, and the start and duration texts.
 */
const MEASURE = `[...document.querySelectorAll("#secflows tbody tr")].map((r) => {
  const inside = (td) => {
    const range = document.createRange();
    range.selectNodeContents(td);
    const text = range.getBoundingClientRect(), cell = td.getBoundingClientRect();
    return text.left >= cell.left - 0.5 && text.right <= cell.right + 0.5;
  };
  const lines = (td) => {
    const range = document.createRange();
    range.selectNodeContents(td);
    return new Set([...range.getClientRects()].map((x) => Math.round(x.bottom))).size;
  };
  const port = (td) => {
    const p = td.querySelector(".port");
    return p ? p.getClientRects().length : 1;
  };
  const [start, duration, src, dst] = r.cells;
  return {
    inside: [inside(start), inside(duration)],
    lines: [lines(src), lines(dst)],
    ports: [port(src), port(dst)],
    text: [start.textContent, duration.textContent],
  };
})`;

interface Measured {
  inside: boolean[];
  lines: number[];
  ports: number[];
  text: string[];
}

const haveChromium = chromiumPath() !== null;

Deno.test({
  name: "report table: addresses and ports stay whole, starts and durations stay in their columns",
  ignore: !haveChromium,
  async fn() {
    const browser = (await launchChromium())!;
    await using dir = await tempDir();
    try {
      const extras: ReportExtras = {
        secflows: sample.flashes.map((_, i) => ({
          category: "local:https:small",
          flowId: `${i}`.repeat(32),
          count: 2,
        })),
      };
      const page = await browser.newPage();
      for (
        const [what, html] of [["report", renderReport(sample)], [
          "page's table",
          renderReport(sample, extras),
        ]]
      ) {
        const file = `${dir.path}/${what.replaceAll(/\W/g, "")}.html`;
        await Deno.writeTextFile(file, html);
        for (const [width, height, mobile] of [[1280, 900, false], [390, 844, true]] as const) {
          await page.viewport(width, height, mobile);
          await page.goto(`file://${file}`);
          const rows = await page.evaluate<Measured[]>(MEASURE);
          assert.equal(rows.length, sample.flashes.length);
          const at = `${what} at ${width}px`;
          for (const [i, r] of rows.entries()) {
            assert.deepEqual(r.inside, [true, true], `${at}, row ${i}: ${r.text.join(" | ")}`);
            assert.deepEqual(r.ports, [1, 1], `${at}, row ${i}: a port split across lines`);
            // Addresses take one line; only the long name may wrap (and never inside its port).
            assert.equal(r.lines[0], 1, `${at}, row ${i}: the source wraps`);
            if (!sample.flashes[i].dst.startsWith(LONG_NAME)) {
              assert.equal(r.lines[1], 1, `${at}, row ${i}: the destination wraps`);
            }
          }
          assert.deepEqual(rows.map((r) => r.text), [
            ["35.734", "1.362"],
            ["35.734", "0.000"],
            ["86400.000", "12345.679"],
            ["0.000", "0.000"],
          ]);
        }
      }
      assert.deepEqual(page.errors, []);
    } finally {
      await browser.close();
    }
  },
});
