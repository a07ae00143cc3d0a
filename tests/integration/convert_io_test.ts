/**
 * Issue 8, the input side: hostile input costs a clear error, not the machine. Standard input
 * read once, batches and Zeek folders, gzip faults and a full disk named, bounded memory. Every
 * case runs the CLI as a child process on inputs built here, and asserts the exit code, the
 * output, and (where it matters) the child's peak memory (VmHWM < 256 MiB). The output side is
 * convert_output_test.ts.
 */
import { assertClean, CAPTURE, H, sampleOf, validates, X } from "../convert_fixtures.ts";
import { flashOf, WEB_FLASH } from "../_flash.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { dnsA, dnsMessage, ether, pcap, pcapHeader, type Rec, T0, tcp, udp } from "../_pcap.ts";
import { type ConnRow, connTsv, gzip, oneAnswerDnsLog } from "../zeek_fixtures.ts";
import { CONN_FIELDS } from "../../secflow/zeek/_fields.ts";
import { exists, gzipBomb, lines, runCli, withTempDir } from "../_child.ts";
import { formatSample } from "../../secflow/sample.ts";
import type { Flash } from "../../secflow/types.ts";

const MEMORY_LIMIT_MIB = 256;

const decoder = new TextDecoder();

/** One valid flash, for samples built in a test. */
const FLASH: Flash = flashOf();

// ---------------------------------------------------------------------------------------------
// Input: standard input read once

Deno.test("input: - and /dev/stdin read standard input once, plain or gzip", async () => {
  await withTempDir(async (dir) => {
    const zipped = await gzip(CAPTURE);
    for (const [arg, bytes] of [["-", CAPTURE], ["/dev/stdin", CAPTURE], ["-", zipped]] as const) {
      const out = join(dir, "out.sf");
      const r = await runCli(["convert", arg, "-o", out], { stdin: bytes });
      assertClean(r);
      assert.equal(r.code, 0, `${arg}: ${r.stderr}`);
      assert.equal(sampleOf(await Deno.readFile(out)).flashes.length, 2);
      await Deno.remove(out);
    }
    // Without -o, a sample from standard input goes to standard output.
    const r = await runCli(["convert", "-"], { stdin: CAPTURE });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sampleOf(r.stdout).fileName, "stdin.sf");
  });
});

Deno.test("input: a capture that must be read three times gives the same sample from stdin, a FIFO and a file", async () => {
  await withTempDir(async (dir) => {
    // A TCP packet joins a UDP session created later in the file: the replay path.
    const replay = pcap([
      { us: T0, data: ether(tcp({ src: H, dst: "5.5.5.5", sp: 50000, dp: 7000, payload: 11 })) },
      {
        us: T0 + 1e6,
        data: ether(udp({ src: H, dst: "6.6.6.6", sp: 50000, dp: 8000, payload: 22 })),
      },
      {
        us: T0 + 2e6,
        data: ether(tcp({ src: "5.5.5.5", dst: H, sp: 7000, dp: 50000, payload: 33 })),
      },
    ]);
    const file = join(dir, "replay.pcap");
    await Deno.writeFile(file, replay);
    const strip = (b: Uint8Array) =>
      decoder.decode(b).replace(/"hash": "\w+", /, "").replace(/"fileName": "[^"]*"/, "");
    const fromFile = await runCli(["convert", file, "-o", "-"]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.match(decoder.decode(fromFile.stdout), /6\.6\.6\.6:8000/);
    const fromStdin = await runCli(["convert", "-", "-o", "-"], { stdin: replay });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(strip(fromStdin.stdout), strip(fromFile.stdout));
    const fifo = join(dir, "in.fifo");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const writing = Deno.writeFile(fifo, replay);
    const fromFifo = await runCli(["convert", fifo, "-o", "-"]);
    await writing;
    assert.equal(fromFifo.code, 0, fromFifo.stderr);
    assert.equal(strip(fromFifo.stdout), strip(fromFile.stdout));
  });
});

Deno.test("input: a Zeek conn.log on standard input, and a .sf on standard input", async () => {
  await withTempDir(async (dir) => {
    const conn = connTsv([{ ts: "1700000000.5", oh: "192.168.1.10", op: 5, rh: X, rp: 443 }]);
    let r = await runCli(["convert", "-", "-o", "-"], { stdin: new TextEncoder().encode(conn) });
    assert.equal(r.code, 0, r.stderr);
    const sample = r.stdout;
    assert.equal(sampleOf(sample).flashes.length, 1);
    r = await runCli(["convert", "-", "-o", join(dir, "again.sf")], { stdin: sample });
    assert.equal(r.code, 0, r.stderr);
    await validates(join(dir, "again.sf"));
  });
});

// ---------------------------------------------------------------------------------------------
// Several inputs, directories, Zeek folders

Deno.test("batch: a directory with a stray text file: captures converted, the text file skipped", async () => {
  await withTempDir(async (dir) => {
    const inputs = join(dir, "in");
    await Deno.mkdir(inputs);
    await Deno.writeFile(join(inputs, "a.pcap"), CAPTURE);
    await Deno.writeFile(join(inputs, "b.pcap.gz"), await gzip(CAPTURE));
    await Deno.writeTextFile(join(inputs, "notes.txt"), "remember the milk\n");
    const out = join(dir, "out");
    const r = await runCli(["convert", inputs, "-o", out]);
    assertClean(r);
    assert.equal(r.code, 0, r.stderr);
    const err = lines(r.stderr);
    assert.ok(err.some((l) => /out\/a\.pcap\.sf: 2 Secflows from 3 packets/.test(l)), r.stderr);
    assert.ok(err.some((l) => /out\/b\.pcap\.gz\.sf: 2 Secflows/.test(l)), r.stderr);
    assert.ok(err.some((l) => /^skipped: .*notes\.txt: not a pcap/.test(l)), r.stderr);
    assert.match(err.at(-1)!, /^total: 3 inputs: 2 converted, 1 skipped; 4 Secflows written$/);
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
      "a.pcap.sf",
      "b.pcap.gz.sf",
    ]);
    await validates(join(out, "a.pcap.sf"));
  });
});

