/**
 * Zeek line reading with bounded memory: lines split the same in any chunking; a line over the
 * cap is skipped with a warning naming file and line while the rows around it convert; a stream
 * that never yields a record (`/dev/zero`) ends with exit 2 and one line; a 100 MB line keeps the
 * converting process under 256 MiB (its VmHWM, read from /proc in the child itself).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { JsonArraySplitter, LineSplitter } from "../../secflow/zeek/_lines.ts";
import { convertZeek } from "../../secflow/zeek/mod.ts";
import { IPV6, NOT_ADDRESS, parseAddress, parseAddressText } from "../../secflow/zeek/_text.ts";
import { prng } from "../../bench/synthetic.ts";

const enc = new TextEncoder(), dec = new TextDecoder();
const FIELDS = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\n";
const row = (ts: number, port: number) => `${ts}.0\tC${port}\t10.0.0.1\t${port}\t8.8.8.8\t53\n`;

/**
 * What a line splitter hands out for `chunks`: lines, and "!N:B" for a skipped line. With `bulk`,
 * a bulk reader (`LineRun`) takes the lines that start with `a` and fit the cap, finding their ends
 * itself, and leaves the others to the line-by-line path.
 */
function split(chunks: Uint8Array[], max: number, bulk = false): string[] {
  const out: string[] = [];
  const s = new LineSplitter(
    (b, from, to, line) => out.push(`${line}=${dec.decode(b.subarray(from, to))}`),
    (line, bytes) => out.push(`!${line}:${bytes}`),
    max,
  );
  if (bulk) {
    s.run = (b, p, end, lines) => {
      while (p < end && b[p] === 97) {
        let q = p;
        while (b[q] !== 10) q++;
        if (q - p > max) break;
        const e = b[q - 1] === 13 ? q - 1 : q;
        out.push(`${++lines.line}=${dec.decode(b.subarray(p, e))}`);
        p = q + 1;
      }
      return p;
    };
  }
  for (const c of chunks) s.push(c);
  s.end();
  return out;
}

/** The reference: split the whole text at once, by hand. */
function reference(text: string, max: number): string[] {
  const parts = text.split("\n");
  if (parts[parts.length - 1] === "") parts.pop();
  return parts.map((p, i) => {
    const bytes = enc.encode(p).length;
    if (bytes > max) return `!${i + 1}:${bytes}`;
    return `${i + 1}=${p.endsWith("\r") ? p.slice(0, -1) : p}`;
  });
}

Deno.test("line splitter: any chunking gives the lines of the whole text, with or without a bulk reader taking some; over-long lines reported, not kept", () => {
  const rand = prng(13);
  for (let round = 0; round < 200; round++) {
    let text = "";
    const lines = 1 + Math.floor(rand() * 12);
    for (let i = 0; i < lines; i++) {
      const n = Math.floor(rand() * (rand() < 0.2 ? 60 : 12));
      text += (rand() < 0.5 ? "ab\rc" : "bc\ra").repeat(n).slice(0, n) + (rand() < 0.2 ? "\r" : "");
      if (i < lines - 1 || rand() < 0.5) text += "\n";
    }
    const bytes = enc.encode(text);
    const chunks: Uint8Array[] = [];
    for (let p = 0; p < bytes.length;) {
      const n = 1 + Math.floor(rand() * 20);
      chunks.push(bytes.slice(p, p + n));
      p += n;
    }
    assert.deepEqual(split(chunks, 16), reference(text, 16), JSON.stringify(text));
    assert.deepEqual(split(chunks, 16, true), reference(text, 16), JSON.stringify(text));
  }
});

Deno.test("JSON array splitter: an element over the cap is skipped and reported with its line", () => {
  const seen: string[] = [];
  const a = new JsonArraySplitter(
    (text, line) => seen.push(`${line}:${JSON.parse(text).k}`),
    (line) => seen.push(`junk ${line}`),
    (line, bytes) => seen.push(`long ${line}:${bytes}`),
    64,
  );
  const text = `[{"k": 1},\n{"k": "${"x".repeat(100)}"},\n{"k": 3}]`;
  for (const c of enc.encode(text)) a.push(new Uint8Array([c])); // one byte at a time
  a.end();
  assert.deepEqual(seen, ["1:1", "long 2:109", "3:3"]);
});

Deno.test("conn.log: a line over the cap is skipped with a warning naming file and line; the rows around it convert", async () => {
  const conn = FIELDS + row(1, 1000) + `2.0\tC\t${"x".repeat(5000)}\n` + row(3, 1001);
  const warnings: string[] = [];
  const { sample, stats } = await convertZeek(
    { conn, connName: "big\x1b.log" },
    { fileName: "t.sf", maxLineBytes: 4096, onWarning: (w) => warnings.push(w) },
  );
  assert.equal(sample?.flashes.length, 2);
  assert.deepEqual(warnings, [
    "big\\x1b.log: line 3: skipped: longer than 4096 bytes (5006 bytes)",
  ]);
  assert.equal(stats.skipped, 1);
  assert.equal(stats.records, 3);
});

