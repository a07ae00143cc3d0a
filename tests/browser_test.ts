/**
 * The report and `serve`'s pages in a real browser: Debian's headless chromium, driven over the
 * DevTools protocol (`tests/_chromium.ts`), one browser shared by every step. Skips with a
 * message when chromium is not installed.
 *
 * Set `NS_SCREENSHOTS=DIR` to save screenshots of these fixture pages into DIR, to look at them.
 * The docs' pictures are not these: `deno task screenshots` makes them from the demo data.
 */
import assert from "node:assert/strict";
import { NetworkSageClient } from "../api/client.ts";
import { renderReport } from "../report/html.ts";
import type { ReportExtras } from "../report/model.ts";
import { chromiumPath, launchChromium, type Page } from "./_chromium.ts";
import { startServe, tempDir } from "./api_fixtures.ts";
import { HOSTILE, reportSample } from "./report_fixtures.ts";
import { ether, pcap, T0, tcp } from "./_pcap.ts";

const screenshots = (() => {
  try {
    return Deno.env.get("NS_SCREENSHOTS");
  } catch {
    return undefined;
  }
})();

async function shot(page: Page, name: string) {
  if (screenshots) await Deno.writeFile(`${screenshots}/${name}`, await page.screenshot());
}

/** The table's column `i` as the page shows it now (rendered rows only; annotation notes left out). */
function column(page: Page, i: number): Promise<string[]> {
  return page.evaluate(
    `[...document.querySelectorAll("#secflows tbody tr")].filter((r) => r.getClientRects().length > 0)
      .map((r) => [...r.cells[${i}].childNodes].filter((n) => !n.classList?.contains("note"))
        .map((n) => n.textContent).join(""))`,
  );
}

const number = (s: string) => Number(s.replaceAll(",", ""));
const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1] <= x);
const descending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1] >= x);

const haveChromium = chromiumPath() !== null;
if (!haveChromium) {
  console.warn(
    "skipping browser tests: no chromium at /usr/bin/chromium (apt-get install chromium, or set CHROMIUM=/path)",
  );
}

const ALICE = "key-alice-browser-0001";
const BOB = "key-bob-browser-0002";