Deno.test("batch: a bad input named on the command line fails (exit 1); the others are converted", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "a.pcap"), CAPTURE);
    await Deno.writeFile(join(dir, "bad.pcap"), CAPTURE.subarray(0, 10));
    await Deno.writeTextFile(join(dir, "c.txt"), "text");
    const r = await runCli([
      "convert",
      join(dir, "bad.pcap"),
      join(dir, "c.txt"),
      join(dir, "a.pcap"),
      "-o",
      join(dir, "out"),
    ]);
    assertClean(r);
    assert.equal(r.code, 1, r.stderr);
    const err = lines(r.stderr);
    assert.ok(err.some((l) => /^failed: .*c\.txt: not a pcap/.test(l)), r.stderr);
    assert.match(err.at(-1)!, /^total: 3 inputs: .*1 converted.*failed; 2 Secflows written$/);
    await validates(join(dir, "out", "a.pcap.sf"));
  });
});

Deno.test("batch: --timeout gives up on an input that never ends (a FIFO nobody writes) and goes on", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "a.pcap"), CAPTURE);
    const fifo = join(dir, "stuck.fifo");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const r = await runCli(
      ["convert", fifo, join(dir, "a.pcap"), "--timeout", "1", "-o", join(dir, "out")],
      { timeoutMs: 30_000 },
    );
    assertClean(r);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /failed: .*stuck\.fifo: gave up after 1 s/);
    assert.match(r.stderr, /total: 2 inputs: 1 converted, 1 failed; 2 Secflows written/);
    assert.ok(r.ms < 20_000, `${r.ms} ms`);
  });
});

Deno.test("batch: --timeout holds for a single input of the pool too, and says when it cannot hold", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "a.pcap"), CAPTURE);
    const fifo = join(dir, "stuck.fifo");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    // Standard input is converted here; the FIFO is then the pool's only job.
    const one = await runCli(
      ["convert", "-", fifo, "--timeout", "1", "-o", join(dir, "out")],
      { timeoutMs: 30_000, stdin: CAPTURE },
    );
    assertClean(one);
    assert.equal(one.timedOut, false, "the FIFO held the run: --timeout was not applied");
    assert.match(one.stderr, /failed: .*stuck\.fifo: gave up after 1 s/);
    assert.match(one.stderr, /total: 2 inputs: 1 converted, 1 failed/);
    // Without read access to the program's files there are no workers: said, not ignored.
    const narrow = await runCli(
      ["convert", join(dir, "a.pcap"), "-", "--timeout", "5", "-o", join(dir, "out2")],
      {
        permissions: [`--allow-read=${dir}`, `--allow-write=${dir}`],
        stdin: CAPTURE,
      },
    );
    assertClean(narrow);
    assert.equal(narrow.code, 0, narrow.stderr);
    assert.match(
      narrow.stderr,
      /^warning: --timeout needs the worker pool, .*: converting one input at a time, with no time limit$/m,
    );
  });
});

