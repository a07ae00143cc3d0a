/**
 * The CLI's conventions: "did you mean" for commands and options, `help CMD` and usage mistakes
 * exit 2, global options before the command, `aggregate` progress under a pseudo-terminal (and
 * none when piped), completion scripts a shell accepts, `capture -i N`, link-type names, file
 * names escaped in errors, permissions as the help lists them, plain-digit numbers, empty values,
 * help that cannot be written. The API commands' are cli_api_conventions_test.ts.
 */
import assert from "node:assert/strict";
import { cli as cliInProcess } from "../zeek_fixtures.ts";
import { apiPermissions, runCli, sfSample, startServe, tempDir } from "../api_fixtures.ts";
import { denoRun, hasCommand, shellQuote, underTerminal } from "../_terminal.ts";
import { NetworkSageClient } from "../../api/client.ts";
import { linkTypeName, resolveInterface } from "../../cli/interfaces.ts";
import { closest } from "../../cli/_format.ts";
import { hoistGlobalOptions } from "../../cli.ts";
import { pcapOf, T0, tcp } from "../_pcap.ts";
import { announceSkip, cliInNamespace, pcapSkipReason, run } from "../capture_helpers.ts";

/** The CLI in process; output split into lines (a command may print many lines in one write). */
async function cli(args: string[]) {
  const r = await cliInProcess(args);
  return { ...r, out: r.out.flatMap((l) => l.split("\n")) };
}

const KEY = "sk-conventions-key";

Deno.test("did you mean: commands and options; help CMD; usage mistakes exit 2", async () => {
  const typo = await cli(["conver", "x.pcap"]);
  assert.equal(typo.code, 2);
  assert.deepEqual(typo.err, [
    "networksage: unknown command 'conver' (did you mean convert?) (see networksage --help)",
  ]);
  assert.match((await cli(["stat", "x"])).err[0], /did you mean stats\?/);
  assert.match((await cli(["sampels"])).err[0], /did you mean samples\?/);
  const far = await cli(["frobnicate"]);
  assert.equal(far.code, 2);
  assert.doesNotMatch(far.err[0], /did you mean/);
  const option = await cli(["view", "x.sf", "--sortt", "bytes"]);
  assert.equal(option.code, 2);
  assert.deepEqual(option.err, [
    "networksage view: unknown option '--sortt' (did you mean --sort?) (see networksage view --help)",
  ]);
  assert.match((await cli(["convert", "x", "--outptu", "y"])).err[0], /did you mean --output\?/);
  const help = await cli(["help", "frob"]);
  assert.equal(help.code, 2);
  assert.match(help.err[0], /^networksage help: unknown command 'frob'/);
  const helpTypo = await cli(["help", "veiw"]);
  assert.match(helpTypo.err[0], /did you mean view\?/);
  const good = await cli(["help", "view"]);
  assert.equal(good.code, 0);
  assert.match(good.out[0], /^usage: networksage view INPUT/);
  assert.equal((await cli(["help"])).code, 0);
  const none = await cli([]);
  assert.equal(none.code, 2, "no command at all is a usage mistake");
  assert.deepEqual(none.out, [], "said on stderr, not the whole help on stdout");
  assert.deepEqual(none.err, ["usage: networksage <command> [options] (see networksage --help)"]);
  // After `--`, -h is a file's name, not a request for help.
  const dashed = await cli(["view", "--", "-h"]);
  assert.equal(dashed.code, 2);
  assert.match(dashed.err.join("\n"), /-h: no such file/);
  assert.equal(closest("x", ["convert", "view"]), undefined);
});

