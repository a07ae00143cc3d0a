/**
 * `serve` under attack and the client against strict servers, over real HTTP on 127.0.0.1: silent
 * and dripping connections, descriptor exhaustion, oversized forms, decompression bombs, a server
 * refusing chunked bodies, admin-only annotations, file modes, salted key hashes, refused keys.
 * Timeouts are shortened through options so that nothing here waits the default 10-15 s.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { NetworkSageClient } from "../../api/client.ts";
import { multipartBody } from "../../api/multipart.ts";
import { Store } from "../../serve/storage/_sqlite_db.ts";
import { createService } from "../../serve/server.ts";
import { runCli, serveProcess, startServe, tempDir, tinyPcap } from "../api_fixtures.ts";

const enc = new TextEncoder();

function client(url: string, apiKey = "key-alice") {
  return new NetworkSageClient({ apiKey, apiUrl: url, useEnv: false, maxAttempts: 1 });
}

async function connect(url: string): Promise<Deno.TcpConn> {
  const u = new URL(url);
  return await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
}

/** Resolves true when the server closed `conn` (EOF or reset) within `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(4096);
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline) {
      const n = await Promise.race([
        conn.read(buf),
        new Promise<"wait">((r) => setTimeout(() => r("wait"), deadline - Date.now())),
      ]);
      if (n === null) return true;
      if (n === "wait") return false;
    }
    return false;
  } catch {
    return true;
  }
}

Deno.test("serve: silent, dripping and idle kept-alive connections are dropped by their timeouts", async () => {
  await using dir = await tempDir();
  const s = await startServe({
    dataDir: `${dir.path}/data`,
    headerTimeoutMs: 400,
    idleTimeoutMs: 300,
  });
  try {
    const silent = await Promise.all(Array.from({ length: 30 }, () => connect(s.url)));
    const dripping = await Promise.all(Array.from({ length: 30 }, () => connect(s.url)));
    let dripping_on = true;
    const drip = (async () => {
      const head = enc.encode("GET /upload/v1.0/uploads/list HTTP/1.1\r\nhost: x\r\n");
      for (let i = 0; dripping_on && i < head.length; i++) {
        await Promise.all(dripping.map((c) => c.write(head.subarray(i, i + 1)).catch(() => {})));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // A served request leaves a kept-alive connection: it must go too once idle.
    const kept = await connect(s.url);
    await kept.write(enc.encode("GET /nope HTTP/1.1\r\nhost: x\r\n\r\n"));
    const answer = new Uint8Array(4096);
    const n = await kept.read(answer);
    assert.match(new TextDecoder().decode(answer.subarray(0, n ?? 0)), /^HTTP\/1\.1 404/);
    const closed = await Promise.all(
      [...silent, ...dripping, kept].map((c) => closedWithin(c, 3000)),
    );
    dripping_on = false;
    await drip;
    assert.equal(closed.filter(Boolean).length, closed.length, "every slow connection closed");
    for (const c of [...silent, ...dripping, kept]) c.close();
    assert.equal((await client(s.url).listUploads()).length, 0, "still answering");
  } finally {
    await s.shutdown();
  }
});

const hasPrlimit = (() => {
  try {
    return new Deno.Command("prlimit", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "serve: under prlimit --nofile=1024, 1,100 silent connections do not stop it answering",
  ignore: !hasPrlimit,
}, async () => {
  await using dir = await tempDir();
  // Above the descriptor limit on purpose: accept itself must run out and be survived.
  const s = await serveProcess(`${dir.path}/data`, "key-alice", [
    "--max-connections",
    "5000",
    "--header-timeout",
    "3",
  ], { prefix: ["prlimit", "--nofile=1024"] });
  const url = s.url;
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 1100; i++) conns.push(await connect(url));
    // While they are all open (more than the server has descriptors): a real request is answered.
    const started = Date.now();
    const r = await fetch(`${url}/upload/v1.0/uploads/list`, {
      headers: { apikey: "key-alice" },
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { error: false, body: [] });
    assert.ok(Date.now() - started < 10_000);
    for (const c of conns) c.close();
    conns.length = 0;
    const again = await fetch(`${url}/upload/v1.0/uploads/list`, {
      headers: { apikey: "key-alice" },
    });
    assert.equal(again.status, 200);
    await again.body?.cancel();
  } finally {
    for (const c of conns) c.close();
    const stopped = await s.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
  }
});

/** A multipart body streamed from a generator of parts (never built whole). */
function streamedForm(
  boundary: string,
  parts: () => Generator<string>,
): ReadableStream<Uint8Array> {
  const it = parts();
  return new ReadableStream({
    pull(controller) {
      const next = it.next();
      if (next.done) {
        controller.enqueue(enc.encode(`--${boundary}--\r\n`));
        controller.close();
      } else controller.enqueue(enc.encode(next.value));
    },
  });
}