Deno.test("conn.log: a stream with no record in its first 64 MiB is an InputError saying what it is not", async () => {
  const zeros = new Uint8Array(1 << 20);
  let fed = 0;
  const endless = {
    *[Symbol.iterator]() {
      while (true) {
        fed++;
        yield zeros;
      }
    },
  };
  await assert.rejects(
    convertZeek({ conn: endless, connName: "zero" }, { fileName: "t.sf" }),
    (e: Error & { kind?: string }) => {
      assert.equal(e.name, "InputError");
      assert.equal(e.kind, "no-records");
      assert.equal(e.message, "zero: not a Zeek conn.log: no line break in its first 64 MiB");
      return true;
    },
  );
  assert.ok(fed <= 66, `read ${fed} MiB`);
});

Deno.test("CLI: convert --format zeek /dev/zero exits 2 with one line", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      new URL("../../cli.ts", import.meta.url).pathname,
      "convert",
      "--format",
      "zeek",
      "/dev/zero",
      "-o",
      join(await Deno.makeTempDir(), "z.sf"),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = dec.decode(out.stderr).trim().split("\n");
  assert.equal(out.code, 2);
  assert.deepEqual(err, [
    "networksage convert: /dev/zero: not a Zeek conn.log: no line break in its first 64 MiB",
  ]);
});

Deno.test("memory: a 100 MB line in a conn.log keeps the converting process under 256 MiB", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "conn.log");
    const file = await Deno.open(path, { write: true, create: true });
    await file.write(enc.encode(FIELDS + row(1, 1000) + "2.0\tC\t"));
    const block = new Uint8Array(1 << 20).fill(120);
    for (let i = 0; i < 100; i++) await file.write(block);
    await file.write(enc.encode("\n" + row(3, 1001)));
    file.close();
    // The child converts, then reads its own peak RSS: /proc/PID/status is gone once it exits.
    const script = `
      import { convertFileTo } from ${
      JSON.stringify(new URL("../../io/convert.ts", import.meta.url).href)
    };
      const r = await convertFileTo(${JSON.stringify(path)}, ${
      JSON.stringify(join(dir, "out.sf"))
    });
      const status = await Deno.readTextFile("/proc/" + Deno.pid + "/status");
      console.log(JSON.stringify({ flashes: r.flashes, warnings: r.warnings,
        hwm: Number(/VmHWM:\\s+(\\d+) kB/.exec(status)[1]) }));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    const r = JSON.parse(dec.decode(out.stdout));
    assert.equal(r.flashes, 2);
    assert.match(
      r.warnings[0],
      /conn\.log: line 3: skipped: longer than 1 MiB \(104857606 bytes\)/,
    );
    assert.ok(r.hwm < 256 * 1024, `peak RSS ${r.hwm} KiB`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conn.log: random bytes (with '#' lines and colons) are given up after 64 MiB, not read to the end", async () => {
  const rand = prng(99);
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = Math.floor(rand() * 256);
  let fed = 0;
  const endless = {
    *[Symbol.iterator]() {
      while (true) {
        fed++;
        yield block;
      }
    },
  };
  await assert.rejects(
    convertZeek({ conn: endless, connName: "noise" }, { fileName: "t.sf" }),
    /^InputError: noise: not a Zeek conn\.log: no header and no well-formed record in its first 64 MiB$/,
  );
  assert.ok(fed <= 66, `read ${fed} MiB`);
});

Deno.test("addresses: IPv6 is hex digits and colons; other text with a colon is no address", () => {
  const at = (text: string) => parseAddress(enc.encode(text), 0, text.length);
  assert.equal(at("10.0.0.1"), 0x0a000001);
  assert.equal(at("fe80::1"), IPV6);
  assert.equal(at("::ffff:10.0.0.1"), IPV6);
  assert.equal(at("2001:db8::1"), IPV6);
  assert.equal(at("not:an:address"), NOT_ADDRESS);
  assert.equal(at("1:2"), NOT_ADDRESS);
});

Deno.test("addresses: bytes are judged exactly as their text is", () => {
  const texts = [
    "1:2",
    "ab:",
    ":",
    "::",
    ":::",
    "a:b:c",
    "A:B:F:g",
    "fe80::1%eth0",
    "1.2.3.4:5:6",
    "@:@:",
    "`:`:",
  ];
  texts.push("1:".repeat(22) + "1", "1:".repeat(22) + "12", "1:".repeat(40), "G::", "f::\u00e9");
  for (let c = 0; c < 256; c++) {
    texts.push(`${String.fromCharCode(c)}::1`, `1::${String.fromCharCode(c)}`);
  }
  for (const text of texts) {
    const bytes = Uint8Array.from(text, (ch) => ch.charCodeAt(0) & 0xff);
    assert.equal(
      parseAddress(bytes, 0, bytes.length),
      parseAddressText(text),
      JSON.stringify(text),
    );
  }
});
