/**
 * The `convert` command as a subprocess (issue 2, acceptance 4 and the CLI contract): bad input,
 * header-only and cut captures, absurd lengths, output paths, help and usage errors, the cache.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cat,
  convertBytes,
  dnsA,
  ether,
  icmp,
  ngBlock,
  pcap,
  pcapHeader,
  pcapng,
  pcapRecord,
  type Rec,
  T0,
  tcp,
  udp,
} from "./_pcap.ts";
import { formatSample, parseSample } from "../secflow/sample.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const REPO = new URL("../", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], cwd = REPO): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "convert_cli_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

function assertNoStack(r: Run): void {
  const all = r.stdout + r.stderr;
  assert.doesNotMatch(all, /^\s+at /m, `stack trace in output:\n${all}`);
  assert.doesNotMatch(all, /Uncaught|error: /, `uncaught error in output:\n${all}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const H = "10.0.0.5";
const X = "93.184.216.34";
const RECS: Rec[] = [
  { us: T0, data: ether(dnsA({ server: "8.8.8.8", client: H, qname: "example.com", addrs: [X] })) },
  { us: T0 + 100_000, data: ether(tcp({ src: H, dst: X, sp: 50000, dp: 443, payload: 100 })) },
  { us: T0 + 200_000, data: ether(tcp({ src: X, dst: H, sp: 443, dp: 50000, payload: 1000 })) },
  {
    us: T0 + 300_000,
    data: ether(udp({ src: H, dst: "1.1.1.1", sp: 50001, dp: 123, payload: 48 })),
  },
  { us: T0 + 400_000, data: ether(icmp({ src: H, dst: "1.1.1.1" })) },
];

/** A deterministic pseudo-random byte string (xorshift). */
function randomBytes(n: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 255;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Bad input: a non-zero exit and one line that names the file and says what it is not

async function badInput(path: string, what: RegExp): Promise<void> {
  const r = await cli(["convert", path]);
  assertNoStack(r);
  assert.equal(r.code, 2, `exit code for ${path}: ${r.stderr}`);
  const err = lines(r.stderr);
  assert.equal(err.length, 1, `one line expected:\n${r.stderr}`);
  assert.ok(err[0].includes(path), `the message names the file: ${err[0]}`);
  assert.match(err[0], what);
  assert.equal(await exists(path.replace(/(\.[^./]*)?$/, ".sf")), false);
}

Deno.test("CLI bad input: a missing path", async () => {
  await withTempDir(async (dir) => {
    await badInput(join(dir, "nope.pcap"), /no such file/);
  });
});

Deno.test("CLI bad input: a directory with nothing to convert", async () => {
  await withTempDir(async (dir) => {
    const sub = join(dir, "captures.pcap");
    await Deno.mkdir(sub);
    await badInput(sub, /no files to convert in this directory/);
  });
});

Deno.test("CLI bad input: an empty file says it is not a capture", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "empty.pcap");
    await Deno.writeFile(path, new Uint8Array(0));
    await badInput(path, /empty.*not a pcap or pcapng capture|not a pcap or pcapng capture.*empty/);
  });
});

Deno.test("CLI bad input: random bytes", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "noise.pcap");
    const bytes = randomBytes(10_000);
    await Deno.writeFile(path, bytes);
    await badInput(path, /not a pcap or pcapng capture/);
  });
});

Deno.test("CLI bad input: a text file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "notes.pcap");
    await Deno.writeTextFile(path, "These are my notes about the capture.\nNothing else.\n");
    await badInput(path, /not a pcap or pcapng capture.*These ar/);
  });
});

Deno.test("CLI bad input: a file shorter than a capture header", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "short.pcap");
    await Deno.writeFile(path, pcapHeader().subarray(0, 10));
    const r = await cli(["convert", path]);
    assertNoStack(r);
    assert.notEqual(r.code, 0);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.ok(r.stderr.includes(path));
  });
});

// ---------------------------------------------------------------------------------------------
// Header-only, cut and damaged captures

