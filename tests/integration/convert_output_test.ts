/**
 * Issue 8, the output side: nothing a user hands `convert` is damaged. Devices, FIFOs and links
 * are written through or followed, never replaced; what `validate` rejects is never written; one
 * writer for every output (permissions, two writers at once, Ctrl-C) leaves no temporary file;
 * the name cache stays under its limit. Every case runs the CLI as a child process on inputs
 * built here. The input side (and a full disk) is convert_io_test.ts.
 */
import {
  assertClean,
  CAPTURE,
  sampleOf,
  validates,
  WEB_VISIT as RECS,
} from "../convert_fixtures.ts";
import { flashOf } from "../_flash.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pcap } from "../_pcap.ts";
import { exists, lines, runCli, withTempDir } from "../_child.ts";
import { formatSample } from "../../secflow/sample.ts";
import type { Flash } from "../../secflow/types.ts";
import { MAX_CACHE_BYTES, readNameCache, updateNameCache } from "../../io/name_cache.ts";

const decoder = new TextDecoder();

/** One valid flash, for samples built in a test. */
const FLASH: Flash = flashOf();

// ---------------------------------------------------------------------------------------------
// Output: devices, FIFOs and symlinks are written through or followed, never replaced

Deno.test("output: -o onto a character device made with mknod writes through; it stays a device", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "a.pcap");
    await Deno.writeFile(input, CAPTURE);
    const dev = join(dir, "null2");
    const made = await new Deno.Command("mknod", { args: [dev, "c", "1", "3"] }).output();
    if (!made.success) {
      console.warn("skipping: mknod needs root");
      return;
    }
    const r = await runCli(["convert", input, "-o", dev]);
    assertClean(r);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /null2: 2 Secflows from 3 packets/);
    const info = await Deno.lstat(dev);
    assert.ok(info.isCharDevice, "still a character device");
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["a.pcap", "null2"],
      "no temporary file left",
    );
  });
});

Deno.test("output: a symlink is followed and its target replaced; the link stays", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "a.pcap");
    await Deno.writeFile(input, CAPTURE);
    await Deno.mkdir(join(dir, "real"));
    await Deno.writeTextFile(join(dir, "real", "target.sf"), "old");
    await Deno.symlink(join("real", "target.sf"), join(dir, "link.sf"));
    const r = await runCli(["convert", input, "-o", join(dir, "link.sf")]);
    assertClean(r);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await Deno.lstat(join(dir, "link.sf"))).isSymlink, "the link is still a link");
    const sample = sampleOf(await Deno.readFile(join(dir, "real", "target.sf")));
    assert.equal(sample.flashes.length, 2);
    await validates(join(dir, "real", "target.sf"));
  });
});

Deno.test("output: a FIFO is written to (its reader gets the sample); it stays a FIFO", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "a.pcap");
    await Deno.writeFile(input, CAPTURE);
    const fifo = join(dir, "pipe");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const reading = (async () => {
      const f = await Deno.open(fifo, { read: true });
      return new Uint8Array(await new Response(f.readable).arrayBuffer());
    })();
    const r = await runCli(["convert", input, "-o", fifo]);
    assertClean(r);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sampleOf(await reading).flashes.length, 2);
    assert.ok((await Deno.lstat(fifo)).isFifo);
  });
});

Deno.test("output: -o - and -o /dev/stdout write the sample to stdout and replace nothing", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "a.pcap");
    await Deno.writeFile(input, CAPTURE);
    for (const o of ["-", "/dev/stdout"]) {
      const r = await runCli(["convert", input, "-o", o], { cwd: dir });
      assertClean(r);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sampleOf(r.stdout).flashes.length, 2);
      assert.match(r.stderr, /^standard output: 2 Secflows from 3 packets/);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.pcap"]);
    // (Deno asks for --allow-all to stat /dev/stdout: `test -L` looks instead.)
    const link = await new Deno.Command("test", { args: ["-L", "/dev/stdout"] }).output();
    assert.ok(link.success, "/dev/stdout is still a symlink");
  });
});