Deno.test("global options are read before the command as after it", async () => {
  assert.deepEqual(hoistGlobalOptions(["--json", "-q", "stats", "a.sf"]), [
    "stats",
    "--json",
    "-q",
    "a.sf",
  ]);
  assert.deepEqual(hoistGlobalOptions(["--api-url", "http://h:1", "samples"]), [
    "samples",
    "--api-url",
    "http://h:1",
  ]);
  assert.deepEqual(hoistGlobalOptions(["--api-url=http://h:1", "samples", "--", "-x"]), [
    "samples",
    "--api-url=http://h:1",
    "--",
    "-x",
  ]);
  assert.deepEqual(hoistGlobalOptions(["-D"]), ["-D"]);
  assert.match(hoistGlobalOptions(["--frob", "view"]) as string, /not a global option/);
  assert.match(hoistGlobalOptions(["--json"]) as string, /command is missing/);
  const bad = await cli(["--frob", "view"]);
  assert.equal(bad.code, 2);

  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  try {
    const perms = apiPermissions(s.url);
    const env = { NETWORKSAGE_API_KEY: KEY };
    const before = await runCli(["--json", "--api-url", s.url, "samples"], perms, env);
    const after = await runCli(["samples", "--json", "--api-url", s.url], perms, env);
    assert.equal(before.code, 0, before.stderr);
    assert.equal(before.stdout, "[]\n");
    assert.deepEqual(before, after);
    // -q where there is nothing to quiet (no progress, no summary) is accepted, before or after.
    for (const args of [["-q", "samples", "--json"], ["samples", "--quiet", "--json"]]) {
      const quiet = await runCli([...args, "--api-url", s.url], perms, env);
      assert.deepEqual(quiet, before, args.join(" "));
    }
  } finally {
    await s.shutdown();
  }
});

Deno.test("aggregate: progress redrawn in place on a terminal (script -qec), none when piped or -q", async (t) => {
  if (!hasCommand("script")) {
    console.log("SKIP aggregate progress: script (util-linux) is not installed");
    return;
  }
  await using dir = await tempDir();
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  // Every lookup takes 25 ms, so 120 lookups two at a time last ~1.5 s: past the 0.5 s delay.
  const slow = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (
      req.url.includes("/count") || req.url.includes("/destinations/") ||
      req.url.includes("/behaviors/")
    ) {
      await new Promise((r) => setTimeout(r, 25));
    }
    return s.service.handler(req);
  });
  const url = `http://127.0.0.1:${slow.addr.port}`;
  try {
    const flashes = Array.from({ length: 40 }, (_, i) => ({ dst: `host${i}.example:443` }));
    await Deno.writeTextFile(`${dir.path}/many.sf`, sfSample(flashes));
    const direct = new NetworkSageClient({ apiKey: KEY, apiUrl: s.url, useEnv: false });
    await direct.upload({ path: `${dir.path}/many.sf` });
    await s.idle();
    const uuid = (await direct.listUploads())[0].uuid;
    const args = ["aggregate", uuid, "--concurrency", "2", "--api-url", url];
    const perms = apiPermissions(url);
    // A pseudo-terminal has no size until one is set; 120 columns hold the whole line.
    const command = `stty cols 120; ${denoRun(...perms)} ${args.map(shellQuote).join(" ")}`;
    const env = { NETWORKSAGE_API_KEY: KEY, NO_COLOR: "1" };

    await t.step(
      "terminal: in-place updates, then the line is erased before the table",
      async () => {
        const out = await underTerminal(command, env);
        const draws = out.split(`\r\x1b[2Kaggregate lookups: `).length - 1;
        assert.ok(
          draws >= 2,
          `at least two in-place draws, saw ${draws}:\n${JSON.stringify(out.slice(0, 400))}`,
        );
        assert.match(out, /aggregate lookups: \d+ of 120 \(\d+%\), \d+\/s/);
        const done = [...out.matchAll(/: (\d+) of 120/g)].map((m) => Number(m[1]));
        assert.deepEqual(done, [...done].sort((a, b) => a - b), "counts only go up");
        assert.match(
          out.split("\x1b[2K").at(-1)!,
          /^source\s+destination\s+category/,
          "erased first",
        );
      },
    );
    await t.step("terminal with -q (before the command): no progress", async () => {
      const quiet = await underTerminal(
        `${denoRun(...perms)} -q ${args.map(shellQuote).join(" ")}`,
        env,
      );
      assert.ok(!quiet.includes("\x1b[2K"), JSON.stringify(quiet.slice(0, 200)));
      assert.match(quiet, /host0\.example:443/);
    });
    await t.step("piped: no progress, no escape bytes", async () => {
      const piped = await runCli(args, perms, env);
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal(piped.stderr, "");
      assert.ok(!piped.stdout.includes("\x1b"));
      assert.equal(piped.stdout.trimEnd().split("\n").length, 41);
    });
  } finally {
    await slow.shutdown();
    await s.shutdown();
  }
});