Deno.test("zeek: '#' lines under a wide #fields header cost no re-mapping each (a 100 KB gzip took minutes)", async () => {
  await withTempDir(async (dir) => {
    // 20,000 unknown columns before the real ones, then 100,000 comment lines, then one row.
    const wide = [...Array.from({ length: 20_000 }, (_, i) => `x${i}`), ...CONN_FIELDS];
    const table = connTsv([CONN], wide);
    const at = table.indexOf("\n", table.indexOf("#types")) + 1;
    const text = table.slice(0, at) + "#\n".repeat(100_000) + table.slice(at);
    for (
      const [name, bytes] of [["wide.log", new TextEncoder().encode(text)], [
        "wide.log.gz",
        await gzip(text),
      ]] as const
    ) {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      const r = await runCli(["convert", path, "-o", join(dir, `${name}.sf`)], {
        timeoutMs: 60_000,
      });
      assert.equal(r.timedOut, false, `${name}: still converting after 60 s`);
      assertClean(r);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /: 1 Secflow from 1 conn\.log record \(1 kept,/);
    }
  });
});

Deno.test(".sf: the first real problem is named, not a 'cut short' the reader made up after it", async () => {
  await withTempDir(async (dir) => {
    const flashes = Array.from({ length: 20_000 }, () => ({ ...FLASH }));
    flashes[5].src = "10.0.0.1:70000"; // a port out of range, early in a file of many chunks
    const text = formatSample({
      hash: "0".repeat(32),
      trafficDate: "1700000000.0",
      fileName: "b.sf",
      flashes,
    });

    const path = join(dir, "bad.sf");
    await Deno.writeTextFile(path, text);
    assert.ok(text.length > 1_000_000);
    for (
      const command of [["convert", path, "-o", join(dir, "x.sf")], ["view", path], ["stats", path]]
    ) {
      const r = await runCli(command);
      assertClean(r);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /bad\.sf: not a valid Secflow sample: \$\.flashes\[5\]\.src: /,
        command[0],
      );
      assert.doesNotMatch(r.stderr, /cut short/, command[0]);
    }
  });
});

const L = "192.168.1.10";
const CONN: ConnRow = {
  ts: "1700000000.5",
  oh: L,
  op: 50001,
  rh: X,
  rp: 443,
  opk: "1",
  rpk: "1",
  duration: "1.0",
};
function dnsLog(query: string, answer = X): string {
  return oneAnswerDnsLog(L, query, answer);
}

Deno.test("batch: a Zeek folder (rotated conn.*.log.gz pieces + dns.log) is one input", async () => {
  await withTempDir(async (dir) => {
    const zeek = join(dir, "zeek");
    await Deno.mkdir(zeek);
    const second: ConnRow = { ...CONN, ts: "1700000100.5", op: 50002 };
    await Deno.writeFile(join(zeek, "conn.00:00:00-01:00:00.log.gz"), await gzip(connTsv([CONN])));
    await Deno.writeTextFile(join(zeek, "conn.01:00:00-02:00:00.log"), connTsv([second]));
    await Deno.writeTextFile(join(zeek, "dns.log"), dnsLog("example.com"));
    const out = join(dir, "zeek.sf");
    const r = await runCli(["convert", zeek, "-o", out]);
    assertClean(r);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /zeek\.sf: 2 Secflows from 2 conn\.log records .*named 2 of 2 destinations \(dns\.log 2, passive 0, cache 0\)/,
    );
    const sample = sampleOf(await Deno.readFile(out));
    assert.deepEqual(sample.flashes.map((f) => f.dst), ["example.com:443", "example.com:443"]);
    await validates(out);
    // Beside another input, the folder is one input of the batch.
    await Deno.writeFile(join(dir, "a.pcap"), CAPTURE);
    const b = await runCli(["convert", zeek, join(dir, "a.pcap"), "-o", join(dir, "out")]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /total: 2 inputs: 2 converted; 4 Secflows written/);
  });
});

