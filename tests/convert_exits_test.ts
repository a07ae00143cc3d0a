/**
 * Exits that tell (issue 21, point 4): a conversion that writes nothing exits 1 and says that an
 * existing OUT was left as it was (`convert X -o OUT && upload OUT` must not send what OUT held
 * before), `-o -` too; a batch or directory where nothing converted exits non-zero; a Zeek log
 * whose every row is malformed exits 2; a capture damaged or cut short counts the record the
 * warning is about as truncated in its summary.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cat, ether, pcap, pcapHeader, pcapRecord, T0, tcp } from "./_pcap.ts";
import { CLI, runCli, withTempDir } from "./_child.ts";
import { connTsv } from "./zeek_fixtures.ts";

const L = "192.168.1.10", M = "192.168.1.20", X = "93.184.216.34";
const decoder = new TextDecoder();

/** A capture whose only packets are LAN-internal: the filter keeps none, so no Secflows. */
const LAN_ONLY = pcap([
  { us: T0, data: ether(tcp({ src: L, dst: M, sp: 50000, dp: 8080, payload: 10 })) },
]);
/** A capture of one Secflow. */
const ONE = pcap([
  { us: T0, data: ether(tcp({ src: L, dst: X, sp: 50000, dp: 443, payload: 10 })) },
]);

Deno.test("convert: no Secflows is exit 1, and an existing OUT is said to be left as it was", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "lan.pcap");
    await Deno.writeFile(input, LAN_ONLY);
    const out = join(dir, "lan.sf");
    // No OUT yet: exit 1, nothing written, and no word of an OUT that is not there.
    let r = await runCli(["convert", input, "-o", out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /lan\.pcap: no Secflows in 1 packet \(.*\); nothing written\n$/);
    await assert.rejects(Deno.stat(out));
    // An OUT from an earlier run: kept, and said so.
    await Deno.writeFile(join(dir, "one.pcap"), ONE);
    r = await runCli(["convert", join(dir, "one.pcap"), "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    const before = await Deno.readFile(out);
    r = await runCli(["convert", input, "-o", out]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(
      r.stderr.endsWith(`; nothing written; ${out} was left as it was\n`),
      JSON.stringify(r.stderr),
    );
    assert.deepEqual(await Deno.readFile(out), before, "OUT untouched");
    // The default OUT (next to the input: OUT above) likewise.
    r = await runCli(["convert", input]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /lan\.sf was left as it was\n$/);
    // -o -: nothing on standard output, exit 1, said so.
    r = await runCli(["convert", input, "-o", "-"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /no Secflows in .*; nothing written to standard output\n$/);
    // So `convert X -o OUT && upload OUT` stops at the conversion.
    const sh = await new Deno.Command("sh", {
      args: [
        "-c",
        `"$0" run --allow-read --allow-write "$1" convert "$2" -o "$3" && echo uploaded`,
        Deno.execPath(),
        CLI,
        input,
        out,
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.equal(sh.code, 1);
    assert.equal(decoder.decode(sh.stdout), "");
  });
});

Deno.test("convert: a batch or directory where nothing converted exits 1; any input without Secflows too", async () => {
  await withTempDir(async (dir) => {
    const d = join(dir, "in");
    await Deno.mkdir(d);
    await Deno.writeTextFile(join(d, "a.txt"), "not a capture\n");
    await Deno.writeTextFile(join(d, "b.txt"), "nor this\n");
    let r = await runCli(["convert", d, "-o", join(dir, "out")]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /total: 2 inputs: 0 converted, 2 skipped; 0 Secflows written\n$/);
    // -q still says why it failed.
    r = await runCli(["convert", d, "-o", join(dir, "out"), "-q"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /total: 2 inputs: 0 converted, 2 skipped/);
    // Two captures without Secflows, one with an older output beside it.
    await Deno.writeFile(join(d, "c.pcap"), LAN_ONLY);
    await Deno.writeFile(join(d, "d.pcap"), LAN_ONLY);
    await Deno.writeTextFile(join(dir, "out", "d.pcap.sf"), "older");
    r = await runCli(["convert", d, "-o", join(dir, "out")]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /c\.pcap: no Secflows in 1 packet .*; nothing written\n/);
    assert.match(
      r.stderr,
      /d\.pcap: no Secflows in 1 packet .*; nothing written; \S*d\.pcap\.sf was left as it was\n/,
    );
    assert.match(r.stderr, /total: 4 inputs: 0 converted, 2 without Secflows, 2 skipped/);
    // One converted beside one without Secflows: still 1 (that one's OUT is not fresh).
    await Deno.writeFile(join(d, "e.pcap"), ONE);
    r = await runCli(["convert", d, "-o", join(dir, "out")]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /total: 5 inputs: 1 converted, 2 without Secflows, 2 skipped/);
    // Converted ones and skipped stray files: 0, as before.
    await Deno.remove(join(d, "c.pcap"));
    await Deno.remove(join(d, "d.pcap"));
    r = await runCli(["convert", d, "-o", join(dir, "out")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /total: 3 inputs: 1 converted, 2 skipped; 1 Secflow written\n$/);
  });
});

Deno.test("convert: a Zeek log whose every row is malformed exits 2 and says so, alone or in a batch", async () => {
  await withTempDir(async (dir) => {
    const conn = join(dir, "conn.log");
    await Deno.writeTextFile(conn, connTsv([]).replace("#close", "x\ty\nz\n#close"));
    let r = await runCli(["convert", conn, "-o", join(dir, "c.sf")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /conn\.log: no Secflows: every one of its 2 conn\.log records is malformed; nothing written\n$/,
    );
    await Deno.writeFile(join(dir, "one.pcap"), ONE);
    r = await runCli(["convert", conn, join(dir, "one.pcap"), "-o", join(dir, "out")]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /total: 2 inputs: 1 converted, 1 failed; 1 Secflow written\n$/);
  });
});

Deno.test("convert: a pcap header then garbage, and a capture cut short, count the record the warning names as truncated", async () => {
  await withTempDir(async (dir) => {
    const garbage = join(dir, "garbage.pcap");
    await Deno.writeFile(
      garbage,
      cat(pcapHeader(), new TextEncoder().encode("this is no packet at all, only some text")),
    );
    let r = await runCli(["convert", garbage]);
    assert.equal(r.code, 1, r.stderr);
    const [warning, summary] = r.stderr.trimEnd().split("\n");
    assert.match(
      warning,
      /^warning: .*garbage\.pcap: record at byte offset 24 claims \d+ captured bytes/,
    );
    assert.match(
      summary,
      /garbage\.pcap: no Secflows in 1 packet \(0 kept; 0 filtered; 0 not IPv4; 1 truncated\); nothing written$/,
    );
    const cut = join(dir, "cut.pcap");
    const record = pcapRecord({
      us: T0 + 1,
      data: ether(tcp({ src: L, dst: X, sp: 50000, dp: 443, payload: 10 })),
    });
    await Deno.writeFile(cut, cat(ONE, record.subarray(0, 30)));
    r = await runCli(["convert", cut, "-o", join(dir, "cut.sf")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `cut\\.pcap: capture cut at byte offset ${ONE.length}: ignored an incomplete record`,
      ),
    );
    assert.match(r.stderr, /cut\.sf: 1 Secflow from 2 packets \(1 kept; .*; 1 truncated\)/);
    const s = await runCli(["stats", cut]);
    assert.match(
      decoder.decode(s.stdout),
      /^capture {4}.*cut\.pcap: 2 packets \(1 kept; .*; 1 truncated\)\n/,
    );
  });
});
