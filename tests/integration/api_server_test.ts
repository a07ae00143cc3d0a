/**
 * `serve` over real HTTP on 127.0.0.1: envelopes and status codes, key isolation, annotations,
 * public UUIDs, size limits, malformed and interrupted uploads, restarts, concurrent load and
 * conversion failures.
 */
import assert from "node:assert/strict";
import { NetworkSageClient, publicUuidOf } from "../../api/client.ts";
import { NetworkSageError } from "../../api/errors.ts";
import { multipartBody } from "../../api/multipart.ts";
import { PLATFORM_SECFLOW_KEYS } from "../../api/_shapes.ts";
import { createService, defaultConverter } from "../../serve/server.ts";
import { client, sfSample, startServe, tempDir, tinyPcap } from "../api_fixtures.ts";
import { serveTest } from "../_storages.ts";

async function rawJson(url: string, init?: RequestInit): Promise<{ status: number; json: any }> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, json: JSON.parse(text) };
}

async function rejects(
  p: Promise<unknown>,
  status: number,
  match?: RegExp,
): Promise<NetworkSageError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof NetworkSageError, `expected NetworkSageError, got ${e}`);
    assert.equal(e.status, status, e.message);
    if (match) assert.match(e.message, match);
    return e;
  }
  throw new Error("expected a rejection");
}