Deno.test({
  name: "browser: the report and serve's pages in headless chromium",
  ignore: !haveChromium,
  async fn(t) {
    const browser = (await launchChromium())!;
    await using dir = await tempDir();
    try {
      await t.step(
        "report: every destination in the table, a bar per Secflow and per destination",
        async () => {
          const sample = reportSample(40, 13);
          const categories = ["Web browsing", "DNS <lookup>", "Telemetry"];
          const extras: ReportExtras = {
            secflows: sample.flashes.map((_, i) => ({
              category: categories[i % 3],
              flowId: `f${i % 7}`,
            })),
          };
          const file = `${dir.path}/report.html`;
          await Deno.writeTextFile(file, renderReport(sample, extras));
          const page = await browser.newPage();
          await page.viewport(1280, 900);
          await page.goto(`file://${file}`);

          const shown = await column(page, 3);
          assert.deepEqual([...shown].sort(), sample.flashes.map((f) => f.dst).sort());
          assert.equal(
            await page.evaluate(`document.querySelectorAll("svg.timeline rect.bar").length`),
            40,
          );
          assert.equal(
            await page.evaluate(`document.querySelectorAll("svg.timeline g.lane").length`),
            13,
          );
          assert.equal(
            await page.evaluate(`document.querySelectorAll("svg.top g.dest").length`),
            13,
          );
          // Categories colour the bars: three categories, three colour classes.
          assert.deepEqual(
            await page.evaluate(
              `[...new Set([...document.querySelectorAll("svg.timeline rect.bar")].map((r) => r.classList[1]))].sort()`,
            ),
            ["c0", "c1", "c2"],
          );

          // The hostile name is text: no element with an onload handler, nothing ran, the text
          // is intact.
          assert.equal(await page.evaluate(`document.querySelectorAll("[onload]").length`), 0);
          assert.equal(await page.evaluate(`typeof window.__pwned`), "undefined");
          assert.ok(shown.includes(`${HOSTILE}:443`));
          assert.equal(await page.evaluate(`document.querySelector("h1").textContent`), "r<b>.sf");
          assert.ok(
            (await page.evaluate<string>(
              `document.querySelector("svg.timeline g.lane title").textContent`,
            ))
              .includes("<svg/onload="),
          );
          await shot(page, "report.png");
          await page.viewport(390, 844, true);
          await shot(page, "report-phone.png");
          assert.deepEqual(page.errors, []);
          await page.close();
        },
      );

      await t.step("report: sorting and filtering change the table", async () => {
        const page = await browser.newPage();
        await page.goto(`file://${dir.path}/report.html`);
        const before = await column(page, 8);
        const sortBy = (i: number) =>
          page.evaluate(`document.querySelectorAll("#secflows th")[${i}].click()`);
        await sortBy(8); // bytes in
        const up = (await column(page, 8)).map(number);
        assert.ok(ascending(up), `not ascending: ${up}`);
        assert.notDeepEqual(up, before.map(number));
        assert.equal(
          await page.evaluate(
            `document.querySelectorAll("#secflows th")[8].getAttribute("aria-sort")`,
          ),
          "ascending",
        );
        await sortBy(8);
        assert.ok(descending((await column(page, 8)).map(number)));
        await sortBy(3); // destination, as text
        const names = await column(page, 3);
        assert.deepEqual(
          names,
          [...names].sort((a, b) =>
            a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0
          ),
        );

        // Typing into the filter hides the rows that do not match, and says how many are shown.
        assert.equal(
          await page.evaluate(`document.getElementById("filterbar").getClientRects().length`),
          1,
        );
        await page.evaluate(`document.getElementById("filter").focus()`);
        await page.send("Input.insertText", { text: "host2" });
        const filtered = await column(page, 3);
        assert.ok(filtered.length > 0 && filtered.length < 40, `${filtered.length} rows`);
        assert.ok(filtered.every((d) => d.includes("host2")));
        assert.equal(
          await page.evaluate(`document.getElementById("shown").textContent`),
          `${filtered.length} of 40 shown`,
        );
        assert.deepEqual(page.errors, []);
        await page.close();
      });

      await t.step("report: without script it is a complete plain table", async () => {
        const page = await browser.newPage();
        await page.send("Emulation.setScriptExecutionDisabled", { value: true });
        await page.goto(`file://${dir.path}/report.html`);
        assert.equal((await column(page, 3)).length, 40);
        assert.equal(
          await page.evaluate(`document.getElementById("filterbar").getClientRects().length`),
          0,
        );
        await page.close();
      });

      await t.step(
        "serve: log in, the sample page, annotate; cookie, 404 and cross-site",
        async () => {
          const server = await startServe({
            dataDir: `${dir.path}/data`,
            apiKeys: [{ key: ALICE, admin: true }, BOB],
          });
          const attacker = Deno.serve(
            { hostname: "127.0.0.1", port: 0, onListen() {} },
            () => new Response(""),
          );
          try {
            const uuids: Record<string, string> = {};
            for (const [who, key] of [["alice", ALICE], ["bob", BOB]]) {
              const path = `${dir.path}/${who}.sf`;
              await Deno.writeTextFile(
                path,
                JSON.stringify({ ...reportSample(30, 9), fileName: `${who}.sf` }),
              );
              const c = new NetworkSageClient({
                apiKey: key,
                apiUrl: server.url,
                useEnv: false,
                maxAttempts: 1,
              });
              await c.upload({ path });
              uuids[who] = (await c.listUploads())[0].uuid;
            }
            await server.idle();
            const page = await browser.newPage();
            await page.viewport(1280, 900);
            assert.equal(await page.goto(`${server.url}/`), 200);
            await page.evaluate(
              `document.querySelector("input[name=apikey]").value = ${JSON.stringify(ALICE)}`,
            );
            assert.equal(
              await page.navigation(() =>
                page.evaluate(`document.querySelector("form[action='/login'] button").click()`)
              ),
              200,
            );
            assert.equal(
              await page.evaluate(`document.querySelector("h1").textContent`),
              "Samples",
            );

            const cookies = await page.cookies(server.url);
            assert.equal(cookies.length, 1);
            const [cookie] = cookies;
            assert.equal(cookie.name, "ns_session");
            assert.equal(cookie.httpOnly, true);
            assert.equal(cookie.sameSite, "Strict");
            assert.ok(!cookie.value.includes(ALICE) && cookie.value.length >= 40);
            assert.equal(
              await page.evaluate(`document.cookie`),
              "",
              "HttpOnly: invisible to script",
            );

            assert.equal(
              await page.navigation(() =>
                page.evaluate(`document.querySelector("#samples a").click()`)
              ),
              200,
            );
            assert.equal(await page.evaluate(`location.pathname`), `/samples/${uuids.alice}`);
            const shown = await column(page, 3);
            assert.equal(shown.length, 30);
            assert.ok(shown.includes(`${HOSTILE}:443`));
            assert.equal(await page.evaluate(`document.querySelectorAll("[onload]").length`), 0);
            assert.equal(
              await page.evaluate(`document.querySelectorAll("svg.timeline rect.bar").length`),
              30,
            );
            assert.ok(
              (await column(page, 9)).every((c) => c.startsWith("local:")),
              "local categories",
            );
            assert.ok(
              // Alice and Bob uploaded the same Secflows: every flowId is in two samples.
              (await column(page, 10)).every((c) => c === "2"),
              "flowId counts",
            );

            // An annotation through the form shows inline.
            await page.evaluate(`(() => {
            const f = document.querySelector("#annotate form");
            f.kind.value = "destination"; f.name.value = "host1.example.com:443";
            f.title.value = "Host one <CDN>"; f.tags.value = "cdn, test"; })()`);
            assert.equal(
              await page.navigation(() =>
                page.evaluate(`document.querySelector("#annotate button").click()`)
              ),
              200,
            );
            const notes = await page.evaluate<string[]>(
              `[...document.querySelectorAll("#secflows tbody tr td:nth-child(4) .note")].map((n) => n.textContent)`,
            );
            assert.ok(notes.length > 0 && notes.every((n) => n === "Host one <CDN>"), `${notes}`);
            await page.evaluate(`window.scrollTo(0, 0)`);
            await shot(page, "sample-page.png");
            await page.evaluate(`document.getElementById("table-section").scrollIntoView()`);
            await shot(page, "sample-page-table.png");
            assert.deepEqual(page.errors, []);

            // Bob's sample, seen from Alice's session: a 404.
            assert.equal(await page.goto(`${server.url}/samples/${uuids.bob}`), 404);

            // A form on another site posting to serve: the Strict cookie stays home, and the post is refused.
            const evil = `http://localhost:${attacker.addr.port}/`;
            await page.goto(evil);
            await page.evaluate(`(() => {
            const f = document.createElement("form");
            f.method = "post"; f.action = ${
              JSON.stringify(`${server.url}/samples/${uuids.alice}/annotate`)
            };
            for (const [k, v] of [["kind", "destination"], ["name", "host2.example.com:443"], ["title", "pwned"], ["csrf", "guess"]]) {
              const i = document.createElement("input"); i.name = k; i.value = v; f.append(i);
            }
            document.body.append(f); window.f = f; })()`);
            const status = await page.navigation(() => page.evaluate(`window.f.submit()`));
            assert.ok(status === 401 || status === 403, `cross-site post answered ${status}`);
            const api = new NetworkSageClient({
              apiKey: ALICE,
              apiUrl: server.url,
              useEnv: false,
              maxAttempts: 1,
            });
            assert.deepEqual(await api.destination("host2.example.com:443"), {});

            // Logging out through the page's button ends the session and removes the cookie.
            await page.goto(`${server.url}/`);
            await page.navigation(() =>
              page.evaluate(`document.querySelector("nav form button").click()`)
            );
            assert.equal(
              await page.evaluate(`document.querySelectorAll("input[name=apikey]").length`),
              1,
            );
            assert.deepEqual(await page.cookies(server.url), []);
            assert.equal(await page.goto(`${server.url}/samples/${uuids.alice}`), 401);
            assert.deepEqual(page.errors.filter((e) => !/status of 40[134]/.test(e)), []);
            await page.close();
          } finally {
            await attacker.shutdown();
            await server.shutdown();
          }
        },
      );

      await t.step(
        "serve: the upload form takes a capture and a .sf with the optional dns.log left empty",
        async () => {
          // A browser sends an empty file input as a part with filename="" and no bytes: that is
          // "no file", not a dns.log that goes only with Zeek (tests that build their own
          // multipart bodies never sent one).
          const server = await startServe({ dataDir: `${dir.path}/form-data`, apiKeys: [ALICE] });
          try {
            const packets = [0, 1, 2].map((i) => ({
              us: T0 + i * 1000,
              data: ether(tcp({ src: "192.168.1.20", dst: "93.184.216.34", sp: 50100, dp: 443 })),
            }));
            await Deno.writeFile(`${dir.path}/form.pcap`, pcap(packets));
            await Deno.writeTextFile(
              `${dir.path}/form.sf`,
              JSON.stringify({ ...reportSample(5, 2), fileName: "form.sf" }),
            );
            const page = await browser.newPage();
            assert.equal(await page.goto(`${server.url}/`), 200);
            await page.evaluate(
              `document.querySelector("input[name=apikey]").value = ${JSON.stringify(ALICE)}`,
            );
            await page.navigation(() =>
              page.evaluate(`document.querySelector("form[action='/login'] button").click()`)
            );
            for (const name of ["form.pcap", "form.sf"]) {
              const input = await page.send("Runtime.evaluate", {
                expression: `document.querySelector("input[name=file]")`,
              });
              await page.send("DOM.setFileInputFiles", {
                objectId: input.result.objectId,
                files: [`${dir.path}/${name}`],
              });
              const status = await page.navigation(() =>
                page.evaluate(`document.querySelector("form[action^='/upload'] button").click()`)
              );
              const error = await page.evaluate<string | null>(
                `document.querySelector("main p.error")?.textContent ?? null`,
              );
              assert.equal(error, null, `${name}: ${error}`);
              assert.equal(status, 200, name);
              assert.equal(await page.evaluate(`location.pathname`), "/");
            }
            const files = await page.evaluate<string[]>(
              `[...document.querySelectorAll("#samples tbody tr td:first-child")].map((c) => c.textContent)`,
            );
            assert.deepEqual(files.sort(), ["form.pcap", "form.sf"]);
            const types = await page.evaluate<string[]>(
              `[...document.querySelectorAll("#samples tbody tr td:nth-child(2)")].map((c) => c.textContent)`,
            );
            assert.deepEqual(types.sort(), ["pcap", "secflow"]);
            assert.deepEqual(page.errors, []);
            await page.close();
          } finally {
            await server.shutdown();
          }
        },
      );
    } finally {
      await browser.close();
    }
  },
});
