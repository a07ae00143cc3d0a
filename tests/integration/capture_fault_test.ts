/**
 * Acceptance 3 of issue 5: with the upload server down, closed samples are written and spooled;
 * once the server is back, every sample arrives exactly once (the spool retries with backoff);
 * SIGTERM mid-window writes and uploads that window's sample and exits 0; a restart with a
 * non-empty spool uploads it. Live parts run in a private network namespace (the collector and
 * the test server both inside it, on 127.0.0.1 of that namespace).
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { PcapWriter, writeDemoCapture } from "../../bench/synthetic.ts";
import {
  announceSkip,
  Child,
  cliInNamespace,
  liveSkipReason,
  replay,
  withNamespace,
} from "../capture_helpers.ts";

const skip = announceSkip("capture fault tests", liveSkipReason());

const SERVER = new URL("../capture_upload_server.ts", import.meta.url).pathname;
const PORT = 18080;

function startServer(ns: string): Child {
  return new Child("ip", [
    "netns",
    "exec",
    ns,
    Deno.execPath(),
    "run",
    `--allow-net=127.0.0.1:${PORT}`,
    SERVER,
    String(PORT),
  ]);
}

async function stopServer(
  s: Child,
): Promise<{ fileName: string; hash: string; type: string; apikey: string }[]> {
  s.kill("SIGTERM");
  await s.finish();
  return s.stdout.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

async function listSf(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".sf")) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

Deno.test({
  name: "capture: server down → spooled; back → each sample exactly once; SIGTERM; restart",
  ignore: skip,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "capture_fault_" });
    const out = `${tmp}/out`;
    const state = `${tmp}/state`;
    const env = {
      NETWORKSAGE_API_KEY: "test-key",
      NETWORKSAGE_API_URL: `http://127.0.0.1:${PORT}`,
      NETWORKSAGE_SPOOL_RETRY_MS: "300",
    };
    // Captures this test writes itself: a fresh clone runs it without ../shared.
    const own = `${tmp}/own.pcap`;
    await writeDemoCapture(own);
    const empty = `${tmp}/empty.pcap`;
    await Deno.writeFile(empty, new PcapWriter().bytes());
    try {
      await withNamespace(async (ns) => {
        // 1. Live, server down: the first window (10 s) is written and spooled.
        const collector = cliInNamespace(ns, [
          "capture",
          "-i",
          "vb",
          "--duration",
          "10",
          "--output",
          out,
          "--state-dir",
          state,
        ], env);
        let server: Child | undefined;
        try {
          await collector.waitFor(/^listening on vb/);
          await replay(ns, own);
          const first = await collector.waitFor(/^window /, 15_000);
          match(first, /^window linux_\d+\.sf: 6 secflows, .*, spooled$/);
          const firstName = first.split(" ")[1].slice(0, -1);
          deepStrictEqual(await listSf(`${state}/spool`), [firstName]);
          deepStrictEqual(await listSf(out), [firstName]);

          // 2. The server returns: the spool retry uploads the waiting sample.
          server = startServer(ns);
          await server.waitFor(/^ready$/);
          await collector.waitFor(
            new RegExp(`^uploaded ${firstName.replace(".", "\\.")}$`),
            10_000,
          );
          deepStrictEqual(await listSf(`${state}/spool`), []);

          // 3. SIGTERM mid-window: that window is written, spooled, uploaded, and the exit is 0.
          await replay(ns, own);
          await new Promise((r) => setTimeout(r, 300));
          collector.kill("SIGTERM");
          strictEqual((await collector.finish()).code, 0, collector.lines.join("\n"));
          const windows = collector.lines.filter((l) => l.startsWith("window "));
          strictEqual(windows.length, 2, collector.lines.join("\n"));
          match(windows[1], /^window linux_\d+\.sf: 6 secflows, .*, spooled$/);
          const secondName = windows[1].split(" ")[1].slice(0, -1);
          ok(collector.lines.includes(`uploaded ${secondName}`), collector.lines.join("\n"));

          const received = await stopServer(server);
          server = undefined;
          deepStrictEqual(received.map((r) => r.fileName).sort(), [firstName, secondName].sort());
          for (const r of received) {
            strictEqual(r.type, "secflow");
            strictEqual(r.apikey, "test-key");
            const local = JSON.parse(await Deno.readTextFile(`${out}/${r.fileName}`));
            strictEqual(r.hash, local.hash, "the uploaded sample is the one written");
          }
          deepStrictEqual(await listSf(`${state}/spool`), []);
        } finally {
          collector.kill("SIGKILL");
          server?.kill("SIGKILL");
        }

        // 4. Restart with a non-empty spool: a file run with the server down spools its sample;
        //    the next start (server up) uploads it first, once.
        const out2 = `${tmp}/out2`;
        const down = cliInNamespace(ns, [
          "capture",
          "-r",
          own,
          "--duration",
          "100000000",
          "--output",
          out2,
          "--state-dir",
          state,
        ], env);
        // Still spooled at the end: exit 1, saying so.
        strictEqual((await down.finish()).code, 1, down.lines.join("\n"));
        ok(down.lines.some((l) => /^not everything arrived: 1 sample still spooled/.test(l)));
        ok(
          down.lines.some((l) => /^window linux_\d+\.sf: 6 secflows, .*, spooled$/.test(l)),
          down.lines.join("\n"),
        );
        const waiting = await listSf(`${state}/spool`);
        strictEqual(waiting.length, 1);

        const server2 = startServer(ns);
        try {
          await server2.waitFor(/^ready$/);
          const restart = cliInNamespace(ns, [
            "capture",
            "-r",
            empty,
            "--output",
            `${tmp}/out3`,
            "--state-dir",
            state,
          ], env);
          strictEqual((await restart.finish()).code, 0, restart.lines.join("\n"));
          const received = await stopServer(server2);
          deepStrictEqual(received.map((r) => r.fileName), waiting);
          deepStrictEqual(await listSf(`${state}/spool`), []);
        } finally {
          server2.kill("SIGKILL");
        }
      });
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
