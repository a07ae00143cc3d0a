/**
 * Every API command as a `deno run` subprocess of cli.ts, under the narrowest permissions its help
 * documents, against `serve` behind a front that answers 503 to the first request of every path:
 * the documented results (`--json` is exactly the body), exit codes, no request without a key,
 * and the key never printed.
 */
import assert from "node:assert/strict";
import { NetworkSageClient, publicUuidOf } from "../api/client.ts";
import {
  apiPermissions,
  flakyFront,
  runCli,
  sfSample,
  startServe,
  tempDir,
} from "./api_fixtures.ts";

const KEY = "sk-cli-secret-4242";

Deno.test("cli: every API command gives the documented result through 503-once fronts", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [{ key: KEY, admin: true }] });
  const fronts: ReturnType<typeof flakyFront>[] = [];
  try {
    const direct = new NetworkSageClient({
      apiKey: KEY,
      apiUrl: s.url,
      publicUrl: s.url,
      useEnv: false,
    });
    await Deno.writeTextFile(
      `${dir.path}/sample.sf`,
      sfSample([{}, { dst: "evil.example:8080", eventId: "ev-9", dstBytes: 900_000 }]),
    );
    const uploadStart = Date.now() / 1000;
    await direct.upload({ path: `${dir.path}/sample.sf` });
    await s.idle();
    const [entry] = await direct.listUploads();
    const uuid = entry.uuid;
    const secflows = await direct.listSecflows(uuid);
    const meta = await direct.getSample(uuid);
    const pub = publicUuidOf(meta);
    const put = (kind: string, name: string, body: unknown) =>
      fetch(`${s.url}/sec/v1.0/${kind}/${encodeURIComponent(name)}`, {
        method: "PUT",
        headers: { apikey: KEY },
        body: JSON.stringify(body),
      }).then((r) => r.body?.cancel());
    await put("destinations", "example.com:443", { title: "Example", tags: ["web"], extra: 1 });
    await put("behaviors", secflows[1].flowId, { title: "Big download", relevance: "high" });
    await put("events", "ev-9", { title: "Suspicious event" });
    const aggregated = await direct.aggregated(uuid);
    await Deno.writeTextFile(`${dir.path}/new.sf`, sfSample([{ dst: "new.example:443" }]));

    // [args, expected --json body (undefined: checked below), text that the table shows, extra perms]
    const cases: [string[], unknown, RegExp, string[]?][] = [
      [
        ["samples"],
        await direct.listUploads(),
        new RegExp(`${uuid}\\s+sample\\.sf\\s+secflow\\s+yes`),
      ],
      [["sample", uuid], meta, /trafficDate:\s+1700000000\.0/],
      [["secflows", uuid], secflows, /evil\.example:8080.*local:http:medium-download/],
      [["secflows", pub, "--public"], aggregated, /example\.com:443/],
      [["count", secflows[0].flowId], 1, /^1\n$/],
      [
        ["destination", "example.com:443"],
        { title: "Example", tags: ["web"], extra: 1 },
        /title:\s+Example/,
      ],
      [["destination", "unknown.example:1"], {}, /\(none\)/],
      [
        ["behavior", secflows[1].flowId],
        { title: "Big download", relevance: "high" },
        /relevance:\s+high/,
      ],
      [["event", "ev-9"], { title: "Suspicious event" }, /Suspicious event/],
      [["aggregate", uuid], aggregated, /evil\.example:8080.*Big download\s+Suspicious event/],
      [["aggregate", pub, "--public"], aggregated, /Example/],
      [["uuid", "sample.sf", "--time", String(uploadStart)], { uuid }, new RegExp(`^${uuid}\n$`)],
      [
        ["uuid", "sample.sf", "--time", String(uploadStart), "--public"],
        { uuid, publicUuid: pub },
        new RegExp(`public: ${pub}`),
      ],
      [["wait", uuid, "--interval", "0.01"], meta, /processed: sample\.sf/],
      [
        ["upload", `${dir.path}/new.sf`],
        undefined,
        /uploaded new\.sf \(secflow\): File new\.sf was uploaded/,
        [`--allow-read=${dir.path}/new.sf`],
      ],
    ];
    const results = [];
    for (let i = 0; i < cases.length; i += 4) {
      results.push(
        ...await Promise.all(
          cases.slice(i, i + 4).map(async ([args, body, pattern, extra = []]) => {
            const runs = [];
            for (const json of [true, false]) {
              const front = flakyFront(s.service.handler);
              fronts.push(front);
              const env = {
                NETWORKSAGE_API_KEY: KEY,
                NETWORKSAGE_API_URL: front.url,
                NETWORKSAGE_PUBLIC_URL: front.url,
              };
              const run = await runCli(
                json ? [...args, "--json"] : args,
                apiPermissions(front.url, ...extra),
                env,
              );
              runs.push({ run, front });
            }
            return { args, body, pattern, runs };
          }),
        ),
      );
    }
    for (const { args, body, pattern, runs } of results) {
      const [json, text] = runs;
      const label = args.join(" ");
      for (const { run, front } of runs) {
        assert.equal(run.code, 0, `${label}: ${run.stderr}`);
        assert.ok(!run.stdout.includes(KEY) && !run.stderr.includes(KEY), label);
        // Every path was refused once with 503 and asked again.
        for (const [path, n] of front.hits) assert.ok(n >= 2, `${label}: ${path} asked ${n} times`);
        assert.ok(front.hits.size > 0);
      }
      if (body !== undefined) assert.deepEqual(JSON.parse(json.run.stdout), body, label);
      assert.equal(json.run.stdout.trim().split("\n").length, 1, `${label}: one JSON document`);
      assert.match(text.run.stdout, pattern, label);
    }
    // The upload made through the CLI (twice: --json and text) is stored and processed.
    await s.idle();
    const names = (await direct.listUploads()).map((e) => [e.fileName, e.processed]);
    assert.deepEqual(names, [["sample.sf", true], ["new.sf", true], ["new.sf", true]]);
    const uploadJson = results.find((r) => r.args[0] === "upload")!.runs[0].run.stdout;
    assert.match(JSON.parse(uploadJson), /^File new\.sf was uploaded as [0-9a-f-]{36}/);
  } finally {
    for (const f of fronts) await f.shutdown();
    await s.shutdown();
  }
});

