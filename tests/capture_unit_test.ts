/**
 * Issue 5 and 10 without root: the spool and its uploader (exactly once across lost answers and
 * restarts, rejections, a refused key), the window sink (disk errors), the window clock, the batch
 * pool, the short-term name
 * memory across windows, window lines and CLI usage errors, and `capture -r` (libpcap only) on
 * the public captures: the same Secflows as expected/, and window splitting by packet time.
 */
import { deepStrictEqual, match, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { type SampleUploader, Spool, uploadName } from "../capture/spool.ts";
import { classifyFailure, Uploader } from "../capture/_uploader.ts";
import { WindowSink } from "../capture/_sink.ts";
import { WindowClock } from "../capture/_clock.ts";
import { BatchPool, type ClosedWindow, WorkerLink } from "../capture/_batches.ts";
import { WindowOutput } from "../capture/_output.ts";
import { removeStaleTemps, writeDurable } from "../capture/_durable.ts";
import { closeWindow, NameMemory, SHORT_TERM_SECONDS } from "../capture/_window.ts";
import { Collector, windowLine } from "../capture/collector.ts";
import { CaptureError } from "../capture/libpcap.ts";
import type { FlowEngine } from "../secflow/engine.ts";
import { DnsHarvest } from "../secflow/dns.ts";
import { parseIPv4 } from "../secflow/net.ts";
import { main } from "../cli.ts";
import { pcapOf, T0, tcp } from "./_pcap.ts";
import { gzip } from "./zeek_fixtures.ts";
import {
  announceSkip,
  Child,
  CLI,
  cliInNamespace,
  CONFORMANCE,
  flashKey,
  flashKeysIn,
  pcapSkipReason,
} from "./capture_helpers.ts";

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
    strictEqual(uploadName("linux_10-1.sf"), "linux_10-1.sf"); // its own name on the platform too
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

Deno.test("window clock: file gaps skip empty windows; live stalls skip passed ones; stop ends early", () => {
  const c = new WindowClock(10_000_000, 150_000);
  c.openAt(5_000_000);
  deepStrictEqual([c.start, c.end], [5_000_000, 15_000_000]);
  c.next();
  c.skipTo(47_000_000);
  deepStrictEqual([c.start, c.end], [45_000_000, 55_000_000]);
  ok(!c.due(55_100_000) && c.due(55_150_000));
  c.skipPast(100_000_000);
  deepStrictEqual([c.start, c.end], [95_000_000, 105_000_000]);
  c.endBy(97_000_000);
  strictEqual(c.end, 97_000_000);
  strictEqual(c.msUntilDue(97_000_000), 150);
});

Deno.test("window clock: a gap of any length is one step; a time past what windows can hold is an error", () => {
  const c = new WindowClock(10_000_000);
  c.openAt(0);
  c.skipTo(4_294_967_290_000_000); // 2106: the largest time a pcap file holds
  deepStrictEqual([c.start, c.end], [4_294_967_290_000_000, 4_294_967_300_000_000]);
  // 1.8e25 µs (a 2038 time read with its sign widened) looped for ever, deaf to signals.
  throws(() => c.skipTo(1.8e25), RangeError);
  const d = new WindowClock(10_000_000);
  d.openAt(0);
  for (const t of [9_999_999, 10_000_000, 29_999_999, 30_000_000]) {
    d.skipTo(t);
    ok(d.start <= t && t < d.end, `${t} in [${d.start}, ${d.end})`);
  }
});

Deno.test("batch pool: grows to its cap, then waits for a buffer back", async () => {
  const pool = new BatchPool(16, 1, 2);
  const a = await pool.take();
  const b = await pool.take();
  strictEqual(pool.allocated, 2);
  let got: ArrayBuffer | undefined;
  const waiting = pool.take().then((x) => got = x);
  await new Promise((r) => setTimeout(r, 5));
  strictEqual(got, undefined, "back-pressure at the cap");
  pool.give(a);
  await waiting;
  strictEqual(got, a);
  pool.fail(new Error("worker died"));
  pool.give(b);
  await rejects(() => pool.take(), /worker died/);
});

Deno.test("worker link: batches reach the aggregator, peeks count sessions, a close returns the sample", async () => {
  const { InlineWorker } = await import("../capture/_aggregator.ts");
  const { tcp } = await import("./_pcap.ts");
  const link = new WorkerLink(
    new InlineWorker() as unknown as Worker,
    new BatchPool(4096, 1, 1),
    1,
  );
  link.init("linux", new Map());
  const buf = await link.batch();
  const view = new DataView(buf.buffer);
  const ether = (ip: Uint8Array) =>
    new Uint8Array([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, ...ip]);
  let off = 0;
  const packets = [
    ether(tcp({ src: "192.168.1.2", dst: "93.184.216.34", sp: 40000, dp: 443, payload: 10 })),
    ether(tcp({ src: "93.184.216.34", dst: "192.168.1.2", sp: 443, dp: 40000, payload: 20 })),
  ];
  packets.forEach((p, i) => {
    view.setFloat64(off, 1_700_000_000_000_000 + i, true);
    view.setUint32(off + 8, p.length, true);
    view.setUint32(off + 12, p.length, true);
    buf.set(p, off + 16);
    off += 16 + p.length;
  });
  link.filled(off);
  link.flush();
  strictEqual(await link.sessions(), 1);
  const closed = await link.close(1_700_000_010);
  strictEqual(closed.fileName, "linux_1700000000.sf");
  strictEqual(closed.flashes, 1);
  strictEqual(closed.packets, 2);
  // The batch came back to the pool (a pool of one would otherwise block here).
  ok((await link.batch()).byteLength === 4096);
});

Deno.test("window output: written in close order whatever order the worker answers in", async () => {
  const written: string[] = [];
  const output = new WindowOutput((closed) => {
    written.push(closed.fileName!);
    return Promise.resolve(closed.json !== null);
  });
  const meta = { packets: 0, dropped: 0, ifDropped: 0, fallbackStartMicros: 0 };
  const closed = (name: string, json: ArrayBuffer | null): ClosedWindow => ({
    type: "closed",
    id: 0,
    json,
    fileName: name,
    flashes: 0,
    startTime: 0,
    packets: 0,
    cacheUpdates: [],
  });
  let answerFirst!: (c: ClosedWindow) => void;
  output.add(new Promise((r) => answerFirst = r), meta);
  output.add(Promise.resolve(closed("b.sf", null)), meta);
  await new Promise((r) => setTimeout(r, 5));
  deepStrictEqual(written, [], "the second waits for the first");
  answerFirst(closed("a.sf", new ArrayBuffer(1)));
  deepStrictEqual(await output.finish(), { windows: 2, samples: 1 });
  deepStrictEqual(written, ["a.sf", "b.sf"]);
  output.add(Promise.reject(new Error("worker died")), meta);
  await rejects(() => output.finish(), /worker died/);
});

/** A stand-in engine whose finish() returns one session to `dst` and the given DNS answers. */
function fakeEngine(dst: number, first: number, answers: [string, number, number][]): FlowEngine {
  const harvest = new DnsHarvest();
  for (const [name, time, ip] of answers) harvest.addAddress(name, time, ip);
  return {
    finish: () => ({
      sessions: [{
        icmp: false,
        srcIp: parseIPv4("192.168.1.2")!,
        srcPort: 50000,
        dstIp: dst,
        dstPort: 443,
        srcPkts: 1,
        dstPkts: 1,
        srcBytes: 10,
        dstBytes: 20,
        first,
        last: first + 1,
      }],
      startTime: first,
      active: new Set([dst]),
      harvest,
      stats: { packets: 2, notIPv4: 0, truncated: 0, unknownLink: 0, filtered: 0, kept: 2 },
      unknownLinkTypes: new Map(),
    }),
  } as unknown as FlowEngine;
}

Deno.test("short-term memory: names of earlier windows, for 5 minutes, before the cache", () => {
  const ip = parseIPv4("93.184.216.34")!;
  const memory = new NameMemory(new Map([[ip, "cached.example"]]));
  // Window 1 (t=1000): named by its own DNS answer, which is remembered.
  const w1 = closeWindow(fakeEngine(ip, 1000, [["seen.example", 999, ip]]), memory, "linux", 1010);
  strictEqual(w1.sample!.flashes[0].dst, "seen.example:443");
  strictEqual(w1.sample!.fileName, "linux_1000.sf");
  deepStrictEqual(w1.cacheUpdates, [[ip, "seen.example"]]);
  // Window 2: no DNS in it; the short-term memory names it (passive) before the cache.
  memory.cache.set(ip, "cached.example");
  const w2 = closeWindow(fakeEngine(ip, 1100, []), memory, "linux", 1110);
  strictEqual(w2.sample!.flashes[0].dst, "seen.example:443");
  strictEqual(w2.sample!.flashes[0].destinationNameSource, "passive");
  // More than 5 minutes later the memory has forgotten: the cache names it.
  const late = 999 + SHORT_TERM_SECONDS + 50;
  const w3 = closeWindow(fakeEngine(ip, late, []), memory, "linux", late + 10);
  strictEqual(w3.sample!.flashes[0].dst, "cached.example:443");
  strictEqual(w3.sample!.flashes[0].destinationNameSource, "cache");
});

Deno.test("window line format", () => {
  strictEqual(
    windowLine({
      name: "linux_1700000000.sf",
      secflows: 3,
      sample: null,
      path: null,
      packets: 10,
      dropped: 1,
      ifDropped: 2,
      status: "spooled",
    }),
    "window linux_1700000000.sf: 3 secflows, packets 10, dropped 1, if-dropped 2, spooled",
  );
});

Deno.test("capture CLI: usage errors exit 2", async () => {
  strictEqual(await main(["capture"]), 2);
  strictEqual(await main(["capture", "-i", "lo", "--duration", "5"]), 2);
  strictEqual(await main(["capture", "-i", "lo", "--windows", "0"]), 2);
  strictEqual(await main(["capture", "-i", "lo", "-r", "x.pcap"]), 2);
  throws(() => new Collector({ file: "x", windowSeconds: 9 }), CaptureError);
});

const pcapSkip = announceSkip("capture -r tests", pcapSkipReason());
const conformanceSkip = !pcapSkip && announceSkip(
  "capture -r conformance",
  (() => {
    try {
      Deno.statSync(`${CONFORMANCE}inputs`);
      return undefined;
    } catch {
      return `no conformance data at ${CONFORMANCE}`;
    }
  })(),
);

Deno.test({
  name: "capture -r: a missing file exits 2 with a message naming it",
  ignore: pcapSkip,
  async fn() {
    const child = cliInNamespace(null, ["capture", "-r", "/nonexistent.pcap", "--no-upload"]);
    strictEqual((await child.finish()).code, 2);
    match(child.lines.join("\n"), /nonexistent\.pcap/);
  },
});

Deno.test({
  name: "capture -r: public captures give expected/'s Secflows; windows split by packet time",
  ignore: pcapSkip || conformanceSkip,
  async fn() {
    const tmp = await Deno.makeTempDir();
    try {
      const names = [...Deno.readDirSync(`${CONFORMANCE}inputs`)].map((e) => e.name)
        .filter((n) => /\.pcap(ng)?$/.test(n));
      let wholePackets = -1;
      for (const name of names) {
        const stem = name.replace(/\.pcap(ng)?$/, "");
        const c = cliInNamespace(null, [
          "capture",
          "-r",
          `${CONFORMANCE}inputs/${name}`,
          "--duration",
          "100000000",
          "--no-upload",
          "--output",
          `${tmp}/${stem}`,
          "--state-dir",
          `${tmp}/state-${stem}`,
        ]);
        strictEqual((await c.finish()).code, 0, c.lines.join("\n"));
        if (stem === "testCase6_icmp_plus_others") {
          wholePackets = Number(
            /packets (\d+)/.exec(c.lines.find((l) => l.startsWith("window "))!)![1],
          );
        }
        let expected: string[] = [];
        try {
          expected = JSON.parse(await Deno.readTextFile(`${CONFORMANCE}expected/${stem}.sf`))
            .flashes.map(flashKey).sort();
        } catch { /* no expected output: no Secflows */ }
        deepStrictEqual((await flashKeysIn(`${tmp}/${stem}`)).keys, expected, stem);
      }
      // Ten-second windows by packet time: several samples, the same packets in total.
      const split = cliInNamespace(null, [
        "capture",
        "-r",
        `${CONFORMANCE}inputs/testCase6_icmp_plus_others.pcap`,
        "--duration",
        "10",
        "--no-upload",
        "--output",
        `${tmp}/split`,
        "--state-dir",
        `${tmp}/state-split`,
      ]);
      strictEqual((await split.finish()).code, 0);
      const windows = split.lines.filter((l) => l.startsWith("window "));
      ok(windows.length > 1, windows.join("\n"));
      const total = windows.reduce((n, l) => n + Number(/packets (\d+)/.exec(l)![1]), 0);
      strictEqual(total, wholePackets);
      for (const f of Deno.readDirSync(`${tmp}/split`)) {
        const s = JSON.parse(await Deno.readTextFile(`${tmp}/split/${f.name}`));
        strictEqual(f.name, `linux_${Math.floor(Number(s.trafficDate))}.sf`);
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "capture -r: a cut capture keeps the packets before the cut and warns; exit 0",
  ignore: pcapSkip,
  async fn() {
    const tmp = await Deno.makeTempDir();
    try {
      const packets = Array.from({ length: 6 }, (_, i) => ({
        us: T0 + i * 1000,
        ip: i % 2 === 0
          ? tcp({ src: "10.0.0.2", dst: "93.184.216.34", sp: 50000, dp: 443, payload: 100 })
          : tcp({ src: "93.184.216.34", dst: "10.0.0.2", sp: 443, dp: 50000, payload: 900 }),
      }));
      const whole = pcapOf(packets);
      // The last record loses its final 10 bytes, as a capture killed while writing does.
      await Deno.writeFile(`${tmp}/cut.pcap`, whole.subarray(0, whole.length - 10));
      const c = cliInNamespace(null, [
        "capture",
        "-r",
        `${tmp}/cut.pcap`,
        "--no-upload",
        "--output",
        `${tmp}/out`,
        "--state-dir",
        `${tmp}/state`,
      ]);
      strictEqual((await c.finish()).code, 0, c.lines.join("\n"));
      const text = c.lines.join("\n");
      match(text, /window linux_1700000000\.sf: 1 secflows, packets 5,/);
      match(text, /warning: .*cut\.pcap: truncated dump file.*kept the packets before it/);
      const sample = JSON.parse(await Deno.readTextFile(`${tmp}/out/linux_1700000000.sf`));
      strictEqual(sample.flashes[0].srcPkts + sample.flashes[0].dstPkts, 5);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "capture -r: a gzip'd capture or a text file is named for what it is; exit 2",
  ignore: pcapSkip,
  async fn() {
    const tmp = await Deno.makeTempDir();
    try {
      const whole = pcapOf([{
        us: T0,
        ip: tcp({ src: "10.0.0.2", dst: "93.184.216.34", sp: 50000, dp: 443 }),
      }]);
      const zipped = await gzip(whole);
      await Deno.writeFile(`${tmp}/c.pcap.gz`, zipped);
      await Deno.writeTextFile(`${tmp}/notes.txt`, "hello\n");
      for (
        const [name, pattern] of [
          ["c.pcap.gz", /c\.pcap\.gz: a gzip-compressed file: .*convert reads it/],
          [
            "notes.txt",
            /notes\.txt: not a pcap or pcapng capture \(it starts with the text "hello/,
          ],
        ] as const
      ) {
        const c = cliInNamespace(null, ["capture", "-r", `${tmp}/${name}`, "--no-upload"]);
        strictEqual((await c.finish()).code, 2, name);
        strictEqual(c.lines.length, 1, c.lines.join("\n"));
        match(c.lines[0], pattern);
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("capture: libpcap missing exits 2 and says how to install it", async () => {
  const c = new Child(Deno.execPath(), ["run", "-A", CLI, "capture", "-r", "x.pcap"], {
    NETWORKSAGE_LIBPCAP: "/nonexistent/libpcap.so",
  });
  strictEqual((await c.finish()).code, 2);
  match(c.lines.join("\n"), /libpcap not found: install it with `apt-get install libpcap0\.8`/);
});

Deno.test("capture: --allow-ffi missing exits 2 and names the flag", async () => {
  const c = new Child(Deno.execPath(), [
    "run",
    "--allow-read",
    "--allow-env",
    CLI,
    "interfaces",
  ]);
  strictEqual((await c.finish()).code, 2);
  match(c.lines.join("\n"), /--allow-ffi/);
});

Deno.test({
  name:
    "capture: no write access to the output exits 2 at once naming the flag; no read access to the worker: inline",
  ignore: pcapSkip,
  async fn() {
    const tmp = await Deno.makeTempDir();
    try {
      await Deno.writeFile(
        `${tmp}/one.pcap`,
        pcapOf([{
          us: T0,
          ip: tcp({ src: "10.0.0.2", dst: "93.184.216.34", sp: 50000, dp: 443 }),
        }]),
      );
      const c = new Child(Deno.execPath(), [
        "run",
        `--allow-read=${tmp}`,
        "--allow-ffi",
        "--allow-env",
        CLI,
        "capture",
        "-r",
        `${tmp}/one.pcap`,
        "--no-upload",
        "--output",
        `${tmp}/out`,
        "--state-dir",
        `${tmp}/state`,
      ]);
      strictEqual((await c.finish()).code, 2);
      // Read access to the tree is narrowed too: the worker's module is not loaded (Deno would
      // print its failure raw), windows are made on the reading thread, and that is said.
      deepStrictEqual(c.lines.length, 2, c.lines.join("\n"));
      match(c.lines[0], /aggregating on the reading thread .*worker\.ts may not be read/);
      match(c.lines[1], /write access to ".*out".*--allow-write/);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "libpcap helpers: /proc is read through libc, so the collector's own permissions suffice",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const { listProcDir, readProcFile } = await import("../capture/libpcap.ts");
    // Deno's own read of /proc needs --allow-all (the test task does not grant it): the region
    // lookup behind the collector's zero-copy path and --nice used it, and silently did nothing.
    let viaDeno = "allowed";
    try {
      Deno.readTextFileSync("/proc/self/maps");
    } catch {
      viaDeno = "refused";
    }
    const maps = readProcFile("/proc/self/maps");
    ok(maps !== null && /\[stack\]/.test(maps), "the mappings were read");
    const threads = listProcDir("/proc/self/task")!.filter((n) => /^\d+$/.test(n));
    ok(threads.includes(String(Deno.pid)), `the main thread is listed: ${threads.join(" ")}`);
    console.log(`  /proc through Deno: ${viaDeno}; through libc: read`);
  },
});
