/**
 * `serve` and the client against misuse, over real HTTP on 127.0.0.1: a server refusing chunked
 * bodies, admin-only annotations, file modes and salted key hashes, refused and short keys, data
 * directories serve did not make or an older serve made, uploads that must not leak the capture or
 * the server's paths, network errors that name their cause, the library's options misused. Hostile
 * connections and bodies are api_serve_attack_test.ts.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { NetworkSageClient } from "../../api/client.ts";
import { multipartBody } from "../../api/multipart.ts";
import { Store } from "../../serve/storage/_sqlite_db.ts";
import { createService } from "../../serve/server.ts";
import { runCli, startServe, tempDir, tinyPcap } from "../api_fixtures.ts";

const enc = new TextEncoder();

function client(url: string, apiKey = "key-alice") {
  return new NetworkSageClient({ apiKey, apiUrl: url, useEnv: false, maxAttempts: 1 });
}

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