Deno.test("serve: many fields, long names, too many parts and huge part headers are refused, bounded", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data` });
  try {
    const post = async (parts: () => Generator<string>) => {
      const r = await fetch(`${s.url}/upload/v1.0/uploader`, {
        method: "POST",
        headers: { apikey: "key-alice", "content-type": "multipart/form-data; boundary=BB" },
        body: streamedForm("BB", parts),
      });
      return { status: r.status, body: (await r.json()).body as string };
    };
    const longName = "n".repeat(16 * 1024);
    // The attack: 30,000 empty fields with 16 KB names.
    const manyLong = await post(function* () {
      for (let i = 0; i < 30_000; i++) {
        yield `--BB\r\nContent-Disposition: form-data; name="${longName}${i}"\r\n\r\n\r\n`;
      }
    });
    assert.equal(manyLong.status, 400);
    assert.match(manyLong.body, /part headers longer than 8192 bytes/);
    const manyShort = await post(function* () {
      for (let i = 0; i < 30_000; i++) {
        yield `--BB\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\n\r\n`;
      }
    });
    assert.equal(manyShort.status, 400);
    assert.match(manyShort.body, /more than 16 parts/);
    // Names count with values: 10 fields with 7 KB names go over 64 KiB.
    const names = await post(function* () {
      for (let i = 0; i < 10; i++) {
        yield `--BB\r\nContent-Disposition: form-data; name="${"m".repeat(7000)}${i}"\r\n\r\nx\r\n`;
      }
    });
    assert.equal(names.status, 400);
    assert.match(names.body, /form fields and names larger than 65536 bytes/);
    assert.deepEqual([...Deno.readDirSync(`${dir.path}/data/tmp`)], [], "nothing left behind");
  } finally {
    await s.shutdown();
  }
});

async function gzipOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(
    await new Response(
      stream.pipeThrough(
        new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
      ),
    ).arrayBuffer(),
  );
}

function repeated(byte: number, total: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1 << 20).fill(byte);
  let left = total;
  return new ReadableStream({
    pull(c) {
      if (left <= 0) return c.close();
      const n = Math.min(left, chunk.length);
      c.enqueue(chunk.subarray(0, n));
      left -= n;
    },
  });
}

Deno.test("serve: a gzip bomb is converted under the memory cap, marked failed, never re-converted", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  // 256 MB of spaces after a JSON-looking start, as `zeek`: about 400 KB gzipped.
  const head = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode('{"ts": 1, "id.orig_h": "10.0.0.1", "note": "'));
      c.close();
    },
  });
  const bomb = await gzipOf(
    new ReadableStream({
      async start(c) {
        for await (const x of head) c.enqueue(x);
        for await (const x of repeated(0x20, 256 * 1024 * 1024)) c.enqueue(x);
        c.close();
      },
    }),
  );
  assert.ok(bomb.length < 2 * 1024 * 1024, `${bomb.length} bytes`);
  await Deno.writeFile(`${dir.path}/bomb.log.gz`, bomb);
  const s = await startServe({ dataDir: data, maxConvertMemory: 160 * 1024 * 1024 });
  let uuid = "";
  try {
    const c = client(s.url);
    // An ordinary upload converts under the same cap.
    await Deno.writeFile(`${dir.path}/a.pcap`, tinyPcap());
    await c.upload({ path: `${dir.path}/a.pcap` });
    await s.idle();
    assert.equal((await c.listUploads())[0].processed, true);
    await c.upload({ path: `${dir.path}/bomb.log.gz`, type: "zeek" });
    const started = Date.now();
    // Requests are answered while it converts.
    const t = performance.now();
    await c.listUploads();
    assert.ok(performance.now() - t < 500);
    await s.idle();
    const entry = (await c.listUploads())[1];
    uuid = entry.uuid;
    assert.equal(entry.processed, false);
    // Either guard may stop it first: the converter's bounded line reader (no line break in the
    // first 64 MiB) or the subprocess's memory cap.
    assert.match(
      String(entry.processingError),
      /memory cap of 160 MiB|too large|limit|no line break in its first 64 MiB/i,
    );
    console.log(`bomb: ${entry.processingError} after ${Date.now() - started} ms`);
    assert.ok(Date.now() - started < 60_000);
  } finally {
    await s.shutdown();
  }
  // Restarted: the failed upload stays failed; nothing is converted again.
  let calls = 0;
  const again = await startServe({
    dataDir: data,
    convert: () => {
      calls++;
      return Promise.resolve({ sample: null, warnings: [] });
    },
  });
  try {
    await again.idle();
    assert.equal(calls, 0);
    assert.equal((await client(again.url).getSample(uuid)).status, "failed");
  } finally {
    await again.shutdown();
  }
});

Deno.test("serve: an upload whose conversion was cut short twice is marked failed, not retried", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await Deno.writeFile(`${dir.path}/a.pcap`, tinyPcap());
  // A first run records the upload; its conversion never ends (as if it took the server down).
  const first = await startServe({
    dataDir: data,
    convert: () => new Promise(() => {}),
    shutdownGraceMs: 10,
  });
  await client(first.url).upload({ path: `${dir.path}/a.pcap` });
  const [{ uuid }] = await client(first.url).listUploads();
  await first.shutdown();
  // That start counted (its converter never returned); a second one died mid-conversion too
  // (what an OOM kill of the whole server leaves behind).
  const store = await Store.open(`${data}/networksage.db`);
  assert.equal((await store.sample(uuid, null))?.attempts, 1);
  await store.startAttempt(uuid);
  await store.close();
  let calls = 0;
  const service = await createService({
    dataDir: data,
    apiKeys: ["key-alice"],
    onLog: () => {},
    convert: () => {
      calls++;
      return Promise.resolve({ sample: null, warnings: [] });
    },
  });
  await service.idle();
  await service.close();
  assert.equal(calls, 0);
  const db = new DatabaseSync(`${data}/networksage.db`);
  const row = db.prepare("SELECT status, error FROM samples WHERE uuid = ?").get(uuid) as {
    status: string;
    error: string;
  };
  db.close();
  assert.equal(row.status, "failed");
  assert.match(row.error, /interrupted 2 times/);
});

Deno.test("client: a server that answers 411 to chunked bodies receives every upload, byte for byte", async () => {
  await using dir = await tempDir();
  const file = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 7919) & 255);
  await Deno.writeFile(`${dir.path}/big.pcap`, tinyPcap());
  await Deno.writeFile(`${dir.path}/blob.bin`, file);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: Uint8Array[] = [];
  let chunked = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        let buf = new Uint8Array(0);
        const chunk = new Uint8Array(65536);
        let headEnd = -1;
        while (headEnd < 0) {
          const n = await conn.read(chunk);
          if (n === null) return conn.close();
          buf = new Uint8Array([...buf, ...chunk.subarray(0, n)]);
          headEnd = new TextDecoder().decode(buf).indexOf("\r\n\r\n");
        }
        const head = new TextDecoder().decode(buf.subarray(0, headEnd)).toLowerCase();
        const reply = (status: number, body: string) =>
          conn.write(enc.encode(
            `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
          )).finally(() => conn.close());
        if (head.includes("transfer-encoding: chunked")) {
          chunked++;
          return reply(411, '{"error":true,"body":"length required"}');
        }
        const length = Number(/content-length: (\d+)/.exec(head)?.[1] ?? -1);
        if (length < 0) return reply(411, '{"error":true,"body":"length required"}');
        const parts = [buf.subarray(headEnd + 4)];
        let got = parts[0].length;
        while (got < length) {
          const n = await conn.read(chunk);
          if (n === null) break;
          parts.push(chunk.slice(0, n));
          got += n;
        }
        const body = new Uint8Array(got);
        let o = 0;
        for (const p of parts) {
          body.set(p, o);
          o += p.length;
        }
        received.push(body);
        await reply(200, '{"error":false,"body":"ok"}');
      })();
    }
  })();
  try {
    const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
    const c = client(url);
    assert.equal(await c.upload({ path: `${dir.path}/blob.bin`, type: "pcap" }), "ok");
    assert.equal(await c.upload({ path: `${dir.path}/big.pcap` }), "ok");
    assert.equal(chunked, 0);
    assert.equal(received.length, 2);
    // The server got exactly the multipart body the client framed, file bytes included.
    const expected = await multipartBody([
      { name: "type", value: "pcap" },
      { name: "fileName", value: "blob.bin" },
      { name: "file", fileName: "blob.bin", path: `${dir.path}/blob.bin` },
    ]);
    assert.equal(received[0].length, expected.length);
    const text = new TextDecoder("latin1").decode(received[0]);
    const start = text.indexOf("\r\n\r\n", text.indexOf('name="file"')) + 4;
    assert.deepEqual(received[0].subarray(start, start + file.length), file);
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});

