/**
 * The API commands' conventions: lookups refusing malformed IDs before any request, IDs of any
 * shape that is one URL path segment sent percent-encoded, `annotate` against a real `serve`, and
 * dates in UTC as ISO 8601. The CLI's general conventions are cli_conventions_test.ts.
 */
import assert from "node:assert/strict";
import {
  apiPermissions,
  flakyFront,
  runCli,
  sfSample,
  startServe,
  tempDir,
} from "../api_fixtures.ts";
import { NetworkSageClient } from "../../api/client.ts";

const KEY = "sk-conventions-key";

Deno.test("lookups and IDs are checked before any request: IDs only for being one URL path segment", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  const front = flakyFront(s.service.handler);
  try {
    const env = { NETWORKSAGE_API_KEY: KEY, NETWORKSAGE_API_URL: front.url };
    const cases: [string[], RegExp][] = [
      [["destination", "example.com"], /NAME:PORT.*add the port, e\.g\. example\.com:443/],
      [["destination", "example.com:99999"], /NAME:PORT/],
      [["destination", "a b:443"], /NAME:PORT/],
      [["behavior", "a b"], /flowId 'a b' holds whitespace or a control character/],
      [["count", "a/b"], /flowId 'a\/b' holds '\/'/],
      [["event", "ev\x1b[2J"], /eventId 'ev\\x1b\[2J' holds whitespace or a control/],
      [["sample", ""], /UUID '' is empty: an ID is one URL path segment/],
      [["secflows", "../x"], /UUID '..\/x' holds '\/'/],
      [["wait", ".."], /UUID '..' is '..', which a URL resolves to another path/],
      [["aggregate", "a\tb"], /UUID 'a\\x09b' holds whitespace/],
      [["view", "--uuid", "."], /--uuid '.' is '.'/],
      [["annotate", "behavior", "x\u202e", "--title", "t"], /flowId 'x\\u202e' holds/],
      [["aggregate", "not-base64!", "--public"], /public UUID/],
      [["secflows", "aGVsbG8=", "--public"], /public UUID/],
      [["annotate", "destination", "example.com", "--title", "x"], /NAME:PORT/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, apiPermissions(front.url), env);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
    }
    assert.equal(front.total(), 0, "no request was made");
  } finally {
    await front.shutdown();
    await s.shutdown();
  }
});

Deno.test("IDs of any shape that is one path segment reach the server percent-encoded: sample, secflows, aggregate, wait, view --uuid, annotate", async () => {
  // The platform's IDs are not all 8-4-4-4-12: its tools make 32-hex hashes, and base64 ends in
  // '='. A front serves serve's one sample under such IDs (the server decodes each segment).
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [{ key: KEY, admin: true }] });
  const direct = new NetworkSageClient({ apiKey: KEY, apiUrl: s.url, useEnv: false });
  await Deno.writeTextFile(`${dir.path}/a.sf`, sfSample([{}, { dst: "b.example:443" }]));
  await direct.upload({ path: `${dir.path}/a.sf` });
  await s.idle();
  const [{ uuid }] = await direct.listUploads();
  const ids = ["9e107d9d372bb6826bd81d3542a419d6", "MTIzNDU2Nzg5MA==", "a:b@c+d"];
  const seen: string[] = [];
  const front = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    seen.push(url.pathname);
    for (const id of ids) {
      url.pathname = url.pathname.replace(`/samples/${encodeURIComponent(id)}`, `/samples/${uuid}`);
    }
    const { method, headers, body } = req;
    return s.service.handler(new Request(url, { method, headers, body }));
  });
  try {
    const url = `http://127.0.0.1:${front.addr.port}`;
    const perms = apiPermissions(url);
    const env = { NETWORKSAGE_API_KEY: KEY, NETWORKSAGE_API_URL: url };
    const secflows = await direct.listSecflows(uuid);
    for (const id of ids) {
      const runs = await Promise.all([
        runCli(["sample", id, "--json"], perms, env),
        runCli(["secflows", id, "--json"], perms, env),
        runCli(["aggregate", id, "--json"], perms, env),
        runCli(["wait", id, "--json"], perms, env),
        runCli(["view", "--uuid", id, "--json"], perms, env),
      ]);
      for (const r of runs) assert.equal(r.code, 0, `${id}: ${r.stderr}`);
      const [sample, list, aggregate, wait, view] = runs.map((r) => JSON.parse(r.stdout));
      assert.equal(sample.status, "processed", id);
      assert.equal(wait.status, "processed", id);
      assert.deepEqual(list, secflows, id);
      assert.equal(aggregate.length, 2, id);
      assert.equal(view.length, 2, id);
      assert.ok(seen.includes(`/sec/v1.0/samples/${encodeURIComponent(id)}/list`), id);
    }
    assert.ok(seen.includes("/sec/v1.0/samples/a%3Ab%40c%2Bd"), "percent-encoded");
    assert.ok(seen.includes("/sec/v1.0/samples/MTIzNDU2Nzg5MA%3D%3D"), "percent-encoded");
    // serve itself takes such IDs: an unknown one is its 404, a base64 flowId is annotated.
    const missing = await runCli(
      ["sample", "00ff00ff00ff00ff00ff00ff00ff00ff"],
      apiPermissions(s.url),
      {
        ...env,
        NETWORKSAGE_API_URL: s.url,
      },
    );
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /no sample '00ff00ff00ff00ff00ff00ff00ff00ff'/);
    const flowId = "Zm9vL2Jhcg==";
    const put = await runCli(["annotate", "behavior", flowId, "--title", "T"], perms, env);
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual(await direct.behavior(flowId), { title: "T" });
    assert.ok(seen.includes("/sec/v1.0/behaviors/Zm9vL2Jhcg%3D%3D"));
  } finally {
    await front.shutdown();
    await s.shutdown();
  }
});

