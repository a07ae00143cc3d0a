/**
 * `convert`'s progress line, as a person sees it: under a pseudo-terminal (`script -qec`) the line
 * is redrawn in place while the input arrives and erased before the summary; piped, or with `-q`,
 * no escape sequence at all. The input trickles through a FIFO for about 1.5 s, past the 0.5 s
 * before the first draw, so the test does not depend on the machine's speed. Ctrl-C is a real
 * SIGINT sent to the CLI process under the terminal.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ether, pcapHeader, pcapRecord, T0, tcp } from "./_pcap.ts";
import { denoRun, hasCommand, shellQuote, underTerminal } from "./_terminal.ts";
import { withTempDir } from "./_child.ts";

const H = "192.168.1.10", X = "93.184.216.34";

/** Writes a capture into the FIFO at `path` in 15 pieces, 100 ms apart. */
async function trickle(path: string): Promise<void> {
  const fifo = await Deno.open(path, { write: true });
  try {
    await fifo.write(pcapHeader());
    for (let i = 0; i < 15; i++) {
      const records = Array.from({ length: 20 }, (_, k) =>
        pcapRecord({
          us: T0 + (i * 20 + k) * 1000,
          data: ether(tcp({ src: H, dst: X, sp: 50000 + i, dp: 443, payload: 500 })),
        }));
      for (const r of records) await fifo.write(r);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    fifo.close();
  }
}

async function convertThroughFifo(dir: string, flags: string[], terminal: boolean) {
  const fifo = join(dir, `in-${flags.join("")}-${terminal}.pcap`);
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.ok(mk.success, "mkfifo");
  const out = join(dir, "out.sf");
  const cli = denoRun(`--allow-read=${dir}`, `--allow-write=${dir}`);
  const line = `${cli} convert ${shellQuote(fifo)} -o ${shellQuote(out)} ${flags.join(" ")}`;
  const writer = trickle(fifo);
  const text = terminal ? await underTerminal(`stty cols 120; ${line}`, { NO_COLOR: "1" }) : (
    await (async () => {
      const r = await new Deno.Command("sh", {
        args: ["-c", `${line} 2>&1 | cat`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    })()
  );
  await writer;
  return text;
}

Deno.test("convert: progress redrawn in place on a terminal, erased before the summary; none piped or with -q", async (t) => {
  if (!hasCommand("script") || !hasCommand("mkfifo")) {
    console.log("SKIP convert progress: script (util-linux) or mkfifo is not installed");
    return;
  }
  await withTempDir(async (dir) => {
    await t.step("terminal", async () => {
      const out = await convertThroughFifo(dir, [], true);
      const draws = out.split("\r\x1b[2Kconvert ").length - 1;
      assert.ok(draws >= 2, `at least two in-place draws, saw ${draws}: ${JSON.stringify(out)}`);
      assert.match(out, /convert \S+: [\d.]+ k?B, [\d.]+ k?B\/s/);
      const afterErase = out.split("\x1b[2K").at(-1)!;
      assert.match(afterErase, /^\S*out\.sf: 15 Secflows from 300 packets/, "erased first");
    });
    await t.step("piped: no escape sequences, just the summary", async () => {
      const out = await convertThroughFifo(dir, [], false);
      assert.ok(!out.includes("\x1b"), JSON.stringify(out));
      assert.match(out, /out\.sf: 15 Secflows from 300 packets/);
    });
    await t.step("-q on a terminal: nothing at all", async () => {
      const out = await convertThroughFifo(dir, ["-q"], true);
      assert.ok(!out.includes("\x1b[2K"), JSON.stringify(out));
      assert.ok(!out.includes("Secflows"), JSON.stringify(out));
    });
  });
});

Deno.test("convert: Ctrl-C (SIGINT) during the progress line ends it with a newline before exiting", async () => {
  if (!hasCommand("script") || !hasCommand("mkfifo")) {
    console.log("SKIP convert Ctrl-C: script (util-linux) or mkfifo is not installed");
    return;
  }
  await withTempDir(async (dir) => {
    const fifo = join(dir, "in.pcap");
    assert.ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success, "mkfifo");
    const pidFile = join(dir, "pid");
    const cli = denoRun(`--allow-read=${dir}`, `--allow-write=${dir}`);
    // The shell writes its pid, then becomes the CLI: the pid is the CLI's, which gets the signal.
    const line = `stty cols 120; echo $$ > ${shellQuote(pidFile)}; exec ${cli} convert ${
      shellQuote(fifo)
    } -o ${shellQuote(join(dir, "out.sf"))}`;
    const script = new Deno.Command("script", {
      args: ["-qec", line, "/dev/null"],
      env: { TERM: "xterm", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // The writer fails once the reader is gone: expected.
    const writer = trickle(fifo).catch(() => {});
    let out = "";
    const decoder = new TextDecoder();
    const reader = script.stdout.getReader();
    let signalled = false;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      out += decoder.decode(r.value, { stream: true });
      if (!signalled && out.includes("\r\x1b[2Kconvert ")) {
        Deno.kill(Number((await Deno.readTextFile(pidFile)).trim()), "SIGINT");
        signalled = true;
      }
    }
    const status = await script.status;
    await script.stderr.cancel();
    await writer;
    assert.ok(signalled, `the progress line was drawn: ${JSON.stringify(out)}`);
    assert.equal(status.code, 130, JSON.stringify(out));
    // The last thing on screen is the progress line, ended (the terminal shows \n as \r\n).
    const last = out.split("\r\x1b[2K").at(-1)!;
    assert.match(last, /^convert \S+: [\d.]+ k?B, [\d.]+ k?B\/s\r?\n$/, JSON.stringify(out));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["in.pcap", "pid"]);
  });
});