Deno.test("summary: singular and plural (1 Secflow from 1 packet; valid (1 flash))", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "one.pcap");
    await Deno.writeFile(input, pcap([RECS[1]]));
    const r = await runCli(["convert", input]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /one\.sf: 1 Secflow from 1 packet \(1 kept; .*\); named 0 of 1 destination \(dns\.log 0, passive 0, cache 0\)\n$/,
    );
    const v = await runCli(["validate", join(dir, "one.sf")]);
    assert.match(decoder.decode(v.stdout), /one\.sf: valid \(1 flash\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// Never write what validate rejects

function sfWith(flash: Record<string, string>): string {
  const base: Record<string, string> = {
    src: '"10.0.0.5:50000"',
    dst: '"example.com:443"',
    destinationNameSource: '"passive"',
    srcPkts: "1",
    srcBytes: "2",
    dstPkts: "3",
    dstBytes: "4",
    relativeStart: "0.0",
    protocolInformation: '""',
    duration: "1.5",
    ...flash,
  };
  const body = Object.entries(base).map(([k, v]) => `"${k}": ${v}`).join(", ");
  return `{"hash": "${
    "0".repeat(32)
  }", "trafficDate": "1700000000.0", "fileName": "x.sf", "flashes": [{${body}}]}`;
}

const INVALID: [string, Record<string, string>, RegExp][] = [
  ["1e400", { duration: "1e400" }, /\$\.flashes\[0\]\.duration: the number 1e400 is out of range/],
  [
    "2^53 + 1",
    { srcBytes: "9007199254740993" },
    /\$\.flashes\[0\]\.srcBytes: the integer 9007199254740993 is beyond 2\^53/,
  ],
  ["root name", { dst: '":443"' }, /\$\.flashes\[0\]\.dst: must be "name:port"/],
  [
    "511 characters",
    { dst: `"${"a".repeat(511)}:443"` },
    /\$\.flashes\[0\]\.dst: the name is 511 characters long \(at most 253\)/,
  ],
  [
    "control characters",
    { dst: '"ev\\u001b[2Jil:443"' },
    /\$\.flashes\[0\]\.dst: the name holds control characters: "ev\\+u001b\[2Jil:443"/,
  ],
  [
    "a lone surrogate (it would be written back as U+FFFD, another name)",
    { dst: '"\\ud800.com:443"' },
    /\$\.flashes\[0\]\.dst: the name holds a lone surrogate \(not valid Unicode\)/,
  ],
  ["negative", { dstPkts: "-1" }, /\$\.flashes\[0\]\.dstPkts: must be a whole number/],
  [
    "port",
    { src: '"10.0.0.5:70000"' },
    /\$\.flashes\[0\]\.src: has an address or port out of range/,
  ],
];

for (const [what, flash, message] of INVALID) {
  Deno.test(`never written: a .sf with ${what} is refused by convert (exit 2) and validate (exit 1)`, async () => {
    await withTempDir(async (dir) => {
      const input = join(dir, "in.sf");
      await Deno.writeTextFile(input, sfWith(flash));
      const out = join(dir, "out.sf");
      const c = await runCli(["convert", input, "-o", out]);
      assertClean(c);
      assert.equal(c.code, 2, c.stderr);
      assert.equal(lines(c.stderr).length, 1, c.stderr);
      assert.match(c.stderr, /in\.sf: not a valid Secflow sample: /);
      assert.match(c.stderr, message);
      assert.ok(!c.stderr.includes("\x1b"));
      assert.equal(await exists(out), false, "nothing written");
      assert.deepEqual(
        [...Deno.readDirSync(dir)].map((e) => e.name),
        ["in.sf"],
        "no temporary file",
      );
      const v = await runCli(["validate", input]);
      assert.equal(v.code, 1);
      assert.match(decoder.decode(v.stdout), message);
    });
  });
}

Deno.test("a .sf converted onto itself with write-only permission is read whole first, not truncated", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "self.sf");
    const flashes = Array.from({ length: 5000 }, (_, i) => ({
      src: `10.0.0.5:${1024 + i}`,
      dst: "example.com:443",
      destinationNameSource: "passive" as const,
      srcPkts: 1,
      srcBytes: i,
      dstPkts: 1,
      dstBytes: 1,
      relativeStart: i / 1000,
      protocolInformation: "" as const,
      duration: 0.5,
    }));
    const text = formatSample({
      hash: "0".repeat(32),
      trafficDate: "1.0",
      fileName: "self.sf",
      flashes,
    });
    assert.ok(text.length > 4 * 65536, "larger than the buffered head");
    await Deno.writeTextFile(path, text);
    const r = await runCli(["convert", path, "-o", path], {
      permissions: [`--allow-read=${path}`, `--allow-write=${dir}`],
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sampleOf(await Deno.readFile(path)).flashes.length, 5000);
    await validates(path);
  });
});

