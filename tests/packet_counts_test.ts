/**
 * Where every packet went (issue 21, point 5): the counts add up to the packets read, "filtered"
 * and "not IPv4" are broken down, packets of link types not read and pcapng blocks skipped are
 * counted, and kept packets that make no Secflow say why; `convert`'s summary and `stats` say it
 * in words. Each capture is built here, one packet per fate.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  bsdNull,
  cat,
  dnsA,
  ether,
  fragment,
  icmp,
  ipv4,
  loop,
  pcap,
  pcapng,
  pcapRecord,
  type Rec,
  sll,
  sll2,
  T0,
  tcp,
  udp,
} from "./_pcap.ts";
import { analyzeCapture, convertCapture } from "../secflow/convert_capture.ts";
import type { PacketCounts } from "../secflow/packet_counts.ts";
import { runCli, withTempDir } from "./_child.ts";

const L = "192.168.1.10", M = "192.168.1.20", X = "93.184.216.34";
/** Link-local: local as section 1 says, but not FILTER-LOCAL, so the filter keeps them. */
const A = "169.254.1.1", B = "169.254.1.2";
const decoder = new TextDecoder();

/** One packet of each fate, in an Ethernet pcap, then a record cut short by the file's end. */
function everyFate(): Uint8Array {
  let t = T0;
  const r = (data: Uint8Array): Rec => ({ us: t += 1000, data });
  const records = [
    // kept, in a Secflow (2 packets, one session)
    r(ether(tcp({ src: L, dst: X, sp: 50000, dp: 443, payload: 100 }))),
    r(ether(tcp({ src: X, dst: L, sp: 443, dp: 50000, payload: 900 }))),
    // kept, no Secflow: between local addresses; another IP protocol; a non-first fragment;
    // an IPv4 part of 20 bytes (ICMP with no body)
    r(ether(udp({ src: A, dst: B, sp: 40000, dp: 9000, payload: 10 }))),
    r(ether(ipv4({ src: L, dst: X, proto: 47, body: new Uint8Array(24) }))),
    r(ether(fragment({ src: L, dst: X, proto: 17, body: new Uint8Array(16), fragOffset: 185 }))),
    r(ether(ipv4({ src: L, dst: X, proto: 1, body: new Uint8Array(0) }))),
    // filtered: LAN-internal (2), a blocked port, multicast, broadcast
    r(ether(tcp({ src: L, dst: M, sp: 50001, dp: 8080, payload: 10 }))),
    r(ether(tcp({ src: M, dst: L, sp: 8080, dp: 50001, payload: 10 }))),
    r(ether(udp({ src: L, dst: X, sp: 50002, dp: 445, payload: 10 }))),
    r(ether(udp({ src: L, dst: "239.255.255.250", sp: 50003, dp: 1901, payload: 10 }))),
    r(ether(udp({ src: L, dst: "255.255.255.255", sp: 50004, dp: 9999, payload: 10 }))),
    // not IPv4: IPv6, ARP (2), LLDP, an Ethernet frame cut inside its header
    r(ether(new Uint8Array(40), 0x86dd)),
    r(ether(new Uint8Array(28), 0x0806)),
    r(ether(new Uint8Array(28), 0x0806)),
    r(ether(new Uint8Array(30), 0x88cc)),
    r(new Uint8Array(10)),
    // truncated: IPv4 with a header cut short
    r(ether(tcp({ src: L, dst: X, sp: 50005, dp: 443 })).subarray(0, 14 + 12)),
  ];
  const cut = pcapRecord({ us: t + 1000, data: new Uint8Array(60) }).subarray(0, 40);
  return cat(pcap(records), cut);
}

const EVERY_FATE: PacketCounts = {
  read: 18,
  kept: 6,
  filtered: { total: 5, lanInternal: 2, blockedPorts: 1, broadcastMulticast: 2 },
  notIPv4: { total: 5, ipv6: 1, arp: 2, other: 2 },
  truncated: 2,
  otherLinkTypes: 0,
  skipped: 0,
  inSecflows: 2,
  keptWithoutSecflow: {
    localOnly: 1,
    otherProtocols: 1,
    fragments: 1,
    small: 1,
    dnsRule4: 0,
    other: 0,
  },
};

