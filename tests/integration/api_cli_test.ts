/**
 * Every API command as a `deno run` subprocess of cli.ts, under the narrowest permissions its help
 * documents, against `serve` behind a front that answers 503 to the first request of every path:
 * the documented results (`--json` is exactly the body), exit codes, no request without a key,
 * and the key never printed.
 */
import assert from "node:assert/strict";
import { NetworkSageClient, publicUuidOf } from "../../api/client.ts";
import {
  apiPermissions,
  CLI,
  flakyFront,
  runCli,
  sfSample,
  startServe,
  tempDir,
  tinyPcap,
} from "../api_fixtures.ts";
import { DNS_FIELDS, tsv } from "../zeek_fixtures.ts";

const KEY = "sk-cli-secret-4242";
/** A well-formed UUID no sample has (arguments are checked for their shape before requests). */
const NO_SUCH_UUID = "00000000-0000-4000-8000-000000000000";

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
      new RegExp(
        `^${entry.uuid}  w\\.sf  processed, trafficDate 1700000000\\.0 \\(2023-11-14 22:13:20Z\\)\n$`,
      ),
    );
    assert.ok(!run.stdout.includes(KEY) && !run.stderr.includes(KEY));
  } finally {
    await front.shutdown();
    await s.shutdown();
  }
});

Deno.test("cli: upload --type that the content contradicts is refused before any request", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  const front = flakyFront(s.service.handler);
  try {
    const capture = `${dir.path}/capture.pcap`;
    await Deno.writeFile(capture, tinyPcap());
    const env = { NETWORKSAGE_API_KEY: KEY };
    const perms = apiPermissions(front.url, `--allow-read=${capture}`);
    for (const type of ["zeek", "secflow"]) {
      const run = await runCli(
        ["upload", capture, "--type", type, "--api-url", front.url],
        perms,
        env,
      );
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        /capture\.pcap: asked to read it as a (Zeek log|Secflow sample), but the content is a pcap capture\n$/,
      );
    }
    assert.equal(front.total(), 0, "no request was made");
    // A type the content agrees with goes through (pcap and pcapng are told apart later).
    const ok = await runCli(
      ["upload", capture, "--type", "pcap", "--api-url", front.url],
      perms,
      env,
    );
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await front.shutdown();
    await s.shutdown();
  }
});

Deno.test("cli: upload of a Zeek dns.log alone is refused before any request, as convert refuses it", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  const front = flakyFront(s.service.handler);
  try {
    const dns = `${dir.path}/dns.log`;
    await Deno.writeTextFile(
      dns,
      tsv("dns", DNS_FIELDS, [{
        ts: "1700000000.0",
        uid: "D",
        "id.orig_h": "10.0.0.2",
        "id.orig_p": "1",
        "id.resp_h": "10.0.0.1",
        "id.resp_p": "53",
        query: "example.com",
        answers: "93.184.216.34",
      }]),
    );
    const run = await runCli(
      ["upload", dns, "--api-url", front.url],
      apiPermissions(front.url, `--allow-read=${dns}`),
      { NETWORKSAGE_API_KEY: KEY },
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /dns\.log: this is a Zeek dns\.log, not a conn\.log/);
    assert.equal(front.total(), 0, "no request was made");
  } finally {
    await front.shutdown();
    await s.shutdown();
  }
});

Deno.test("cli: upload --convert --name sends the sample under that very name; upload - is refused", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  try {
    const capture = `${dir.path}/capture.pcap`;
    await Deno.writeFile(capture, tinyPcap());
    const perms = apiPermissions(s.url, `--allow-read=${capture},/tmp`, "--allow-write=/tmp");
    const env = { NETWORKSAGE_API_KEY: KEY };
    const run = await runCli(
      [
        "upload",
        capture,
        "--convert",
        "--name",
        "myname",
        "--wait",
        "--interval",
        "0.05",
        "--api-url",
        s.url,
      ],
      perms,
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^[0-9a-f-]{36} {2}myname {2}processed/);
    const [entry] = await new NetworkSageClient({ apiKey: KEY, apiUrl: s.url, useEnv: false })
      .listUploads();
    assert.equal(entry.fileName, "myname");
    const stdin = await runCli(["upload", "-", "--api-url", s.url], perms, env);
    assert.equal(stdin.code, 2, stdin.stderr);
    assert.match(stdin.stderr, /upload sends a file, not standard input/);
  } finally {
    await s.shutdown();
  }
});