Deno.test("CLI: a header-only capture (pcap, pcapng) exits 1 with a notice and writes nothing", async () => {
  await withTempDir(async (dir) => {
    const files: [string, Uint8Array][] = [
      ["h.pcap", pcapHeader()],
      ["hbe.pcap", pcapHeader({ bigEndian: true, nanos: true })],
      ["h.pcapng", pcapng([{ interfaces: [{ linkType: 1 }], blocks: [] }])],
      ["shb.pcapng", pcapng([{ interfaces: [], blocks: [] }])],
    ];
    for (const [name, bytes] of files) {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      const r = await cli(["convert", path]);
      assertNoStack(r);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /: no Secflows: the capture holds no packets; nothing written\n$/);
      assert.equal(await exists(path.replace(/\.pcap(ng)?$/, ".sf")), false, name);
    }
  });
});

/** Converts `bytes` via the CLI into `dir/out.sf`; returns the run and the parsed sample. */
async function convertViaCli(dir: string, name: string, bytes: Uint8Array) {
  const path = join(dir, name);
  const out = join(dir, `${name}.out.sf`);
  await Deno.writeFile(path, bytes);
  const r = await cli(["convert", path, "-o", out]);
  const sample = (await exists(out)) ? parseSample(await Deno.readTextFile(out), out) : null;
  return { r, sample, path };
}

Deno.test("CLI: a pcap cut mid-record gives the complete records' Secflows and a warning with the offset", async () => {
  await withTempDir(async (dir) => {
    const whole = pcap(RECS);
    const complete = pcap(RECS.slice(0, 3));
    for (const cutInside of [3, 16, 20]) { // inside the record header, at its end, in the data
      const bytes = whole.subarray(0, complete.length + cutInside);
      const { r, sample, path } = await convertViaCli(dir, `cut${cutInside}.pcap`, bytes);
      assertNoStack(r);
      assert.equal(r.code, 0, r.stderr);
      const warning = lines(r.stderr).find((l) => /warning/i.test(l));
      assert.ok(warning, r.stderr);
      assert.ok(warning.includes(path), warning);
      assert.match(warning, new RegExp(`byte offset ${complete.length}\\b`));
      const expected = await convertBytes(complete);
      assert.ok(sample && expected);
      assert.equal(sample.trafficDate, expected.trafficDate);
      assert.deepEqual(sample.flashes, expected.flashes);
    }
  });
});

Deno.test("CLI: a pcapng cut mid-block gives the complete blocks' Secflows and a warning with the offset", async () => {
  await withTempDir(async (dir) => {
    const section = (n: number) =>
      pcapng([{
        interfaces: [{ linkType: 1, tsresol: 9 }],
        blocks: RECS.slice(0, n).map((r) => ({
          kind: "epb" as const,
          iface: 0,
          ts: BigInt(r.us) * 1000n,
          data: r.data,
        })),
      }]);
    const whole = section(5);
    const complete = section(3);
    const bytes = whole.subarray(0, complete.length + 30);
    const { r, sample } = await convertViaCli(dir, "cut.pcapng", bytes);
    assertNoStack(r);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`warning.*byte offset ${complete.length}\\b`));
    const expected = await convertBytes(complete);
    assert.deepEqual(sample?.flashes, expected?.flashes);
    assert.equal(sample?.trafficDate, expected?.trafficDate);
  });
});

Deno.test("CLI: a pcap record with an absurd length: a clear message, the Secflows before it", async () => {
  await withTempDir(async (dir) => {
    const good = pcap(RECS.slice(0, 3));
    const absurd = pcapRecord({ us: T0 + 500_000, data: new Uint8Array(0) }, {}, 0xffffff00);
    const bytes = cat(good, absurd, new Uint8Array(100));
    const started = Date.now();
    const { r, sample } = await convertViaCli(dir, "absurd.pcap", bytes);
    assert.ok(Date.now() - started < 20_000, "no hang");
    assertNoStack(r);
    assert.ok(r.code === 0 || r.code === 2, `exit ${r.code}`);
    assert.match(r.stderr, new RegExp(`byte offset ${good.length}\\b`));
    assert.match(r.stderr, /4294967040|absurd|impossible|damaged|claims/);
    if (r.code === 0) {
      const expected = await convertBytes(good);
      assert.deepEqual(sample?.flashes, expected?.flashes);
    }
  });
});