Deno.test("convert: a conn.log without --dns while a dns.log sits beside it prints a hint", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "conn.log"), connTsv([CONN]));
    await Deno.writeTextFile(join(dir, "dns.log"), dnsLog("example.com"));
    const r = await runCli(["convert", join(dir, "conn.log")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /named 0 of 1 destination \(dns\.log 0, passive 0, cache 0\)/);
    assert.match(r.stderr, /hint: .*dns\.log sits beside .*conn\.log; add --dns/);
    const q = await runCli(["convert", join(dir, "conn.log"), "--quiet"]);
    assert.equal(q.stderr, "");
  });
});

// ---------------------------------------------------------------------------------------------
// Bounded memory on hostile input

Deno.test("memory: a gzip bomb of a capture (1 GiB of zeros after a pcap header) stays bounded", async () => {
  await withTempDir(async (dir) => {
    const bomb = join(dir, "bomb.pcap.gz");
    await Deno.writeFile(bomb, await gzipBomb(pcapHeader(), 0, 1 << 30));
    const r = await runCli(["convert", bomb, "-o", join(dir, "b.sf")], { timeoutMs: 120_000 });
    assertClean(r);
    // No Secflows (exit 0, nothing written; 1 when it warned) or an input error (2).
    assert.ok([0, 1, 2].includes(r.code), `exit ${r.code}: ${r.stderr}`);
    assert.ok(r.peakMiB < MEMORY_LIMIT_MIB, `peak ${r.peakMiB.toFixed(0)} MiB`);
    console.log(
      `  capture bomb: exit ${r.code}, peak ${r.peakMiB.toFixed(0)} MiB, ${r.ms.toFixed(0)} ms`,
    );
  });
});

Deno.test("memory: a gzip bomb of JSON spaces as .sf is rejected with bounded memory, for convert and validate", async () => {
  await withTempDir(async (dir) => {
    const bomb = join(dir, "spaces.sf.gz");
    const head = new TextEncoder().encode('{"hash": ');
    await Deno.writeFile(bomb, await gzipBomb(head, 0x20, 512 << 20));
    for (const args of [["convert", bomb, "-o", join(dir, "s.sf")], ["validate", bomb]]) {
      const r = await runCli(args, { timeoutMs: 120_000 });
      assertClean(r);
      assert.equal(r.code, args[0] === "convert" ? 2 : 1, r.stderr);
      const text = decoder.decode(r.stdout) + r.stderr;
      assert.match(text, /spaces\.sf\.gz: .*\$/);
      assert.ok(r.peakMiB < MEMORY_LIMIT_MIB, `${args[0]}: peak ${r.peakMiB.toFixed(0)} MiB`);
      console.log(
        `  JSON bomb ${args[0]}: peak ${r.peakMiB.toFixed(0)} MiB, ${r.ms.toFixed(0)} ms`,
      );
    }
    assert.equal(await exists(join(dir, "s.sf")), false);
  });
});

Deno.test("memory: a .sf string of 100 MB is cut off at once with its JSON path", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "long.sf.gz");
    const head = new TextEncoder().encode(
      `{"hash": "${"0".repeat(32)}", "trafficDate": "1.0", "fileName": "`,
    );
    await Deno.writeFile(path, await gzipBomb(head, 0x61, 100 << 20));
    const r = await runCli(["validate", path]);
    assert.equal(r.code, 1);
    assert.match(decoder.decode(r.stdout), /\$\.fileName: is a string longer than 4096 bytes/);
    assert.ok(r.peakMiB < MEMORY_LIMIT_MIB, `peak ${r.peakMiB.toFixed(0)} MiB`);
  });
});