serveTest(
  "serve: every error is an envelope: 401, 404, 405, 400, with the key never echoed",
  async (storage) => {
    await using dir = await tempDir();
    const s = await startServe({ ...storage, dataDir: `${dir.path}/data` });
    try {
      const none = await rawJson(`${s.url}/upload/v1.0/uploads/list`);
      assert.deepEqual(none, {
        status: 401,
        json: { error: true, body: "missing API key (header 'apikey')" },
      });
      const wrong = await rawJson(`${s.url}/upload/v1.0/uploads/list`, {
        headers: { apikey: "secret-wrong-key" },
      });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json.error, true);
      assert.ok(!JSON.stringify(wrong.json).includes("secret-wrong-key"));
      const unknown = await rawJson(`${s.url}/nope/v1`, { headers: { apikey: "key-alice" } });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.error, true);
      const method = await rawJson(`${s.url}/upload/v1.0/uploads/list`, {
        method: "DELETE",
        headers: { apikey: "key-alice" },
      });
      assert.equal(method.status, 405);
      const notMultipart = await rawJson(`${s.url}/upload/v1.0/uploader`, {
        method: "POST",
        headers: { apikey: "key-alice", "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(notMultipart.status, 400);
      assert.equal(notMultipart.json.error, true);
      const missingSample = await rawJson(`${s.url}/sec/v1.0/samples/abc`, {
        headers: { apikey: "key-alice" },
      });
      assert.deepEqual(missingSample, {
        status: 404,
        json: { error: true, body: "no sample 'abc'" },
      });
      // The client surfaces the message and hides the key.
      const e = await rejects(
        client(s.url, "secret-wrong-key").listUploads(),
        401,
        /invalid API key/,
      );
      assert.ok(!e.message.includes("secret-wrong-key"));
      assert.equal(e.endpoint, "GET /upload/v1.0/uploads/list");
    } finally {
      await s.shutdown();
    }
  },
);

serveTest("serve: malformed multipart bodies get 400 and leave nothing behind", async (storage) => {
  await using dir = await tempDir();
  const s = await startServe({ ...storage, dataDir: `${dir.path}/data` });
  try {
    const bodies = [
      "no boundary at all",
      '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc', // unterminated
      "--XYZ\r\nNo-Colon-Here\r\n\r\nabc\r\n--XYZ--\r\n",
      '--XYZ\r\nContent-Disposition: form-data; name="type"\r\n\r\npcap\r\n--XYZ--\r\n', // no file
    ];
    for (const body of bodies) {
      const r = await rawJson(`${s.url}/upload/v1.0/uploader`, {
        method: "POST",
        headers: { apikey: "key-alice", "content-type": "multipart/form-data; boundary=XYZ" },
        body,
      });
      assert.equal(r.status, 400, body);
      assert.equal(r.json.error, true);
    }
    assert.deepEqual(await client(s.url).listUploads(), []);
    assert.deepEqual([...Deno.readDirSync(`${dir.path}/data/tmp`)], []);
  } finally {
    await s.shutdown();
  }
});

serveTest("serve: uploads over --max-upload get 413, declared or streamed", async (storage) => {
  await using dir = await tempDir();
  const s = await startServe({
    ...storage,
    dataDir: `${dir.path}/data`,
    maxUploadBytes: 64 * 1024,
  });
  try {
    await Deno.writeFile(`${dir.path}/big.bin`, new Uint8Array(200 * 1024));
    // Declared: Content-Length above the limit.
    const r = await fetch(`${s.url}/upload/v1.0/uploader`, {
      method: "POST",
      headers: { apikey: "key-alice", "content-type": "multipart/form-data; boundary=XYZ" },
      body: new Uint8Array(100 * 1024),
    });
    assert.equal(r.status, 413);
    assert.equal((await r.json()).error, true);
    // Streamed (chunked, no length): the client's streaming upload.
    await rejects(
      client(s.url).upload({ path: `${dir.path}/big.bin`, type: "zeek" }),
      413,
      /limit/,
    );
    assert.deepEqual(await client(s.url).listUploads(), []);
    assert.deepEqual([...Deno.readDirSync(`${dir.path}/data/tmp`)], []);
  } finally {
    await s.shutdown();
  }
});

serveTest(
  "serve: a key sees only its own samples; public UUIDs open the aggregated view",
  async (storage) => {
    await using dir = await tempDir();
    const s = await startServe({
      ...storage,
      dataDir: `${dir.path}/data`,
      apiKeys: ["key-alice", "key-bob"],
    });
    try {
      await Deno.writeTextFile(`${dir.path}/a.sf`, sfSample([{}]));
      const alice = client(s.url, "key-alice");
      const bob = client(s.url, "key-bob");
      await alice.upload({ path: `${dir.path}/a.sf` });
      await s.idle();
      const [entry] = await alice.listUploads();
      assert.equal(entry.fileName, "a.sf");
      assert.equal(entry.fileType, "secflow");
      assert.deepEqual(await bob.listUploads(), []);
      await rejects(bob.getSample(entry.uuid), 404);
      await rejects(bob.listSecflows(entry.uuid), 404);
      await rejects(bob.aggregated(entry.uuid), 404);
      // Public UUID: base64("<id>#hash#<hash>") gives the aggregated view without a key.
      const meta = await alice.getSample(entry.uuid);
      const pub = publicUuidOf(meta);
      assert.equal(atob(pub), `${meta.id}#hash#${meta.hash}`);
      const anonymous = new NetworkSageClient({ publicUrl: s.url, useEnv: false });
      const activities = await anonymous.publicAggregated(pub);
      assert.deepEqual(activities, await alice.aggregated(entry.uuid));
      await rejects(anonymous.publicAggregated(btoa(`${meta.id}#hash#${"0".repeat(32)}`)), 404);
    } finally {
      await s.shutdown();
    }
  },
);

serveTest(
  "serve: PUT annotations for destinations, behaviors and events; unknown ones are {}",
  async (storage) => {
    await using dir = await tempDir();
    const s = await startServe({
      ...storage,
      dataDir: `${dir.path}/data`,
      apiKeys: [{ key: "key-alice", admin: true }],
    });
    try {
      const c = client(s.url);
      assert.deepEqual(await c.destination("example.com:443"), {});
      for (
        const [kind, name] of [["destinations", "example.com:443"], ["behaviors", "f1"], [
          "events",
          "e?1=",
        ]]
      ) {
        const note = {
          title: `T ${name}`,
          description: "d",
          relevance: "high",
          tags: ["x"],
          extra: 1,
        };
        const put = await rawJson(`${s.url}/sec/v1.0/${kind}/${encodeURIComponent(name)}`, {
          method: "PUT",
          headers: { apikey: "key-alice", "content-type": "application/json" },
          body: JSON.stringify(note),
        });
        assert.deepEqual(put, { status: 200, json: { error: false, body: note } });
      }
      assert.equal((await c.destination("example.com:443")).title, "T example.com:443");
      assert.equal((await c.behavior("f1")).extra, 1);
      assert.deepEqual((await c.event("e?1=")).tags, ["x"]);
      const bad = await rawJson(`${s.url}/sec/v1.0/events/x`, {
        method: "PUT",
        headers: { apikey: "key-alice" },
        body: "[1]",
      });
      assert.equal(bad.status, 400);
      const noKey = await rawJson(`${s.url}/sec/v1.0/events/x`, { method: "PUT", body: "{}" });
      assert.equal(noKey.status, 401);
    } finally {
      await s.shutdown();
    }
  },
);

serveTest(
  "serve: secflows in platform shape, flowId stable, count = samples holding it",
  async (storage) => {
    await using dir = await tempDir();
    const s = await startServe({ ...storage, dataDir: `${dir.path}/data` });
    try {
      const c = client(s.url);
      await Deno.writeTextFile(
        `${dir.path}/a.sf`,
        sfSample([{}, { dst: "x.org:53", eventId: "ev1" }]),
      );
      await Deno.writeTextFile(`${dir.path}/b.sf`, sfSample([{}, {}]));
      await c.upload({ path: `${dir.path}/a.sf` });
      await c.upload({ path: `${dir.path}/b.sf` });
      await s.idle();
      const [a, b] = await c.listUploads();
      const fa = await c.listSecflows(a.uuid);
      const fb = await c.listSecflows(b.uuid);
      for (const f of [...fa, ...fb]) {
        for (const k of PLATFORM_SECFLOW_KEYS) assert.equal(typeof f[k], "string", k);
        assert.match(f.flowCategory, /^local:/);
      }
      assert.equal(fa[0].flowId, fb[0].flowId); // same destination and category
      assert.equal(fa[0].flowCategory, "local:https:small");
      assert.equal(fa[1].flowCategory, "local:dns:small");
      assert.equal(fa[1].eventId, "ev1");
      assert.equal(await c.secflowCount(fa[0].flowId), 2); // two samples, b holds it twice
      assert.equal(await c.secflowCount(fa[1].flowId), 1);
      assert.equal(await c.secflowCount("nothing"), 0);
    } finally {
      await s.shutdown();
    }
  },
);

serveTest(
  "serve: a .sf upload is held to validate's rules; only an eventId may be added",
  async (storage) => {
    await using dir = await tempDir();
    const s = await startServe({ ...storage, dataDir: `${dir.path}/data` });
    try {
      const c = client(s.url);
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ["negative.sf", { srcBytes: -5 }, /\$\.flashes\[0\]\.srcBytes: must be a whole number/],
        ["markup.sf", { dst: "<img src=x>:443" }, /\$\.flashes\[0\]\.dst: must be "name:port"/],
        ["extra.sf", { note: "x" }, /\$\.flashes\[0\]\.note: is not a known key/],
        ["event.sf", { eventId: 7 }, /\$\.flashes\[0\]\.eventId: must be a string/],
      ];
      for (const [name, change] of cases) {
        await Deno.writeTextFile(`${dir.path}/${name}`, sfSample([change]));
        await c.upload({ path: `${dir.path}/${name}`, type: "secflow" });
      }
      await s.idle();
      const uploads = await c.listUploads();
      for (const [name, , problem] of cases) {
        const entry = uploads.find((u) => u.fileName === name)!;
        assert.equal(entry.processed, false, name);
        assert.match(String(entry.processingError), problem);
        assert.deepEqual(await c.listSecflows(entry.uuid).catch(() => []), [], name);
      }
    } finally {
      await s.shutdown();
    }
  },
);

