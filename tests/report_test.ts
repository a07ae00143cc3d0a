/**
 * The HTML report as text: every traffic-derived string escaped, the Content-Security-Policy
 * hashes matching the page's own style and script, a bar per Secflow and per top destination,
 * the header's numbers, platform Secflows read back, and the `report` command end to end.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { renderReport } from "../report/html.ts";
import { escapeHtml } from "../report/escape.ts";
import { fromActivities, fromPlatformSecflow, reportModel } from "../report/model.ts";
import { NetworkSageClient } from "../api/client.ts";
import { apiPermissions, runCli, startServe, tempDir, tinyPcap } from "./api_fixtures.ts";
import { reportSample } from "./report_fixtures.ts";

Deno.test("escapeHtml: markup characters become entities, control bytes U+FFFD", () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
  );
  assert.equal(escapeHtml("a\x1b[31mb\x00\tc\n"), "a\ufffd[31mb\ufffd\tc\n");
});

Deno.test("report: a bidi override or zero-width mark cannot make one destination pass for another", () => {
  const sample = reportSample(3, 3);
  sample.flashes[0].dst = "\u202emoc.elgoog.evil\u202c:443"; // shows as "443:live.google.com"
  sample.flashes[1].dst = "exa\u200bmple.com:443"; // looks like example.com
  sample.flashes[2].dst = "x\u2066y\u2069\u0085z\ufeff.example:443";
  const html = renderReport(sample);
  const hidden = /[\u061c\u0080-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u;
  assert.equal(hidden.exec(html), null, "a hidden mark reached the page");
  assert.ok(html.includes("\ufffdmoc.elgoog.evil\ufffd:443"));
  assert.ok(html.includes("exa\ufffdmple.com:443"));
});

Deno.test("report: no traffic-derived name reaches the page unescaped", () => {
  const html = renderReport(reportSample());
  assert.ok(!html.includes("<img"), "raw <img in the page");
  assert.ok(!html.includes("<b>"), "raw file name markup in the page");
  assert.ok(html.includes("x&lt;svg/onload=window.__pwned=1&gt;.example:443"));
  assert.ok(html.includes("r&lt;b&gt;.sf"));
});

Deno.test("report: the CSP allows exactly the page's inline style and script by hash", () => {
  const html = renderReport(reportSample());
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1]
    ?.replaceAll("&#39;", "'");
  assert.ok(csp, "no CSP meta tag");
  assert.ok(!csp.includes("unsafe-inline") && csp.includes("default-src 'none'"), csp);
  const hash = (t: string) => `'sha256-${createHash("sha256").update(t).digest("base64")}'`;
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
  assert.ok(csp.includes(`style-src ${hash(style)}`), "style hash");
  assert.ok(csp.includes(`script-src ${hash(script)}`), "script hash");
  assert.equal(html.match(/<script/g)!.length, 1);
  assert.ok(!/<[a-z][^>]*\son[a-z]+\s*=/i.test(html), "an inline event handler");
  assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), "a network reference");
});

Deno.test("report: a timeline bar per Secflow, a chart bar per top destination, a row each", () => {
  const sample = reportSample(30, 25);
  const html = renderReport(sample);
  assert.equal(html.match(/<rect class="bar /g)?.length, 30);
  assert.equal(html.match(/<g class="lane">/g)?.length, 25);
  assert.equal(html.match(/<g class="dest">/g)?.length, 20); // the top 20 of 25
  assert.equal(html.match(/<tr><td class="n">/g)?.length, 30);
});

Deno.test("report model: totals, span, sources and naming coverage", () => {
  const sample = reportSample(10, 5);
  const m = reportModel(sample);
  const f = sample.flashes;
  assert.equal(m.summary.secflows, 10);
  assert.equal(m.summary.destinations, 5);
  assert.equal(m.summary.sources, 3);
  assert.equal(m.summary.packets, f.reduce((n, x) => n + x.srcPkts + x.dstPkts, 0));
  assert.equal(m.summary.bytes, f.reduce((n, x) => n + x.srcBytes + x.dstBytes, 0));
  // The span of stats (secflow/span.ts): first start to last end; the axis runs from trafficDate.
  const end = Math.max(...f.map((x) => x.relativeStart + x.duration));
  assert.equal(m.summary.span, end - Math.min(...f.map((x) => x.relativeStart)));
  assert.equal(m.summary.axisEnd, end);
  assert.equal(m.summary.named, 8);
  assert.equal(m.summary.nameSources.get("original"), 2);
  assert.equal(m.summary.start, "2023-11-14T22:13:20.500Z");
  assert.equal(m.hasCategory, false);
});

Deno.test("report: platform Secflows keep numbers, categories, counts and annotations", () => {
  const { flash, extra } = fromPlatformSecflow({
    sourceData: "10.0.0.1",
    destinationData: "8.8.8.8",
    destinationNameSource: "original",
    sourcePackets: "4",
    sourceBytes: "0",
    destinationPackets: "4",
    destinationBytes: "0",
    relativeStart: "1.5",
    duration: "3.000001",
    flowCategory: "local:icmp",
    flowId: "ab",
  });
  assert.equal(flash.protocolInformation, "ICMP");
  assert.equal(flash.duration, 3.000001);
  assert.deepEqual(extra, { category: "local:icmp", flowId: "ab" });
  const secflow = {
    sourceData: "10.0.0.1:50000",
    destinationData: "a.example:443",
    destinationNameSource: "passive",
    sourcePackets: "1",
    sourceBytes: "2",
    destinationPackets: "3",
    destinationBytes: "4",
    relativeStart: "0",
    duration: "1",
    flowCategory: "Web <browsing>",
    flowId: "f1",
    eventId: "e1",
  };
  const { sample, extras } = fromActivities({ fileName: "s.sf", trafficDate: "1.0" }, [{
    secflow,
    destination: { title: "Example <CDN>" },
    behavior: {},
    event: { title: "ev" },
    flowIdCount: 7,
  }]);
  assert.equal(sample.flashes[0].protocolInformation, "");
  assert.deepEqual(extras.secflows, [{
    category: "Web <browsing>",
    flowId: "f1",
    eventId: "e1",
    count: 7,
  }]);
  assert.equal(extras.annotations!.behavior.size, 0);
  const html = renderReport(sample, extras);
  assert.ok(html.includes("Web &lt;browsing&gt;") && html.includes("Example &lt;CDN&gt;"));
  assert.ok(html.includes(">in samples</th>") && html.includes('<td class="n">7</td>'));
});

Deno.test("report command: a capture becomes one HTML file, nothing else written", async () => {
  await using dir = await tempDir();
  const input = `${dir.path}/in.pcap`;
  await Deno.writeFile(input, tinyPcap(1_700_000_000, 3));
  const run = await runCli(["report", input], [
    `--allow-read=${dir.path}`,
    `--allow-write=${dir.path}`,
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /in\.html: report of 4 Secflows/);
  const names = [...Deno.readDirSync(dir.path)].map((e) => e.name).sort();
  assert.deepEqual(names, ["in.html", "in.pcap"]);
  const html = await Deno.readTextFile(`${dir.path}/in.html`);
  assert.equal(html.match(/<rect class="bar /g)?.length, 4);
  assert.ok(html.includes("<h1>in.pcap</h1>"));
  const before = await Deno.readFile(input);
  const clobber = await runCli(["report", input, "-o", input], [
    `--allow-read=${dir.path}`,
    `--allow-write=${dir.path}`,
  ]);
  assert.equal(clobber.code, 2);
  assert.match(clobber.stderr, /would overwrite an input/);
  assert.deepEqual(await Deno.readFile(input), before);
  const intoDir = await runCli(["report", input, "-o", dir.path], [
    `--allow-read=${dir.path}`,
    `--allow-write=${dir.path}`,
  ]);
  assert.equal(intoDir.code, 2, intoDir.stderr);
  assert.match(intoDir.stderr, /is a directory; give a file name/);
  assert.ok(!intoDir.stderr.includes("os error"), intoDir.stderr);
  const bad = await runCli(["report", `${dir.path}/missing.pcap`], [`--allow-read=${dir.path}`]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /missing\.pcap: no such file/);
  assert.ok(!bad.stderr.includes("    at "), "a stack trace");
});

Deno.test("report --uuid: a serve sample with its categories, counts and annotations", async () => {
  await using dir = await tempDir();
  const server = await startServe({
    dataDir: `${dir.path}/data`,
    apiKeys: [{ key: "key-r", admin: true }],
  });
  try {
    const sample = reportSample(10, 5);
    await Deno.writeTextFile(`${dir.path}/s.sf`, JSON.stringify(sample));
    const api = new NetworkSageClient({
      apiKey: "key-r",
      apiUrl: server.url,
      useEnv: false,
      maxAttempts: 1,
    });
    await api.upload({ path: `${dir.path}/s.sf` });
    await server.idle();
    const uuid = (await api.listUploads())[0].uuid;
    const put = await fetch(`${server.url}/sec/v1.0/destinations/host1.example.com%3A443`, {
      method: "PUT",
      headers: { apikey: "key-r", "content-type": "application/json" },
      body: JSON.stringify({ title: "Host <one>", relevance: "low" }),
    });
    assert.equal(put.status, 200, await put.text());
    const out = `${dir.path}/u.html`;
    const run = await runCli(
      ["report", "--uuid", uuid, "--api-url", server.url, "-o", out],
      [...apiPermissions(server.url), `--allow-read=${dir.path}`, `--allow-write=${dir.path}`],
      { NETWORKSAGE_API_KEY: "key-r" },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stderr.includes("key-r"), "the key was printed");
    const html = await Deno.readTextFile(out);
    assert.equal(html.match(/<rect class="bar /g)?.length, 10);
    assert.ok(html.includes("<h1>s.sf</h1>"));
    assert.ok(html.includes("local:https:small") && html.includes("local:icmp"));
    assert.ok(html.includes(">in samples</th>"));
    assert.ok(html.includes('<div class="note">Host &lt;one&gt;</div>'));
    assert.ok(html.includes("<b>relevance</b>: low"));
    assert.ok(!html.includes("<img"));
  } finally {
    await server.shutdown();
  }
});
