/**
 * Several `serve` nodes on one PostgreSQL database: an upload to one node is listed, converted
 * and served by another exactly as `convert` gives it; a node killed (SIGKILL) in the middle of
 * a large conversion loses its lease and another node finishes the job; concurrent uploads
 * spread over two nodes are converted exactly once; a node that outlived its lease cannot store a
 * result; migrations race safely. Skipped with a
 * message when no PostgreSQL is available (`tests/_postgres.ts`).
 */
import assert from "node:assert/strict";
import { NetworkSageClient, publicUuidOf } from "../api/client.ts";
import { toPlatformSecflow } from "../api/classify.ts";
import { defaultConverter, serve } from "../api/server.ts";
import { migrate, MIGRATIONS } from "../api/store_postgres.ts";
import { loadPostgres } from "../api/_postgres_client.ts";
import { openStorage, type Storage } from "../api/storage.ts";
import type { PlatformSecflow } from "../api/types.ts";
import { CLI, runCli, serveProcess, tempDir, tinyPcap } from "./api_fixtures.ts";
import { freshDatabase } from "./_postgres.ts";
import { postgresUrl, warnSkip } from "./_storages.ts";

const KEY = "key-fleet";
const ignore = postgresUrl === null;
if (ignore) warnSkip();

/** A one-connection pool of the client `serve` uses, for looking into the database. */
async function pool(url: string) {
  return (await loadPostgres())(url, { max: 1, onnotice: () => {} });
}

function client(url: string) {
  return new NetworkSageClient({ apiKey: KEY, apiUrl: url, useEnv: false, maxAttempts: 1 });
}

/**
 * `cli.ts serve --database URL` as a subprocess on an ephemeral port, with the test key as an
 * admin key. Conversions run inside the node (no `--allow-run`), so killing the node kills its
 * conversion too.
 */
function node(dataDir: string, database: string, extra: string[] = []) {
  return serveProcess(dataDir, KEY, ["--database", database, ...extra], {
    admin: true,
    allowRun: false,
  });
}