Deno.test("input: /dev/zero ends at once with exit 2 and one line saying what it is not", async () => {
  const r = await runCli(["convert", "/dev/zero", "-o", "-"], { timeoutMs: 20_000 });
  assertClean(r);
  assert.equal(r.code, 2);
  assert.deepEqual(lines(r.stderr).length, 1);
  assert.match(
    r.stderr,
    /\/dev\/zero: not a pcap or pcapng capture, Zeek log or Secflow sample \(it starts with the bytes 00 00/,
  );
  assert.ok(r.ms < 15_000);
});

Deno.test("DNS harvest: answers for the root name and over-long names are skipped and counted", async () => {
  await withTempDir(async (dir) => {
    const long = Array.from({ length: 5 }, () => "a".repeat(60)).join(".");
    const answer = (qname: string, us: number): Rec => ({
      us,
      data: ether(dnsA({ server: "8.8.8.8", client: H, qname, addrs: [X] })),
    });
    const root = dnsMessage({ qname: "", qtype: 1, answers: [{ type: 1, data: X }] });
    const recs: Rec[] = [
      { us: T0, data: ether(udp({ src: "8.8.8.8", dst: H, sp: 53, dp: 40000, payload: root })) },
      answer(long, T0 + 1000),
      { us: T0 + 100_000, data: ether(tcp({ src: H, dst: X, sp: 50000, dp: 443, payload: 100 })) },
    ];
    const input = join(dir, "names.pcap");
    await Deno.writeFile(input, pcap(recs));
    const out = join(dir, "names.sf");
    const r = await runCli(["convert", input, "-o", out]);
    assertClean(r);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /2 DNS answers skipped for a name no resolver accepts/);
    const sample = sampleOf(await Deno.readFile(out));
    assert.ok(sample.flashes.every((f) => !f.dst.startsWith(":")), JSON.stringify(sample));
    assert.ok(sample.flashes.some((f) => f.dst === `${X}:443`));
    await validates(out);
  });
});

// ---------------------------------------------------------------------------------------------
// Messages: control bytes escaped, files named

Deno.test("messages: escape sequences from a conn.log and from --dns-cache are shown escaped", async () => {
  await withTempDir(async (dir) => {
    const conn = join(dir, "conn.log");
    await Deno.writeTextFile(conn, connTsv([CONN, { ...CONN, ts: "ts\x1b[2J" }]));
    const r = await runCli(["convert", conn]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stderr.includes("\x1b"), r.stderr);
    assert.match(r.stderr, /ts\\x1b\[2J/);
    const cache = join(dir, "names.txt");
    await Deno.writeTextFile(cache, `${X} evil\x1b]0;owned\x07\n`);
    const c = await runCli(["convert", conn, "--dns-cache", cache]);
    assert.equal(c.code, 2);
    assert.ok(!c.stderr.includes("\x1b") && !c.stderr.includes("\x07"), c.stderr);
    assert.match(c.stderr, /names\.txt: line 1: "evil\\x1b\]0;owned\\x07" is not a name/);
  });
});

Deno.test("messages: a damaged gzip names the file and the compressed byte offset", async () => {
  await withTempDir(async (dir) => {
    const zipped = await gzip(
      connTsv(Array.from({ length: 2000 }, (_, i) => ({ ...CONN, op: i }))),
    );
    zipped[Math.floor(zipped.length / 2)] ^= 0xff;
    const path = join(dir, "conn.log.gz");
    await Deno.writeFile(path, zipped);
    const r = await runCli(["convert", path, "-o", join(dir, "x.sf")]);
    assertClean(r);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /conn\.log\.gz: gzip data is damaged.* compressed byte \d+/);
    assert.equal(await exists(join(dir, "x.sf")), false);
  });
});

Deno.test("messages: concatenated gzip members and a cut gzip say what they are", async () => {
  await withTempDir(async (dir) => {
    const conn = connTsv(Array.from({ length: 3000 }, (_, i) => ({ ...CONN, op: i })));
    const zipped = await gzip(conn);
    const two = join(dir, "two.log.gz");
    await Deno.writeFile(two, new Uint8Array([...zipped, ...zipped]));
    let r = await runCli(["convert", two, "-o", join(dir, "x.sf")]);
    assertClean(r);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /two\.log\.gz: more data follows the end of the gzip stream/);
    const cut = join(dir, "cut.log.gz");
    await Deno.writeFile(cut, zipped.subarray(0, zipped.length - 100));
    r = await runCli(["convert", cut, "-o", join(dir, "x.sf")]);
    assertClean(r);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cut\.log\.gz: gzip data is damaged or cut short \(found at its end/);
    assert.equal(await exists(join(dir, "x.sf")), false);
  });
});

Deno.test("messages: a small gzip file (all of it in the detection's head) gets the same messages", async () => {
  await withTempDir(async (dir) => {
    const zipped = await gzip(connTsv([CONN]));
    assert.ok(zipped.length < 4096, "the whole file is one piece of the decompressor");
    const cases: [string, Uint8Array, RegExp][] = [
      [
        "two.log.gz",
        new Uint8Array([...zipped, ...zipped]),
        /more data follows the end of the gzip stream, near compressed byte \d+ .*gzip -dc/,
      ],
      [
        "bad.log.gz",
        new Uint8Array([0x1f, 0x8b, 8, 0, ...new TextEncoder().encode("garbage, not deflate")]),
        /gzip data is damaged at compressed byte \d+/,
      ],
    ];
    for (const [name, bytes, pattern] of cases) {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      const r = await runCli(["convert", path, "-o", join(dir, "x.sf")]);
      assertClean(r);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`${name.replaceAll(".", "\\.")}: ${pattern.source}`));
    }
  });
});