Deno.test("cli: a bad URL from the environment is a usage error; --public-url only where it is used", async () => {
  const perms = apiPermissions("http://127.0.0.1:9");
  const bad = await runCli(["samples"], perms, {
    NETWORKSAGE_API_KEY: KEY,
    NETWORKSAGE_API_URL: "foo",
  });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /NETWORKSAGE_API_URL must be an http:\/\/ or https:\/\/ URL, not 'foo'/);
  const unused = await runCli(["samples", "--public-url", "http://127.0.0.1:9"], perms, {});
  assert.equal(unused.code, 2, unused.stderr);
  assert.match(unused.stderr, /unknown option '--public-url'/);
  for (const command of ["secflows", "aggregate"]) {
    const help = await runCli([command, "--help"], perms, {});
    assert.match(help.stdout, /--public-url URL +with --public: public service base URL/, command);
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
        ["sample", NO_SUCH_UUID],
        ["secflows", NO_SUCH_UUID],
        ["count", "f"],
        ["destination", "a:1"],
        ["behavior", "f"],
        ["event", "e"],
        ["aggregate", NO_SUCH_UUID],
        ["uuid", "n", "--time", "1"],
        ["wait", NO_SUCH_UUID],
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

Deno.test("cli: a key that is set but may not be read is named with the grant it needs", async () => {
  const url = "http://127.0.0.1:9";
  const env = { NETWORKSAGE_API_KEY: KEY };
  const hidden = await runCli(["samples", "--api-url", url], [`--allow-net=127.0.0.1:9`], env);
  assert.equal(hidden.code, 2, hidden.stderr);
  assert.match(
    hidden.stderr,
    /set NETWORKSAGE_API_KEY and let it be read \(--allow-env=NETWORKSAGE_API_KEY\)/,
  );
  const unset = await runCli(["samples", "--api-url", url], apiPermissions(url), {});
  assert.equal(unset.code, 2, unset.stderr);
  assert.match(unset.stderr, /no API key: set NETWORKSAGE_API_KEY \(private endpoints need one\)/);
});

Deno.test("cli: upload --convert without the temporary directory names the grant it needs", async () => {
  await using dir = await tempDir();
  const capture = `${dir.path}/capture.pcap`;
  await Deno.writeFile(capture, tinyPcap());
  const url = "http://127.0.0.1:9";
  const run = await runCli(
    ["upload", capture, "--convert", "--api-url", url],
    apiPermissions(url, `--allow-read=${capture}`),
    { NETWORKSAGE_API_KEY: KEY },
  );
  assert.equal(run.code, 2, run.stderr);
  assert.match(
    run.stderr,
    /--convert writes the converted sample to a temporary directory first: run again with --allow-read=\S+ --allow-write=\S+/,
  );
  assert.ok(!run.stderr.includes("<TMP>"), run.stderr);
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
    const missing = await runCli(["sample", NO_SUCH_UUID], perms, {
      NETWORKSAGE_API_KEY: KEY,
      NETWORKSAGE_API_URL: s.url,
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`404 no sample '${NO_SUCH_UUID}'`));
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

Deno.test("cli: a host --allow-net does not cover exits 2 at once, naming the permission", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/x.sf`, sfSample([{}]));
  // Granted 127.0.0.1:9 only; the API is on another port, so no request can leave.
  const perms = apiPermissions("http://127.0.0.1:9", `--allow-read=${dir.path}/x.sf`);
  const env = { NETWORKSAGE_API_KEY: KEY, NETWORKSAGE_API_URL: "http://127.0.0.1:18999" };
  for (const args of [["samples"], ["upload", `${dir.path}/x.sf`]]) {
    const run = await runCli(args, perms, env);
    assert.equal(run.code, 2, `${args[0]}: ${run.stderr}`);
    assert.match(run.stderr, /--allow-net/, args[0]);
    assert.match(run.stderr, /permissions it needs/, args[0]);
    assert.doesNotMatch(run.stderr, /attempts/, `${args[0]} must not retry: ${run.stderr}`);
    assert.ok(!run.stderr.includes(KEY) && !run.stdout.includes(KEY));
  }
});

Deno.test("cli: serve without env access names the permission that would read its keys", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  const perms = ["--allow-net=127.0.0.1", `--allow-read=${data}`, `--allow-write=${data}`];
  const run = await runCli(["serve", "--data", data, "--port", "0"], perms, {
    NETWORKSAGE_SERVE_KEYS: `${KEY} admin`,
  });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /is read only with --allow-env=NETWORKSAGE_SERVE_KEYS/);
  assert.ok(!run.stderr.includes(KEY) && !run.stdout.includes(KEY));
});

Deno.test("cli: upload sends a name without control characters, prints it escaped, --wait finds it", async () => {
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  try {
    // C0 characters (ESC, BEL) are dropped from the name as serve drops them; C1 (CSI) is kept
    // and must be printed escaped.
    const file = `${dir.path}/e\x1b]0;x\x07\x9b2J.sf`;
    await Deno.writeTextFile(file, sfSample([{}]));
    const env = { NETWORKSAGE_API_KEY: KEY };
    const perms = apiPermissions(s.url, `--allow-read=${dir.path}`);
    for (const extra of [[], ["--wait", "--interval", "0.05", "--timeout", "20"]]) {
      const run = await runCli(["upload", file, "--api-url", s.url, ...extra], perms, env);
      assert.equal(run.code, 0, run.stderr);
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(run.stdout + run.stderr, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
      assert.ok(run.stdout.includes("e]0;x\\x9b2J.sf"), run.stdout);
    }
  } finally {
    await s.shutdown();
  }
});

/** `serve` under `permissions`, killed after 30 s: a serve that starts instead of refusing fails. */
async function serveRefusing(
  args: string[],
  permissions: string[],
  env: Record<string, string> = {},
) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--quiet", ...permissions, CLI, "serve", ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("cli: serve refuses a keys line it would misread (two keys, a typo for admin), naming the line", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  const keysFile = `${dir.path}/keys.txt`;
  await Deno.writeTextFile(keysFile, `# keys\n${KEY} admin\nsk-second-0123 amdin\n`);
  const perms = [
    "--allow-net=127.0.0.1",
    `--allow-read=${data},${keysFile}`,
    `--allow-write=${data}`,
    "--allow-env=NETWORKSAGE_SERVE_KEYS",
  ];
  const file = await serveRefusing(
    ["--data", data, "--port", "0", "--keys-file", keysFile],
    perms,
  );
  assert.equal(file.code, 2, file.stderr);
  assert.match(file.stderr, /keys\.txt line 3: expected KEY or "KEY admin", found 2 words/);
  assert.ok(!file.stderr.includes("sk-second") && !file.stderr.includes(KEY), file.stderr);
  const env = await serveRefusing(["--data", data, "--port", "0"], perms, {
    NETWORKSAGE_SERVE_KEYS: `${KEY} sk-second-0123`,
  });
  assert.equal(env.code, 2, env.stderr);
  assert.match(env.stderr, /NETWORKSAGE_SERVE_KEYS entry 1: .*separate keys with commas/);
  assert.ok(!env.stderr.includes("sk-second") && !env.stderr.includes(KEY), env.stderr);
});
