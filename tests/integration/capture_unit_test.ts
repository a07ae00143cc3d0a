/**
 * Issue 5 and 10 without root: the window clock, the batch pool, the worker link, the short-term
 * name memory across windows, window lines and CLI usage errors, and `capture -r` (libpcap only)
 * on the public captures: the same Secflows as expected/, and window splitting by packet time.
 * The spool, its uploader and the sink are tests/unit/capture_spool_test.ts.
 */
import { deepStrictEqual, match, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { WindowClock } from "../../capture/_clock.ts";
import { BatchPool, type ClosedWindow, WorkerLink } from "../../capture/_batches.ts";
import { WindowOutput } from "../../capture/_output.ts";
import { closeWindow, NameMemory, SHORT_TERM_SECONDS } from "../../capture/_window.ts";
import { Collector, windowLine } from "../../capture/collector.ts";
import { CaptureError } from "../../capture/libpcap.ts";
import type { FlowEngine } from "../../secflow/engine.ts";
import { DnsHarvest } from "../../secflow/dns.ts";
import { parseIPv4 } from "../../secflow/net.ts";
import { main } from "../../cli.ts";
import { pcapOf, T0, tcp } from "../_pcap.ts";
import { gzip } from "../zeek_fixtures.ts";
import {
  announceSkip,
  Child,
  CLI,
  cliInNamespace,
  CONFORMANCE,
  flashKey,
  flashKeysIn,
  pcapSkipReason,
} from "../capture_helpers.ts";

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
  const { InlineWorker } = await import("../../capture/_aggregator.ts");
  const { tcp } = await import("../_pcap.ts");
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
    const { listProcDir, readProcFile } = await import("../../capture/libpcap.ts");
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