Deno.test("serve: only admin keys may PUT annotations; others get a 403 envelope", async () => {
  await using dir = await tempDir();
  const s = await startServe({
    dataDir: `${dir.path}/data`,
    apiKeys: ["key-alice", { key: "key-admin", admin: true }],
  });
  try {
    const put = (key: string) =>
      fetch(`${s.url}/sec/v1.0/destinations/example.com%3A443`, {
        method: "PUT",
        headers: { apikey: key },
        body: JSON.stringify({ title: "mine" }),
      }).then(async (r) => ({ status: r.status, json: await r.json() }));
    const denied = await put("key-alice");
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error, true);
    assert.match(denied.json.body, /admin/);
    assert.deepEqual(await client(s.url).destination("example.com:443"), {});
    assert.equal((await put("key-admin")).status, 200);
    assert.deepEqual(await client(s.url).destination("example.com:443"), { title: "mine" });
  } finally {
    await s.shutdown();
  }
});

Deno.test("serve: data directory 0700 and files 0600 under umask 022; key hashes salted", async () => {
  await using dir = await tempDir();
  const old = Deno.umask(0o022);
  try {
    const data = `${dir.path}/data`;
    const s = await startServe({ dataDir: data, keepOriginals: true });
    try {
      await Deno.writeFile(`${dir.path}/a.pcap`, tinyPcap());
      await client(s.url).upload({ path: `${dir.path}/a.pcap` });
      await s.idle();
    } finally {
      await s.shutdown();
    }
    const mode = (p: string) => (Deno.statSync(p).mode ?? 0) & 0o777;
    assert.equal(mode(data), 0o700);
    assert.equal(mode(`${data}/uploads`), 0o700);
    assert.equal(mode(`${data}/tmp`), 0o700);
    assert.equal(mode(`${data}/networksage.db`), 0o600);
    const [upload] = [...Deno.readDirSync(`${data}/uploads`)];
    assert.equal(mode(`${data}/uploads/${upload.name}`), 0o700);
    assert.equal(mode(`${data}/uploads/${upload.name}/sample`), 0o600);
    // The same key in two data directories: different salts, different hashes, no plain digest.
    const other = `${dir.path}/other`;
    await (await startServe({ dataDir: other })).shutdown();
    const hashes = [data, other].map((d) => {
      const db = new DatabaseSync(`${d}/networksage.db`);
      const rows = db.prepare("SELECT salt, hash FROM keys").all() as {
        salt: string;
        hash: string;
      }[];
      db.close();
      assert.equal(rows.length, 1);
      return rows[0];
    });
    assert.notEqual(hashes[0].salt, hashes[1].salt);
    assert.notEqual(hashes[0].hash, hashes[1].hash);
    const sha = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode("key-alice"))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    const bytes = new TextDecoder("latin1").decode(Deno.readFileSync(`${data}/networksage.db`));
    assert.ok(!bytes.includes(sha) && !bytes.includes("key-alice"), "no plain digest or key");
  } finally {
    Deno.umask(old);
  }
});

