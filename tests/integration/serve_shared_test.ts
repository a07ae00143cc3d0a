/**
 * serve shared by several keys, one of them hostile or careless: which pending upload is
 * converted next (round robin between keys, so one key's queue of large uploads does not hold the
 * others back: `fairestPending` on SQLite, the claim query's order on PostgreSQL, and end to end on
 * SQLite with one conversion at a time), and a full disk (507, nothing left behind).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { fairestPending } from "../../serve/storage/sqlite.ts";
import type { SampleRow } from "../../serve/storage/rows.ts";
import { NetworkSageClient } from "../../api/client.ts";
import { sfSample, startServe, tempDir } from "../api_fixtures.ts";
import { openStorage } from "../../serve/storage/mod.ts";
import { serveTest } from "../_storages.ts";

const row = (uuid: string, owner: string, createdMs: number): SampleRow => ({
  uuid,
  owner,
  fileName: `${uuid}.sf`,
  fileType: "secflow",
  createdMs,
  createdIso: "",
  processedMs: null,
  status: "pending",
  error: null,
  hash: "",
  trafficDate: "",
  warnings: [],
  storedPath: `/data/${uuid}/sample`,
  dnsPath: null,
  attempts: 0,
} as SampleRow);

Deno.test("fairestPending: round robin between keys, fewest running conversions first, then the oldest upload", () => {
  const pending = [
    row("a1", "attacker", 1),
    row("a2", "attacker", 2),
    row("a3", "attacker", 3),
    row("v1", "victim", 4),
    row("v2", "victim", 5),
  ];
  // Nothing running: oldest first.
  assert.equal(fairestPending(pending, new Map())?.uuid, "a1");
  // The attacker's oldest is running: the victim's oldest goes before the attacker's next.
  assert.equal(fairestPending(pending, new Map([["a1", "attacker"]]))?.uuid, "v1");
  // One each running: oldest of the rest.
  assert.equal(
    fairestPending(pending, new Map([["a1", "attacker"], ["v1", "victim"]]))?.uuid,
    "a2",
  );
  // Nothing running, the attacker served last: the victim's turn (round robin).
  assert.equal(fairestPending(pending, new Map(), new Map([["attacker", 7]]))?.uuid, "v1");
  assert.equal(
    fairestPending(pending, new Map(), new Map([["attacker", 7], ["victim", 8]]))?.uuid,
    "a1",
  );
  // An upload without its stored file is skipped; nothing left is undefined.
  assert.equal(fairestPending([{ ...row("x", "o", 1), storedPath: null }], new Map()), undefined);
});

Deno.test("serve (SQLite, one conversion at a time): another key's upload goes before a queue of one key's", async () => {
  await using dir = await tempDir();
  const A = "key-attacker-0123456789", V = "key-victim-0123456789";
  const server = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [A, V], conversions: 1 });
  try {
    const flashes = Array.from({ length: 30_000 }, (_, i) => ({
      src: `192.168.${(i >> 8) & 255}.${i & 255}:${50000 + (i >> 16)}`,
      relativeStart: i / 1000,
    }));
    await Deno.writeTextFile(`${dir.path}/big.sf`, sfSample(flashes));
    await Deno.writeTextFile(`${dir.path}/small.sf`, sfSample([{}]));
    const client = (key: string) =>
      new NetworkSageClient({ apiKey: key, apiUrl: server.url, useEnv: false, maxAttempts: 1 });
    // A queue of the attacker's uploads forms behind the first one's conversion, then the
    // victim's arrives last.
    await Promise.all(
      Array.from({ length: 4 }, () => client(A).upload({ path: `${dir.path}/big.sf` })),
    );
    await client(V).upload({ path: `${dir.path}/small.sf` });
    await server.idle();
    const victims = new Set((await client(V).listUploads()).map((u) => u.uuid));
    await server.shutdown();
    // Conversion order, from the processing times the database keeps.
    const db = new DatabaseSync(`${dir.path}/data/networksage.db`);
    const order = (db.prepare("SELECT uuid FROM samples ORDER BY processed_ms, rowid").all() as {
      uuid: string;
    }[]).map((r) => victims.has(r.uuid) ? "V" : "A");
    db.close();
    assert.equal(order.length, 5);
    // The first of the attacker's was already converting when the victim's came; the victim's
    // goes next (it was last: A A A A V).
    assert.ok(order.indexOf("V") <= 1, order.join(" "));
  } finally {
    await server.shutdown().catch(() => {});
  }
});

serveTest("storage claims: round robin between keys, on every storage", async (storage) => {
  await using dir = await tempDir();
  const store = await openStorage({
    ...storage,
    dataDir: `${dir.path}/node`,
    keepOriginals: false,
    log: () => {},
  });
  try {
    const add = async (name: string, owner: string, createdMs: number) => {
      const upload = `${dir.path}/up-${name}`;
      await Deno.mkdir(upload);
      await Deno.writeTextFile(`${upload}/sample`, sfSample([{}]));
      const uuid: string = crypto.randomUUID();
      await store.addUpload({
        uuid,
        owner,
        fileName: `${name}.sf`,
        fileType: "secflow",
        createdMs,
        dir: upload,
        hasDns: false,
      });
      return [uuid, name] as const;
    };
    const names = new Map([
      await add("a1", "attacker", 1),
      await add("a2", "attacker", 2),
      await add("a3", "attacker", 3),
      await add("v1", "victim", 4),
    ]);
    const order: string[] = [];
    for (let claim = await store.claim(); claim; claim = await store.claim()) {
      order.push(names.get(claim.sample.uuid)!);
      await store.fail(claim, "not converted in this test");
    }
    assert.deepEqual(order, ["a1", "v1", "a2", "a3"]);
  } finally {
    await store.close();
  }
});

Deno.test("serve on a full disk: an upload is answered 507 (try later), not 400, and leaves no files", async () => {
  if (Deno.uid() !== 0 || Deno.build.os !== "linux") {
    console.log("SKIP full disk: mounting a small tmpfs needs root on Linux");
    return;
  }
  await using dir = await tempDir();
  const data = `${dir.path}/small`;
  await Deno.mkdir(data);
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=3m", "tmpfs", data],
    stderr: "piped",
  }).output();
  if (!mount.success) {
    console.log(`SKIP full disk: mount failed: ${new TextDecoder().decode(mount.stderr).trim()}`);
    return;
  }
  const server = await startServe({ dataDir: `${data}/d`, apiKeys: ["key-0123456789"] });
  try {
    const flashes = Array.from({ length: 30_000 }, (_, i) => ({
      src: `192.168.${(i >> 8) & 255}.${i & 255}:${50000 + (i >> 16)}`,
      relativeStart: i / 1000,
    }));
    await Deno.writeTextFile(`${dir.path}/big.sf`, sfSample(flashes)); // ~6 MB: does not fit
    const client = new NetworkSageClient({
      apiKey: "key-0123456789",
      apiUrl: server.url,
      useEnv: false,
      maxAttempts: 1,
    });
    const e = await client.upload({ path: `${dir.path}/big.sf` }).catch((e) => e);
    assert.equal(e?.status, 507, String(e));
    assert.match(e.message, /the server's disk is full: the upload was not stored; try later/);
    const left = [...Deno.readDirSync(`${data}/d/uploads`)].length +
      [...Deno.readDirSync(`${data}/d/tmp`)].length;
    assert.equal(left, 0, "no upload files left behind");
    // The server still serves.
    assert.deepEqual(await client.listUploads(), []);
  } finally {
    await server.shutdown();
    await new Deno.Command("umount", { args: [data] }).output();
  }
});
