/**
 * Issue 10, through the CLI: `capture -r` on captures these tests write, against a stand-in
 * platform on 127.0.0.1 (endpoints 1 and 2), a listener that accepts and never answers, and a
 * 64 KiB tmpfs. Every sample the collector produces arrives exactly once, whatever fails:
 * 1. kill -9 at random moments, each followed by a restart: 0 lost, 0 duplicated;
 * 2. a silent API: every closed window is on disk within a second of closing;
 * 3. a 413 sample moves to rejected/ and every other sample arrives;
 * 4. a full output disk: every window is in the output or the spool, no empty or temporary file
 *    remains, and the exit code says something is pending (and the reverse: a full spool).
 * No packet is captured: `capture -r` reads files, so these run in the root namespace.
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { pcap } from "./_pcap.ts";
import {
  announceSkip,
  type Child,
  cliInNamespace,
  pcapSkipReason,
  writeWindowedCapture,
} from "./capture_helpers.ts";
import { startTestPlatform } from "./capture_upload_server.ts";
import { prng } from "../bench/synthetic.ts";

const skip = announceSkip("capture exactly-once tests", pcapSkipReason());
const mountSkip = skip || announceSkip(
  "capture full-disk tests",
  Deno.build.os !== "linux" || Deno.uid() !== 0
    ? "mounting a tmpfs needs Linux and root"
    : undefined,
);

const KEY = "exactly-once-key";

function capture(args: string[], apiUrl: string | null, extraEnv: Record<string, string> = {}) {
  const env: Record<string, string> = { NETWORKSAGE_SPOOL_RETRY_MS: "200", ...extraEnv };
  if (apiUrl) Object.assign(env, { NETWORKSAGE_API_KEY: KEY, NETWORKSAGE_API_URL: apiUrl });
  return cliInNamespace(null, ["capture", ...args], env);
}

/** Every regular file under `dir` (recursively), with its size. */
async function filesUnder(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) out.push(...await filesUnder(p));
      else if (e.isFile) out.push({ path: p, size: (await Deno.stat(p)).size });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

async function sfNames(dir: string): Promise<string[]> {
  return (await filesUnder(dir)).map((f) => f.path.slice(dir.length + 1))
    .filter((n) => /(^|\/)linux_\d+(-\d+)?\.sf$/.test(n)).sort();
}

function windowNames(c: Child): string[] {
  return c.lines.filter((l) => l.startsWith("window ")).map((l) => l.split(" ")[1].slice(0, -1));
}

function countBy(names: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of names) m.set(n, (m.get(n) ?? 0) + 1);
  return m;
}