Deno.test("round trip: a valid .sf keeps its numbers exactly (2^53 - 1 included)", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "in.sf");
    await Deno.writeTextFile(input, sfWith({ srcBytes: "9007199254740991", duration: "0.000001" }));
    const r = await runCli(["convert", input, "-o", "-"]);
    assert.equal(r.code, 0, r.stderr);
    const text = decoder.decode(r.stdout);
    assert.match(text, /"srcBytes": 9007199254740991,/);
    assert.match(text, /"duration": 1e-06\}/);
  });
});

Deno.test("permissions: report -o and convert -o share one writer; a missing grant names the user's path and the flag", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "capture.pcap");
    await Deno.writeFile(input, CAPTURE);
    const out = join(dir, "out");
    await Deno.mkdir(out);
    for (const [command, name] of [["report", "x.html"], ["convert", "x.sf"]]) {
      const target = join(out, name);
      const run = (read: string[], write: string[]) =>
        runCli([command, input, "-o", target], {
          permissions: [
            `--allow-read=${[input, ...read].join(",")}`,
            ...(write.length ? [`--allow-write=${write.join(",")}`] : []),
          ],
        });
      // The directory readable, only the file writable: no temporary file can be made beside it,
      // so the file is written in place (it used to fail naming `.x.html.PID.tmp`).
      let r = await run([out], [target]);
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
      assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), [name]);
      const written = await Deno.readFile(target);
      assert.ok(written.length > 100, `${command} wrote its output`);
      // No write access at all: the user's path and the flag to add, exit 2.
      r = await run([out], []);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.ok(r.stderr.includes(`${target}: cannot write without write access`), r.stderr);
      assert.ok(r.stderr.includes(`--allow-write=${out}`), r.stderr);
      // The file exists and may be written but not read: whether it is a file or a FIFO cannot be
      // told, so read access to it is asked for, by name; the file is left as it was.
      r = await run([], [target]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`--allow-read=${target}`), r.stderr);
      assert.deepEqual(await Deno.readFile(target), written);
      for (const said of [r.stderr]) assert.doesNotMatch(said, /\.tmp|Requires/);
      await Deno.remove(target);
    }
  });
});

Deno.test("name cache: an update past the size limit keeps this run's names first and says how many were left out", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "names.cache");
    // About 70 MiB of earlier names (written as the file would be), then this run's three.
    const label = "a".repeat(60);
    const name = (i: number) => `n${i}.${label}.${label}.${label}.example`;
    const earlier = new Map<number, string>();
    for (let i = 0; i < 360_000; i++) earlier.set(0x0b000000 + i, name(i));
    const updates = new Map([[0x0a000001, "one.example"], [0x0a000002, "two.example"], [
      0x0b000000,
      "renamed.example",
    ]]);
    const warnings: string[] = [];
    await updateNameCache(path, earlier, updates, (w) => warnings.push(w));
    const size = (await Deno.stat(path)).size;
    assert.ok(size <= MAX_CACHE_BYTES, `${size} bytes`);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /names\.cache: \d+ names left out of the name cache to keep it under 64 MiB \(this run's names kept first\)/,
    );
    // The file reads back (it used to be refused by every later run), with this run's names.
    const back = await readNameCache(path);
    assert.equal(back.get(0x0a000001), "one.example");
    assert.equal(back.get(0x0a000002), "two.example");
    assert.equal(back.get(0x0b000000), "renamed.example");
    assert.equal(back.size + Number(/: (\d+) names/.exec(warnings[0])![1]), 360_002);
  });
});

