/**
 * Issue 5 and 10, the collector's way to the platform, in one process: the spool and its
 * uploader (exactly once across lost answers and restarts, same-named samples told apart by
 * hash, rejections, a refused key), the durable writer, and the window sink (disk errors).
 */
import { deepStrictEqual, match, ok, rejects, strictEqual } from "node:assert/strict";
import { type SampleUploader, Spool } from "../../capture/spool.ts";
import { classifyFailure, Uploader } from "../../capture/_uploader.ts";
import { WindowSink } from "../../capture/_sink.ts";
import { removeStaleTemps, writeDurable } from "../../capture/_durable.ts";

/**
 * A platform stand-in: uploads fail while `down`; `lose` stores a sample but loses the answer;
 * `unprocessed` stores without processing (no hash yet) until `process()`.
 */
function fakePlatform() {
  const received: { fileName: string; text: string; at: number; hash: string }[] = [];
  const state = {
    down: true,
    lose: false,
    listDown: false,
    unprocessed: false,
    reject: new Map<string, number>(),
  };
  const settled = new Set<number>();
  const fail = (status: number, message: string) =>
    Object.assign(new Error(message), { status, serverMessage: message });
  const uploader: SampleUploader = {
    async upload(path, fileName) {
      await new Promise((r) => setTimeout(r, 2));
      if (state.down) throw fail(0, "connection refused");
      const status = state.reject.get(fileName);
      if (status) throw fail(status, `refused with ${status}`);
      const text = await Deno.readTextFile(path);
      if (!state.unprocessed) settled.add(received.length);
      received.push({ fileName, text, at: Date.now(), hash: hashIn(text) });
      if (state.lose) throw fail(0, "no answer within 10 ms");
    },
    findUploads(fileName, since) {
      if (state.listDown) return Promise.reject(fail(0, "connection refused"));
      return Promise.resolve(
        received.flatMap((r, i) =>
          r.fileName === fileName && r.at >= since
            ? [{
              uuid: `u${i}`,
              at: r.at,
              hash: settled.has(i) ? r.hash : "",
              settled: settled.has(i),
            }]
            : []
        ),
      );
    },
  };
  const process = () => received.forEach((_, i) => settled.add(i));
  return { received, state, uploader, process };
}

function hashIn(text: string): string {
  try {
    return String(JSON.parse(text).hash ?? "");
  } catch {
    return "";
  }
}

/** A sample's text with its own hash (as every writer makes one), and `extra` keys. */
function sampleText(hash: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ hash, trafficDate: "1.0", fileName: "x.sf", ...extra, flashes: [] });
}

const HASH_A = "a".repeat(32);
const HASH_B = "b".repeat(32);

