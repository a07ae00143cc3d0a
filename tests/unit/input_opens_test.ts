/**
 * Issue 23, goal 7: an input is opened for its head once and read from the start once. Counted
 * by wrapping `Deno.open` and `Deno.stat` around an in-process `convertFileTo`. A Zeek conn.log
 * given as a file was opened five times (its head for detection, its content head again for the
 * log's role, a check that it opens, two bytes for gzip, and the reader) and stat'ed eight; now
 * twice (the head, the reader) and four times (is it a folder, the open, is the output the input,
 * the reader's open). In a Zeek folder the gzip'd conn.log was opened five times and its dns.log
 * four; now each twice. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { convertFileTo } from "../../io/convert.ts";
import { connTsv, gzip, oneAnswerDnsLog } from "../zeek_fixtures.ts";

/** How often `path` was opened and stat'ed while `fn` ran. */
async function touches(path: string, fn: () => Promise<unknown>) {
  return (await touchesOf([path], fn))[0];
}

/** How often each of `paths` was opened and stat'ed while `fn` ran. */
async function touchesOf(paths: string[], fn: () => Promise<unknown>) {
  const open = Deno.open, stat = Deno.stat;
  const counts = paths.map(() => ({ opens: 0, stats: 0 }));
  const of = (p: string | URL) => counts[paths.indexOf(String(p))];
  Deno.open = (p, o) => {
    const c = of(p);
    if (c) c.opens++;
    return open(p, o);
  };
  Deno.stat = (p) => {
    const c = of(p);
    if (c) c.stats++;
    return stat(p);
  };
  try {
    await fn();
  } finally {
    Deno.open = open;
    Deno.stat = stat;
  }
  return counts;
}

const X = "93.184.216.34";
const LOG = connTsv([
  { ts: "1700000000.5", oh: "192.168.1.10", op: 50001, rh: X, rp: 443 },
  { ts: "1700000001.5", oh: "192.168.1.10", op: 50002, rh: X, rp: 443 },
]);

Deno.test("a Zeek conn.log file, plain or gzip'd, is opened once for its head and once to be read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [name, bytes] of [
        ["conn.log", new TextEncoder().encode(LOG)],
        ["conn.log.gz", await gzip(LOG)],
      ] as const
    ) {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      const out = join(dir, `${name}.sf`);
      const seen = await touches(path, async () => {
        const r = await convertFileTo(path, out);
        assert.equal(r.format, "zeek");
        assert.equal(r.flashes, 2);
      });
      assert.deepEqual(seen, { opens: 2, stats: 4 }, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a Zeek folder's gzip'd conn.log and dns.log are each opened once for their head and once to be read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const conn = join(dir, "conn.log.gz"), dns = join(dir, "dns.log.gz");
    await Deno.writeFile(conn, await gzip(LOG));
    await Deno.writeFile(dns, await gzip(oneAnswerDnsLog("192.168.1.10", "example.com", X)));
    const [c, d] = await touchesOf([conn, dns], async () => {
      const r = await convertFileTo(dir, join(dir, "out.sf"));
      assert.equal(r.flashes, 2);
    });
    assert.deepEqual(c, { opens: 2, stats: 3 }, "conn.log.gz");
    assert.deepEqual(d, { opens: 2, stats: 3 }, "dns.log.gz");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
