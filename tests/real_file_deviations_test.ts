/**
 * What real files showed that the docs did not say (issue 21, point 7; docs/DEVIATIONS.md), each
 * on a capture built here: non-first IPv4 fragments make no session; Linux cooked (SLL) frames
 * are read whatever their address length; a pcap sub-second field of 1,000,000 or more is carried
 * into the seconds; pcap seconds from 2^31 on are read unsigned (2038 to 2106), not negative.
 * Where tshark is installed, it is asked what it reads in the same bytes.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cat, ether, fragment, pcap, pcapHeader, T0, udp } from "./_pcap.ts";
import { convertCapture } from "../secflow/convert_capture.ts";
import type { Sample } from "../secflow/types.ts";
import { hasCommand } from "./_terminal.ts";
import { withTempDir } from "./_child.ts";

const L = "192.168.1.10", X = "93.184.216.34";

async function convert(bytes: Uint8Array): Promise<Sample | null> {
  return (await convertCapture(() => [bytes], "t.pcap", { fileName: "t.sf" })).sample;
}

/** What tshark reads in `bytes` (`fields` per packet, tab-separated), or undefined without it. */
async function tshark(
  bytes: Uint8Array,
  fields: string[],
  options: string[] = [],
): Promise<string[] | undefined> {
  if (!hasCommand("tshark")) {
    console.log("  (tshark is not installed: its reading is not compared)");
    return undefined;
  }
  let lines: string[] = [];
  await withTempDir(async (dir) => {
    const path = join(dir, "t.pcap");
    await Deno.writeFile(path, bytes);
    const r = await new Deno.Command("tshark", {
      args: ["-r", path, ...options, "-T", "fields", ...fields.flatMap((f) => ["-e", f])],
      stdout: "piped",
      stderr: "null",
    }).output();
    lines = new TextDecoder().decode(r.stdout).replace(/\n$/, "").split("\n");
  });
  return lines;
}

/** A little-endian microsecond pcap record with its raw second and sub-second fields. */
function rawRecord(sec: number, frac: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, sec, true);
  v.setUint32(4, frac, true);
  v.setUint32(8, data.length, true);
  v.setUint32(12, data.length, true);
  return cat(b, data);
}

Deno.test("a non-first IPv4 fragment makes no session: its payload's first bytes are not ports", async () => {
  // A UDP datagram in two fragments: the first carries the UDP header (50000 -> 443); the second
  // starts with bytes that read as "ports" 8080 -> 53 (the platform's converter makes a session of
  // them).
  const first = udp({ src: L, dst: X, sp: 50000, dp: 443, payload: 24, mf: true });
  const rest = fragment({
    src: L,
    dst: X,
    proto: 17,
    body: [0x1f, 0x90, 0x00, 0x35, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8],
    fragOffset: 4,
  });
  const bytes = pcap([
    { us: T0, data: ether(first) },
    { us: T0 + 1000, data: ether(rest) },
  ]);
  const r = await convertCapture(() => [bytes], "t.pcap", { fileName: "t.sf" });
  assert.deepEqual(r.sample!.flashes.map((f) => [f.src, f.dst, f.srcPkts, f.srcBytes]), [
    ["192.168.1.10:50000", "93.184.216.34:443", 1, 24],
  ]);
  assert.equal(r.packets.kept, 2);
  assert.equal(r.packets.keptWithoutSecflow.fragments, 1);
  // Alone, and first in time, it still counts as a kept UDP packet for the start time.
  const alone = await convert(pcap([
    { us: T0, data: ether(rest) },
    { us: T0 + 2_000_000, data: ether(udp({ src: L, dst: X, sp: 50001, dp: 443 })) },
  ]));
  assert.equal(alone!.trafficDate, "1700000000.0");
  assert.deepEqual(alone!.flashes.map((f) => [f.dst, f.relativeStart]), [["93.184.216.34:443", 2]]);
  // tshark, not reassembling, reads no ports in it either.
  const seen = await tshark(bytes, ["udp.srcport"], ["-o", "ip.defragment:FALSE"]);
  if (seen) assert.deepEqual(seen, ["50000", ""]);
});