Deno.test("completions: scripts bash, zsh and fish accept, completing commands and options", async (t) => {
  const script = async (shell: string) => {
    const r = await cli(["completions", shell]);
    assert.equal(r.code, 0);
    return r.out.join("\n") + "\n";
  };
  await using dir = await tempDir();
  const bash = `${dir.path}/networksage.bash`;
  await Deno.writeTextFile(bash, await script("bash"));
  await run("bash", "-n", bash);
  // Completing for real: the function fills COMPREPLY as bash would ask it to.
  const complete = async (...words: string[]) =>
    (await run(
      "bash",
      "-c",
      `source ${bash}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${
        words.length - 1
      }; _networksage; echo "\${COMPREPLY[*]}"`,
    )).trim();
  assert.equal(await complete("networksage", "conv"), "convert");
  assert.equal(await complete("networksage", "st"), "stats");
  assert.equal(await complete("networksage", "view", "--so"), "--sort");
  // Short options too (-o, -q; they were never offered).
  assert.match(await complete("networksage", "convert", "-"), / -o -q$/);
  assert.equal(await complete("networksage", "view", "--sort", "d"), "duration dst");
  assert.equal(await complete("networksage", "annotate", "be"), "behavior");
  assert.equal(await complete("networksage", "--json", "sam"), "samples sample");
  assert.equal(await complete("networksage", "--api-url", "http://h:1", "stat"), "stats");
  assert.equal(await complete("networksage", "help", "ann"), "annotate");
  assert.match(await complete("networksage", "capture", "--"), /--interface/);
  assert.doesNotMatch(await complete("networksage", "capture", "--"), /--allow/);
  // Only options the command takes: completions' help speaks of sort and format values, which
  // once offered `completions --sort` (an unknown option).
  assert.equal(await complete("networksage", "completions", "--"), "--help");

  for (const [shell, check] of [["zsh", ["-n"]], ["fish", ["--no-execute"]]] as const) {
    await t.step(shell, async () => {
      if (!hasCommand(shell)) {
        console.log(`SKIP completions ${shell}: ${shell} is not installed`);
        return;
      }
      const file = `${dir.path}/networksage.${shell}`;
      await Deno.writeTextFile(file, await script(shell));
      await run(shell, ...check, file);
      if (shell !== "zsh") return;
      // Completing for real, with zsh's completion builtins replaced by ones that say what they
      // were asked: a global option before the command (it took `--json` for the command).
      const probe = `${dir.path}/probe.zsh`;
      await Deno.writeTextFile(
        probe,
        `compdef() { :; }; _describe() { print -r -- describe; }
compadd() { print -r -- "compadd $*"; }; _files() { print -r -- files; }
source ${file}
words=(networksage --json sam); CURRENT=3; PREFIX=sam; _networksage
words=(networksage --api-url http://h:1 annotate be); CURRENT=5; PREFIX=be; _networksage
words=(networksage convert -); CURRENT=3; PREFIX=-; _networksage
`,
      );
      const [commands, kinds, options] = (await run("zsh", probe)).trim().split("\n");
      assert.equal(commands, "describe");
      assert.equal(kinds, "compadd -- destination behavior event");
      assert.match(options, / --output .* -o -q$/);
    });
  }
  if (hasCommand("fish")) {
    // fish itself lists the completions of a command line.
    const listed = await run(
      "fish",
      "-c",
      `source ${dir.path}/networksage.fish; complete -C 'networksage view --so'`,
    );
    assert.match(listed, /^--sort/m);
    const short = await run(
      "fish",
      "-c",
      `source ${dir.path}/networksage.fish; complete -C 'networksage capture -'`,
    );
    assert.match(short, /^-r$/m);
  }
  // The documented permissions: none.
  const bare = await runCli(["completions", "bash"], []);
  assert.equal(bare.code, 0, bare.stderr);
  assert.equal(bare.stdout, await script("bash"));
  const bad = await cli(["completions", "powershell"]);
  assert.equal(bad.code, 2);
});

