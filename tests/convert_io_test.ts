/**
 * Issue 8: nothing a user hands `convert` is damaged, and hostile input costs a clear error, not
 * the machine. Every case runs the CLI as a child process on inputs built here, and asserts the
 * exit code, the output, and (where it matters) the child's peak memory (VmHWM < 256 MiB).
 */
import { flashOf } from "./_flash.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { dnsA, dnsMessage, ether, pcap, pcapHeader, type Rec, T0, tcp, udp } from "./_pcap.ts";
import { type ConnRow, connTsv, DNS_FIELDS, gzip, tsv } from "./zeek_fixtures.ts";
import { CONN_FIELDS } from "../secflow/zeek/_fields.ts";
import { gzipBomb, lines, noStack, runCli, withTempDir } from "./_child.ts";
import { formatSample } from "../secflow/sample.ts";
import type { Flash } from "../secflow/types.ts";
import { MAX_CACHE_BYTES, readNameCache, updateNameCache } from "../io/name_cache.ts";

const H = "10.0.0.5";
const X = "93.184.216.34";
const RECS: Rec[] = [
  { us: T0, data: ether(dnsA({ server: "8.8.8.8", client: H, qname: "example.com", addrs: [X] })) },
  { us: T0 + 100_000, data: ether(tcp({ src: H, dst: X, sp: 50000, dp: 443, payload: 100 })) },
  { us: T0 + 200_000, data: ether(tcp({ src: X, dst: H, sp: 443, dp: 50000, payload: 1000 })) },
];
const CAPTURE = pcap(RECS);
const MEMORY_LIMIT_MIB = 256;

const decoder = new TextDecoder();

/** One valid flash, for samples built in a test. */
const FLASH: Flash = flashOf();

async function validates(path: string): Promise<void> {
  const r = await runCli(["validate", path]);
  assert.equal(r.code, 0, `${path} must validate:\n${decoder.decode(r.stdout)}${r.stderr}`);
}

function assertClean(r: Awaited<ReturnType<typeof runCli>>): void {
  const stack = noStack(r);
  assert.equal(stack, undefined, `stack trace or uncaught error:\n${stack}`);
  assert.ok(!r.timedOut, "timed out");
}

function sampleOf(bytes: Uint8Array): { flashes: { dst: string }[]; fileName: string } {
  return JSON.parse(decoder.decode(bytes));
}

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
  return tsv("dns", DNS_FIELDS, [{
    ts: "1700000000.0",
    uid: "D",
    "id.orig_h": L,
    "id.orig_p": "1",
    "id.resp_h": "10.0.0.1",
    "id.resp_p": "53",
    query,
    qclass: "1",
    qtype: "1",
    rtt: "0.1",
    rcode_name: "NOERROR",
    answers: answer,
  }]);
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
    // No Secflows (exit 1: nothing written) or an input error (2).
    assert.ok([1, 2].includes(r.code), `exit ${r.code}: ${r.stderr}`);
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

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("a truncated .sf is a Secflow sample cut short, named with the byte where it ends", async () => {
  await withTempDir(async (dir) => {
    const sample = formatSample({
      hash: "0123456789abcdef0123456789abcdef",
      trafficDate: "1700000000.5",
      fileName: "a.sf",
      flashes: [{
        src: "192.168.1.10:50001",
        dst: "example.com:443",
        destinationNameSource: "passive",
        srcPkts: 3,
        srcBytes: 100,
        dstPkts: 4,
        dstBytes: 2000,
        relativeStart: 0,
        protocolInformation: "",
        duration: 1.5,
      }],
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

Deno.test("two writes to one output at once never share a temporary file: the output is one of them, whole", async () => {
  const { temporaryPathFor } = await import("../io/output.ts");
  const { writeSample, validateSampleFile } = await import("../io/convert.ts");
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
    const cli = new URL("../cli.ts", import.meta.url).pathname;
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