Deno.test("two writes to one output at once never share a temporary file: the output is one of them, whole", async () => {
  const { temporaryPathFor } = await import("../../io/output.ts");
  const { writeSample, validateSampleFile } = await import("../../io/convert.ts");
  assert.notEqual(temporaryPathFor("/d/o.sf"), temporaryPathFor("/d/o.sf"));
  await withTempDir(async (dir) => {
    const sample = (n: number, tag: string) => ({
      hash: "0".repeat(32),
      trafficDate: "1700000000.0",
      fileName: `${tag}.sf`,
      flashes: Array.from(
        { length: n },
        (_, i): Flash => ({ ...FLASH, dst: `${tag}${i}.example:443` }),
      ),
    });
    const out = join(dir, "o.sf");
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        writeSample(out, sample(20_000, "a")),
        writeSample(out, sample(30_000, "b")),
      ]);
      const report = await validateSampleFile(out);
      assert.equal(report.problemCount, 0, JSON.stringify(report.problems.slice(0, 2)));
      assert.ok([20_000, 30_000].includes(report.flashes), `${report.flashes} flashes`);
    }
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      ["o.sf"],
      "no temporary file left",
    );
  });
});

Deno.test("report from standard input goes to standard output, never to a file named after '-'", async () => {
  await withTempDir(async (dir) => {
    const sample = formatSample({
      hash: "0".repeat(32),
      trafficDate: "1700000000.0",
      fileName: "s.sf",
      flashes: [FLASH],
    });
    for (const input of ["-", "/dev/stdin"]) {
      const r = await runCli(["report", input], {
        cwd: dir,
        stdin: new TextEncoder().encode(sample),
      });
      assertClean(r);
      assert.equal(r.code, 0, r.stderr);
      assert.match(decoder.decode(r.stdout), /^<!DOCTYPE html>/);
      assert.deepEqual([...Deno.readDirSync(dir)], [], `${input}: a file was written`);
    }
  });
});

Deno.test("Ctrl-C or SIGTERM during convert leaves no temporary file, one input or several", async () => {
  if (Deno.build.os === "windows") return;
  await withTempDir(async (dir) => {
    // A .sf of 600,000 flashes: rewritten flash by flash, so its temporary file lives for seconds.
    const flash =
      '{"src": "10.0.0.1:1", "dst": "1.2.3.4:80", "destinationNameSource": "original", ' +
      '"srcPkts": 1, "srcBytes": 1, "dstPkts": 1, "dstBytes": 1, "relativeStart": 0.0, ' +
      '"protocolInformation": "", "duration": 0.0}';
    const file = await Deno.open(join(dir, "a.sf"), { write: true, create: true });
    const enc = new TextEncoder();
    await file.write(
      enc.encode(
        `{"hash": "${"0".repeat(32)}", "trafficDate": "1.0", "fileName": "a", "flashes": [`,
      ),
    );
    const batch = enc.encode(Array(1000).fill(flash).join(", ") + ", ");
    for (let i = 0; i < 600; i++) {
      for (let o = 0; o < batch.length;) o += await file.write(batch.subarray(o));
    }
    await file.write(enc.encode(`${flash}]}`));
    file.close();
    await Deno.copyFile(join(dir, "a.sf"), join(dir, "b.sf"));
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    const temporaries = (d: string) =>
      [...Deno.readDirSync(d)].filter((e) => e.name.endsWith(".tmp"));
    const cases: [string, string[], string][] = [
      ["SIGINT", ["convert", "a.sf", "-o", "out.sf"], dir],
      ["SIGTERM", ["convert", "a.sf", "-o", "out.sf"], dir],
      ["SIGINT", ["convert", "a.sf", "b.sf", "-o", "many/"], join(dir, "many")],
    ];
    for (const [signal, args, watched] of cases) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, ...args],
        cwd: dir,
        stdout: "null",
        stderr: "null",
      }).spawn();
      let seen = false;
      for (let i = 0; i < 2000 && !seen; i++) {
        await new Promise((r) => setTimeout(r, 5));
        try {
          seen = temporaries(watched).length > 0;
        } catch { /* the directory is not made yet */ }
      }
      assert.ok(seen, `${args.join(" ")}: no temporary file appeared`);
      child.kill(signal as Deno.Signal);
      const status = await child.status;
      assert.equal(status.code, signal === "SIGINT" ? 130 : 143, `${signal} ${args.join(" ")}`);
      assert.deepEqual(temporaries(watched), [], `${signal} ${args.join(" ")}: left behind`);
    }
  });
});