serveTest(
  "serve: a .sf upload's first real problem is its processingError, not a made-up 'cut short'",
  async (storage) => {
    await using dir = await tempDir();
    const s = await startServe({ ...storage, dataDir: `${dir.path}/data` });
    try {
      const c = client(s.url);
      const flash = (i: number) =>
        `{"src": "10.0.0.1:${i === 5 ? 70000 : 1000}", "dst": "example.com:443", ` +
        `"destinationNameSource": "passive", "srcPkts": 1, "srcBytes": 1, "dstPkts": 1, ` +
        `"dstBytes": 1, "relativeStart": 0.0, "protocolInformation": "", "duration": 0.0}`;
      const text =
        `{"hash": "${"0".repeat(32)}", "trafficDate": "1700000000.0", "fileName": "b.sf", ` +
        `"flashes": [${Array.from({ length: 20_000 }, (_, i) => flash(i)).join(", ")}]}`;
      await Deno.writeTextFile(`${dir.path}/big.sf`, text);
      await c.upload({ path: `${dir.path}/big.sf`, type: "secflow" });
      await s.idle();
      const [entry] = await c.listUploads();
      assert.match(String(entry.processingError), /\$\.flashes\[5\]\.src: /);
      assert.doesNotMatch(String(entry.processingError), /cut short/);
    } finally {
      await s.shutdown();
    }
  },
);