async function withTmp(fn: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "capture_once_" });
  try {
    await fn(tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test({
  name: "capture: 10 kill -9 at random moments, each followed by a restart: 0 lost, 0 duplicated",
  ignore: skip,
  async fn() {
    await withTmp(async (tmp) => {
      const random = prng(10);
      // The platform stores each upload, then answers 50-250 ms later: a kill in that gap is the
      // crash that used to duplicate a sample.
      const platform = await startTestPlatform({ answerDelayMs: () => 50 + random() * 200 });
      const out = `${tmp}/out`;
      const state = `${tmp}/state`;
      const empty = `${tmp}/empty.pcap`;
      await Deno.writeFile(empty, pcap([]));
      const lines: string[] = [];
      let killedRunning = 0;
      try {
        for (let trial = 0; trial < 10; trial++) {
          const file = `${tmp}/trial${trial}.pcap`;
          await writeWindowedCapture(file, {
            startSeconds: 1_800_000_000 + trial * 1000,
            windows: 8,
          });
          // Each run is also the restart after the previous kill: it drains what that one left.
          const c = capture(
            ["-r", file, "--duration", "10", "--output", out, "--state-dir", state],
            platform.url,
          );
          await c.waitFor(/^reading from file/, 20_000).catch(() => {});
          // Some kills land while windows are being written, most while samples are uploaded.
          await new Promise((r) => setTimeout(r, random() * (trial % 3 === 0 ? 40 : 1200)));
          c.kill("SIGKILL");
          const status = await c.finish();
          if (status.signal === "SIGKILL") killedRunning++;
          lines.push(...c.lines);
        }
        const restart = capture(
          ["-r", empty, "--output", out, "--state-dir", state],
          platform.url,
        );
        strictEqual((await restart.finish()).code, 0, restart.lines.join("\n"));
        lines.push(...restart.lines);
      } finally {
        await platform.close();
      }
      const received = platform.received.map((u) => u.fileName);
      const duplicated = [...countBy(received)].filter(([, n]) => n > 1);
      // Produced: every sample written to the output directory, or received.
      const produced = new Set([...await sfNames(out), ...received]);
      const lost = [...produced].filter((n) => !received.includes(n));
      deepStrictEqual(duplicated, [], "0 duplicated");
      deepStrictEqual(lost, [], "0 lost");
      deepStrictEqual(await sfNames(`${state}/spool`), [], "the spool is empty");
      await assertNoEmptyOrTemp(out);
      await assertNoEmptyOrTemp(state);
      ok(killedRunning >= 5, `most kills hit a running collector (${killedRunning} of 10)`);
      ok(produced.size >= 10, `samples produced: ${produced.size}`);
      const found = lines.filter((l) => / had already arrived /.test(l)).length;
      console.log(
        `kill -9 trials: ${killedRunning}/10 killed while running, ${produced.size} samples ` +
          `produced, ${received.length} received, ${found} found in the uploads list after a crash`,
      );
      for (const u of platform.received) strictEqual(u.apikey, KEY);
    });
  },
});

Deno.test({
  name:
    "capture: two collectors naming samples alike, one killed -9 mid-upload and restarted: every sample arrives",
  ignore: skip,
  async fn() {
    await withTmp(async (tmp) => {
      // One capture read by two collectors (as two hosts of one name would): the same sample
      // names, different samples (each has its own hash).
      const platform = await startTestPlatform();
      const file = `${tmp}/same.pcap`;
      const names = await writeWindowedCapture(file, { startSeconds: 1_800_800_000, windows: 5 });
      const empty = `${tmp}/empty.pcap`;
      await Deno.writeFile(empty, pcap([]));
      const run = (who: string, input: string) =>
        capture(
          [
            "-r",
            input,
            "--duration",
            "10",
            "--output",
            `${tmp}/out-${who}`,
            "--state-dir",
            `${tmp}/state-${who}`,
          ],
          platform.url,
        );
      try {
        const a = run("a", file);
        strictEqual((await a.finish()).code, 0, a.lines.join("\n"));
        strictEqual(platform.received.length, names.length);
        // B's first upload is in flight, never stored, when B is killed.
        const held = platform.holdNextUpload();
        const b = run("b", file);
        await held.arrived;
        ok(await Deno.stat(`${tmp}/state-b/spool/${names[0]}.attempt`), "its attempt is on record");
        b.kill("SIGKILL");
        strictEqual((await b.finish()).signal, "SIGKILL");
        held.drop();
        const restart = run("b", empty);
        strictEqual((await restart.finish()).code, 0, restart.lines.join("\n"));
        const hashes = async (who: string) =>
          await Promise.all(
            (await sfNames(`${tmp}/out-${who}`)).map(async (n) =>
              JSON.parse(await Deno.readTextFile(`${tmp}/out-${who}/${n}`)).hash as string
            ),
          );
        // B wrote the held sample (and maybe more) before the kill; the rest died with it.
        ok((await sfNames(`${tmp}/out-b`)).includes(names[0]), "B wrote the held sample");
        const produced = [...await hashes("a"), ...await hashes("b")];
        const arrived = platform.received.map((u) => u.hash);
        deepStrictEqual(
          produced.filter((h) => !arrived.includes(h)),
          [],
          `every sample arrives (B's restart said: ${restart.lines.join(" | ")})`,
        );
        deepStrictEqual([...countBy(arrived)].filter(([, n]) => n > 1), [], "none twice");
        deepStrictEqual(await sfNames(`${tmp}/state-b/spool`), [], "B's spool is empty");
        ok(!restart.lines.some((l) => / had already arrived /.test(l)), restart.lines.join("\n"));
        console.log(
          `two collectors, one name set: ${produced.length} samples in their outputs, all ` +
            `received; ${platform.received.length} received in all ` +
            `(${arrived.length - new Set(arrived).size} twice)`,
        );
      } finally {
        await platform.close();
      }
    });
  },
});

Deno.test({
  name: "capture: a silent API never delays writing: every window is on disk within a second",
  ignore: skip,
  async fn() {
    await withTmp(async (tmp) => {
      // Accepts connections and never answers.
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const held: Deno.Conn[] = [];
      const accepting = (async () => {
        for await (const conn of listener) held.push(conn);
      })().catch(() => {});
      const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
      const file = `${tmp}/silent.pcap`;
      const names = await writeWindowedCapture(file, { startSeconds: 1_800_100_000, windows: 12 });
      const out = `${tmp}/out`;
      const state = `${tmp}/state`;
      try {
        const c = capture(
          ["-r", file, "--duration", "10", "--output", out, "--state-dir", state],
          url,
          {
            NETWORKSAGE_UPLOAD_TIMEOUT_MS: "3000",
          },
        );
        const status = await c.finish();
        const start = c.times[c.lines.findIndex((l) => l.startsWith("reading from file"))];
        const windowDelays = c.lines.map((l, i) => [l, c.times[i] - start] as const)
          .filter(([l]) => l.startsWith("window ")).map(([, ms]) => ms);
        deepStrictEqual(windowNames(c), names);
        // A window's line is printed once its sample is written (output and spool, fsynced).
        ok(
          windowDelays.every((ms) => ms < 1000),
          `window lines at ${windowDelays.map(Math.round)} ms`,
        );
        deepStrictEqual(await sfNames(out), names);
        deepStrictEqual(await sfNames(`${state}/spool`), names);
        ok(held.length >= 1, "the upload did reach the silent API");
        strictEqual(status.code, 1, c.lines.join("\n"));
        match(c.lines.at(-1)!, /^not everything arrived: 12 samples still spooled/);
        ok(
          c.lines.some((l) =>
            /upload of linux_1800100000\.sf failed.*no answer within 3000 ms/.test(l)
          ),
        );
        console.log(
          `silent API: 12 windows written ${Math.round(Math.max(...windowDelays))} ms ` +
            `after start at the latest; upload timed out after 3 s; exit ${status.code}`,
        );
      } finally {
        listener.close();
        for (const c of held) c.close();
        await accepting;
      }
    });
  },
});

Deno.test({
  name: "capture: a second interrupt stops a hanging upload at once; the sample stays spooled",
  ignore: skip,
  async fn() {
    await withTmp(async (tmp) => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const held: Deno.Conn[] = [];
      const accepting = (async () => {
        for await (const conn of listener) held.push(conn);
      })().catch(() => {});
      const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
      const file = `${tmp}/i.pcap`;
      const names = await writeWindowedCapture(file, { startSeconds: 1_800_700_000, windows: 3 });
      const state = `${tmp}/state`;
      try {
        // The default upload timeout (60 s) would hold the exit; two interrupts do not wait.
        const c = capture([
          "-r",
          file,
          "--duration",
          "10",
          "--output",
          `${tmp}/out`,
          "--state-dir",
          state,
        ], url);
        for (const n of names) await c.waitFor(new RegExp(`^window ${n.replace(".", "\\.")}:`));
        while (held.length === 0) await new Promise((r) => setTimeout(r, 20));
        const t0 = performance.now();
        c.kill("SIGINT");
        await new Promise((r) => setTimeout(r, 100));
        c.kill("SIGINT");
        const status = await c.finish();
        const ms = performance.now() - t0;
        ok(ms < 5000, `exited ${Math.round(ms)} ms after the interrupts`);
        strictEqual(status.code, 1, c.lines.join("\n"));
        ok(c.lines.some((l) => l.startsWith("second interrupt: uploads stop now")));
        deepStrictEqual(await sfNames(`${state}/spool`), names);
        ok(await Deno.stat(`${state}/spool/${names[0]}.attempt`), "its attempt is on record");
      } finally {
        listener.close();
        for (const c of held) c.close();
        await accepting;
      }
    });
  },
});

Deno.test({
  name: "capture: a 413 sample moves to rejected/ with its reason, every other sample arrives once",
  ignore: skip,
  async fn() {
    await withTmp(async (tmp) => {
      const platform = await startTestPlatform({ maxBytes: 3000 });
      const file = `${tmp}/big.pcap`;
      const names = await writeWindowedCapture(file, {
        startSeconds: 1_800_200_000,
        windows: 6,
        big: { window: 1, flows: 60 },
      });
      const state = `${tmp}/state`;
      try {
        const c = capture([
          "-r",
          file,
          "--duration",
          "10",
          "--output",
          `${tmp}/out`,
          "--state-dir",
          state,
        ], platform.url);
        strictEqual((await c.finish()).code, 1, c.lines.join("\n"));
        const big = names[1];
        deepStrictEqual(platform.received.map((u) => u.fileName), names.filter((n) => n !== big));
        deepStrictEqual(await sfNames(`${state}/spool`), [`rejected/${big}`]);
        match(
          await Deno.readTextFile(`${state}/spool/rejected/${big}.reason`),
          /413 upload too large/,
        );
        ok(
          c.lines.some((l) =>
            l.startsWith(`upload of ${big} rejected (413 upload too large): moved to`)
          ),
        );
        match(c.lines.at(-1)!, /^not everything arrived: 1 sample rejected/);
        // A restart does not retry it and makes no copies.
        await Deno.writeFile(`${tmp}/none.pcap`, pcap([]));
        const again = capture([
          "-r",
          `${tmp}/none.pcap`,
          "--output",
          `${tmp}/out`,
          "--state-dir",
          state,
        ], platform.url);
        await again.finish();
        strictEqual(platform.received.length, names.length - 1);
        deepStrictEqual(await sfNames(`${state}/spool`), [`rejected/${big}`]);
      } finally {
        await platform.close();
      }
    });
  },
});

Deno.test({
  name: "capture: a refused key pauses uploads, keeps every sample spooled, and exits 1",
  ignore: skip,
  async fn() {
    await withTmp(async (tmp) => {
      const platform = await startTestPlatform({ keys: ["the-right-key"] });
      const file = `${tmp}/k.pcap`;
      const names = await writeWindowedCapture(file, { startSeconds: 1_800_500_000, windows: 4 });
      const state = `${tmp}/state`;
      try {
        const c = capture([
          "-r",
          file,
          "--duration",
          "10",
          "--output",
          `${tmp}/out`,
          "--state-dir",
          state,
        ], platform.url);
        strictEqual((await c.finish()).code, 1, c.lines.join("\n"));
        const refused = c.lines.filter((l) =>
          l.startsWith("the API refused the key (401 invalid API key)")
        );
        strictEqual(refused.length, 1, c.lines.join("\n"));
        deepStrictEqual(await sfNames(`${state}/spool`), names);
        match(
          c.lines.at(-1)!,
          /^not everything arrived: the API refused the key; 4 samples still spooled/,
        );
        // With the right key the next start uploads them, once each.
        const empty = `${tmp}/empty.pcap`;
        await Deno.writeFile(empty, pcap([]));
        const fixed = cliInNamespace(null, [
          "capture",
          "-r",
          empty,
          "--output",
          `${tmp}/out`,
          "--state-dir",
          state,
        ], {
          NETWORKSAGE_API_KEY: "the-right-key",
          NETWORKSAGE_API_URL: platform.url,
        });
        strictEqual((await fixed.finish()).code, 0, fixed.lines.join("\n"));
        deepStrictEqual(platform.received.map((u) => u.fileName), names);
      } finally {
        await platform.close();
      }
    });
  },
});

Deno.test({
  name:
    "capture against serve: 413 to rejected/; a stored sample left spooled by a crash is found, not resent",
  ignore: skip,
  async fn() {
    await withTmp(async (tmp) => {
      const serve = cliInNamespace(null, [
        ...[
          "serve",
          "--port",
          "0",
          "--data",
          `${tmp}/data`,
          "--api-key",
          KEY,
          "--max-upload",
          "3K",
        ],
      ]);
      try {
        const url =
          /listening on (http:\/\/\S+)/.exec(await serve.waitFor(/listening on http/))![1];
        const file = `${tmp}/s.pcap`;
        const names = await writeWindowedCapture(file, {
          startSeconds: 1_800_600_000,
          windows: 4,
          big: { window: 2, flows: 60 },
        });
        const state = `${tmp}/state`;
        const out = `${tmp}/out`;
        const c = capture(
          ["-r", file, "--duration", "10", "--output", out, "--state-dir", state],
          url,
        );
        strictEqual((await c.finish()).code, 1, c.lines.join("\n"));
        deepStrictEqual(await sfNames(`${state}/spool`), [`rejected/${names[2]}`]);
        const listed = async () => {
          const r = await fetch(`${url}/upload/v1.0/uploads/list`, { headers: { apikey: KEY } });
          return ((await r.json()).body as { fileName: string }[]).map((e) => e.fileName).sort();
        };
        deepStrictEqual(await listed(), [names[0], names[1], names[3]]);
        // The state a kill -9 leaves between serve storing a sample and the spool dropping it.
        await Deno.copyFile(`${out}/${names[0]}`, `${state}/spool/${names[0]}`);
        const now = Date.now() - 3000;
        await Deno.writeTextFile(
          `${state}/spool/${names[0]}.attempt`,
          JSON.stringify({ first: now, last: now, count: 1 }),
        );
        const empty = `${tmp}/empty.pcap`;
        await Deno.writeFile(empty, pcap([]));
        const restart = capture(["-r", empty, "--output", out, "--state-dir", state], url);
        strictEqual((await restart.finish()).code, 0, restart.lines.join("\n"));
        ok(
          restart.lines.some((l) =>
            l.startsWith(`${names[0]} had already arrived (upload `) && / holds its hash /.test(l)
          ),
        );
        deepStrictEqual(await listed(), [names[0], names[1], names[3]], "not uploaded twice");
        deepStrictEqual(await sfNames(`${state}/spool`), [`rejected/${names[2]}`]);
      } finally {
        serve.kill("SIGTERM");
        await serve.finish();
      }
    });
  },
});

/** Runs `fn` with a 64 KiB tmpfs mounted at `dir`, always unmounted. */
async function withTmpfs(dir: string, fn: () => Promise<void>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
  }).output();
  if (!mount.success) throw new Error(`mount: ${new TextDecoder().decode(mount.stderr)}`);
  try {
    await fn();
  } finally {
    await new Deno.Command("umount", { args: [dir] }).output();
  }
}