Deno.test("capture -i N resolves the number interfaces shows; link types by name", async (t) => {
  const devices = [
    { name: "eth0", description: "", addresses: [], flags: 6 },
    { name: "lo", description: "", addresses: [], flags: 7 },
    { name: "7", description: "", addresses: [], flags: 0 },
  ];
  assert.equal(resolveInterface("1", devices), "eth0");
  assert.equal(resolveInterface("2", devices), "lo");
  assert.equal(resolveInterface("7", devices), "7", "a device named 7 wins over the number");
  assert.equal(resolveInterface("eth0", devices), "eth0");
  assert.throws(() => resolveInterface("4", devices), /no interface number 4: .* lists 1 to 3/);
  assert.throws(() => resolveInterface("0", devices), /no interface number 0/);
  assert.equal(linkTypeName(1), "EN10MB (Ethernet)");
  assert.equal(linkTypeName(113), "LINUX_SLL (Linux cooked v1)");
  assert.match(linkTypeName(147), /^DLT 147/);

  if (announceSkip("capture -i N (live)", liveReason())) return;
  await t.step("live, in a namespace the test creates: -i 1 captures on interface 1", async () => {
    const ns = `nsi11${Deno.pid}`;
    await run("ip", "netns", "add", ns);
    try {
      await run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
      const list = cliInNamespace(ns, ["interfaces"]);
      assert.equal((await list.finish()).code, 0);
      const first = /^1\.(\S+)/.exec(list.stdout[0])?.[1];
      assert.ok(first, list.stdout.join("\n"));
      await using out = await tempDir();
      const child = cliInNamespace(ns, [
        "capture",
        "-i",
        "1",
        "--no-upload",
        "--output",
        out.path,
        "--state-dir",
        `${out.path}/state`,
      ]);
      const line = await child.waitFor(/^listening on /);
      assert.match(line, new RegExp(`^listening on ${first}, link-type [A-Z0-9_]+ \\(`));
      child.kill("SIGINT"); // ends the window at once; exit 0
      const status = await child.finish();
      assert.equal(status.code, 0, child.lines.join("\n"));
      const wrong = cliInNamespace(ns, ["capture", "-i", "99", "--no-upload"]);
      assert.equal((await wrong.finish()).code, 2);
      assert.match(
        wrong.lines.join("\n"),
        /no interface number 99: networksage interfaces lists 1 to \d+/,
      );
    } finally {
      await run("ip", "netns", "del", ns);
    }
  });
});

function liveReason(): string | undefined {
  if (Deno.build.os !== "linux") return "needs Linux network namespaces";
  if (Deno.uid() !== 0) return "needs root (a network namespace, raw capture)";
  const pcap = pcapSkipReason();
  if (pcap) return pcap;
  if (!hasCommand("ip")) return "ip (iproute2) not installed";
  return undefined;
}