serveTest("serve: a conversion failure is recorded and reported, not lost", async (storage) => {
  await using dir = await tempDir();
  const s = await startServe({ ...storage, dataDir: `${dir.path}/data` });
  try {
    const c = client(s.url);
    await Deno.writeTextFile(`${dir.path}/bad.sf`, '{"flashes": [1, 2');
    await c.upload({ path: `${dir.path}/bad.sf`, type: "secflow" });
    await s.idle();
    const [entry] = await c.listUploads();
    assert.equal(entry.processed, false);
    assert.match(String(entry.processingError), /not a valid Secflow sample/);
    const meta = await c.getSample(entry.uuid);
    assert.equal(meta.trafficDate, "");
    assert.match(String(meta.processingError), /not a valid Secflow sample/);
    assert.ok(!String(meta.processingError).includes(dir.path), "no server path in the message");
    await rejects(c.waitForProcessing(entry.uuid, { intervalMs: 10 }), 0, /processing failed/);
    assert.ok(s.logs.some((l) => l.includes("bad.sf") && l.includes("failed")));
    // A capture the converter rejects: its message names the upload, not the server's path.
    await Deno.writeFile(`${dir.path}/cut.pcap`, new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1, 2, 0]));
    await c.upload({ path: `${dir.path}/cut.pcap`, type: "pcapng" });
    await s.idle();
    const cut = (await c.listUploads())[1];
    assert.equal(cut.processed, false);
    assert.equal(typeof cut.processingError, "string");
    assert.ok(!String(cut.processingError).includes(dir.path), String(cut.processingError));
    // The original is not kept (no --keep-originals).
    assert.deepEqual(await s.service.storage.originals(), []);
  } finally {
    await s.shutdown();
  }
});

serveTest(
  "serve: a log line quoting an upload's name escapes its control characters",
  async (storage) => {
    await using dir = await tempDir();
    const s = await startServe({ ...storage, dataDir: `${dir.path}/data` });
    try {
      const c = client(s.url);
      await Deno.writeTextFile(`${dir.path}/bad.sf`, '{"flashes": [1, 2');
      // C1 controls: U+009B is a CSI (an 8-bit ESC [) on many terminals, U+0085 a line break.
      const name = "bad\u009b2J\u0085x.sf";
      await c.upload({ path: `${dir.path}/bad.sf`, fileName: name, type: "secflow" });
      await s.idle();
      const line = s.logs.find((l) => l.includes("conversion of"));
      assert.ok(line, s.logs.join("\n"));
      assert.ok(line.includes("conversion of bad\\x9b2J\\x85x.sf ("), line);
      // deno-lint-ignore no-control-regex
      for (const l of s.logs) assert.doesNotMatch(l, /[\x00-\x1f\x7f-\x9f]/, JSON.stringify(l));
      // The name itself is the user's, kept as given.
      assert.equal((await c.listUploads())[0].fileName, name);
    } finally {
      await s.shutdown();
    }
  },
);

