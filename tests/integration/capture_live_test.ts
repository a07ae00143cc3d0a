/**
 * Acceptance 1 of issue 5, live: every public capture replayed with tcpreplay over a veth pair in
 * a private network namespace, captured on the other end by `capture -i`, gives one window whose
 * Secflows equal (src, dst, destinationNameSource, packets, bytes) those of `capture -r` on the
 * same file and those of `expected/`. Also: a window closes on time with no traffic at all, and
 * SIGTERM mid-window writes the sample and exits 0.
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { writeDemoCapture } from "../../bench/synthetic.ts";
import { convertFile } from "../../io/convert.ts";
import {
  announceSkip,
  cliInNamespace,
  CONFORMANCE,
  flashKey,
  flashKeysIn,
  liveSkipReason,
  replay,
  withNamespace,
} from "../capture_helpers.ts";

const conformancePresent = (() => {
  try {
    return Deno.statSync(`${CONFORMANCE}inputs`).isDirectory;
  } catch {
    return false;
  }
})();
const liveReason = liveSkipReason();
/** Tests that need only root, libpcap, tcpreplay and iproute2. */
const skipLive = announceSkip("live capture tests", liveReason);
/** Tests that also replay the public captures of ../shared. */
const skip = announceSkip(
  "live capture tests of the public captures",
  liveReason ?? (conformancePresent ? undefined : `no conformance data at ${CONFORMANCE}`),
);

function captures(): string[] {
  return [...Deno.readDirSync(`${CONFORMANCE}inputs`)]
    .map((e) => e.name)
    .filter((n) => /\.pcap(ng)?$/.test(n))
    .sort();
}