/** What `convert` gives for `path`, in the platform's Secflow shape. */
async function convertedSecflows(path: string, out: string) {
  const dir = out.slice(0, out.lastIndexOf("/"));
  const run = await runCli(["convert", path, "-o", out], [
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const sample = JSON.parse(await Deno.readTextFile(out));
  return sample.flashes.map(toPlatformSecflow);
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name: "postgres: an upload to node A is listed, converted and served by node B as convert gives",
  ignore,
  async fn() {
    await using dir = await tempDir();
    await using db = await freshDatabase(postgresUrl!);
    const pcap = `${dir.path}/two.pcap`;
    await Deno.writeFile(pcap, tinyPcap(1_700_000_000, 3));
    const a = await node(`${dir.path}/a`, db.url);
    const b = await node(`${dir.path}/b`, db.url);
    try {
      assert.match(a.firstLine, /database postgres:\/\/postgres@127\.0\.0\.1:\d+\/ns_test_/);
      await client(a.url).upload({ path: pcap });
      const cb = client(b.url);
      const [entry] = await cb.listUploads();
      assert.equal(entry.fileName, "two.pcap");
      const meta = await cb.waitForProcessing(entry.uuid, { intervalMs: 20, timeoutMs: 20_000 });
      assert.notEqual(meta.trafficDate, "");
      const served = await cb.listSecflows(entry.uuid);
      assert.deepEqual(served, await convertedSecflows(pcap, `${dir.path}/two.sf`));
      assert.deepEqual(await client(a.url).listSecflows(entry.uuid), served);
      // Counts and annotations read the same from both nodes.
      const flowId = served[0].flowId;
      assert.equal(await cb.secflowCount(flowId), 1);
      assert.equal(await client(a.url).secflowCount(flowId), 1);
      const put = await fetch(`${a.url}/sec/v1.0/behaviors/${flowId}`, {
        method: "PUT",
        headers: { apikey: KEY, "content-type": "application/json" },
        body: JSON.stringify({ title: "seen on A" }),
      });
      assert.equal(put.status, 200, await put.text());
      assert.deepEqual(await cb.behavior(flowId), { title: "seen on A" });
      await fetch(
        `${b.url}/sec/v1.0/destinations/${encodeURIComponent(served[0].destinationData)}`,
        {
          method: "PUT",
          headers: { apikey: KEY, "content-type": "application/json" },
          body: JSON.stringify({ title: "set on B" }),
        },
      ).then((r) => r.body?.cancel());
      // Endpoint 5 (set queries) gives what endpoints 4, 6, 7, 8 and 9 give one by one.
      const anonymous = new NetworkSageClient({ publicUrl: a.url, useEnv: false });
      const view = await anonymous.publicAggregated(publicUuidOf(meta));
      assert.deepEqual(view, await cb.aggregated(entry.uuid));
      assert.deepEqual(view[0].behavior, { title: "seen on A" });
      assert.deepEqual(view[0].destination, { title: "set on B" });
      assert.equal(view[0].flowIdCount, 1);
      // The original is gone once converted (no --keep-originals).
      const sql = await pool(db.url);
      try {
        assert.equal((await sql`SELECT sample_uuid FROM originals`).length, 0);
      } finally {
        await sql.end();
      }
    } finally {
      await a.stop();
      await b.stop();
    }
  },
});

Deno.test({
  name: "postgres: a node killed with SIGKILL mid-conversion loses its lease; another finishes it",
  ignore,
  async fn() {
    await using dir = await tempDir();
    await using db = await freshDatabase(postgresUrl!);
    const pcap = `${dir.path}/large.pcap`;
    // ~30 MB, 180k packets: long enough in serve (copy out, convert, store 30k Secflows) to be
    // killed in the middle.
    await Deno.writeFile(pcap, tinyPcap(1_700_000_000, 29_999));
    const leaseSeconds = 3;
    const sql = await pool(db.url);
    const a = await node(`${dir.path}/a`, db.url, ["--lease", String(leaseSeconds)]);
    let b: Awaited<ReturnType<typeof node>> | undefined;
    try {
      await client(a.url).upload({ path: pcap });
      const [claimed] = await until("node A to claim the upload", async () => {
        const rows = await sql`SELECT uuid, attempts, status, lease_node FROM samples
                               WHERE lease_node IS NOT NULL`;
        return rows.length ? rows : undefined;
      });
      // Into the job (copying the upload out, converting), then gone without a word.
      await new Promise((r) => setTimeout(r, 700));
      const killed = await a.stop("SIGKILL");
      assert.equal(killed.signal, "SIGKILL");
      const [atKill] = await sql`SELECT status, attempts FROM samples WHERE uuid = ${claimed.uuid}`;
      assert.equal(atKill.status, "pending", "node A finished before it was killed");
      const killedAt = Date.now();
      b = await node(`${dir.path}/b`, db.url, ["--lease", String(leaseSeconds)]);
      const cb = client(b.url);
      await until("node B to take the upload over", async () => {
        const [r] = await sql`SELECT attempts FROM samples WHERE uuid = ${claimed.uuid}`;
        return r.attempts === 2 ? true : undefined;
      }, 60_000);
      const takenOver = (Date.now() - killedAt) / 1000;
      await cb.waitForProcessing(claimed.uuid, { intervalMs: 50, timeoutMs: 120_000 });
      const [row] = await sql`SELECT status, attempts, lease_node, error FROM samples
                              WHERE uuid = ${claimed.uuid}`;
      assert.equal(row.status, "processed", String(row.error));
      assert.equal(row.attempts, 2, "claimed by A, then once by B");
      const served = await cb.listSecflows(claimed.uuid);
      const expected = await convertedSecflows(pcap, `${dir.path}/large.sf`);
      assert.ok(expected.length > 29_000, `${expected.length} Secflows`);
      assert.deepEqual(served, expected);
      console.log(
        `  node A killed mid-conversion; node B took over after ${takenOver.toFixed(1)} s ` +
          `(lease ${leaseSeconds} s) and finished ${
            ((Date.now() - killedAt) / 1000).toFixed(1)
          } s ` +
          `after the kill`,
      );
    } finally {
      await sql.end();
      await a.stop("SIGKILL").catch(() => {});
      await b?.stop();
    }
  },
});

Deno.test({
  name: "postgres: 20 concurrent uploads spread over two nodes are each converted exactly once",
  ignore,
  async fn() {
    await using dir = await tempDir();
    await using db = await freshDatabase(postgresUrl!);
    const conversions = new Map<string, number>();
    const nodes = await Promise.all(["a", "b"].map((name) =>
      serve({
        dataDir: `${dir.path}/${name}`,
        database: db.url,
        apiKeys: [KEY],
        port: 0,
        pollMs: 50,
        onLog: () => {},
        convert: async (path, o) => {
          conversions.set(o.fileName, (conversions.get(o.fileName) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 30)); // give the other node a chance to race
          return defaultConverter(path, o);
        },
      })
    ));
    try {
      const paths = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const path = `${dir.path}/c${i}.pcap`;
        await Deno.writeFile(path, tinyPcap(1_700_000_000 + i * 100, i % 4));
        return path;
      }));
      await Promise.all(paths.map((path, i) => client(nodes[i % 2].url).upload({ path })));
      const [ca, cb] = nodes.map((n) => client(n.url));
      const entries = await ca.listUploads();
      assert.equal(entries.length, 20);
      assert.deepEqual((await cb.listUploads()).map((e) => e.uuid), entries.map((e) => e.uuid));
      await Promise.all(
        entries.map((e) => cb.waitForProcessing(e.uuid, { intervalMs: 20, timeoutMs: 30_000 })),
      );
      for (const e of entries) {
        const i = Number(e.fileName.slice(1, -5));
        assert.equal((await ca.listSecflows(e.uuid)).length, 1 + (i % 4), e.fileName);
      }
      assert.equal(conversions.size, 20);
      assert.deepEqual([...conversions.values()], Array(20).fill(1), "each converted once");
    } finally {
      await Promise.all(nodes.map((n) => n.shutdown()));
    }
  },
});