Deno.test("cli: upload with a refused key fails at once (exit 1, one line), without retrying", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data` });
  try {
    await Deno.writeFile(`${dir.path}/a.pcap`, tinyPcap());
    const run = await runCli(
      ["upload", `${dir.path}/a.pcap`, "--api-url", s.url, "--retries", "4"],
      [
        "--allow-env=NETWORKSAGE_API_KEY,NETWORKSAGE_API_URL,NETWORKSAGE_PUBLIC_URL",
        `--allow-net=${new URL(s.url).host}`,
        `--allow-read=${dir.path}`,
      ],
      { NETWORKSAGE_API_KEY: "not-a-key-123" },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /refused the API key \(401 invalid API key\)/);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.ok(!run.stderr.includes("not-a-key-123"));
    assert.equal(s.logs.filter((l) => l.startsWith("POST /upload/v1.0/uploader")).length, 1);
    // What convert refuses, upload refuses before sending: exit 2, convert's own message.
    await Deno.writeTextFile(`${dir.path}/README.md`, "# Hello\n\nNot a capture.\n");
    const readme = await runCli(
      ["upload", `${dir.path}/README.md`, "--api-url", s.url],
      [
        "--allow-env=NETWORKSAGE_API_KEY,NETWORKSAGE_API_URL,NETWORKSAGE_PUBLIC_URL",
        `--allow-net=${new URL(s.url).host}`,
        `--allow-read=${dir.path}`,
      ],
      { NETWORKSAGE_API_KEY: "key-alice" },
    );
    const convert = await runCli(["convert", `${dir.path}/README.md`], [
      `--allow-read=${dir.path}`,
      `--allow-write=${dir.path}`,
    ]);
    assert.equal(readme.code, 2);
    assert.equal(convert.code, 2);
    assert.equal(
      readme.stderr.replace("networksage upload: ", ""),
      convert.stderr.replace("networksage convert: ", ""),
    );
    assert.equal(s.logs.filter((l) => l.startsWith("POST /upload/v1.0/uploader")).length, 1);
  } finally {
    await s.shutdown();
  }
});

Deno.test("cli: upload --convert sends only the Secflows, never the capture", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, keepOriginals: true });
  try {
    await Deno.writeFile(`${dir.path}/c.pcap`, tinyPcap(1_700_000_000, 2));
    const run = await runCli(
      ["upload", `${dir.path}/c.pcap`, "--convert", "--api-url", s.url],
      [
        "--allow-env=NETWORKSAGE_API_KEY,NETWORKSAGE_API_URL,NETWORKSAGE_PUBLIC_URL",
        `--allow-net=${new URL(s.url).host}`,
        `--allow-read`,
        `--allow-write`,
      ],
      { NETWORKSAGE_API_KEY: "key-alice" },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /3 Secflows; uploading only those/);
    await s.idle();
    const [entry] = await client(s.url).listUploads();
    assert.equal(entry.fileName, "c.sf");
    assert.equal(entry.fileType, "secflow");
    assert.equal((await client(s.url).listSecflows(entry.uuid)).length, 3);
    // What reached the server is a Secflow sample, not a byte of the capture.
    const stored = await Deno.readTextFile(`${dir.path}/data/uploads/${entry.uuid}/sample`);
    assert.ok(JSON.parse(stored).flashes.length === 3);
    assert.ok(s.logs.some((l) => l.startsWith("POST /upload/v1.0/uploader 200")));
    assert.equal(
      [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].filter((e) =>
        e.name.startsWith("networksage-upload-")
      ).length,
      0,
      "temporary sample removed",
    );
  } finally {
    await s.shutdown();
  }
});

Deno.test("serve: samples of an older data directory (unsalted SHA-256 owners) stay their key's", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  await Deno.mkdir(data);
  const store = await Store.open(`${data}/networksage.db`);
  const sha = Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode("key-alice"))),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  await store.addSample({
    uuid: "old-1",
    owner: sha,
    fileName: "old.pcap",
    fileType: "pcap",
    createdMs: Date.now(),
    storedPath: `${data}/uploads/old-1/sample`,
    dnsPath: null,
  });
  await store.fail("old-1", "from before", false);
  await store.close();
  const s = await startServe({ dataDir: data, apiKeys: ["key-alice", "key-bob"] });
  try {
    assert.deepEqual((await client(s.url).listUploads()).map((e) => e.uuid), ["old-1"]);
    assert.deepEqual(await client(s.url, "key-bob").listUploads(), []);
  } finally {
    await s.shutdown();
  }
  const db = new DatabaseSync(`${data}/networksage.db`);
  const owner = (db.prepare("SELECT owner FROM samples").get() as { owner: string }).owner;
  db.close();
  assert.notEqual(owner, sha);
});

Deno.test("serve: an upload that stalls mid-body is dropped and cleaned up after the stall timeout", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, stallTimeoutMs: 300 });
  try {
    const conn = await connect(s.url);
    await conn.write(enc.encode(
      `POST /upload/v1.0/uploader HTTP/1.1\r\nHost: x\r\napikey: key-alice\r\n` +
        `Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 1000000\r\n\r\n` +
        `--XYZ\r\nContent-Disposition: form-data; name="file"; filename="s.pcap"\r\n\r\n`,
    ));
    await conn.write(tinyPcap());
    const tmp = `${dir.path}/data/tmp`;
    for (let i = 0; i < 200 && [...Deno.readDirSync(tmp)].length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal([...Deno.readDirSync(tmp)].length, 1, "the upload was in progress");
    // The client stays connected and sends nothing more.
    assert.ok(await closedWithin(conn, 3000), "the stalled connection was closed");
    for (let i = 0; i < 100 && [...Deno.readDirSync(tmp)].length > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual([...Deno.readDirSync(tmp)], []);
    conn.close();
    assert.deepEqual(await client(s.url).listUploads(), []);
  } finally {
    await s.shutdown();
  }
});

Deno.test("client: network errors name the host, the cause and the attempts (refused, TLS)", async () => {
  // A plain-text server where TLS is expected: both transports say it is a TLS failure.
  const plain = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of plain) {
      conn.write(enc.encode("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"))
        .catch(() => {}).finally(() => setTimeout(() => conn.close(), 50));
    }
  })();
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/a.pcap`, tinyPcap());
  try {
    const host = `127.0.0.1:${(plain.addr as Deno.NetAddr).port}`;
    const c = new NetworkSageClient({
      apiKey: "key-alice",
      apiUrl: `https://${host}`,
      useEnv: false,
      maxAttempts: 2,
      retryBaseMs: 1,
    });
    for (const call of [() => c.listUploads(), () => c.upload({ path: `${dir.path}/a.pcap` })]) {
      await assert.rejects(call, (e: Error) => {
        assert.match(
          e.message,
          new RegExp(`cannot reach ${host}: TLS failure \\(.+\\) \\(2 attempts\\)`),
        );
        return true;
      });
    }
  } finally {
    plain.close();
    await serving.catch(() => {});
  }
});