async function expectedKeys(stem: string): Promise<string[]> {
  try {
    const s = JSON.parse(await Deno.readTextFile(`${CONFORMANCE}expected/${stem}.sf`));
    return s.flashes.map(flashKey).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** Live capture of one replayed file: SIGTERM once the replay is done (mid-window). */
async function liveCapture(
  file: string,
  out: string,
  state: string,
  extra: readonly string[],
): Promise<string[]> {
  return await withNamespace(async (ns) => {
    const child = cliInNamespace(ns, [
      ...["capture", "-i", "vb", "--no-upload", "--output", out, "--state-dir", state],
      ...extra,
    ]);
    try {
      await child.waitFor(/^listening on vb/);
      await replay(ns, file);
      await new Promise((r) => setTimeout(r, 300));
      child.kill("SIGTERM");
      const status = await child.finish();
      strictEqual(status.code, 0, `capture exit code; stderr:\n${child.lines.join("\n")}`);
      return child.lines;
    } finally {
      child.kill("SIGKILL");
    }
  });
}

for (const [mode, extra] of [["worker", []], ["inline", ["--inline"]]] as const) {
  Deno.test({
    name:
      `capture -i (${mode}): every public capture, replayed, gives the Secflows of capture -r and expected/`,
    ignore: skip,
    async fn() {
      const tmp = await Deno.makeTempDir({ prefix: "capture_live_" });
      try {
        // One namespace per capture, all at once (each has its own veth pair).
        const results = await Promise.all(
          captures().map(async (name) => {
            const stem = name.replace(/\.pcap(ng)?$/, "");
            const input = `${CONFORMANCE}inputs/${name}`;
            const liveOut = `${tmp}/${stem}/live`;
            const lines = await liveCapture(input, liveOut, `${tmp}/${stem}/state-live`, extra);
            const fileOut = `${tmp}/${stem}/file`;
            const file = cliInNamespace(null, [
              "capture",
              "-r",
              input,
              "--no-upload",
              "--duration",
              "100000000",
              "--output",
              fileOut,
              "--state-dir",
              `${tmp}/${stem}/state-file`,
            ]);
            strictEqual((await file.finish()).code, 0, file.lines.join("\n"));
            return {
              stem,
              lines,
              live: await flashKeysIn(liveOut),
              file: await flashKeysIn(fileOut),
            };
          }),
        );
        for (const r of results) {
          const expected = await expectedKeys(r.stem);
          ok(r.live.files.length <= 1, `${r.stem}: one window, got ${r.live.files}`);
          const windowLines = r.lines.filter((l) => l.startsWith("window "));
          strictEqual(windowLines.length, 1, `${r.stem}: one window line: ${r.lines.join("\n")}`);
          match(
            windowLines[0],
            /^window linux_\d+\.sf: \d+ secflows, packets \d+, dropped 0, if-dropped 0, (saved|empty)$/,
          );
          deepStrictEqual(r.live.keys, r.file.keys, `${r.stem}: live vs capture -r`);
          deepStrictEqual(r.live.keys, expected, `${r.stem}: live vs expected/`);
          if (expected.length > 0) {
            const sample = JSON.parse(
              await Deno.readTextFile(`${tmp}/${r.stem}/live/${r.live.files[0]}`),
            );
            strictEqual(sample.fileName, r.live.files[0]);
            strictEqual(sample.fileName, `linux_${Math.floor(Number(sample.trafficDate))}.sf`);
            match(sample.hash, /^[0-9a-f]{32}$/);
          }
        }
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "capture -i: a window closes on time with no packet at all",
  ignore: skipLive,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "capture_idle_" });
    try {
      await withNamespace(async (ns) => {
        const started = Date.now();
        const child = cliInNamespace(ns, [
          "capture",
          "-i",
          "vb",
          "--duration",
          "10",
          "--windows",
          "1",
          "--no-upload",
          "--output",
          `${tmp}/out`,
          "--state-dir",
          `${tmp}/state`,
        ]);
        try {
          await child.waitFor(/^listening on vb/);
          const line = await child.waitFor(/^window /, 15_000);
          const elapsed = Date.now() - started;
          match(
            line,
            /^window linux_\d+\.sf: 0 secflows, packets 0, dropped 0, if-dropped 0, empty$/,
          );
          ok(elapsed >= 9_500 && elapsed < 13_000, `closed after ${elapsed} ms`);
          strictEqual((await child.finish()).code, 0);
        } finally {
          child.kill("SIGKILL");
        }
      });
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "capture -i: an unknown interface exits 2 and lists the real ones",
  ignore: skipLive,
  async fn() {
    await withNamespace(async (ns) => {
      const child = cliInNamespace(ns, ["capture", "-i", "nosuch0", "--no-upload"]);
      strictEqual((await child.finish()).code, 2);
      const text = child.lines.join("\n");
      match(text, /unknown interface 'nosuch0'; interfaces: .*\bva\b.*/);
      match(text, /\bvb\b/);
    });
  },
});

Deno.test({
  name:
    "capture -i: a capture this test writes, replayed, gives the Secflows of capture -r and convert",
  ignore: skipLive,
  async fn() {
    // Needs nothing from ../shared: a fresh clone runs it.
    const tmp = await Deno.makeTempDir({ prefix: "capture_own_" });
    try {
      const input = `${tmp}/own.pcap`;
      await writeDemoCapture(input);
      const lines = await liveCapture(input, `${tmp}/live`, `${tmp}/state-live`, []);
      const file = cliInNamespace(null, [
        ...["capture", "-r", input, "--no-upload", "--duration", "100000000"],
        ...["--output", `${tmp}/file`, "--state-dir", `${tmp}/state-file`],
      ]);
      strictEqual((await file.finish()).code, 0, file.lines.join("\n"));
      const live = await flashKeysIn(`${tmp}/live`);
      const fromFile = await flashKeysIn(`${tmp}/file`);
      const { sample } = await convertFile(input);
      const converted = (sample?.flashes ?? []).map((f) => flashKey({ ...f })).sort();
      match(
        lines.filter((l) => l.startsWith("window ")).join("\n"),
        /^window linux_\d+\.sf: 6 secflows, packets \d+, dropped 0, if-dropped 0, saved$/,
      );
      strictEqual(converted.length, 6);
      deepStrictEqual(live.keys, fromFile.keys, "live vs capture -r");
      deepStrictEqual(live.keys, converted, "live vs convert");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

/** Carriage return + erase line, as a RegExp source: how the progress line redraws. */
const ERASE = "\r\u001b\\[2K";

Deno.test({
  name: "capture -i: on a terminal, a progress line counts the window in place; piped, none",
  ignore: skipLive,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "capture_progress_" });
    try {
      const own = `${tmp}/own.pcap`;
      await writeDemoCapture(own);
      await withNamespace(async (ns) => {
        const cli = new URL("../../cli.ts", import.meta.url).pathname;
        const command = `stty cols 120; ${Deno.execPath()} run -A ${cli} capture -i vb ` +
          `--duration 10 --windows 1 --no-upload --output ${tmp}/out --state-dir ${tmp}/state`;
        // script(1) gives the collector a pseudo-terminal as stderr.
        const child = new Deno.Command("ip", {
          args: ["netns", "exec", ns, "script", "-qec", command, "/dev/null"],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        await new Promise((r) => setTimeout(r, 2500));
        await replay(ns, own);
        const out = await child.output();
        const text = new TextDecoder().decode(out.stdout);
        strictEqual(out.code, 0, text);
        // Drawn in place (carriage return + erase line), with the packets the replay brought.
        const draws = [
          ...text.matchAll(
            new RegExp(
              `${ERASE}capture: window 1: (\\d+) packets?, (\\d+) Secflows?, 0 dropped`,
              "g",
            ),
          ),
        ];
        ok(draws.length >= 3, text);
        ok(draws.some((m) => Number(m[1]) > 0 && Number(m[2]) > 0), text);
        // Replaced by the window line when the window closes.
        match(text, new RegExp(`${ERASE}window linux_\\d+\\.sf: 6 secflows, `));
      });
      // Piped stderr (every other test): no progress, no escape sequence.
      const lines = await liveCapture(own, `${tmp}/out2`, `${tmp}/state2`, []);
      ok(lines.every((l) => !l.includes("\x1b") && !l.includes("\r")), lines.join("\n"));
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "capture -i: the interface going away writes the window so far, then exits 1 saying so",
  ignore: skipLive,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "capture_gone_" });
    try {
      const own = `${tmp}/own.pcap`;
      await writeDemoCapture(own);
      await withNamespace(async (ns) => {
        const child = cliInNamespace(ns, [
          "capture",
          "-i",
          "vb",
          "--duration",
          "60",
          "--no-upload",
          "--output",
          `${tmp}/out`,
          "--state-dir",
          `${tmp}/state`,
        ]);
        try {
          await child.waitFor(/^listening on vb/);
          await replay(ns, own);
          await new Promise((r) => setTimeout(r, 500)); // past the read timeout: read by now
          await new Deno.Command("ip", { args: ["-n", ns, "link", "del", "vb"] }).output();
          const status = await child.finish();
          strictEqual(status.code, 1, child.lines.join("\n"));
          // The window is written (it was lost with the process: no line, no file).
          const window = child.lines.find((l) => l.startsWith("window "));
          ok(window, child.lines.join("\n"));
          match(
            window!,
            /^window linux_\d+\.sf: 6 secflows, packets \d+, dropped 0, if-dropped 0, saved$/,
          );
          ok(
            child.lines.some((l) => /read failed: .*disappeared|read failed/.test(l)),
            child.lines.join("\n"),
          );
          strictEqual([...Deno.readDirSync(`${tmp}/out`)].length, 1);
        } finally {
          child.kill("SIGKILL");
        }
      });
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