serveTest(
  "serve: --keep-originals keeps the exact bytes of a multi-MiB streamed upload",
  async (storage) => {
    await using dir = await tempDir();
    const s = await startServe({ ...storage, dataDir: `${dir.path}/data`, keepOriginals: true });
    try {
      const bytes = new Uint8Array(3 * 1024 * 1024 + 17);
      for (let i = 0; i < bytes.length; i += 65536) {
        crypto.getRandomValues(bytes.subarray(i, i + 65536));
      }
      await Deno.writeFile(`${dir.path}/big.log`, bytes);
      const c = client(s.url);
      await c.upload({ path: `${dir.path}/big.log`, type: "zeek" });
      await s.idle();
      const [entry] = await c.listUploads();
      assert.equal(entry.fileType, "zeek");
      assert.deepEqual(await s.service.storage.originals(), [entry.uuid]);
      const stream = (await s.service.storage.readOriginal(entry.uuid, "sample"))!;
      const kept = new Uint8Array(await new Response(stream).arrayBuffer());
      assert.equal(kept.length, bytes.length);
      assert.ok(kept.every((b, i) => b === bytes[i]));
    } finally {
      await s.shutdown();
    }
  },
);

serveTest("serve: a client that disconnects mid-upload leaves no half sample", async (storage) => {
  await using dir = await tempDir();
  const s = await startServe({ ...storage, dataDir: `${dir.path}/data` });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    const enc = new TextEncoder();
    const part = `--XYZ\r\nContent-Disposition: form-data; name="type"\r\n\r\npcap\r\n` +
      `--XYZ\r\nContent-Disposition: form-data; name="file"; filename="half.pcap"\r\n\r\n`;
    await conn.write(enc.encode(
      `POST /upload/v1.0/uploader HTTP/1.1\r\nHost: 127.0.0.1\r\napikey: key-alice\r\n` +
        `Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 1000000\r\n\r\n${part}`,
    ));
    await conn.write(tinyPcap());
    // Wait until the server has started writing the part, then vanish.
    const tmp = `${dir.path}/data/tmp`;
    for (let i = 0; i < 200 && [...Deno.readDirSync(tmp)].length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal([...Deno.readDirSync(tmp)].length, 1, "the upload was in progress");
    conn.close();
    for (let i = 0; i < 200 && [...Deno.readDirSync(tmp)].length > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual([...Deno.readDirSync(tmp)], []);
    assert.deepEqual(await s.service.storage.originals(), []);
    assert.deepEqual(await client(s.url).listUploads(), []);
  } finally {
    await s.shutdown();
  }
});

serveTest(
  "serve: a restart keeps every sample and resumes pending conversions",
  async (storage) => {
    await using dir = await tempDir();
    const data = `${dir.path}/data`;
    await Deno.writeFile(`${dir.path}/a.pcap`, tinyPcap());
    await Deno.writeTextFile(`${dir.path}/b.sf`, sfSample([{}]));
    // First run: the .sf conversion never finishes before shutdown, so it stays pending.
    let release!: () => void;
    const blocked = new Promise<void>((r) => release = r);
    const first = await startServe({
      ...storage,
      dataDir: data,
      shutdownGraceMs: 50,
      convert: async (path, o) => {
        if (o.format === "secflow") await blocked;
        return defaultConverter(path, o);
      },
    });
    const c1 = client(first.url);
    await c1.upload({ path: `${dir.path}/a.pcap` });
    await c1.upload({ path: `${dir.path}/b.sf` });
    while (!(await c1.listUploads()).find((e) => e.fileName === "a.pcap")?.processed) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const before = await c1.listUploads();
    assert.deepEqual(before.map((e) => e.processed), [true, false]);
    await first.shutdown();
    release(); // the abandoned conversion finishes after the database closed: no effect
    const second = await startServe({ ...storage, dataDir: data });
    try {
      await second.idle();
      const c2 = client(second.url);
      const after = await c2.listUploads();
      assert.deepEqual(after.map((e) => e.uuid), before.map((e) => e.uuid));
      assert.deepEqual(after.map((e) => e.processed), [true, true]);
      assert.equal((await c2.listSecflows(before[0].uuid)).length, 1);
      assert.equal((await c2.listSecflows(before[1].uuid)).length, 1);
    } finally {
      await second.shutdown();
    }
  },
);

serveTest("serve: 20 concurrent uploads are all stored and processed", async (storage) => {
  await using dir = await tempDir();
  const s = await startServe({ ...storage, dataDir: `${dir.path}/data` });
  try {
    const c = new NetworkSageClient({ apiKey: "key-alice", apiUrl: s.url, useEnv: false });
    const paths = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const path = `${dir.path}/c${i}.pcap`;
      await Deno.writeFile(path, tinyPcap(1_700_000_000 + i * 100, i % 4));
      return path;
    }));
    await Promise.all(paths.map((path) => c.upload({ path })));
    const entries = await c.listUploads();
    assert.equal(entries.length, 20);
    const done = await Promise.all(
      entries.map((e) => c.waitForProcessing(e.uuid, { intervalMs: 20, timeoutMs: 20_000 })),
    );
    assert.ok(done.every((m) => m.trafficDate !== ""));
    const names = entries.map((e) => e.fileName).sort();
    assert.deepEqual(names, paths.map((p) => p.split("/").pop()!).sort());
    for (const e of entries) {
      const i = Number(e.fileName.slice(1, -5));
      assert.equal((await c.listSecflows(e.uuid)).length, 1 + (i % 4), e.fileName);
    }
  } finally {
    await s.shutdown();
  }
});