Deno.test({
  name: "postgres: migrations run once when several nodes start together",
  ignore,
  async fn() {
    await using db = await freshDatabase(postgresUrl!);
    const clients = await Promise.all(Array.from({ length: 4 }, () => pool(db.url)));
    try {
      const applied = await Promise.all(clients.map((sql) => migrate(sql)));
      assert.deepEqual(
        applied.flat().sort(),
        MIGRATIONS.map((_, i) => i + 1),
        "each version applied by exactly one node",
      );
      const rows = await clients[0]`SELECT version FROM networksage_migrations ORDER BY version`;
      assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((_, i) => i + 1));
      // A database from a newer serve is refused rather than misread.
      await clients[0]`INSERT INTO networksage_migrations(version) VALUES (${
        MIGRATIONS.length + 1
      })`;
      await assert.rejects(migrate(clients[1]), /newer than this serve knows/);
    } finally {
      await Promise.all(clients.map((sql) => sql.end()));
    }
  },
});

Deno.test("serve on SQLite runs without npm: the PostgreSQL client is loaded only for a URL", async () => {
  await using dir = await tempDir();
  const args = (extra: string[]) => [
    "run",
    "--no-npm",
    "--no-prompt",
    "--quiet",
    "--allow-net=127.0.0.1",
    `--allow-read=${dir.path}`,
    `--allow-write=${dir.path}`,
    "--allow-env",
    CLI,
    "serve",
    "--port",
    "0",
    "--data",
    `${dir.path}/data`,
    "--api-key",
    KEY,
    ...extra,
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args: args([]),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  child.kill("SIGTERM");
  await child.stdout.cancel().catch(() => {});
  const stderr = await new Response(child.stderr).text();
  await child.status;
  assert.match(value ?? "", /listening on http:\/\/127\.0\.0\.1:\d+/, stderr);
  // The same program asked for PostgreSQL does need npm: proof the client is what was avoided.
  const pg = await new Deno.Command(Deno.execPath(), {
    args: args(["--database", "postgres://nobody@127.0.0.1:1/none"]),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  assert.notEqual(pg.code, 0);
  assert.match(new TextDecoder().decode(pg.stderr), /npm/);
});

Deno.test({
  name: "postgres: a node whose lease ran out cannot complete the upload another node took over",
  ignore,
  async fn() {
    await using dir = await tempDir();
    await using db = await freshDatabase(postgresUrl!);
    const open = (name: string) =>
      openStorage({
        database: db.url,
        dataDir: `${dir.path}/${name}`,
        keepOriginals: false,
        leaseMs: 300,
        log: () => {},
      });
    const a = await open("a");
    const b = await open("b");
    try {
      await Deno.mkdir(`${dir.path}/upload`);
      await Deno.writeFile(`${dir.path}/upload/sample`, tinyPcap());
      await a.addUpload({
        uuid: crypto.randomUUID(),
        owner: "o",
        fileName: "slow.pcap",
        fileType: "pcap",
        createdMs: Date.now(),
        dir: `${dir.path}/upload`,
        hasDns: false,
      });
      const slow = (await a.claim())!;
      assert.deepEqual(await Deno.readFile(slow.samplePath), tinyPcap());
      assert.equal(await b.claim(), null, "held by A while its lease runs");
      await new Promise((r) => setTimeout(r, 400)); // A stalls past its lease
      const fast = (await b.claim())!;
      assert.equal(fast.sample.uuid, slow.sample.uuid);
      assert.equal(await a.renew(slow), false);
      const secflow = { flowId: "f", destinationData: "x:443" } as PlatformSecflow;
      const result = { hash: "h", trafficDate: "1", warnings: [], secflows: [secflow] };
      assert.equal(await b.finish(fast, result), true);
      assert.equal(await a.finish(slow, { ...result, secflows: [secflow, secflow] }), false);
      assert.equal(await a.fail(slow, "late"), false);
      assert.equal((await b.secflows(fast.sample.uuid)).length, 1);
      assert.equal((await a.sample(fast.sample.uuid, null))?.status, "processed");
      assert.deepEqual(await a.originals(), []);
    } finally {
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "postgres: an upload whose nodes died twice while converting it is marked failed",
  ignore,
  async fn() {
    await using dir = await tempDir();
    await using db = await freshDatabase(postgresUrl!);
    const storage = await openStorage({
      database: db.url,
      dataDir: `${dir.path}/node`,
      keepOriginals: false,
      leaseMs: 100,
      log: () => {},
    });
    const dead: Storage[] = [];
    try {
      await Deno.mkdir(`${dir.path}/upload`);
      await Deno.writeFile(`${dir.path}/upload/sample`, tinyPcap());
      const uuid = crypto.randomUUID();
      await storage.addUpload({
        uuid,
        owner: "o",
        fileName: "deadly.pcap",
        fileType: "pcap",
        createdMs: Date.now(),
        dir: `${dir.path}/upload`,
        hasDns: false,
      });
      // Claims by nodes that then vanish: the storage of a second process sees expired leases.
      for (let attempt = 1; attempt <= 2; attempt++) {
        const other = await openStorage({
          database: db.url,
          dataDir: `${dir.path}/dead${attempt}`,
          keepOriginals: false,
          leaseMs: 100,
          log: () => {},
        });
        dead.push(other);
        const claim = await other.claim();
        assert.equal(claim?.sample.uuid, uuid);
        assert.equal(claim?.sample.attempts, attempt - 1);
        await new Promise((r) => setTimeout(r, 150)); // its lease runs out; it never returns
      }
      assert.equal(await storage.claim(), null);
      const s = (await storage.sample(uuid, null))!;
      assert.equal(s.status, "failed");
      assert.match(String(s.error), /interrupted 2 times/);
      assert.deepEqual(await storage.originals(), []);
    } finally {
      await storage.close();
      for (const other of dead) await other.close();
    }
  },
});