Deno.test("serve: conversion warnings name the upload, never where serve keeps it", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data` });
  try {
    const pcap = tinyPcap();
    const bogus = new Uint8Array(16);
    new DataView(bogus.buffer).setUint32(8, 1_700_000_000, true); // captured length
    const damaged = new Uint8Array(pcap.length + 16);
    damaged.set(pcap);
    damaged.set(bogus, pcap.length);
    await Deno.writeFile(`${dir.path}/damaged.pcap`, damaged);
    await client(s.url).upload({ path: `${dir.path}/damaged.pcap` });
    await s.idle();
    const [entry] = await client(s.url).listUploads();
    const meta = await client(s.url).getSample(entry.uuid);
    const warnings = (meta as { warnings?: string[] }).warnings ?? [];
    assert.equal(warnings.length, 1, JSON.stringify(meta));
    assert.match(warnings[0], /^damaged\.pcap: record at byte offset/);
    assert.ok(!warnings[0].includes(dir.path), warnings[0]);
  } finally {
    await s.shutdown();
  }
});

Deno.test("serve: at the connection cap, the oldest idle connection makes room for a request", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, maxConnections: 20 });
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 60; i++) conns.push(await connect(s.url));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(s.connections <= 20, `${s.connections} open`);
    assert.deepEqual(await client(s.url).listUploads(), []);
    // The first ones were closed to make room, well before any timeout.
    assert.ok(await closedWithin(conns[0], 1000));
  } finally {
    for (const c of conns) c.close();
    await s.shutdown();
  }
});

Deno.test("serve: SIGTERM stops it within 5 s even with an upload stuck mid-body", async () => {
  await using dir = await tempDir();
  const server = await serveProcess(`${dir.path}/data`, "key-alice");
  const conn = await connect(server.url);
  try {
    await conn.write(enc.encode(
      `POST /upload/v1.0/uploader HTTP/1.1\r\nHost: x\r\napikey: key-alice\r\n` +
        `Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 1000000\r\n\r\n` +
        `--XYZ\r\nContent-Disposition: form-data; name="file"; filename="s.pcap"\r\n\r\n`,
    ));
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const run = await server.stop();
    const took = Date.now() - started;
    assert.equal(run.code, 0, run.stderr);
    assert.ok(took < 5000, `${took} ms`);
    assert.match(run.stderr, /networksage serve: stopped/);
    assert.deepEqual([...Deno.readDirSync(`${dir.path}/data/uploads`)], []);
  } finally {
    conn.close();
  }
});

Deno.test("serve: a request head over 16 KiB is refused (431) even when it arrives in one piece", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data` });
  try {
    const ask = async (headBytes: number) => {
      const start = "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ";
      const end = "\r\nConnection: close\r\n\r\n";
      const filler = "a".repeat(headBytes - start.length - end.length);
      const conn = await connect(s.url);
      await conn.write(enc.encode(start + filler + end));
      const text = new TextDecoder().decode(
        new Uint8Array(await new Response(conn.readable).arrayBuffer()),
      );
      return Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]);
    };
    assert.notEqual(await ask(16_000), 431);
    assert.notEqual(await ask(16_384 + 4), 431); // exactly 16 KiB before the blank line
    assert.equal(await ask(16_384 + 5), 431);
    assert.equal(await ask(30_000), 431);
  } finally {
    await s.shutdown();
  }
});