/** The parts of `p` that must add up. */
function assertAddsUp(p: PacketCounts): void {
  const w = p.keptWithoutSecflow;
  assert.equal(
    p.kept + p.filtered.total + p.notIPv4.total + p.truncated + p.otherLinkTypes + p.skipped,
    p.read,
    "every packet read is counted once",
  );
  const f = p.filtered, n = p.notIPv4;
  assert.equal(f.lanInternal + f.blockedPorts + f.broadcastMulticast, f.total);
  assert.equal(n.ipv6 + n.arp + n.other, n.total);
  assert.equal(
    p.inSecflows + w.localOnly + w.otherProtocols + w.fragments + w.small + w.dnsRule4 + w.other,
    p.kept,
  );
}

Deno.test("packet counts: every packet read is counted once, by what happened to it", async () => {
  const r = await convertCapture(() => [everyFate()], "every.pcap", { fileName: "e.sf" });
  assert.deepEqual(r.packets, EVERY_FATE);
  assertAddsUp(r.packets);
  // inSecflows is what the Secflows hold.
  const inFlashes = r.sample!.flashes.reduce((n, f) => n + f.srcPkts + f.dstPkts, 0);
  assert.equal(inFlashes, r.packets.inSecflows);
  assert.match(
    r.warnings.join("\n"),
    /capture cut at byte offset \d+: ignored an incomplete record/,
  );
});

Deno.test("packet counts: IPv6 and ARP are told apart on every link layer the converter reads", async () => {
  const v6 = new Uint8Array(40);
  v6[0] = 0x60;
  const arp = new Uint8Array(28);
  const cases: [string, number, Uint8Array, keyof PacketCounts["notIPv4"]][] = [
    ["Ethernet IPv6", 1, ether(v6, 0x86dd), "ipv6"],
    ["802.1Q IPv6", 1, cat(ether(cat([0, 100, 0x86, 0xdd], v6), 0x8100)), "ipv6"],
    ["SLL IPv6", 113, sll(v6, 0x86dd), "ipv6"],
    ["SLL ARP", 113, sll(arp, 0x0806), "arp"],
    ["SLL2 IPv6", 276, sll2(v6, 0x86dd), "ipv6"],
    ["SLL2 ARP", 276, sll2(arp, 0x0806), "arp"],
    ["raw IPv6", 101, v6, "ipv6"],
    ["BSD null IPv6 (AF 24)", 0, bsdNull(v6, true, 24), "ipv6"],
    ["BSD null IPv6 (AF 30, big-endian)", 0, bsdNull(v6, false, 30), "ipv6"],
    ["OpenBSD loopback IPv6", 108, loop(v6, 24), "ipv6"],
    ["BSD null, another family", 0, bsdNull(v6, true, 7), "other"],
  ];
  for (const [name, linkType, frame, kind] of cases) {
    const { packets } = await analyzeCapture(
      () => [pcap([{ us: T0, data: frame }], { linkType })],
      "x.pcap",
    );
    assert.equal(packets.notIPv4.total, 1, name);
    assert.equal(packets.notIPv4[kind], 1, `${name}: ${JSON.stringify(packets.notIPv4)}`);
  }
});

Deno.test("packet counts: link types not read and pcapng blocks skipped are counted; 1 packet, not 1 packets", async () => {
  const other = await analyzeCapture(
    () => [pcap([{ us: T0, data: new Uint8Array(50) }], { linkType: 195 })],
    "zigbee.pcap",
  );
  assert.equal(other.packets.read, 1);
  assert.equal(other.packets.otherLinkTypes, 1);
  assertAddsUp(other.packets);
  assert.deepEqual(other.warnings, [
    "zigbee.pcap: skipped 1 packet of link type 195, which the converter does not read",
  ]);
  // A Simple Packet Block (no timestamp) and a block naming an interface nobody described.
  const ng = pcapng([{
    interfaces: [{ linkType: 1 }],
    blocks: [
      { kind: "epb", iface: 0, ts: BigInt(T0), data: ether(udp({ src: L, dst: X, sp: 1, dp: 2 })) },
      { kind: "raw", type: 3, body: cat([0, 0, 0, 14], new Uint8Array(16)) },
      { kind: "epb", iface: 5, ts: BigInt(T0), data: ether(udp({ src: L, dst: X, sp: 1, dp: 2 })) },
    ],
  }]);
  const skipped = await analyzeCapture(() => [ng], "s.pcapng");
  assert.equal(skipped.packets.read, 3);
  assert.equal(skipped.packets.skipped, 2);
  assert.equal(skipped.packets.kept, 1);
  assertAddsUp(skipped.packets);
});