serveTest("serve: upload type is sniffed when the type field is absent", async (storage) => {
  await using dir = await tempDir();
  const s = await startServe({
    ...storage,
    dataDir: `${dir.path}/data`,
    keepOriginals: true,
    convert: () => Promise.resolve({ sample: null, warnings: [] }),
  });
  try {
    await Deno.writeFile(`${dir.path}/x.pcap`, tinyPcap());
    await Deno.writeTextFile(`${dir.path}/x.sf`, sfSample([{}]));
    await Deno.writeTextFile(`${dir.path}/conn.log`, "#separator \\x09\n");
    // A gzip'd capture is a capture (it was labelled zeek once), and a README is refused.
    const gz = new Uint8Array(
      await new Response(
        new Blob([tinyPcap() as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
          new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
        ),
      ).arrayBuffer(),
    );
    await Deno.writeFile(`${dir.path}/x.pcap.gz`, gz);
    await Deno.writeTextFile(`${dir.path}/README.md`, "# Notes\n\nNothing to convert.\n");
    const readme = await multipartBody([
      { name: "file", fileName: "README.md", path: `${dir.path}/README.md` },
    ]);
    const refused = await fetch(`${s.url}/upload/v1.0/uploader`, {
      method: "POST",
      headers: { apikey: "key-alice", "content-type": readme.contentType },
      body: readme.stream(),
    });
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).body, /^README\.md: not a pcap or pcapng capture/);
    for (const name of ["x.pcap", "x.sf", "conn.log", "x.pcap.gz"]) {
      const body = await multipartBody([{
        name: "file",
        fileName: name,
        path: `${dir.path}/${name}`,
      }]);
      const r = await fetch(`${s.url}/upload/v1.0/uploader`, {
        method: "POST",
        headers: { apikey: "key-alice", "content-type": body.contentType },
        body: body.stream(),
      });
      assert.equal(r.status, 200, await r.text());
    }
    await s.idle();
    const types = (await client(s.url).listUploads()).map((
      e,
    ) => [e.fileName, e.fileType, e.processed]);
    assert.deepEqual(types, [
      ["x.pcap", "pcap", true],
      ["x.sf", "secflow", true],
      ["conn.log", "zeek", true],
      ["x.pcap.gz", "pcap", true],
    ]);
  } finally {
    await s.shutdown();
  }
});

