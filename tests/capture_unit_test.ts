/**
 * Issue 5 without root: the upload spool (exactly once, order, restart), the short-term name
 * memory across windows, window lines and CLI usage errors, and `capture -r` (libpcap only) on
 * the public captures: the same Secflows as expected/, and window splitting by packet time.
 */
import { deepStrictEqual, match, ok, strictEqual, throws } from "node:assert/strict";
import { type SampleUploader, Spool } from "../capture/spool.ts";
import { closeWindow, NameMemory, SHORT_TERM_SECONDS } from "../capture/_window.ts";
import { Collector, windowLine } from "../capture/collector.ts";
import { CaptureError } from "../capture/libpcap.ts";
import type { FlowEngine } from "../secflow/engine.ts";
import { DnsHarvest } from "../secflow/dns.ts";
import { parseIPv4 } from "../secflow/net.ts";
import { main } from "../cli.ts";
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

/** An uploader that fails while `down` is true and records what it received. */
function fakeServer() {
  const received: { fileName: string; text: string }[] = [];
  const state = { down: true, calls: 0 };
  const uploader: SampleUploader = {
    async upload(path, fileName) {
      state.calls++;
      await new Promise((r) => setTimeout(r, 5));
      if (state.down) throw new Error("connection refused");
      received.push({ fileName, text: await Deno.readTextFile(path) });
    },
  };
  return { received, state, uploader };
}

Deno.test("spool: server down keeps every sample; back up, each arrives once, oldest first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const server = fakeServer();
    const events: string[] = [];
    const spool = new Spool(dir, server.uploader, {
      initialBackoffMs: 20,
      onEvent: (l) => events.push(l),
    });
    for (const n of ["linux_1.sf", "linux_2.sf", "linux_3.sf"]) {
      await spool.add(n, new TextEncoder().encode(`{"n": "${n}"}`));
      deepStrictEqual(await spool.flush(), []);
      await new Promise((r) => setTimeout(r, 2)); // distinct mtimes
    }
    deepStrictEqual((await spool.pending()).sort(), ["linux_1.sf", "linux_2.sf", "linux_3.sf"]);
    ok(events.some((e) => e.includes("kept in the spool")));
    server.state.down = false;
    // The backoff timer retries by itself; concurrent flushes never upload a file twice.
    await Promise.all([spool.flush(), spool.flush(), spool.flush()]);
    await new Promise((r) => setTimeout(r, 100));
    await spool.close();
    deepStrictEqual(server.received.map((r) => r.fileName), [
      "linux_1.sf",
      "linux_2.sf",
      "linux_3.sf",
    ]);
    deepStrictEqual(await spool.pending(), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool: a restart (new Spool on the same directory) uploads what was left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = fakeServer();
    const a = new Spool(dir, first.uploader, { initialBackoffMs: 60_000 });
    await a.add("linux_10.sf", new TextEncoder().encode("{}"));
    await a.add("linux_10.sf", new TextEncoder().encode('{"second": 1}')); // same name: kept apart
    await a.flush();
    await a.close();
    strictEqual((await a.pending()).length, 2);
    const second = fakeServer();
    second.state.down = false;
    const b = new Spool(dir, second.uploader);
    const uploaded = await b.flush();
    await b.close();
    strictEqual(uploaded.length, 2);
    deepStrictEqual(second.received.map((r) => r.fileName), ["linux_10.sf", "linux_10.sf"]);
    deepStrictEqual(await b.pending(), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