Deno.test("messages: a full disk names the output and leaves no temporary file", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "a.pcap");
    await Deno.writeFile(input, CAPTURE);
    const small = join(dir, "small");
    await Deno.mkdir(small);
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=8k", "tmpfs", small],
      stderr: "null",
    }).output();
    if (!mount.success) {
      console.warn("skipping: mounting a small tmpfs needs root");
      return;
    }
    try {
      await Deno.writeFile(join(small, "fill"), new Uint8Array(8192)).catch(() => {});
      // A Zeek conn.log is written by its own path (two buffers, asynchronous writes).
      const conn = join(dir, "conn.log");
      await Deno.writeTextFile(
        conn,
        connTsv(Array.from({ length: 200 }, (_, i) => ({ ...CONN, op: 40000 + i }))),
      );
      const runs = [input, conn].flatMap((from) =>
        [undefined, [`--allow-read=${from}`, `--allow-write=${small}`]].map((permissions) => ({
          from,
          permissions,
        }))
      );
      for (const { from, permissions } of runs) {
        const r = await runCli(["convert", from, "-o", join(small, "x.sf")], { permissions });
        assertClean(r);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /small\/x\.sf: cannot write: No space left on device/);
        assert.deepEqual([...Deno.readDirSync(small)].map((e) => e.name), ["fill"]);
      }
    } finally {
      await new Deno.Command("umount", { args: [small] }).output();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The documented narrow permissions, with --no-prompt

Deno.test("permissions: convert and validate run with exactly the documented narrow permissions", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "capture.pcap");
    await Deno.writeFile(input, CAPTURE);
    const out = join(dir, "out");
    await Deno.mkdir(out);
    // docs/CONVERT.md: atomic replace
    let r = await runCli(["convert", input, "-o", join(out, "capture.sf")], {
      permissions: [`--allow-read=${input},${out}`, `--allow-write=${out}`],
    });
    assert.equal(r.code, 0, r.stderr);
    // ... and the narrowest: write only (the file is written in place)
    r = await runCli(["convert", input, "-o", join(out, "narrow.sf")], {
      permissions: [`--allow-read=${input}`, `--allow-write=${out}`],
    });
    assert.equal(r.code, 0, r.stderr);
    // Several inputs into a directory.
    r = await runCli(["convert", input, input.replace(".pcap", ".pcap"), "-o", out], {
      permissions: [`--allow-read=${input},${out}`, `--allow-write=${out}`],
    });
    assert.equal(r.code, 2, "the same input twice is a usage error");
    r = await runCli(["validate", join(out, "capture.sf"), join(out, "narrow.sf")], {
      permissions: [`--allow-read=${join(out, "capture.sf")},${join(out, "narrow.sf")}`],
    });
    assert.equal(r.code, 0, decoder.decode(r.stdout) + r.stderr);
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
      "capture.sf",
      "narrow.sf",
    ]);
    // A missing grant: exit 2, one line naming the flag.
    r = await runCli(["validate", join(out, "capture.sf")], { permissions: [] });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--allow-read/);
    assert.equal(lines(r.stderr).length, 1);
  });
});

