/**
 * The README's first screen and its five-minute tour, run as written: every command line of the
 * tour's `sh` blocks is read from README.md and run through cli.ts (`networksage` is
 * `deno run -A cli.ts`) on the data `deno task demo` generates. The output lines the README shows
 * under a command (`# ...` comments) must appear in what it printed. The tour runs in a temporary
 * folder (`deno task demo`'s command, then every other one, from there), so a user's own `demo/`
 * files are never touched.
 *
 * Adaptations, each for a reason: `serve` gets `--port 0` (tests never take a fixed port) and the
 * exported URL follows it; `UUID` is the one `upload --wait` printed; `sudo capture -i` runs inside
 * a network namespace this test creates (root only) and is stopped with SIGINT as a person would
 * press Ctrl-C; `report` is skipped with a message while no `report` command is registered.
 */
import assert from "node:assert/strict";
import { commands } from "../../cli/_command_table.ts";
import { hasCommand } from "../_terminal.ts";
import { pcapSkipReason, run } from "../capture_helpers.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const README = `${REPO}README.md`;

/** One command of the tour and the output lines the README shows under it. */
interface TourStep {
  line: string;
  expected: string[];
}

/** The command lines of the `sh` blocks between "## A five-minute tour" and the next section. */
export function tourSteps(markdown: string): TourStep[] {
  const start = markdown.indexOf("## A five-minute tour");
  const end = markdown.indexOf("\n## ", start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const steps: TourStep[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block[1].split("\n")) {
      const line = raw.trim();
      if (line === "") continue;
      if (line.startsWith("#")) {
        const text = line.replace(/^# ?/, "");
        if (steps.length > 0 && text !== "..." && text !== "") {
          steps[steps.length - 1].expected.push(text);
        }
        continue;
      }
      steps.push({ line: line.replace(/\s+#\s.*$/, ""), expected: [] });
    }
  }
  return steps;
}

/** Splits a command line as sh would for the simple lines of the tour (double quotes only). */
/** `command` run in `cwd` with `env`: no input, both outputs piped. */
function spawnPiped(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Deno.ChildProcess {
  return new Deno.Command(command, {
    args,
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** `text` and what `reader` gives after it, until `until` holds for the whole or the stream ends. */
async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  until: (text: string) => boolean,
  text = "",
): Promise<{ text: string; ended: boolean }> {
  while (!until(text)) {
    const { value, done } = await reader.read();
    if (done) return { text, ended: true };
    text += value;
  }
  return { text, ended: false };
}

function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2]);
  return out;
}

async function runDeno(
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number; out: string }> {
  const r = await spawnPiped(Deno.execPath(), args, cwd, env).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("README: the first screen and every command of the tour work as written", async (t) => {
  const markdown = await Deno.readTextFile(README);
  // The first screen: the two commands a fresh clone runs.
  assert.match(markdown, /```sh\ndeno task demo .*\ndeno task test .*\n```/);
  assert.doesNotMatch(markdown, /\.\.\/shared/, "the README stands alone");
  const steps = tourSteps(markdown);
  assert.ok(steps.length >= 15, `tour steps: ${steps.map((s) => s.line).join(" | ")}`);

  const state = await Deno.makeTempDir({ prefix: "ns_tour_state_" });
  const work = await Deno.makeTempDir({ prefix: "ns_tour_" });
  const env: Record<string, string> = { NO_COLOR: "1", NETWORKSAGE_STATE_DIR: state };
  let server: Deno.ChildProcess | undefined;
  let serverUrl = "";
  let uuid = "";
  const libpcapMissing = pcapSkipReason();
  try {
    // The first screen's first command, from nothing: it makes the tour's data.
    // `deno task demo`'s own command line, its script taken from the repository.
    const task: string = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`)).tasks.demo;
    const taskArgs = task.split(" ");
    assert.equal(taskArgs.shift(), "deno");
    const demo = await runDeno(
      taskArgs.map((a) => a.endsWith(".ts") ? `${REPO}${a}` : a),
      env,
      work,
    );
    assert.equal(demo.code, 0, demo.out);
    assert.match(demo.out, /wrote \S+demo\.sf: 6 Secflows/);
    assert.match(demo.out, /^src +dst +named +pkts out/m, "the demo prints view's table");
    for (const step of steps) {
      await t.step(step.line, async () => {
        let line = step.line.replaceAll("UUID", uuid);
        if (line.startsWith("export ")) {
          for (const [, k, quoted, plain] of line.matchAll(/(\w+)=(?:"([^"]*)"|(\S+))/g)) {
            env[k] = k === "NETWORKSAGE_API_URL" ? serverUrl : quoted ?? plain;
          }
          return;
        }
        const sudo = line.startsWith("sudo ");
        if (sudo) line = line.slice(5);
        assert.ok(line.startsWith("networksage "), `a tour line runs networksage: ${line}`);
        let argv = words(line).slice(1);
        const background = argv.at(-1) === "&";
        let redirect: string | undefined;
        if (background) argv = argv.slice(0, -1);
        const gt = argv.indexOf(">");
        if (gt >= 0) {
          redirect = argv[gt + 1];
          argv = argv.slice(0, gt);
        }
        const name = argv[0];
        if (!commands.some((c) => c.name === name)) {
          console.log(`SKIP tour step '${line}': the '${name}' command is not registered yet`);
          return;
        }
        if (["interfaces", "capture"].includes(name) && libpcapMissing) {
          console.log(`SKIP tour step '${line}': ${libpcapMissing}`);
          return;
        }
        const cli = ["run", "-A", `${REPO}cli.ts`];
        if (background) {
          assert.equal(name, "serve", "only serve runs in the background");
          server = spawnPiped(Deno.execPath(), [...cli, ...argv, "--port", "0"], work, env);
          const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
          const listening = /listening on (http:\/\/\S+)/;
          const { text, ended } = await readUntil(reader, (text) => listening.test(text));
          if (ended) throw new Error(`serve did not start: ${text}`);
          serverUrl = listening.exec(text)![1];
          reader.releaseLock();
          server.stdout.cancel().catch(() => {});
          return;
        }
        if (sudo) {
          // Live capture: only as root, only inside a namespace made here.
          if (Deno.uid() !== 0 || !hasCommand("ip")) {
            console.log(`SKIP tour step '${line}': needs root and iproute2 (a network namespace)`);
            return;
          }
          const ns = `nstour${Deno.pid}`;
          await run("ip", "netns", "add", ns);
          try {
            const args = ["netns", "exec", ns, Deno.execPath(), ...cli, ...argv];
            const child = spawnPiped("ip", args, work, env);
            const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
            const started = await readUntil(reader, (text) => text.includes("listening on"));
            child.kill("SIGINT");
            const { text } = await readUntil(reader, () => false, started.text);
            await child.stdout.cancel();
            const status = await child.status;
            assert.equal(status.code, 0, text);
            assert.match(text, /listening on \S+, link-type [A-Z0-9_]+ \(/);
            assert.match(text, /window \S+\.sf: /);
          } finally {
            await run("ip", "netns", "del", ns);
          }
          return;
        }
        const r = await runDeno([...cli, ...argv], env, work);
        assert.equal(r.code, 0, `${line}\n${r.out}`);
        if (redirect) {
          await Deno.writeTextFile(`${work}/${redirect}`, r.out);
          // A redirected view is CSV, or ECS lines with --ecs.
          assert.match(
            await Deno.readTextFile(`${work}/${redirect}`),
            argv.includes("--ecs") ? /^\{"@timestamp":"[^"]+Z","event":/ : /^src,dst,/,
          );
        }
        for (const expected of step.expected) {
          // A README line ending in "..." shows the start of what is printed.
          const squash = (s: string) => s.replace(/\s+/g, " ").trim();
          const prefix = expected.endsWith(" ...");
          const want = squash(prefix ? expected.slice(0, -4) : expected);
          assert.ok(
            r.out.split("\n").some((l) => prefix ? squash(l).startsWith(want) : squash(l) === want),
            `'${line}' printed the line the README shows:\n  ${expected}\nit printed:\n${r.out}`,
          );
        }
        if (name === "upload") {
          uuid = /^([0-9a-f-]{36})\s/m.exec(r.out)?.[1] ?? "";
          assert.ok(uuid, r.out);
        }
        if (name === "annotate") assert.match(r.out, /tags:\s+web, cdn/);
        if (name === "aggregate") assert.match(r.out, /www\.example\.com:443 .*Example site/);
      });
    }
  } finally {
    if (server) {
      server.kill("SIGTERM");
      await server.stderr.cancel().catch(() => {});
      await server.status;
    }
    await Deno.remove(work, { recursive: true });
    await Deno.remove(state, { recursive: true });
  }
});

Deno.test("README Install: deno install -g -A -n networksage <url>/cli.ts, and from a clone", async () => {
  const markdown = await Deno.readTextFile(README);
  assert.match(markdown, /deno install -g -A -n networksage <url>\/cli\.ts/);
  assert.match(markdown, /deno install -g -A -n networksage \.\/cli\.ts/);
  // The tree served over HTTP on 127.0.0.1 plays the published URL.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("no", { status: 400 });
    try {
      const body = await Deno.readFile(REPO + path.slice(1));
      const type = path.endsWith(".json") ? "application/json" : "application/typescript";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const dir = await Deno.makeTempDir({ prefix: "ns_install_" });
  try {
    const sf = `${dir}/t.sf`;
    await Deno.writeTextFile(
      sf,
      '{"hash": "0123456789abcdef0123456789abcdef", "trafficDate": "1700000000.0", "fileName": "t.sf", "flashes": [{"src": "10.0.0.1:1000", "dst": "example.com:443", "destinationNameSource": "passive", "srcPkts": 1, "srcBytes": 1200, "dstPkts": 1, "dstBytes": 0, "relativeStart": 0.0, "protocolInformation": "", "duration": 0.0}]}',
    );
    const env = { DENO_DIR: `${dir}/deno_dir`, NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" };
    for (
      const [label, target] of [
        ["url", `http://127.0.0.1:${server.addr.port}/cli.ts`],
        ["clone", `${REPO}cli.ts`],
      ]
    ) {
      const root = `${dir}/${label}`;
      const install = await new Deno.Command(Deno.execPath(), {
        args: ["install", "-g", "--root", root, "-A", "-n", "networksage", target],
        cwd: dir,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
      const run = await new Deno.Command(`${root}/bin/networksage`, {
        args: ["view", sf],
        cwd: dir,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(run.stdout);
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      assert.match(out, /^10\.0\.0\.1:1000\s+example\.com:443\s+passive\s+1\s+1\.2 kB/m, label);
    }
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README Permissions: deno task serve starts with its own permission set and the keys in the environment", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`)).tasks;
  const words: string[] = tasks.serve.split(/\s+/);
  assert.equal(words[0], "deno");
  const data = await Deno.makeTempDir();
  try {
    // The task as written, pointed at this repository's cli.ts, a temporary data directory and
    // any free port (--allow-net=127.0.0.1 covers every port).
    const args = words.slice(1).map((w) =>
      w === "cli.ts" ? `${REPO}cli.ts` : w.replaceAll("./networksage-data", data)
    );
    const server = new Deno.Command(Deno.execPath(), {
      args: [...args, "--port", "0"],
      env: { NETWORKSAGE_SERVE_KEYS: "sk-task-key-0123 admin" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    try {
      while (!/listening on http:\/\/\S+/.test(text)) {
        const { value, done } = await out.read();
        if (done) break;
        text += value;
      }
    } finally {
      out.releaseLock();
      await server.stdout.cancel().catch(() => {});
      if (/listening/.test(text)) server.kill("SIGTERM");
      const status = await server.status;
      const err = new TextDecoder().decode(
        new Uint8Array(await new Response(server.stderr).arrayBuffer()),
      );
      assert.match(text, /listening on http:\/\/127\.0\.0\.1:\d+/, `code ${status.code}: ${err}`);
    }
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});