Deno.test("cli: upload --wait detects the type, waits, and prints the UUID", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  const front = flakyFront(s.service.handler);
  try {
    await Deno.writeTextFile(`${dir.path}/w.sf`, sfSample([{}]));
    const env = { NETWORKSAGE_API_KEY: KEY };
    const run = await runCli(
      [
        "upload",
        `${dir.path}/w.sf`,
        "--wait",
        "--interval",
        "0.05",
        "--timeout",
        "20",
        "--api-url",
        front.url,
      ],
      apiPermissions(front.url, `--allow-read=${dir.path}/w.sf`),
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const [entry] = await new NetworkSageClient({ apiKey: KEY, apiUrl: s.url, useEnv: false })
      .listUploads();
    assert.equal(entry.fileType, "secflow");
    assert.match(
      run.stdout,
      new RegExp(`^${entry.uuid}  w\\.sf  processed, trafficDate 1700000000\\.0\n$`),
    );
    assert.ok(!run.stdout.includes(KEY) && !run.stderr.includes(KEY));
  } finally {
    await front.shutdown();
    await s.shutdown();
  }
});

Deno.test("cli: no key exits 2 naming NETWORKSAGE_API_KEY before any request", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  const front = flakyFront(s.service.handler);
  try {
    await Deno.writeTextFile(`${dir.path}/x.sf`, sfSample([{}]));
    const perms = apiPermissions(front.url, `--allow-read=${dir.path}/x.sf`);
    const env = { NETWORKSAGE_API_URL: front.url };
    for (
      const args of [
        ["samples"],
        ["sample", "u"],
        ["secflows", "u"],
        ["count", "f"],
        ["destination", "a:1"],
        ["behavior", "f"],
        ["event", "e"],
        ["aggregate", "u"],
        ["uuid", "n", "--time", "1"],
        ["wait", "u"],
        ["upload", `${dir.path}/x.sf`],
      ]
    ) {
      const run = await runCli(args, perms, env);
      assert.equal(run.code, 2, `${args[0]}: ${run.stderr}`);
      assert.match(run.stderr, /NETWORKSAGE_API_KEY/, args[0]);
    }
    assert.equal(front.total(), 0, "no request was made");
  } finally {
    await front.shutdown();
    await s.shutdown();
  }
});

Deno.test("cli: server errors surface with their message; the key is never printed", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  try {
    const perms = apiPermissions(s.url);
    // A wrong key: 401 envelope, exit 1, message shown, key hidden (also with NETWORKSAGE_DEBUG).
    for (const debug of [{}, { NETWORKSAGE_DEBUG: "1" }] as Record<string, string>[]) {
      const wrong = "sk-wrong-key-777";
      // With NETWORKSAGE_DEBUG (allowed on top of the narrowest set) a stack is printed too.
      const envPerms = debug.NETWORKSAGE_DEBUG
        ? [...perms.filter((p) => !p.startsWith("--allow-env")), `${perms[0]},NETWORKSAGE_DEBUG`]
        : perms;
      const run = await runCli(["samples"], envPerms, {
        NETWORKSAGE_API_KEY: wrong,
        NETWORKSAGE_API_URL: s.url,
        ...debug,
      });
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /networksage samples: GET \/upload\/v1\.0\/uploads\/list: 401 invalid API key/,
      );
      assert.ok(!run.stderr.includes(wrong) && !run.stdout.includes(wrong));
      if (debug.NETWORKSAGE_DEBUG) assert.match(run.stderr, /NetworkSageError: .*\n\s+at /);
    }
    // A 404 envelope.
    const missing = await runCli(["sample", "nope"], perms, {
      NETWORKSAGE_API_KEY: KEY,
      NETWORKSAGE_API_URL: s.url,
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /404 no sample 'nope'/);
    // --api-url overrides the environment (which points nowhere allowed).
    const over = await runCli(["samples", "--json", "--api-url", s.url], perms, {
      NETWORKSAGE_API_KEY: KEY,
      NETWORKSAGE_API_URL: "http://127.0.0.1:9/",
    });
    assert.equal(over.code, 0, over.stderr);
    assert.equal(over.stdout, "[]\n");
    // Usage errors exit 2.
    for (
      const args of [["count"], ["upload", `${dir.path}/none.pcap`], [
        "upload",
        "x",
        "--type",
        "exe",
      ], ["uuid", "n"]]
    ) {
      const run = await runCli(args, [...perms, `--allow-read=${dir.path}`], {
        NETWORKSAGE_API_KEY: KEY,
        NETWORKSAGE_API_URL: s.url,
      });
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    }
  } finally {
    await s.shutdown();
  }
});