Deno.test("errors quoting a file name escape its control characters (no raw ESC on the terminal)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = `${dir}/x\x1b[2J\x07.sf`;
    for (const command of ["view", "stats", "report", "convert"]) {
      const r = await cli([command, missing]);
      assert.equal(r.code, 2, command);
      assert.equal(r.err.length, 1, command);
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(r.err[0], /[\x00-\x1f\x7f-\x9f]/, command);
      assert.ok(r.err[0].includes("x\\x1b[2J\\x07.sf"), r.err[0]);
    }
    const garbage = `${dir}/g\x1b]0;title\x07.pcap`;
    await Deno.writeTextFile(garbage, "garbage");
    const r = await cli(["view", garbage]);
    assert.equal(r.code, 2);
    assert.ok(r.err[0].includes("g\\x1b]0;title\\x07.pcap"), r.err[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("capture -r without --state-dir or env access refuses, instead of writing ./.local/state", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/c.pcap`;
    await Deno.writeFile(
      file,
      pcapOf([{ us: T0, ip: tcp({ src: "10.0.0.5", dst: "93.184.216.34", sp: 50000, dp: 443 }) }]),
    );
    const args = ["run", "--quiet", "--no-prompt", "--allow-ffi", `--allow-read=${dir}`];
    const cliArgs = ["capture", "-r", file, "--no-upload", "--output", `${dir}/out`];
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        ...args,
        `--allow-write=${dir}`,
        new URL("../../cli.ts", import.meta.url).pathname,
        ...cliArgs,
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 2, err);
    assert.match(err, /--state-dir DIR or --allow-env=HOME/);
    assert.equal(await Deno.stat(`${dir}/.local`).catch(() => null), null, "nothing under cwd");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an option value starting with a dash is explained, not called 'ambiguous'", async () => {
  const r = await cli(["view", "x.sf", "--top", "-1"]);
  assert.equal(r.code, 2);
  assert.deepEqual(r.err, [
    "networksage view: option '--top' needs a value; for one starting with a dash write " +
    "--top=-1 (see networksage view --help)",
  ]);
});

Deno.test("capture -r: the file name is printed escaped, and named once when libpcap refuses it", async () => {
  if (announceSkip("capture -r names", pcapSkipReason())) return;
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/e\x1b[2J.pcap`;
    await Deno.writeFile(
      file,
      pcapOf([{ us: T0, ip: tcp({ src: "10.0.0.5", dst: "93.184.216.34", sp: 50000, dp: 443 }) }]),
    );
    const capture = async (input: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "-A", new URL("../../cli.ts", import.meta.url).pathname, "capture"]
          .concat(["-r", input, "--no-upload", "--output", `${dir}/out`, "--state-dir", dir]),
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, err: new TextDecoder().decode(out.stderr) };
    };
    const ok = await capture(file);
    assert.equal(ok.code, 0, ok.err);
    assert.ok(ok.err.includes("reading from file"), ok.err);
    assert.ok(!ok.err.includes("\x1b"), "a raw ESC reached stderr");
    assert.ok(ok.err.includes("e\\x1b[2J.pcap"), ok.err);
    const missing = await capture(`${dir}/none.pcap`);
    assert.equal(missing.code, 2, missing.err);
    assert.equal(missing.err.split(`${dir}/none.pcap`).length - 1, 1, missing.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("on a terminal, capture -r and report run with the permissions their help lists: no prompt", async () => {
  if (!hasCommand("script")) {
    console.log("SKIP permission prompts: script (util-linux) is not installed");
    return;
  }
  await using dir = await tempDir();
  const pcap = `${dir.path}/c.pcap`;
  await Deno.writeFile(
    pcap,
    pcapOf([{ us: T0, ip: tcp({ src: "10.0.0.5", dst: "93.184.216.34", sp: 50000, dp: 443 }) }]),
  );
  // Without --no-prompt (denoRun adds it): a prompt waits for an answer, which `timeout` ends.
  const run = (perms: string[], args: string[]) =>
    underTerminal(
      `${
        [
          "timeout",
          "30",
          Deno.execPath(),
          "run",
          "--quiet",
          ...perms,
          new URL("../../cli.ts", import.meta.url).pathname,
        ]
          .map(shellQuote).join(" ")
      } ${args.map(shellQuote).join(" ")}; echo "exit=$?"`,
      { NETWORKSAGE_SPOOL_RETRY_MS: "10", NETWORKSAGE_LIBPCAP: "" }, // set: tempting to read
    );
  // report: --allow-write=OUT alone writes in place (it stat'ed OUT first: a read prompt).
  const out = `${dir.path}/r.html`;
  const report = await run(
    [`--allow-read=${pcap}`, `--allow-write=${out}`],
    ["report", pcap, "-o", out],
  );
  assert.doesNotMatch(report, /Deno requests|Requires/, report);
  assert.match(report, /exit=0/, report);
  assert.match(await Deno.readTextFile(out), /<html/);
  if (announceSkip("capture -r under a terminal", pcapSkipReason())) return;
  // capture: --allow-ffi --allow-read --allow-write, and --state-dir instead of env access (three
  // env variables were read with a prompt: NETWORKSAGE_SPOOL_RETRY_MS, ..._UPLOAD_TIMEOUT_MS,
  // ..._LIBPCAP).
  const capture = await run(
    ["--allow-ffi", "--allow-read", "--allow-write"],
    [
      "capture",
      "-r",
      pcap,
      "--no-upload",
      "--output",
      `${dir.path}/o`,
      "--state-dir",
      `${dir.path}/s`,
    ],
  );
  assert.doesNotMatch(capture, /Deno requests|Requires/, capture);
  assert.match(capture, /window .*: 1 secflows.*saved/, capture);
  assert.match(capture, /exit=0/, capture);
});

Deno.test("convert's default output never replaces its input, whatever the case of its name", async () => {
  await using dir = await tempDir();
  const capture = pcapOf([{
    us: T0,
    ip: tcp({ src: "10.0.0.5", dst: "93.184.216.34", sp: 50000, dp: 443 }),
  }]);
  await Deno.writeFile(`${dir.path}/x.pcap`, capture);
  assert.equal((await cli(["convert", `${dir.path}/x.pcap`, "-q"])).code, 0);
  const sample = await Deno.readTextFile(`${dir.path}/x.sf`);
  await Deno.writeTextFile(`${dir.path}/UP.SF`, sample);
  const r = await cli(["convert", `${dir.path}/UP.SF`]);
  assert.equal(r.code, 0, r.err.join("\n"));
  assert.match(r.err.join("\n"), /UP\.converted\.sf: 1 Secflow/);
  assert.equal(await Deno.readTextFile(`${dir.path}/UP.SF`), sample, "the input is untouched");
});

Deno.test("number options take plain digits: 1e3, 0x10, ' 5', '' and 20-digit counts are usage errors", async () => {
  await using dir = await tempDir();
  const pcap = `${dir.path}/c.pcap`;
  await Deno.writeFile(
    pcap,
    pcapOf([{ us: T0, ip: tcp({ src: "10.0.0.5", dst: "93.184.216.34", sp: 50000, dp: 443 }) }]),
  );
  const refused: [string[], RegExp][] = [
    [["view", pcap, "--top", "1e3"], /--top must be a whole number of at least 1, not '1e3'/],
    [["view", pcap, "--top", "0x10"], /not '0x10'/],
    [["stats", pcap, "--top", "99999999999999999999"], /not '99999999999999999999'/],
    [["view", pcap, "--top", " 5"], /not ' 5'/],
    [["convert", pcap, "-o", "-", "--timeout", "0x5"], /--timeout takes seconds/],
    [["capture", "-r", pcap, "--no-upload", "--duration", "1e2"], /--duration must be a number/],
    [["capture", "-r", pcap, "--no-upload", "--windows", "2.0"], /--windows must be a positive/],
    [["serve", "--data", `${dir.path}/d`, "--port", "0x50"], /--port must be 0 to 65535/],
    [
      ["serve", "--data", `${dir.path}/d`, "--api-key", "key-0123456789", "--lease", "1e1"],
      /--lease must be seconds/,
    ],
    [["samples", "--retries", ""], /--retries needs a value, not an empty string/],
    [
      ["wait", "00000000-0000-0000-0000-000000000000", "--timeout", "Infinity"],
      /--timeout must be/,
    ],
    // Past 24.8 days a timer fires at once: --interval 3000000 polled every millisecond.
    [
      ["wait", "00000000-0000-0000-0000-000000000000", "--interval", "3000000"],
      /--interval must be at most 2147483 seconds \(24\.8 days\), not 3000000/,
    ],
    [["wait", "00000000-0000-0000-0000-000000000000", "--interval", "0"], /above 0/],
    [
      ["convert", pcap, pcap, "-o", `${dir.path}/o/`, "--timeout", "3000000"],
      /at most 2147483 seconds/,
    ],
  ];
  for (const [args, message] of refused) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err.join("\n")}`);
    assert.match(r.err.join("\n"), message, args.join(" "));
  }
  const ok = await cli(["view", pcap, "--top", "5"]);
  assert.equal(ok.code, 0, ok.err.join("\n"));
});

Deno.test("an empty option value is a usage error for every command, before anything is touched", async () => {
  await using dir = await tempDir();
  const pcap = `${dir.path}/c.pcap`;
  await Deno.writeFile(
    pcap,
    pcapOf([{ us: T0, ip: tcp({ src: "10.0.0.5", dst: "93.184.216.34", sp: 50000, dp: 443 }) }]),
  );
  // What an unset shell variable gives: `--data "$DIR"` once meant the root directory.
  const cases: string[][] = [
    ["serve", "--data", ""],
    ["serve", "--data="],
    ["convert", pcap, "-o", ""],
    ["convert", pcap, "--dns-cache", ""],
    ["capture", "-r", pcap, "--no-upload", "--output", ""],
    ["capture", "-r", pcap, "--no-upload", "--state-dir", ""],
    ["report", pcap, "-o", ""],
    ["view", pcap, "--match", ""],
    ["annotate", "destination", "a.example:443", "--title", "t", "--tag", ""],
  ];
  for (const args of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err.join("\n")}`);
    assert.match(r.err.join("\n"), /--[a-z-]+ needs a value, not an empty string/, args.join(" "));
  }
  assert.deepEqual(
    [...Deno.readDirSync(dir.path)].map((e) => e.name),
    ["c.pcap"],
    "nothing written",
  );
});

