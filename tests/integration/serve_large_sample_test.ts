/**
 * `serve` with a large sample: a valid `.sf` of 100k Secflows converts under a small memory cap
 * (the conversion classifies and writes as it goes) and endpoint 4 streams it back byte for byte.
 */
import assert from "node:assert/strict";
import { NetworkSageClient } from "../../api/client.ts";
import { startServe, tempDir } from "../api_fixtures.ts";

function client(url: string, apiKey = "key-alice") {
  return new NetworkSageClient({ apiKey, apiUrl: url, useEnv: false, maxAttempts: 1 });
}

Deno.test("serve: a 100k-Secflow sample converts under a 320 MiB cap, its Secflows all served", async () => {
  await using dir = await tempDir();
  // 23 MB of valid .sf: the conversion classifies and writes each Secflow as it goes (it once
  // needed ~5 KB per Secflow: an asynchronous digest each, and the whole result as one string).
  const n = 100_000;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(JSON.stringify({
      src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${1024 + (i % 60000)}`,
      dst: `h${i}.example.com:443`,
      destinationNameSource: "passive",
      srcPkts: 5,
      srcBytes: 100,
      dstPkts: 4,
      dstBytes: 500,
      relativeStart: i / 1000,
      protocolInformation: "",
      duration: 0.25,
    }));
  }
  await Deno.writeTextFile(
    `${dir.path}/big.sf`,
    `{"hash": "${"0".repeat(32)}", "trafficDate": "1700000000.0", "fileName": "big.sf", ` +
      `"flashes": [${parts.join(", ")}]}`,
  );
  const s = await startServe({ dataDir: `${dir.path}/data`, maxConvertMemory: 320 * 1024 * 1024 });
  try {
    const c = client(s.url);
    await c.upload({ path: `${dir.path}/big.sf`, type: "secflow" });
    await s.idle();
    const [entry] = await c.listUploads();
    assert.equal(entry.processed, true, String(entry.processingError));
    const secflows = await c.listSecflows(entry.uuid);
    assert.equal(secflows.length, n);
    // Streamed page by page, the answer is the bytes of the whole list in one envelope.
    const streamed = await (await fetch(`${s.url}/sec/v1.0/samples/${entry.uuid}/list`, {
      headers: { apikey: "key-alice" },
    })).text();
    const whole = JSON.stringify({
      error: false,
      body: await s.service.storage.secflows(entry.uuid),
    });
    assert.equal(streamed, whole);
    assert.equal(secflows[n - 1].destinationData, `h${n - 1}.example.com:443`);
    assert.equal(secflows[0].flowCategory, "local:https:small");
  } finally {
    await s.shutdown();
  }
});