Deno.test("packet counts: DNS between private addresses dropped by rule 4 says so", async () => {
  // The capture shows a local lookup (an A answer in 10/8), so rule 4 drops DNS between
  // private addresses.
  const dns = ether(
    dnsA({ server: "10.0.0.1", client: L, qname: "intranet.example", addrs: ["10.1.2.3"] }),
  );
  const { packets } = await analyzeCapture(() => [pcap([{ us: T0, data: dns }])], "d.pcap");
  assert.equal(packets.keptWithoutSecflow.dnsRule4, 1, JSON.stringify(packets));
  assertAddsUp(packets);
});

Deno.test("convert and stats: the summary says where every packet went, and why none made a Secflow", async () => {
  await withTempDir(async (dir) => {
    const every = join(dir, "every.pcap");
    await Deno.writeFile(every, everyFate());
    const c = await runCli(["convert", every, "-o", join(dir, "every.sf")]);
    assert.equal(c.code, 0, c.stderr);
    const expected = "18 packets (6 kept; 5 filtered: 2 LAN-internal, 1 blocked port, " +
      "2 broadcast/multicast; 5 not IPv4: 1 IPv6, 2 ARP, 2 other; 2 truncated)";
    assert.ok(c.stderr.includes(`every.sf: 1 Secflow from ${expected}; named`), c.stderr);
    const s = await runCli(["stats", every]);
    assert.equal(s.code, 0, s.stderr);
    const out = decoder.decode(s.stdout);
    assert.ok(out.startsWith(`capture    ${every}: ${expected}\nSecflows   1\n`), out);
    // Every session between local addresses: kept packets, no Secflow, and the reason.
    const local = join(dir, "local.pcap");
    await Deno.writeFile(
      local,
      pcap([
        { us: T0, data: ether(tcp({ src: A, dst: B, sp: 50000, dp: 8080, payload: 10 })) },
        { us: T0 + 1, data: ether(tcp({ src: B, dst: A, sp: 8080, dp: 50000, payload: 10 })) },
        { us: T0 + 2, data: ether(icmp({ src: A, dst: B }).subarray(0, 20)) },
      ]),
    );
    const n = await runCli(["convert", local, "-o", join(dir, "local.sf")]);
    assert.equal(n.code, 1, n.stderr);
    assert.equal(
      n.stderr,
      `${local}: no Secflows in 3 packets (3 kept; 0 filtered; 0 not IPv4; 0 truncated): ` +
        "kept packets in no Secflow: 2 between local addresses, 1 of 20 IPv4 bytes or less; " +
        "nothing written\n",
    );
    const j = await runCli(["stats", local, "--json"]);
    const json = JSON.parse(decoder.decode(j.stdout));
    assert.deepEqual(json.captures[0].keptWithoutSecflow, {
      localOnly: 2,
      otherProtocols: 0,
      fragments: 0,
      small: 1,
      dnsRule4: 0,
      other: 0,
    });
    await Deno.writeFile(
      local,
      pcap([{ us: T0, data: ether(udp({ src: A, dst: B, sp: 1, dp: 2 })) }]),
    );
    const t = await runCli(["stats", local]);
    assert.match(
      decoder.decode(t.stdout),
      /^capture {4}.*local\.pcap: 1 packet \(1 kept; .*\): every kept packet was between local addresses\n\(no Secflows\)\n$/,
    );
  });
});