Deno.test("serve: keys shorter than 16 characters get a warning at start; longer ones none", async () => {
  await using dir = await tempDir();
  const weak = await startServe({
    dataDir: `${dir.path}/a`,
    apiKeys: ["key-alice", { key: "0123456789abcdef", admin: true }, "sk-team"],
  });
  const strong = await startServe({ dataDir: `${dir.path}/b`, apiKeys: ["0123456789abcdef"] });
  try {
    const warned = weak.logs.filter((l) => l.includes("shorter than 16 characters"));
    assert.deepEqual(warned, [
      "networksage serve: warning: 2 of the keys are shorter than 16 characters and can be " +
      "guessed; use random keys of 16 characters or more (openssl rand -hex 16)",
    ]);
    assert.ok(!warned[0].includes("key-alice") && !warned[0].includes("sk-team"), "a key printed");
    assert.equal(strong.logs.filter((l) => l.includes("shorter than")).length, 0);
  } finally {
    await weak.shutdown();
    await strong.shutdown();
  }
});

Deno.test("serve: a data directory it did not make is refused and left as it is; one serve per directory", async () => {
  await using dir = await tempDir();
  const keys = ["0123456789abcdef0123"];
  // The root and an empty path: refused before anything is touched (`--data ""` once cleared /tmp).
  for (const bad of ["", "/", "///"]) {
    await assert.rejects(
      () => createService({ dataDir: bad, apiKeys: keys }),
      /serve: the data directory (must be a path|cannot be \/)/,
    );
  }
  // A directory of the user's: its tmp/ and uploads/ and its mode stay as they were.
  const home = `${dir.path}/home`;
  await Deno.mkdir(`${home}/tmp`, { recursive: true });
  await Deno.mkdir(`${home}/uploads`);
  await Deno.writeTextFile(`${home}/tmp/notes.txt`, "keep me\n");
  await Deno.writeTextFile(`${home}/uploads/photo.jpg`, "keep me too\n");
  await Deno.writeTextFile(`${home}/.bashrc`, "# mine\n");
  await Deno.chmod(home, 0o755);
  await assert.rejects(
    () => createService({ dataDir: home, apiKeys: keys }),
    /serve: .*home holds files serve did not make \(\.bashrc\): give a new or empty directory/,
  );
  assert.equal(await Deno.readTextFile(`${home}/tmp/notes.txt`), "keep me\n");
  assert.equal(await Deno.readTextFile(`${home}/uploads/photo.jpg`), "keep me too\n");
  assert.equal((await Deno.stat(home)).mode! & 0o777, 0o755);
  // A new directory is marked and held: a second serve on it is refused while the first runs.
  const data = `${dir.path}/data`;
  const first = await createService({ dataDir: data, apiKeys: keys });
  try {
    await Deno.stat(`${data}/.networksage-serve`);
    await assert.rejects(
      () => createService({ dataDir: data, apiKeys: keys }),
      /serve: another serve is using the data directory/,
    );
  } finally {
    await first.close();
  }
  await (await createService({ dataDir: data, apiKeys: keys })).close();
  // A data directory from before the marker (only what serve makes) is taken as serve's.
  const old = `${dir.path}/old`;
  await Deno.mkdir(`${old}/uploads`, { recursive: true });
  await Deno.mkdir(`${old}/tmp`);
  await (await createService({ dataDir: old, apiKeys: keys })).close();
  await Deno.stat(`${old}/.networksage-serve`);
});