Deno.test("CLI: pcapng blocks with absurd or impossible lengths: a clear message, never a crash", async () => {
  await withTempDir(async (dir) => {
    const good = pcapng([{
      interfaces: [{ linkType: 1 }],
      blocks: RECS.slice(0, 3).map((r) => ({
        kind: "epb" as const,
        iface: 0,
        ts: BigInt(r.us),
        data: r.data,
      })),
    }]);
    const cases: [string, Uint8Array][] = [
      ["huge", ngBlock(6, new Uint8Array(32), false, 0x7ffffff0)],
      ["unaligned", ngBlock(6, new Uint8Array(32), false, 45)],
      ["tiny", ngBlock(6, new Uint8Array(32), false, 8)],
      // An EPB whose captured length exceeds its block.
      [
        "caplen",
        (() => {
          const b = ngBlock(6, new Uint8Array(40));
          new DataView(b.buffer).setUint32(20, 0x10000, true);
          return b;
        })(),
      ],
    ];
    for (const [name, block] of cases) {
      const { r, sample } = await convertViaCli(
        dir,
        `${name}.pcapng`,
        cat(good, block, new Uint8Array(64)),
      );
      assertNoStack(r);
      assert.ok(r.code === 0 || r.code === 2, `${name}: exit ${r.code}`);
      assert.match(r.stderr, new RegExp(`byte offset ${good.length}\\b`), name);
      if (r.code === 0) {
        const expected = await convertBytes(good);
        assert.deepEqual(sample?.flashes, expected?.flashes, name);
      }
    }
  });
});

Deno.test("CLI: an absurd length in the very first record: exit 1, one clear line per problem, counted truncated", async () => {
  await withTempDir(async (dir) => {
    const bytes = cat(
      pcapHeader(),
      pcapRecord({ us: T0, data: new Uint8Array(0) }, {}, 0xfffffff0),
    );
    const { r } = await convertViaCli(dir, "first.pcap", bytes);
    assertNoStack(r);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /byte offset 24\b/);
    // The summary counts the record the warning is about.
    assert.match(r.stderr, /no Secflows in 1 packet \(0 kept; .*; 1 truncated\); nothing written/);
  });
});

// ---------------------------------------------------------------------------------------------
// Output paths, help, usage

Deno.test("CLI: the default output goes next to the input with the .sf extension", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, string][] = [
      ["trace.pcap", "trace.sf"],
      ["trace.v2.pcapng", "trace.v2.sf"],
      ["capture", "capture.sf"],
    ];
    for (const [input, output] of cases) {
      const bytes = input.includes("pcapng")
        ? pcapng([{
          interfaces: [{ linkType: 1 }],
          blocks: RECS.map((r) => ({
            kind: "epb" as const,
            iface: 0,
            ts: BigInt(r.us),
            data: r.data,
          })),
        }])
        : pcap(RECS);
      await Deno.writeFile(join(dir, input), bytes);
      // Run from another directory with a relative path: the output follows the input.
      const r = await cli(["convert", input], dir);
      assertNoStack(r);
      assert.equal(r.code, 0, r.stderr);
      const text = await Deno.readTextFile(join(dir, output));
      const sample = parseSample(text);
      assert.equal(sample.fileName, output);
      assert.equal(text, formatSample(sample), "the file is exactly the formatted sample");
      const expected = await convertBytes(bytes);
      assert.deepEqual(sample.flashes, expected?.flashes);
      assert.equal(sample.trafficDate, "1700000000.0");
    }
  });
});

Deno.test("CLI: -o and --output choose the output; fileName is its base name", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "in.pcap");
    await Deno.writeFile(input, pcap(RECS));
    await Deno.mkdir(join(dir, "out"));
    for (const flag of ["-o", "--output"]) {
      const out = join(dir, "out", `result${flag.length}.sf`);
      const r = await cli(["convert", input, flag, out]);
      assert.equal(r.code, 0, r.stderr);
      const sample = parseSample(await Deno.readTextFile(out));
      assert.equal(sample.fileName, `result${flag.length}.sf`);
      assert.equal(sample.flashes.length, 4);
    }
    assert.equal(await exists(join(dir, "in.sf")), false);
    const names = [...Deno.readDirSync(join(dir, "out"))].map((e) => e.name).sort();
    assert.deepEqual(names, ["result2.sf", "result8.sf"], "no temporary files left");
  });
});

Deno.test("CLI: --help prints the usage and exits 0", async () => {
  for (const args of [["convert", "--help"], ["convert", "-h"], ["help", "convert"]]) {
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /usage: networksage convert INPUT/);
    assert.match(r.stdout, /-o/);
    assert.match(r.stdout, /--dns-cache/);
  }
});