async function assertNoEmptyOrTemp(dir: string): Promise<void> {
  const bad = (await filesUnder(dir)).filter((f) =>
    f.path.endsWith(".tmp") || (f.size === 0 && !f.path.endsWith("/.lock"))
  );
  deepStrictEqual(bad, [], `no empty or temporary files in ${dir}`);
}

Deno.test({
  name: "capture: full output disk → every window in the output or the spool, none empty, exit 1",
  ignore: mountSkip,
  async fn() {
    await withTmp(async (tmp) => {
      const file = `${tmp}/many.pcap`;
      const names = await writeWindowedCapture(file, { startSeconds: 1_800_300_000, windows: 120 });
      // The API is down (nothing listens there): samples stay spooled.
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const downUrl = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}`;
      closed.close();
      const fs = `${tmp}/fs`;
      await withTmpfs(fs, async () => {
        const out = `${fs}/out`;
        const state = `${tmp}/state`;
        const c = capture(
          ["-r", file, "--duration", "10", "--output", out, "--state-dir", state],
          downUrl,
        );
        const status = await c.finish();
        deepStrictEqual(windowNames(c), names);
        const inOut = await sfNames(out);
        const inSpool = await sfNames(`${state}/spool`);
        ok(
          inOut.length > 0 && inOut.length < names.length,
          `the disk filled: ${inOut.length} in the output`,
        );
        deepStrictEqual(
          [...new Set([...inOut, ...inSpool])].sort(),
          names,
          "every window is somewhere",
        );
        await assertNoEmptyOrTemp(fs);
        await assertNoEmptyOrTemp(state);
        strictEqual(status.code, 1);
        match(c.lines.at(-1)!, /^not everything arrived: 120 samples still spooled/);
        const full = c.lines.filter((l) =>
          /^cannot write .*\/out\/linux_\d+\.sf: No space left on device.*the spool keeps it$/.test(
            l,
          )
        );
        strictEqual(
          full.length,
          names.length - inOut.length,
          "one line per window the disk refused",
        );

        // Uploads off: what the output cannot take goes to <state>/held/.
        const c2 = capture([
          "-r",
          file,
          "--duration",
          "10",
          "--output",
          `${fs}/out2`,
          "--state-dir",
          `${tmp}/state2`,
          "--no-upload",
        ], null);
        strictEqual((await c2.finish()).code, 1);
        const held = await sfNames(`${tmp}/state2/held`);
        deepStrictEqual([...new Set([...await sfNames(`${fs}/out2`), ...held])].sort(), names);
        ok(held.length > 0);
        match(
          c2.lines.at(-1)!,
          new RegExp(`^not everything arrived: ${held.length} samples held in`),
        );
        await assertNoEmptyOrTemp(fs);
      });
      console.log(`full disk: ${names.length} windows, all in output or spool/held`);
    });
  },
});

Deno.test({
  name:
    "capture: full spool disk → the output keeps every window, exit 1 says they are not spooled",
  ignore: mountSkip,
  async fn() {
    await withTmp(async (tmp) => {
      const file = `${tmp}/many.pcap`;
      const names = await writeWindowedCapture(file, { startSeconds: 1_800_400_000, windows: 60 });
      const platform = await startTestPlatform();
      const fs = `${tmp}/fs`;
      try {
        await withTmpfs(fs, async () => {
          // Fill the state disk first so the spool cannot take a single sample.
          await Deno.mkdir(`${fs}/state/spool`, { recursive: true });
          await Deno.writeFile(`${fs}/filler`, new Uint8Array(60 * 1024)).catch(() => {});
          const out = `${tmp}/out`;
          const c = capture([
            "-r",
            file,
            "--duration",
            "10",
            "--output",
            out,
            "--state-dir",
            `${fs}/state`,
          ], platform.url);
          strictEqual((await c.finish()).code, 1, c.lines.join("\n"));
          deepStrictEqual(await sfNames(out), names, "the output has every window");
          ok(
            c.lines.some((l) =>
              /^cannot write .*\/state\/spool\/linux_\d+\.sf: No space left/.test(l)
            ),
          );
          match(c.lines.at(-1)!, /samples? only in the output directory \(not uploaded\)/);
          await Deno.remove(`${fs}/filler`);
          await assertNoEmptyOrTemp(`${fs}/state`);
        });
      } finally {
        await platform.close();
      }
    });
  },
});

Deno.test({
  name:
    "capture: a re-run on the same file uploads under the name its output got, never the first's",
  ignore: skip,
  async fn() {
    await withTmp(async (tmp) => {
      const platform = await startTestPlatform();
      try {
        const file = `${tmp}/one.pcap`;
        const [name] = await writeWindowedCapture(file, {
          startSeconds: 1_800_400_000,
          windows: 1,
        });
        const args = [
          "-r",
          file,
          "--duration",
          "10",
          "--output",
          `${tmp}/out`,
          "--state-dir",
          `${tmp}/s`,
        ];
        const first = capture(args, platform.url);
        strictEqual((await first.finish()).code, 0, first.lines.join("\n"));
        const again = capture(args, platform.url);
        strictEqual((await again.finish()).code, 0, again.lines.join("\n"));
        const second = name.replace(/\.sf$/, "-1.sf");
        // One sample, one name: the output's, the window line's, the spool's and the upload's.
        deepStrictEqual(windowNames(again), [second]);
        deepStrictEqual(platform.received.map((u) => u.fileName), [name, second]);
        deepStrictEqual(await sfNames(`${tmp}/out`), [name, second].sort());
      } finally {
        await platform.close();
      }
    });
  },
});