Deno.test("library misuse: an admin flag that is no boolean, an untrimmed key, a bogus upload type or annotation kind, a spool name with a path", async () => {
  await using dir = await tempDir();
  const key = "0123456789abcdef0123";
  await assert.rejects(
    () =>
      createService({
        dataDir: `${dir.path}/a`,
        apiKeys: [{ key, admin: "false" as unknown as boolean }],
      }),
    /admin must be true or false, not "false"/,
  );
  await assert.rejects(
    () => createService({ dataDir: `${dir.path}/b`, apiKeys: [` ${key} `] }),
    /spaces at an end or control characters/,
  );
  let requests = 0;
  const c = new NetworkSageClient({
    apiKey: key,
    apiUrl: "http://127.0.0.1:9",
    useEnv: false,
    fetch: (() => {
      requests++;
      return Promise.resolve(Response.json({ error: false, body: {} }));
    }) as typeof fetch,
  });
  await Deno.writeFile(`${dir.path}/c.pcap`, tinyPcap());
  await assert.rejects(
    () => c.upload({ path: `${dir.path}/c.pcap`, type: "bogus" as "pcap" }),
    /upload: type must be one of pcap, pcapng, zeek, secflow, not "bogus"/,
  );
  await assert.rejects(
    () => c.annotate("bogus" as "event", "x", { title: "t" }),
    /annotate: kind must be destination, behavior or event/,
  );
  assert.equal(requests, 0);
  const { Spool } = await import("../../capture/spool.ts");
  const spool = new Spool(`${dir.path}/spool`);
  await spool.open();
  try {
    await Deno.writeTextFile(`${dir.path}/victim.txt`, "mine\n");
    await assert.rejects(() => spool.remove("../victim.txt"), /is not a sample's file name/);
    await assert.rejects(
      () => spool.add(undefined as unknown as string, new Uint8Array(1)),
      TypeError,
    );
    assert.equal(await Deno.readTextFile(`${dir.path}/victim.txt`), "mine\n");
  } finally {
    spool.close();
  }
});

Deno.test("defaultConverter: an aborted signal is an abort, not a finished conversion", async () => {
  const { defaultConverter } = await import("../../serve/conversions/converter.ts");
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/c.pcap`, tinyPcap());
  const done = await defaultConverter(`${dir.path}/c.pcap`, { format: "pcap", fileName: "c.pcap" });
  assert.ok(done.sample && done.sample.flashes.length > 0);
  await assert.rejects(
    () =>
      defaultConverter(`${dir.path}/c.pcap`, {
        format: "pcap",
        fileName: "c.pcap",
        signal: AbortSignal.abort(),
      }),
    (e: Error) => e.name === "AbortError",
  );
});