Deno.test("CLI: an unknown option or a missing INPUT is a usage error (exit 2)", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "in.pcap");
    await Deno.writeFile(input, pcap(RECS));
    for (
      const args of [["convert", input, "--frobnicate"], ["convert"], ["convert", input, input]]
    ) {
      const r = await cli(args);
      assertNoStack(r);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /convert/);
    }
    const r = await cli(["convert", input, "--frobnicate"]);
    assert.match(r.stderr, /frobnicate/);
    assert.equal(await exists(join(dir, "in.sf")), false);
  });
});

Deno.test("CLI: --dns-cache names from the cache and stores single-name addresses", async () => {
  await withTempDir(async (dir) => {
    const cachePath = join(dir, "names.txt");
    await Deno.writeTextFile(cachePath, `${X} old.example\n4.4.4.4 keep.example\n`);
    // First input: DNS names X as example.com; the cache entry is replaced.
    const first = join(dir, "first.pcap");
    await Deno.writeFile(first, pcap(RECS));
    let r = await cli(["convert", first, "--dns-cache", cachePath]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(cachePath), `4.4.4.4 keep.example\n${X} example.com\n`);
    // Second input: no DNS; X is named from the cache.
    const second = join(dir, "second.pcap");
    await Deno.writeFile(second, pcap([RECS[1], RECS[2]]));
    r = await cli(["convert", second, "--dns-cache", cachePath]);
    assert.equal(r.code, 0, r.stderr);
    const sample = parseSample(await Deno.readTextFile(join(dir, "second.sf")));
    assert.equal(sample.flashes[0].dst, "example.com:443");
    assert.equal(sample.flashes[0].destinationNameSource, "cache");
    // Without --dns-cache the conversion does not look at it.
    r = await cli(["convert", second, "-o", join(dir, "plain.sf")]);
    const plain = parseSample(await Deno.readTextFile(join(dir, "plain.sf")));
    assert.equal(plain.flashes[0].dst, `${X}:443`);
  });
});

