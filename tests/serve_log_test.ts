/**
 * `serve --log FILE` and `--quiet`, as a `deno run` subprocess under the permissions its help
 * lists: with `--log` the request lines (and every other log line) go to FILE, none to the
 * terminal; with `-q`/`--quiet` there is no line per request anywhere, while warnings still show.
 */
import assert from "node:assert/strict";
import { Child, CLI } from "./capture_helpers.ts";
import { tempDir } from "./api_fixtures.ts";

const KEY = "serve-log-key-0123456789";

/** Starts serve with `args`, makes two requests, stops it with SIGTERM; its output and code. */
async function serveRun(dir: string, permissions: string[], args: string[]) {
  const child = new Child(Deno.execPath(), [
    "run",
    "--no-prompt",
    ...permissions,
    CLI,
    ...args,
  ], { NETWORKSAGE_SERVE_KEYS: KEY, NO_COLOR: "1" });
  try {
    const line = await child.waitFor(/listening on http/);
    const url = /listening on (http:\/\/\S+)/.exec(line)![1];
    for (const path of ["/upload/v1.0/uploads/list", "/sec/v1.0/samples/nope"]) {
      const r = await fetch(`${url}${path}`, { headers: { apikey: KEY } });
      await r.body?.cancel();
    }
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.finish();
  return { code: status.code, stderr: child.lines, stdout: child.stdout, dir };
}

const isRequestLine = (l: string) => /^(GET|POST|PUT|HEAD) \/\S* \d{3} received /.test(l);

Deno.test("serve --log FILE: every log line goes to FILE (0600), none to the terminal", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  const log = `${dir.path}/serve.log`;
  const permissions = [
    "--allow-net=127.0.0.1",
    `--allow-read=${data}`,
    `--allow-write=${data},${log}`,
    "--allow-env=NETWORKSAGE_SERVE_KEYS",
  ];
  const args = ["serve", "--port", "0", "--data", data, "--log", log];
  const r = await serveRun(dir.path, permissions, args);
  assert.equal(r.code, 0, r.stderr.join("\n"));
  assert.deepEqual(r.stderr.filter(isRequestLine), [], "no request line on the terminal");
  assert.ok(!r.stderr.includes("networksage serve: stopped"), r.stderr.join("\n"));
  const lines = (await Deno.readTextFile(log)).trimEnd().split("\n");
  assert.match(lines.find(isRequestLine) ?? "", /^GET \/upload\/v1\.0\/uploads\/list 200 /);
  assert.equal(lines.filter(isRequestLine).length, 2, lines.join("\n"));
  // Warnings go there too (no --allow-run: conversions run uncapped in the server).
  assert.ok(lines.some((l) => l.startsWith("networksage serve: warning: conversions run inside")));
  assert.equal(lines.at(-1), "networksage serve: stopped");
  assert.equal((await Deno.stat(log)).mode! & 0o777, 0o600);
  assert.ok(!lines.join("\n").includes(KEY), "never the key");
  // A second run appends.
  const again = await serveRun(dir.path, permissions, args);
  assert.equal(again.code, 0, again.stderr.join("\n"));
  const after = (await Deno.readTextFile(log)).trimEnd().split("\n");
  assert.equal(after.filter(isRequestLine).length, 4);
});

Deno.test("serve -q/--quiet: no line per request; warnings still on the terminal", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  const permissions = [
    "--allow-net=127.0.0.1",
    `--allow-read=${data}`,
    `--allow-write=${data}`,
    "--allow-env=NETWORKSAGE_SERVE_KEYS",
  ];
  for (const args of [["serve", "--quiet"], ["-q", "serve"]]) {
    const r = await serveRun(dir.path, permissions, [...args, "--port", "0", "--data", data]);
    assert.equal(r.code, 0, r.stderr.join("\n"));
    assert.deepEqual(r.stderr.filter(isRequestLine), [], args.join(" "));
    assert.ok(
      r.stderr.some((l) => l.startsWith("networksage serve: warning: conversions run inside")),
      r.stderr.join("\n"),
    );
  }
  // Without either, the request lines are on the terminal (what --quiet and --log change).
  const loud = await serveRun(dir.path, permissions, ["serve", "--port", "0", "--data", data]);
  assert.equal(loud.stderr.filter(isRequestLine).length, 2, loud.stderr.join("\n"));
});

Deno.test("serve --log inside the data directory is a usage error (serve claims only its own files)", async () => {
  await using dir = await tempDir();
  const data = `${dir.path}/data`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "serve", "--port", "0", "--data", data, "--log", `${data}/x.log`],
    env: { NETWORKSAGE_SERVE_KEYS: KEY, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  assert.equal(out.code, 2);
  const err = new TextDecoder().decode(out.stderr);
  assert.match(err, /--log .*x\.log is inside the data directory .*: put the log outside it/);
  assert.equal(err.trim().split("\n").length, 1);
});