Deno.test("annotate writes Destination, Behavior and Event metadata to a real serve", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [{ key: KEY, admin: true }] });
  try {
    const perms = apiPermissions(s.url);
    const env = { NETWORKSAGE_API_KEY: KEY, NETWORKSAGE_API_URL: s.url };
    const put = await runCli(
      [
        "annotate",
        "destination",
        "example.com:443",
        "--title",
        "Example",
        "--description",
        'A site, "quoted"',
        "--relevance",
        "low",
        "--tag",
        "web",
        "--tag",
        "cdn",
      ],
      perms,
      env,
    );
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /^title:\s+Example$/m);
    assert.match(put.stdout, /^tags:\s+web, cdn$/m);
    const direct = new NetworkSageClient({ apiKey: KEY, apiUrl: s.url, useEnv: false });
    assert.deepEqual(await direct.destination("example.com:443"), {
      title: "Example",
      description: 'A site, "quoted"',
      relevance: "low",
      tags: ["web", "cdn"],
    });
    // The lookup shows tags the way people write them.
    const shown = await runCli(["destination", "example.com:443"], perms, env);
    assert.match(shown.stdout, /^tags:\s+web, cdn$/m);
    for (const [kind, id] of [["behavior", "3f2a9c0d"], ["event", "ev-9"]]) {
      const r = await runCli(["annotate", kind, id, "--title", `T ${kind}`, "--json"], perms, env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { title: `T ${kind}` });
    }
    assert.deepEqual(await direct.behavior("3f2a9c0d"), { title: "T behavior" });
    assert.deepEqual(await direct.event("ev-9"), { title: "T event" });
    // Replaces: a second PUT without tags has none.
    await runCli(["annotate", "destination", "example.com:443", "--title", "New"], perms, env);
    assert.deepEqual(await direct.destination("example.com:443"), { title: "New" });
    for (
      const args of [
        ["annotate", "destination", "example.com:443"],
        ["annotate", "host", "x"],
        ["annotate"],
        ["annotate", "event"],
        ["annotate", "event", "e1", "extra", "--title", "t"],
      ]
    ) {
      const r = await runCli(args, perms, env);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    }
    // A wrong key: the server's 401 surfaces, exit 1, the key is not printed.
    const wrong = await runCli(["annotate", "event", "e1", "--title", "t"], perms, {
      ...env,
      NETWORKSAGE_API_KEY: "sk-wrong-key-1",
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /401/);
    assert.ok(!wrong.stderr.includes("sk-wrong-key-1"));
  } finally {
    await s.shutdown();
  }
});

Deno.test("dates in UTC as ISO 8601: samples, sample, wait", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  try {
    const direct = new NetworkSageClient({ apiKey: KEY, apiUrl: s.url, useEnv: false });
    await Deno.writeTextFile(`${dir.path}/d.sf`, sfSample([{}]));
    await direct.upload({ path: `${dir.path}/d.sf` });
    await s.idle();
    const [entry] = await direct.listUploads();
    const perms = apiPermissions(s.url);
    const env = { NETWORKSAGE_API_KEY: KEY, NETWORKSAGE_API_URL: s.url };
    // The platform writes DD/MM/YYYY HH:MM:SS; people read YYYY-MM-DD HH:MM:SSZ.
    const [, d, m, y, t] = /^(\d\d)\/(\d\d)\/(\d{4}) (\S+)$/.exec(entry.dateCreated)!;
    const list = await runCli(["samples"], perms, env);
    assert.match(list.stdout, /created \(UTC\)/);
    assert.ok(list.stdout.includes(`${y}-${m}-${d} ${t}Z`), list.stdout);
    const one = await runCli(["sample", entry.uuid], perms, env);
    assert.match(one.stdout, /^trafficDate:\s+1700000000\.0 \(2023-11-14 22:13:20Z\)$/m);
    assert.ok(one.stdout.includes(`${y}-${m}-${d} ${t}Z`), one.stdout);
    const wait = await runCli(["wait", entry.uuid, "--interval", "0.01"], perms, env);
    assert.match(wait.stdout, /trafficDate 1700000000\.0 \(2023-11-14 22:13:20Z\)/);
    // --json keeps the platform's values as they are.
    const json = await runCli(["sample", entry.uuid, "--json"], perms, env);
    assert.equal(JSON.parse(json.stdout).dateCreated, entry.dateCreated);
  } finally {
    await s.shutdown();
  }
});