Deno.test("CLI: -o naming the input, a link to it or its dns.log is refused; the input is left whole", async () => {
  await withTempDir(async (dir) => {
    const capture = pcap(RECS);
    const path = join(dir, "in.pcap");
    await Deno.writeFile(path, capture);
    await Deno.symlink(path, join(dir, "link.pcap"));
    const conn = join(dir, "conn.log");
    const dns = join(dir, "dns.log");
    await Deno.writeTextFile(
      conn,
      '{"ts":1700000000.0,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":50000,' +
        '"id.resp_h":"93.184.216.34","id.resp_p":443,"proto":"tcp","duration":1.0,' +
        '"orig_pkts":2,"resp_pkts":2,"orig_bytes":10,"resp_bytes":20}\n',
    );
    await Deno.writeTextFile(
      dns,
      '{"ts":1699999999.0,"uid":"D1","id.orig_h":"10.0.0.5","id.orig_p":5353,' +
        '"id.resp_h":"8.8.8.8","id.resp_p":53,"proto":"udp","query":"example.com",' +
        '"answers":["93.184.216.34"]}\n',
    );
    const dnsText = await Deno.readTextFile(dns);
    for (
      const [args, pattern] of [
        [[path, "-o", path], /in\.pcap: is the input itself/],
        [[path, "-o", join(dir, "link.pcap")], /link\.pcap: is the input itself/],
        [[conn, "--dns", dns, "-o", dns], /dns\.log: is the dns\.log given with the conn\.log/],
        [[dir, "-o", conn], /conn\.log: is the folder's conn\.log/],
      ] as const
    ) {
      const r = await cli(["convert", ...args]);
      assertNoStack(r);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    }
    assert.deepEqual(await Deno.readFile(path), capture);
    assert.equal(await Deno.readTextFile(dns), dnsText);
    // A sample may still be rewritten in place (it is read whole first).
    const made = await cli(["convert", path, "-o", join(dir, "s.sf")]);
    assert.equal(made.code, 0, made.stderr);
    const before = await Deno.readTextFile(join(dir, "s.sf"));
    const again = await cli(["convert", join(dir, "s.sf"), "-o", join(dir, "s.sf")]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(
      JSON.parse(await Deno.readTextFile(join(dir, "s.sf"))).flashes.length,
      JSON.parse(before).flashes.length,
    );
  });
});

Deno.test("CLI: --format that contradicts what the content shows is refused; unknown content is read as asked", async () => {
  await withTempDir(async (dir) => {
    const capture = join(dir, "in.pcap");
    await Deno.writeFile(capture, pcap(RECS));
    const made = await cli(["convert", capture, "-o", join(dir, "s.sf")]);
    assert.equal(made.code, 0, made.stderr);
    for (
      const [input, format, pattern] of [
        [
          capture,
          "zeek",
          /in\.pcap: asked to read it as a Zeek log, but the content is a pcap capture/,
        ],
        [
          capture,
          "secflow",
          /in\.pcap: asked to read it as a Secflow sample, but the content is a pcap capture/,
        ],
        [
          join(dir, "s.sf"),
          "pcap",
          /s\.sf: asked to read it as a pcap capture, but the content is a Secflow sample/,
        ],
        [
          join(dir, "s.sf"),
          "zeek",
          /s\.sf: asked to read it as a Zeek log, but the content is a Secflow sample/,
        ],
      ] as const
    ) {
      const r = await cli(["convert", input, "--format", format, "-o", join(dir, "x.sf")]);
      assertNoStack(r);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(await exists(join(dir, "x.sf")), false);
    }
    // A Zeek log whose header nothing recognises: read as the Zeek log it is said to be.
    const odd = join(dir, "odd.log");
    await Deno.writeTextFile(
      odd,
      "1700000000.000000\tC1\t10.0.0.5\t50000\t93.184.216.34\t443\ttcp\t-\t1.0\t10\t20\tSF\t-\t-\t0\tShAD\t2\t90\t2\t100\t-\n",
    );
    const asked = await cli(["convert", odd, "--format", "zeek", "-o", join(dir, "odd.sf")]);
    assertNoStack(asked);
    assert.doesNotMatch(asked.stderr, /but the content is/);
  });
});

Deno.test("convert: errors name the file: an input not granted, a directory that takes no new file", async () => {
  await withTempDir(async (dir) => {
    const capture = join(dir, "in.pcap");
    const other = join(dir, "other.pcap");
    await Deno.writeFile(capture, pcap(RECS));
    await Deno.writeFile(other, pcap(RECS));
    const out = join(dir, "out");
    const run = async (args: string[], flags: string[], stdout: "piped" | "null" = "piped") => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", ...flags, CLI, ...args],
        stdout,
        stderr: "piped",
        stdin: "null",
        env: { NO_COLOR: "1" },
      }).output();
      return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
    };
    // One of two inputs not granted: the failure names it and the flag, as `failed: FILE: why`.
    const narrow = [`--allow-read=${capture},${out}`, `--allow-write=${out}`];
    const two = await run(["convert", capture, other, "-o", `${out}/`], narrow);
    assert.equal(two.code, 2, two.stderr);
    assert.ok(
      two.stderr.includes(
        `failed: ${other}: cannot read without read access: run again with --allow-read=${other}`,
      ),
      two.stderr,
    );
    const one = await run(["view", other], narrow);
    assert.equal(one.code, 2, one.stderr);
    assert.ok(one.stderr.startsWith(`networksage view: ${other}: cannot read without read access`));
    // /proc exists but takes no new file: not "its directory does not exist".
    if (Deno.build.os === "linux") {
      const proc = await run(["convert", capture, "-o", "/proc/version"], ["-A"]);
      assert.equal(proc.code, 1, proc.stderr);
      assert.equal(
        proc.stderr,
        "networksage convert: /proc/version: cannot write: no file can be created beside it " +
          "(its directory exists)\n",
      );
    }
    const missing = await run(["convert", capture, "-o", join(dir, "no", "x.sf")], ["-A"]);
    assert.match(missing.stderr, /x\.sf: cannot write: its directory does not exist\n$/);
  });
});

Deno.test("view and stats: a standard output that cannot take the data is named, exit 1", async () => {
  if (Deno.build.os !== "linux") return;
  await withTempDir(async (dir) => {
    const capture = join(dir, "in.pcap");
    await Deno.writeFile(capture, pcap(RECS));
    for (const command of ["view", "stats"]) {
      // /dev/full as the command's own stdout: every write fails with ENOSPC.
      const r = await new Deno.Command("sh", {
        args: [
          "-c",
          'exec "$0" run -A "$1" "$2" "$3" > /dev/full',
          Deno.execPath(),
          CLI,
          command,
          capture,
        ],
        stdout: "null",
        stderr: "piped",
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 1, stderr);
      assert.equal(
        stderr,
        `networksage ${command}: standard output: cannot write: No space left on device\n`,
      );
    }
  });
});