Deno.test("a truncated .sf is a Secflow sample cut short, named with the byte where it ends", async () => {
  await withTempDir(async (dir) => {
    const sample = formatSample({
      hash: "0123456789abcdef0123456789abcdef",
      trafficDate: "1700000000.5",
      fileName: "a.sf",
      flashes: [WEB_FLASH],
    });
    const parsed = JSON.parse(sample);
    // Keys in another order (flashes first): still a sample, still cut short.
    const flashesFirst = JSON.stringify({ flashes: parsed.flashes, hash: parsed.hash });
    const cuts: [string, string][] = [
      ["hash.sf", sample.slice(0, 100)],
      ["flashes.sf", flashesFirst.slice(0, 100)],
      ["in-key.sf", sample.slice(0, 5)],
      ["before-colon.sf", '{"flashes"'],
    ];
    for (const [name, text] of cuts) {
      const path = join(dir, name);
      await Deno.writeTextFile(path, text);
      const end = new TextEncoder().encode(text).length;
      for (const command of ["convert", "view", "validate"]) {
        const r = await runCli([command, path], { cwd: dir });
        assertClean(r);
        const said = decoder.decode(r.stdout) + r.stderr;
        assert.notEqual(r.code, 0, `${command} ${name}`);
        assert.doesNotMatch(said, /pcap/, `${command} ${name}: ${said}`);
        assert.match(said, new RegExp(`cut short, the text ends at byte ${end}\\b`), said);
        if (command !== "validate") {
          assert.match(said, /not a valid Secflow sample: \$[^:]*: not JSON: cut short/, said);
        }
      }
    }
    // A Zeek JSON log that mentions "flashes" stays a log.
    const log = join(dir, "conn.log");
    await Deno.writeTextFile(
      log,
      '{"ts":1700000000.0,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":5,"id.resp_h":' +
        '"93.184.216.34","id.resp_p":443,"proto":"tcp","note":"{\\"flashes\\":"}\n',
    );
    const r = await runCli(["convert", log, "-o", join(dir, "conn.sf")], { cwd: dir });
    assert.doesNotMatch(r.stderr, /Secflow sample/, r.stderr);
  });
});

Deno.test("view, stats, report: a sample of more Secflows than they hold is one line, exit 2, memory bounded", async () => {
  await withTempDir(async (dir) => {
    // 600,000 flashes, gzipped to about a megabyte: past view's and report's limits.
    const flash =
      '{"src": "10.0.0.1:1", "dst": "1.2.3.4:80", "destinationNameSource": "original", ' +
      '"srcPkts": 1, "srcBytes": 1, "dstPkts": 1, "dstBytes": 1, "relativeStart": 0.0, ' +
      '"protocolInformation": "", "duration": 0.0}';
    const enc = new TextEncoder();
    const batch = enc.encode(Array(1000).fill(flash).join(", ") + ", ");
    let left = 600;
    const stream = new ReadableStream<BufferSource>({
      start(c) {
        c.enqueue(
          enc.encode(
            `{"hash": "${"0".repeat(32)}", "trafficDate": "1.0", "fileName": "x", "flashes": [`,
          ),
        );
      },
      pull(c) {
        if (left-- > 0) return c.enqueue(batch);
        c.enqueue(enc.encode(`${flash}]}`));
        c.close();
      },
    }).pipeThrough(new CompressionStream("gzip"));
    const path = join(dir, "many.sf.gz");
    await Deno.writeFile(path, new Uint8Array(await new Response(stream).arrayBuffer()));
    for (
      const [args, pattern] of [
        [
          ["view", path, "--json"],
          /many\.sf\.gz: more than 500,000 Secflows, more than view holds in memory \(convert writes any number of them\)$/,
        ],
        [
          ["stats", path],
          /many\.sf\.gz: more than 500,000 Secflows, more than stats holds in memory/,
        ],
        [
          ["report", path, "-o", join(dir, "r.html")],
          /many\.sf\.gz: more than 100,000 Secflows, more than one report page can show/,
        ],
      ] as const
    ) {
      const r = await runCli([...args]);
      assertClean(r);
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr.trim(), pattern);
      assert.ok(r.peakMiB < 1024, `${args[0]}: ${r.peakMiB} MiB`);
    }
  });
});

Deno.test("zeek JSON: a line that is no JSON record is warned about and counted as malformed", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "conn.log");
    const record = JSON.stringify({
      ts: 1700000000.5,
      uid: "C1",
      "id.orig_h": L,
      "id.orig_p": 50000,
      "id.resp_h": X,
      "id.resp_p": 443,
      proto: "tcp",
      duration: 1.5,
      orig_bytes: 100,
      resp_bytes: 2000,
      orig_pkts: 10,
      orig_ip_bytes: 600,
      resp_pkts: 12,
      resp_ip_bytes: 2600,
    });
    await Deno.writeTextFile(path, `${record}\n{not json\n[1, 2]\n`);
    const r = await runCli(["convert", path, "-o", join(dir, "x.sf")]);
    assertClean(r);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /line 2: skipped: not valid JSON/);
    assert.match(r.stderr, /line 3: skipped: not a JSON object/);
    assert.match(
      r.stderr,
      /1 Secflow from 3 conn\.log records \(1 kept, 0 local-only, 0 IPv6, 2 malformed\)/,
    );
  });
});
