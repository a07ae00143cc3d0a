/**
 * Issue 23, goal 7: an input is opened for its head once and read from the start once. Counted
 * by wrapping `Deno.open` and `Deno.stat` around an in-process `convertFileTo`: a Zeek conn.log
 * given as a file was opened five times (its head for detection, its content head again for the
 * log's role, a check that it opens, two bytes for gzip, and the reader) and stat'ed eight; now it
 * is opened twice (the head, the reader) and stat'ed four times (is it a folder, the open, is the
 * output the input, the reader's open).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { convertFileTo } from "../../io/convert.ts";
import { connTsv, gzip } from "../zeek_fixtures.ts";

/** How often `path` was opened and stat'ed while `fn` ran. */
async function touches(path: string, fn: () => Promise<unknown>) {
  const open = Deno.open, stat = Deno.stat;
  const count = { opens: 0, stats: 0 };
  const mine = (p: string | URL) => String(p) === path;
  Deno.open = (p, o) => {
    if (mine(p)) count.opens++;
    return open(p, o);
  };
  Deno.stat = (p) => {
    if (mine(p)) count.stats++;
    return stat(p);
  };
  try {
    await fn();
  } finally {
    Deno.open = open;
    Deno.stat = stat;
  }
  return count;
}

const LOG = connTsv([
  { ts: "1700000000.5", oh: "192.168.1.10", op: 50001, rh: "93.184.216.34", rp: 443 },
  { ts: "1700000001.5", oh: "192.168.1.10", op: 50002, rh: "93.184.216.34", rp: 443 },
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
