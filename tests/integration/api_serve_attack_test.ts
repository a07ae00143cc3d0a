/**
 * `serve` under attack over real HTTP on 127.0.0.1: silent and dripping connections, descriptor
 * exhaustion, oversized forms and heads, decompression bombs, conversions cut short, stalled
 * uploads, the connection cap, SIGTERM mid-body. Timeouts are shortened through options so that
 * nothing here waits the default 10-15 s. Misuse by the people holding keys is
 * api_serve_misuse_test.ts.
 */
import assert from "node:assert/strict";
import { hasCommand } from "../_child.ts";
import { DatabaseSync } from "node:sqlite";
import { NetworkSageClient } from "../../api/client.ts";
import { Store } from "../../serve/storage/_sqlite_db.ts";
import { createService } from "../../serve/server.ts";
import { serveProcess, startServe, tempDir, tinyPcap } from "../api_fixtures.ts";

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

const hasPrlimit = hasCommand("prlimit");

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