serveTest(
  "serve: a Zeek upload hands conn.log and its dns.log to the converter",
  async (storage) => {
    await using dir = await tempDir();
    const seen: { format: string; conn: string; dns: string | null }[] = [];
    const s = await startServe({
      ...storage,
      dataDir: `${dir.path}/data`,
      convert: async (path, o) => {
        seen.push({
          format: o.format,
          conn: await Deno.readTextFile(path),
          dns: o.dnsLog ? await Deno.readTextFile(o.dnsLog) : null,
        });
        return { sample: null, warnings: ["nothing to convert"] };
      },
    });
    try {
      await Deno.writeTextFile(`${dir.path}/conn.log`, "#fields\tts\tuid\n1.0\tC1\n");
      await Deno.writeTextFile(`${dir.path}/dns.log`, "#fields\tts\tquery\n1.0\texample.com\n");
      const c = client(s.url);
      await c.upload({ path: `${dir.path}/conn.log`, dnsLog: `${dir.path}/dns.log` });
      await s.idle();
      assert.deepEqual(seen, [{
        format: "zeek",
        conn: "#fields\tts\tuid\n1.0\tC1\n",
        dns: "#fields\tts\tquery\n1.0\texample.com\n",
      }]);
      const [entry] = await c.listUploads();
      const meta = await c.getSample(entry.uuid);
      // No Secflows: processed, no trafficDate, the warning reported; wait returns at once.
      assert.deepEqual([meta.processed, meta.trafficDate, meta.warnings], [true, "", [
        "nothing to convert",
      ]]);
      assert.equal((await c.waitForProcessing(entry.uuid, { intervalMs: 10 })).id, entry.uuid);
      assert.deepEqual(await c.listSecflows(entry.uuid), []);
      // A dns.log with another type is refused.
      await assert.rejects(
        c.upload({ path: `${dir.path}/conn.log`, type: "pcap", dnsLog: `${dir.path}/dns.log` }),
        /only with type zeek/,
      );
    } finally {
      await s.shutdown();
    }
  },
);

Deno.test("serve and the client refuse limits no one can mean (NaN was no limit at all), before opening anything", async () => {
  await using dir = await tempDir();
  const base = { dataDir: `${dir.path}/data`, apiKeys: ["key-0123456789"] };
  for (const bad of [{ maxUploadBytes: NaN }, { maxUploadBytes: -1 }, { headerTimeoutMs: -5 }]) {
    await assert.rejects(() => createService({ ...base, ...bad }), RangeError, JSON.stringify(bad));
  }
  await assert.rejects(() => createService({ ...base, apiKeys: [""] }), TypeError);
  assert.equal(await Deno.stat(`${dir.path}/data`).catch(() => null), null, "nothing created");
  assert.throws(() => new NetworkSageClient({ useEnv: false, maxResponseBytes: NaN }), RangeError);
  assert.throws(() => new NetworkSageClient({ useEnv: false, timeoutMs: -1 }), RangeError);
  // A key read with its line ending is refused at once, never quoted by a failing fetch.
  assert.throws(
    () => new NetworkSageClient({ useEnv: false, apiKey: "SECRETKEY123\r\n" }),
    (e: Error) => e instanceof TypeError && !e.message.includes("SECRETKEY"),
  );
});