Deno.test("Linux cooked (SLL) frames are read whatever their address length (0, 4, 6, 8)", async () => {
  const ip = [
    udp({ src: L, dst: X, sp: 50000, dp: 443, payload: 10 }),
    udp({ src: X, dst: L, sp: 443, dp: 50000, payload: 30 }),
  ];
  // packet type, ARPHRD type, address length, 8 address bytes (zero-padded), protocol
  const sll = (hatype: number, addrLen: number, p: Uint8Array) =>
    cat(
      [0, 0, hatype >> 8, hatype & 255, 0, addrLen],
      Array.from({ length: 8 }, (_, i) => (i < addrLen ? 0x10 + i : 0)),
      [0x08, 0x00],
      p,
    );
  const ethernet = await convert(pcap(ip.map((p, i) => ({ us: T0 + i, data: ether(p) }))));
  const expected = ethernet!.flashes;
  assert.equal(expected.length, 1);
  // ARPHRD_ETHER (1), ARPHRD_IPGRE (778), ARPHRD_NONE (65534, tun), ARPHRD_INFINIBAND (32)
  for (const [hatype, addrLen] of [[1, 6], [778, 4], [65534, 0], [32, 8]]) {
    const bytes = pcap(ip.map((p, i) => ({ us: T0 + i, data: sll(hatype, addrLen, p) })), {
      linkType: 113,
    });
    const sample = await convert(bytes);
    assert.deepEqual(sample?.flashes, expected, `address length ${addrLen}`);
    const seen = await tshark(bytes, ["sll.halen", "udp.srcport"]);
    if (seen) assert.deepEqual(seen, [`${addrLen}\t50000`, `${addrLen}\t443`]);
  }
});

Deno.test("a pcap sub-second field of 1,000,000 or more is carried into the seconds", async () => {
  const out = ether(udp({ src: L, dst: X, sp: 50000, dp: 443, payload: 10 }));
  const back = ether(udp({ src: X, dst: L, sp: 443, dp: 50000, payload: 10 }));
  // Microseconds: 1,500,000 µs after 1700000000 s is 1700000001.5 s (the platform's converter
  // writes the fields as the text "1700000000.1500000", 1700000000.15 s).
  const micro = cat(
    pcapHeader(),
    rawRecord(1_700_000_000, 1_500_000, out),
    rawRecord(1_700_000_002, 0, back),
  );
  let sample = await convert(micro);
  assert.equal(sample!.trafficDate, "1700000001.5");
  assert.equal(sample!.flashes[0].duration, 0.5);
  // Nanoseconds: 1,500,000,000 ns likewise.
  const nanoHeader = pcapHeader({ nanos: true });
  const nano = cat(nanoHeader, rawRecord(1_700_000_000, 1_500_000_000, out));
  sample = await convert(nano);
  assert.equal(sample!.trafficDate, "1700000001.5");
  // tshark does not carry: it prints the digits joined, as the platform reads them.
  const seen = await tshark(micro, ["frame.time_epoch"]);
  if (seen) assert.match(seen[0], /^1700000000\.15/);
});

Deno.test("pcap seconds from 2^31 on are unsigned (2038 to 2106), never negative", async () => {
  const out = ether(udp({ src: L, dst: X, sp: 50000, dp: 443, payload: 10 }));
  const back = ether(udp({ src: X, dst: L, sp: 443, dp: 50000, payload: 10 }));
  const bytes = cat(
    pcapHeader(),
    rawRecord(2 ** 31 + 5, 250_000, out), // 2038-01-19 03:14:13.25Z
    rawRecord(2 ** 32 - 1, 0, back), // 2106-02-07 06:28:15Z, the last second a pcap holds
  );
  const sample = await convert(bytes);
  assert.equal(sample!.trafficDate, "2147483653.25");
  assert.equal(sample!.flashes[0].duration, 2 ** 32 - 1 - (2 ** 31 + 5.25));
  assert.ok(sample!.flashes.every((f) => f.relativeStart >= 0 && f.duration >= 0));
  const seen = await tshark(bytes, ["frame.time_epoch"]);
  if (seen) assert.deepEqual(seen.map(Number), [2147483653.25, 4294967295]);
});

Deno.test("docs/DEVIATIONS.md documents each behaviour this file tests", async () => {
  const text = await Deno.readTextFile(new URL("../docs/DEVIATIONS.md", import.meta.url));
  for (
    const said of [
      "Non-first IPv4 fragments make no session",
      "Linux cooked (SLL, link type 113) frames are read whatever their address length",
      "A pcap sub-second field of 1,000,000 or more",
      "Timestamps from 2^31 s on",
      "tests/real_file_deviations_test.ts",
    ]
  ) assert.ok(text.includes(said), `DEVIATIONS.md says "${said}"`);
});