Deno.test("help that cannot be written is one line and exit 1, not an uncaught error", async () => {
  if (Deno.build.os !== "linux") return;
  const cliPath = new URL("../../cli.ts", import.meta.url).pathname;
  for (const args of [["--help"], ["help", "view"], ["view", "--help"], ["--version"]]) {
    const r = await new Deno.Command("sh", {
      args: ["-c", 'exec "$0" run -A "$@" > /dev/full', Deno.execPath(), cliPath, ...args],
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 1, `${args.join(" ")}: ${err}`);
    assert.equal(err, "networksage: standard output: cannot write: No space left on device\n");
  }
});

Deno.test("a reader that stops early (| head) ends the output quietly: exit 0, nothing on stderr", async () => {
  if (Deno.build.os !== "linux") return;
  const cliPath = new URL("../../cli.ts", import.meta.url).pathname;
  await using dir = await tempDir();
  // Enough lines that the pipe is closed while the command still writes.
  const rows = Array.from({ length: 3000 }, (_, i) =>
    [
      `1700000000.${String(i).padStart(6, "0")}`,
      `C${i}`,
      "10.0.0.2",
      String(20000 + i),
      "93.184.216.34",
      "443",
      "tcp",
      "-",
      "1",
      "10",
      "20",
      "SF",
      "-",
      "-",
      "0",
      "-",
      "2",
      "90",
      "2",
      "100",
      "-",
    ].join("\t"));
  const log = `${dir.path}/conn.log`;
  await Deno.writeTextFile(
    log,
    "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n" +
      rows.join("\n") + "\n",
  );
  for (const args of [["view", "--flows", "--ecs", log], ["view", "--flows", log]]) {
    const r = await new Deno.Command("bash", {
      args: [
        "-c",
        'set -o pipefail; "$0" run -A "$@" 2>"$ERR" | head -c 100 >/dev/null',
        Deno.execPath(),
        cliPath,
        ...args,
      ],
      env: { NO_COLOR: "1", ERR: `${dir.path}/err` },
      stdout: "null",
      stderr: "null",
    }).output();
    const err = await Deno.readTextFile(`${dir.path}/err`);
    assert.equal(r.code, 0, `${args.join(" ")}: ${err}`);
    assert.equal(err, "", args.join(" "));
  }
});
