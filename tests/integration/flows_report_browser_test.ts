/**
 * `report --flows` in headless Chromium: the page of a capture built here (kept flows, IPv6 and
 * LAN flows left out, a GRE tunnel, a hostile HTTP Host) opens with no error and no CSP
 * violation, shows one group per verdict with every flow as a visible row, links each reason to
 * its group, and shows the hostile name as text.
 */
import assert from "node:assert/strict";
import { chromiumPath, launchChromium } from "../_chromium.ts";
import { tempDir } from "../api_fixtures.ts";
import { cli } from "../_filter_ref.ts";
import { ether, tcp, udp } from "../_pcap.ts";
import { ether6, framesPcap, gre, httpRequest, ip4, ipv6, udpDatagram } from "../_flows_pcap.ts";

const haveChromium = chromiumPath() !== null;
if (!haveChromium) {
  console.warn("skipping the flows report browser test: no chromium (apt-get install chromium)");
}

function frames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const evil = httpRequest("x<img/src=q/onerror=alert(1)>.example");
  out.push(ether(tcp({ src: "10.0.0.1", dst: "93.184.216.34", sp: 40000, dp: 80, payload: evil })));
  out.push(ether(tcp({ src: "93.184.216.34", dst: "10.0.0.1", sp: 80, dp: 40000, payload: 200 })));
  for (let i = 0; i < 6; i++) {
    out.push(ether(udp({ src: "10.0.0.2", dst: "8.8.8.8", sp: 50000 + i, dp: 443, payload: 40 })));
    out.push(
      ether(udp({ src: "10.0.0.2", dst: "10.0.0.3", sp: 51000 + i, dp: 8080, payload: 40 })),
    );
    out.push(
      ether6(
        ipv6({
          src: "2001:db8::1",
          dst: "2001:db8::2",
          next: 17,
          body: udpDatagram(52000 + i, 53, new Uint8Array(20)),
        }),
      ),
    );
  }
  const inner = tcp({ src: "10.9.0.1", dst: "205.185.216.10", sp: 41000, dp: 80, payload: 10 });
  out.push(ether(ip4("198.51.100.1", "198.51.100.2", 47, gre(0x0800, inner))));
  return out;
}

Deno.test({
  name: "browser: report --flows opens clean, one group per verdict, every flow a visible row",
  ignore: !haveChromium,
  async fn() {
    await using dir = await tempDir();
    const pcap = `${dir.path}/c.pcap`;
    await Deno.writeFile(pcap, framesPcap(frames()));
    const lines = (await cli(["view", pcap, "--flows", "--ndjson"])).out.filter((l) => l !== "");
    const flows = lines.map((l) => JSON.parse(l));
    const html = `${dir.path}/c.html`;
    const r = await cli(["report", "--flows", pcap, "-o", html]);
    assert.equal(r.code, 0, r.err.join("\n"));
    const verdicts = new Map<string, number>();
    for (const f of flows) verdicts.set(f.sample, (verdicts.get(f.sample) ?? 0) + 1);
    assert.ok(verdicts.size >= 4, [...verdicts.keys()].join(" "));
    const browser = (await launchChromium())!;
    try {
      const page = await browser.newPage();
      await page.viewport(1280, 900);
      await page.goto(`file://${html}`);
      const groups = await page.evaluate<[string, number, number][]>(
        `[...document.querySelectorAll("section.group")].map((s) => [s.id, s.querySelectorAll("tbody tr").length, [...s.querySelectorAll("tbody tr")].filter((tr) => tr.getBoundingClientRect().height > 0).length])`,
      );
      const want = [...verdicts].map(([v, n]) => [v === "kept" ? "kept" : `left-out-${v}`, n, n]);
      assert.deepEqual(
        [...groups].sort(),
        want.sort(),
      );
      // Each reason in the reasons table links to its group.
      const links = await page.evaluate<string[]>(
        `[...document.querySelectorAll("#reasons a")].map((a) => a.getAttribute("href"))`,
      );
      for (const href of links) {
        assert.equal(
          await page.evaluate(`!!document.querySelector(${JSON.stringify(href)})`),
          true,
          href,
        );
      }
      assert.equal(links.length, verdicts.size - (verdicts.has("kept") ? 1 : 0));
      // The hostile Host is text, not an element.
      assert.equal(await page.evaluate(`document.querySelectorAll("main img").length`), 0);
      assert.equal(
        await page.evaluate(
          `document.body.textContent.includes("x<img/src=q/onerror=alert(1)>.example (http)")`,
        ),
        true,
      );
      assert.deepEqual(page.errors, []);
    } finally {
      await browser.close();
    }
  },
});