async function withSpool(fn: (spool: Spool, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const spool = new Spool(`${dir}/spool`);
  await spool.open();
  try {
    await fn(spool, dir);
  } finally {
    spool.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const bytesOf = (text: string) => new TextEncoder().encode(text);

Deno.test("uploader: server down keeps every sample; back up, each arrives once, oldest first", async () => {
  await withSpool(async (spool) => {
    const p = fakePlatform();
    const events: string[] = [];
    const up = new Uploader(spool, p.uploader, {
      initialBackoffMs: 20,
      settleMs: 0,
      onEvent: (l) => events.push(l),
    });
    for (const n of ["linux_1.sf", "linux_2.sf", "linux_3.sf"]) {
      await spool.add(n, bytesOf(`{"n": "${n}"}`));
      up.notify();
      await new Promise((r) => setTimeout(r, 5)); // distinct mtimes
    }
    await new Promise((r) => setTimeout(r, 30));
    deepStrictEqual(await spool.pending(), ["linux_1.sf", "linux_2.sf", "linux_3.sf"]);
    ok(events.some((e) => e.includes("kept in the spool")), events.join("\n"));
    p.state.down = false;
    up.notify();
    up.notify();
    await new Promise((r) => setTimeout(r, 300)); // the backoff timer retries by itself
    await up.finish();
    deepStrictEqual(p.received.map((r) => r.fileName), ["linux_1.sf", "linux_2.sf", "linux_3.sf"]);
    deepStrictEqual(await spool.pending(), []);
    strictEqual(up.counts.uploaded, 3);
  });
});

Deno.test("uploader: a different sample under a name already spooled is never taken for it (NAME-1.sf)", async () => {
  await withSpool(async (spool) => {
    const p = fakePlatform();
    p.state.down = false;
    await spool.add("linux_7.sf", bytesOf('{"first": 1}'));
    const second = await spool.add("linux_7.sf", bytesOf('{"second": 2}'));
    strictEqual(second, "linux_7-1.sf");
    // The first arrives; the second's attempt is cut (a kill mid-upload: on record, not stored).
    await spool.recordAttempt(second);
    const a = new Uploader(spool, p.uploader, { settleMs: 0 });
    await a.finish();
    // The restart asks the platform about the second by its own name: not there, so it is sent.
    deepStrictEqual(p.received.map((r) => [r.fileName, r.text]).sort(), [
      ["linux_7-1.sf", '{"second": 2}'],
      ["linux_7.sf", '{"first": 1}'],
    ]);
    strictEqual(a.counts.found, 0);
    deepStrictEqual(await spool.pending(), []);
  });
});

Deno.test("uploader: a stored sample whose answer was lost is found on the platform by its hash, not resent", async () => {
  await withSpool(async (spool) => {
    const p = fakePlatform();
    p.state.down = false;
    p.state.lose = true; // stored, but the answer never comes back (a timeout, a crash)
    const events: string[] = [];
    const a = new Uploader(spool, p.uploader, {
      initialBackoffMs: 10,
      settleMs: 0,
      onEvent: (l) => events.push(l),
    });
    await spool.add("linux_5.sf", bytesOf(sampleText(HASH_A)));
    await a.finish();
    strictEqual(p.received.length, 1);
    ok(await spool.attempt("linux_5.sf"), "the attempt is on record");
    // The platform's list is unreachable: the sample waits, it is not sent blindly.
    p.state.lose = false;
    p.state.listDown = true;
    const b = new Uploader(spool, p.uploader, { settleMs: 0, onEvent: (l) => events.push(l) });
    await b.finish();
    strictEqual(p.received.length, 1);
    deepStrictEqual(await spool.pending(), ["linux_5.sf"]);
    ok(events.some((e) => e.includes("cannot check whether linux_5.sf already arrived")));
    // A restart with the list reachable: found, dropped, never uploaded twice.
    p.state.listDown = false;
    const c = new Uploader(spool, p.uploader, { settleMs: 0, onEvent: (l) => events.push(l) });
    await c.finish();
    strictEqual(p.received.length, 1);
    strictEqual(c.counts.found, 1);
    deepStrictEqual(await spool.pending(), []);
    // An upload of the same name long before the attempt is not mistaken for it.
    p.received[0].at -= 3_600_000;
    await spool.add("linux_5.sf", bytesOf(sampleText(HASH_A)));
    await spool.recordAttempt("linux_5.sf");
    const d = new Uploader(spool, p.uploader, { settleMs: 0 });
    await d.finish();
    strictEqual(p.received.length, 2);
    strictEqual(d.counts.uploaded, 1);
  });
});

Deno.test("uploader: another collector's sample under the same name is not this one: it is sent", async () => {
  await withSpool(async (spool) => {
    const p = fakePlatform();
    p.state.down = false;
    // Another collector (a host of the same name, or the same capture read twice) uploaded its
    // linux_9.sf a moment ago; this collector was killed while sending its own linux_9.sf.
    p.received.push({
      fileName: "linux_9.sf",
      text: sampleText(HASH_B),
      at: Date.now(),
      hash: HASH_B,
    });
    p.process();
    await spool.add("linux_9.sf", bytesOf(sampleText(HASH_A)));
    await spool.recordAttempt("linux_9.sf");
    const events: string[] = [];
    const up = new Uploader(spool, p.uploader, { settleMs: 0, onEvent: (l) => events.push(l) });
    await up.finish();
    deepStrictEqual(p.received.map((r) => [r.fileName, r.hash]), [
      ["linux_9.sf", HASH_B],
      ["linux_9.sf", HASH_A],
    ]);
    strictEqual(up.counts.found, 0, events.join("\n"));
    strictEqual(up.counts.uploaded, 1);
    deepStrictEqual(await spool.pending(), []);
  });
});

Deno.test("uploader: a same-named upload not processed yet is asked again, then left open; the rest flow", async () => {
  await withSpool(async (spool) => {
    const p = fakePlatform();
    p.state.down = false;
    p.state.unprocessed = true;
    p.state.lose = true;
    await spool.add("linux_1.sf", bytesOf(sampleText(HASH_A)));
    await new Uploader(spool, p.uploader, { settleMs: 0 }).finish();
    strictEqual(p.received.length, 1, "stored, answer lost, not processed yet");
    p.state.lose = false;
    await new Promise((r) => setTimeout(r, 5));
    await spool.add("linux_2.sf", bytesOf(sampleText(HASH_B)));
    const events: string[] = [];
    const b = new Uploader(spool, p.uploader, {
      settleMs: 0,
      decideMs: 0,
      onEvent: (l) => events.push(l),
    });
    await b.finish();
    // linux_1 is neither sent again nor dropped; linux_2 behind it is uploaded.
    deepStrictEqual(p.received.map((r) => r.fileName), ["linux_1.sf", "linux_2.sf"]);
    deepStrictEqual(await spool.pending(), ["linux_1.sf"]);
    ok(
      events.some((e) =>
        e.startsWith("cannot tell yet whether linux_1.sf already arrived: 1 upload of that name")
      ),
      events.join("\n"),
    );
    // Processed while the lookup asks again (once a second, up to decideMs): its hash is this
    // sample's, so it is dropped, never sent twice.
    setTimeout(p.process, 300);
    const c = new Uploader(spool, p.uploader, {
      settleMs: 0,
      decideMs: 10_000,
      onEvent: (l) => events.push(l),
    });
    await c.finish();
    strictEqual(c.counts.found, 1);
    strictEqual(p.received.length, 2);
    deepStrictEqual(await spool.pending(), []);
    ok(
      events.some((e) =>
        /^linux_1\.sf had already arrived \(upload u0 of .* holds its hash a{32}\)/.test(e)
      ),
    );
  });
});

Deno.test("uploader: a spooled sample without a hash cannot be looked up: it is sent again", async () => {
  await withSpool(async (spool) => {
    const p = fakePlatform();
    p.state.down = false;
    await spool.add("linux_3.sf", bytesOf('{"flashes": [], "hash": "not hex"}'));
    await spool.recordAttempt("linux_3.sf");
    const events: string[] = [];
    const up = new Uploader(spool, p.uploader, { settleMs: 0, onEvent: (l) => events.push(l) });
    await up.finish();
    strictEqual(up.counts.uploaded, 1);
    ok(events.includes("linux_3.sf has no hash to look it up by on the platform: sent again"));
  });
});

Deno.test("uploader: 413 moves the sample to rejected/ with a reason, the rest flow; 401 pauses and keeps", async () => {
  await withSpool(async (spool) => {
    const p = fakePlatform();
    p.state.down = false;
    p.state.reject.set("linux_2.sf", 413);
    const events: string[] = [];
    const up = new Uploader(spool, p.uploader, { onEvent: (l) => events.push(l) });
    for (const n of ["linux_1.sf", "linux_2.sf", "linux_3.sf"]) {
      await spool.add(n, bytesOf(n));
      await new Promise((r) => setTimeout(r, 5));
    }
    await up.finish();
    deepStrictEqual(p.received.map((r) => r.fileName), ["linux_1.sf", "linux_3.sf"]);
    deepStrictEqual(await spool.rejected(), ["linux_2.sf"]);
    match(
      await Deno.readTextFile(`${spool.rejectedDir}/linux_2.sf.reason`),
      /413 refused with 413/,
    );
    ok(events.some((e) => /rejected \(413 .*moved to .*rejected\/linux_2\.sf/.test(e)));
    strictEqual(up.counts.rejected, 1);

    p.state.reject.set("linux_4.sf", 401);
    await spool.add("linux_4.sf", bytesOf("4"));
    await spool.add("linux_5.sf", bytesOf("5"));
    const keyed = new Uploader(spool, p.uploader, { onEvent: (l) => events.push(l) });
    await keyed.finish();
    ok(keyed.counts.keyRefused);
    deepStrictEqual(await spool.pending(), ["linux_4.sf", "linux_5.sf"]);
    strictEqual(await spool.attempt("linux_4.sf"), null, "a clear 401 leaves no attempt behind");
    ok(events.some((e) => e.startsWith("the API refused the key (401")));
  });
});

Deno.test("uploader: verdicts by status", () => {
  const v = (status: number, message = "x") =>
    classifyFailure(Object.assign(new Error(message), { status, serverMessage: message })).verdict;
  deepStrictEqual([400, 404, 413, 422, 200].map((s) => v(s)), Array(5).fill("rejected"));
  deepStrictEqual([401, 403].map((s) => v(s)), ["key", "key"]);
  deepStrictEqual([0, 408, 429, 500, 502, 503].map((s) => v(s)), Array(6).fill("transient"));
  strictEqual(v(200, "the answer is not JSON: <html>"), "transient");
  strictEqual(classifyFailure(new TypeError("boom")).verdict, "transient");
});

Deno.test("spool: the same sample is kept once, a different one under the same name apart; 0600 in 0700", async () => {
  await withSpool(async (spool) => {
    strictEqual(await spool.add("linux_10.sf", bytesOf("{}")), "linux_10.sf");
    strictEqual(await spool.add("linux_10.sf", bytesOf("{}")), "linux_10.sf");
    strictEqual(await spool.add("linux_10.sf", bytesOf('{"x":1}')), "linux_10-1.sf");
    strictEqual((await Deno.stat(`${spool.dir}/linux_10.sf`)).mode! & 0o777, 0o600);
    strictEqual((await Deno.stat(spool.dir)).mode! & 0o777, 0o700);
    // A second collector on the same spool is refused.
    await rejects(() => new Spool(spool.dir).open(), /another collector is using the spool/);
  });
});

Deno.test("durable writer: no temporary file survives a failure; leftovers of a crash are cleared", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/linux_1.sf`); // the target is a directory: the rename fails
    await rejects(() => writeDurable(dir, "linux_1.sf", bytesOf("{}")));
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["linux_1.sf"]);
    await Deno.writeFile(`${dir}/.linux_2.sf.tmp`, bytesOf(""));
    await Deno.writeFile(`${dir}/.linux_2.sf.attempt.tmp`, bytesOf(""));
    await Deno.writeFile(`${dir}/.notes.tmp`, bytesOf("the user's"));
    strictEqual(await removeStaleTemps(dir), 1, "an output directory: only samples' temporaries");
    strictEqual(await removeStaleTemps(dir, true), 2, "the spool: every temporary");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sink: output refused → the spool keeps it; both refused → memory, retried, bounded", async () => {
  await withSpool(async (spool, dir) => {
    const events: string[] = [];
    const spooled: string[] = [];
    // The output "directory" is a file: every write there fails (ENOTDIR).
    await Deno.writeTextFile(`${dir}/out`, "not a directory");
    const sink = new WindowSink({
      outputDir: `${dir}/out`,
      spool,
      heldDir: `${dir}/held`,
      memoryWindows: 2,
      onSpooled: (n) => spooled.push(n),
      onEvent: (l) => events.push(l),
    });
    deepStrictEqual(await sink.write("linux_1.sf", bytesOf("1")), {
      status: "spooled",
      path: null,
    });
    ok(
      events.some((e) =>
        e.startsWith(`cannot write ${dir}/out/linux_1.sf: `) && e.endsWith("the spool keeps it")
      ),
    );
    // Now the spool refuses too (its directory replaced by a file): memory.
    spool.close();
    await Deno.remove(spool.dir, { recursive: true });
    await Deno.writeTextFile(spool.dir, "");
    for (const n of ["linux_2.sf", "linux_3.sf", "linux_4.sf"]) {
      strictEqual((await sink.write(n, bytesOf(n))).status, "memory");
    }
    ok(events.some((e) => e.includes("linux_2.sf is lost")), "the bound drops the oldest");
    deepStrictEqual(sink.counts, { held: 0, unspooled: 0, lost: 1, inMemory: 2 });
    // Room again: the retry writes what memory kept.
    await Deno.remove(spool.dir);
    await Deno.mkdir(spool.dir);
    await sink.retry();
    deepStrictEqual(spooled, ["linux_1.sf", "linux_3.sf", "linux_4.sf"]);
    await sink.close();
    strictEqual(sink.counts.inMemory, 0);
  });
});

Deno.test("sink: uploads off, output refused → held/; the next start moves them to the output", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/out`, "");
    const sink = new WindowSink({ outputDir: `${dir}/out`, spool: null, heldDir: `${dir}/held` });
    strictEqual((await sink.write("linux_1.sf", bytesOf("1"))).status, "held");
    strictEqual(await Deno.readTextFile(`${dir}/held/linux_1.sf`), "1");
    strictEqual(sink.counts.held, 1);
    await sink.close();
    // The next start with a working output directory moves held samples there.
    await Deno.remove(`${dir}/out`);
    const events: string[] = [];
    const next = new WindowSink({
      outputDir: `${dir}/out`,
      spool: null,
      heldDir: `${dir}/held`,
      onEvent: (l) => events.push(l),
    });
    await next.open();
    strictEqual(await Deno.readTextFile(`${dir}/out/linux_1.sf`), "1");
    deepStrictEqual([...Deno.readDirSync(`${dir}/held`)], []);
    deepStrictEqual(events, [`linux_1.sf moved from ${dir}/held to ${dir}/out`]);
    strictEqual((await Deno.stat(`${dir}/out`)).mode! & 0o777, 0o700);
    await next.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
