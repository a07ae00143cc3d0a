/**
 * The one-pass engine against the platform's three passes (SECFLOW.md section 3): random captures
 * built so that TCP packets meet UDP sessions created later in the file, by their source key and
 * by their destination key, with long flows whose packets change sessions midway; hand-built
 * cases of each ordering; and the public conformance captures, each compared with its own
 * UDP-then-TCP-then-ICMP reordering. Every conversion reads its input once.
 */
import assert from "node:assert/strict";
import { analyzeBytes, convertBytes, icmp, pcapOf, type Pkt, T0, tcp, udp } from "./_pcap.ts";
import { model, type ModelPkt } from "./_model.ts";
import { conformanceCases, haveConformance } from "./_shared.ts";
import { CaptureReader } from "../secflow/capture_reader.ts";
import { PacketDecoder } from "../secflow/decode.ts";
import { FlowEngine } from "../secflow/engine.ts";
import { prng } from "../bench/synthetic.ts";

const at = (s: number) => T0 + Math.round(s * 1e6);

function toPkt(p: ModelPkt): Pkt {
  const ip = p.proto === 1
    ? icmp({ src: p.src, dst: p.dst })
    : (p.proto === 6 ? tcp : udp)({ src: p.src, dst: p.dst, sp: p.sp, dp: p.dp, payload: p.bytes });
  return { us: p.us, ip };
}

/** Orderings the random captures must hit, counted over the model's own passes. */
interface Coverage {
  /** A TCP packet whose source endpoint becomes a UDP session key later in the file. */
  laterUdpSource: number;
  /** A TCP packet whose destination endpoint becomes a UDP session key later in the file. */
  laterUdpDestination: number;
}

function coverage(pkts: ModelPkt[], cov: Coverage): void {
  // UDP keys with the file position of the packet that created them (a literal UDP pass; the
  // captures below avoid the filters, so every packet is kept).
  const created = new Map<string, number>();
  pkts.forEach((p, i) => {
    if (p.proto !== 17) return;
    const a = `${p.src}:${p.sp}`, b = `${p.dst}:${p.dp}`;
    if (created.has(a) || created.has(b)) return;
    const local = (ip: string) => ip.startsWith("10.");
    const sl = local(p.src), dl = local(p.dst);
    if (sl && dl) return;
    let sourceIsS: boolean;
    if (sl) {
      if (p.sp > 49151) sourceIsS = true;
      else if (p.dp > 49151) sourceIsS = false;
      else if (p.dp < 1024) sourceIsS = true;
      else sourceIsS = !(p.dp > p.sp);
    } else sourceIsS = !(p.dp > p.sp);
    created.set(sourceIsS ? a : b, i);
  });
  pkts.forEach((p, i) => {
    if (p.proto !== 6) return;
    if ((created.get(`${p.src}:${p.sp}`) ?? -1) > i) cov.laterUdpSource++;
    if ((created.get(`${p.dst}:${p.dp}`) ?? -1) > i) cov.laterUdpDestination++;
  });
}

/**
 * A random capture over a few endpoints shared by TCP and UDP: mostly TCP first and UDP later,
 * flows of several packets in both directions, interleaved.
 */
function randomCapture(seed: number): ModelPkt[] {
  const r = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const hosts = ["10.0.0.5", "10.0.0.6", "5.5.5.5", "6.6.6.6", "7.7.7.7"];
  const ports = [80, 443, 1000, 2000, 3000, 50000, 50001, 60000];
  const endpoints = Array.from({ length: 3 + Math.floor(r() * 6) }, () => ({
    ip: pick(hosts),
    port: pick(ports),
  }));
  const pairs = Array.from({ length: 2 + Math.floor(r() * 6) }, () => {
    const a = pick(endpoints);
    let b = pick(endpoints);
    if (b.ip === a.ip) b = { ip: hosts[(hosts.indexOf(a.ip) + 2) % hosts.length], port: b.port };
    return { a, b };
  });
  const n = 5 + Math.floor(r() * 40);
  const out: ModelPkt[] = [];
  for (let i = 0; i < n; i++) {
    const { a, b } = pick(pairs);
    const [s, d] = r() < 0.5 ? [a, b] : [b, a];
    // TCP is likelier early, UDP late: that is where the one-pass order differs from the passes.
    const tcpChance = i < n / 2 ? 0.8 : 0.3;
    const proto = r() < 0.05 ? 1 : r() < tcpChance ? 6 : 17;
    out.push({
      us: at(i / 10 + Math.floor(r() * 3) / 100),
      proto,
      src: s.ip,
      dst: d.ip,
      sp: proto === 1 ? 0 : s.port,
      dp: proto === 1 ? 0 : d.port,
      bytes: proto === 1 ? 0 : Math.floor(r() * 200),
    });
  }
  return out;
}

Deno.test("one pass: random TCP/UDP orderings agree with the three-pass model, in one read", async () => {
  const cov: Coverage = { laterUdpSource: 0, laterUdpDestination: 0 };
  for (let seed = 1; seed <= 400; seed++) {
    const mp = randomCapture(seed);
    coverage(mp, cov);
    const bytes = pcapOf(mp.map(toPkt));
    const got = await convertBytes(bytes);
    const want = model(mp);
    assert.equal(got?.trafficDate, want?.trafficDate, `seed ${seed}`);
    assert.deepEqual(got?.flashes ?? [], want?.flashes ?? [], `seed ${seed}`);
    assert.equal((await analyzeBytes(bytes)).reads, 1);
  }
  // The captures really exercise both orderings, many times.
  assert.ok(cov.laterUdpSource > 100, `later UDP source keys: ${cov.laterUdpSource}`);
  assert.ok(
    cov.laterUdpDestination > 100,
    `later UDP destination keys: ${cov.laterUdpDestination}`,
  );
});

/** Feeds records to a fresh engine: its deferred state at the end of the input, its analysis. */
function run(packets: Pkt[]) {
  const engine = new FlowEngine();
  const reader = new CaptureReader(engine, "t.pcap");
  reader.push(pcapOf(packets));
  reader.end();
  const deferred = engine.deferred;
  return { deferred, analysis: engine.finish() };
}

const E1 = "5.5.5.5", E2 = "6.6.6.6", E3 = "7.7.7.7", E9 = "9.9.9.9";
/**
 * A TCP flow E1:1000 → E2:2000 (both external, so keyed E2:2000) whose later packets move to a
 * session keyed E1:1000 once a new pair creates it; optionally a UDP packet at the end creates
 * E3:500 first, which changes that pair's fate and so the flow's.
 */
function splitFlow(withUdp: boolean): ModelPkt[] {
  const t = (proto: 6 | 17, s: number, src: string, sp: number, dst: string, dp: number) => ({
    us: at(s),
    proto,
    src,
    dst,
    sp,
    dp,
    bytes: 10 * (s + 1),
  });
  return [
    t(6, 0, E1, 1000, E2, 2000),
    t(6, 1, E1, 1000, E2, 2000),
    t(6, 2, E1, 1000, E3, 500), // new pair: would create E1:1000 (dp < sp)
    t(6, 3, E1, 1000, E2, 2000), // joins E1:1000 by key A, if it exists
    t(6, 4, E2, 2000, E1, 1000),
    ...(withUdp ? [t(17, 5, E3, 500, E9, 400)] : []), // a UDP session keyed E3:500
  ];
}

Deno.test("one pass: a flow that changes sessions midway is split, and a later UDP key moves the split", async () => {
  for (const withUdp of [false, true]) {
    const mp = splitFlow(withUdp);
    const { deferred } = run(mp.map(toPkt));
    assert.ok(deferred.segments >= 1, "the flow was cut into segments");
    const got = await convertBytes(pcapOf(mp.map(toPkt)));
    assert.deepEqual(got?.flashes, model(mp)?.flashes, `withUdp ${withUdp}`);
  }
  const brief = (f: { src: string; srcPkts: number; dstPkts: number }) =>
    `${f.src} ${f.srcPkts}/${f.dstPkts}`;
  // Without UDP: E2:2000 gets the flow's first two packets (and the reverse one, by key A),
  // E1:1000 the new pair's packet and the flow's third.
  assert.deepEqual((await convertBytes(pcapOf(splitFlow(false).map(toPkt))))?.flashes.map(brief), [
    "6.6.6.6:2000 1/2",
    "5.5.5.5:1000 2/0",
  ]);
  // With UDP first (the platform's order): E3:500 exists, so E1:1000 is never created and every
  // packet of the flow stays with E2:2000.
  assert.deepEqual((await convertBytes(pcapOf(splitFlow(true).map(toPkt))))?.flashes.map(brief), [
    "6.6.6.6:2000 1/3",
    "7.7.7.7:500 1/1",
  ]);
});

Deno.test("one pass: state is per flow, not per packet", () => {
  // 2000 packets on 2 flows: a constant number of flows and segments, whatever the length.
  const pkts: Pkt[] = [];
  for (let i = 0; i < 2000; i++) {
    const out = i % 2 === 0;
    pkts.push({
      us: at(i / 100),
      ip: tcp({
        src: out ? "10.0.0.5" : E1,
        dst: out ? E1 : "10.0.0.5",
        sp: out ? 50000 : 443,
        dp: out ? 443 : 50000,
        payload: 10,
      }),
    });
  }
  const { deferred, analysis } = run(pkts);
  assert.deepEqual(deferred, { endpoints: 2, flows: 2, segments: 0, events: 1 });
  assert.equal(analysis.sessions[0].srcPkts + analysis.sessions[0].dstPkts, 2000);
});

/** The records of a capture file, copied, with their protocol. */
function records(bytes: Uint8Array) {
  const out: { data: Uint8Array; link: number; us: number; proto: number }[] = [];
  const d = new PacketDecoder();
  const reader = new CaptureReader({
    packet(b, off, caplen, _orig, link, us) {
      const proto = d.decode(b, off, caplen, link) === 0 ? d.protocol : -1;
      out.push({ data: b.slice(off, off + caplen), link, us, proto });
    },
  }, "x");
  reader.push(bytes);
  reader.end();
  return out;
}

Deno.test({
  name: "one pass: the public captures convert like their UDP-then-TCP-then-ICMP reordering",
  ignore: !haveConformance,
  async fn() {
    const captures = conformanceCases().filter((c) => /\.pcap(ng)?$/.test(c.input));
    assert.ok(captures.length >= 5);
    for (const c of captures) {
      const bytes = await Deno.readFile(c.input);
      const recs = records(bytes);
      const platformOrder = [17, 6, 1].flatMap((p) => recs.filter((x) => x.proto === p))
        .concat(recs.filter((x) => x.proto !== 17 && x.proto !== 6 && x.proto !== 1));
      const feed = (rs: typeof recs) => {
        const engine = new FlowEngine();
        for (const r of rs) engine.packet(r.data, 0, r.data.length, r.data.length, r.link, r.us);
        const a = engine.finish();
        return { sessions: a.sessions, start: a.startTime, active: [...a.active].sort() };
      };
      assert.deepEqual(feed(recs), feed(platformOrder), c.name);
    }
  },
});

Deno.test("one pass: a long flow interleaved with many new pairs on its endpoint (many segments)", async () => {
  // E1:1000 → E2:2000 is keyed E2:2000; each new pair E1:1000 → Ci:500 is a candidate event for
  // E1:1000 (the first creates it), which cuts the long flow again; a UDP session keyed by the
  // first Ci at the very end changes which pair creates E1:1000.
  for (const withUdp of [false, true]) {
    const mp: ModelPkt[] = [];
    for (let i = 0; i < 800; i++) {
      mp.push({ us: at(i), proto: 6, src: E1, dst: E2, sp: 1000, dp: 2000, bytes: i % 7 });
      const c = `8.8.${i >> 8}.${i & 255}`;
      mp.push({ us: at(i + 0.5), proto: 6, src: E1, dst: c, sp: 1000, dp: 500, bytes: 1 });
    }
    if (withUdp) {
      mp.push({ us: at(900), proto: 17, src: "8.8.0.0", dst: E9, sp: 500, dp: 400, bytes: 3 });
    }
    const { deferred } = run(mp.map(toPkt));
    assert.ok(deferred.segments > 700, `segments: ${deferred.segments}`);
    const got = await convertBytes(pcapOf(mp.map(toPkt)));
    const want = model(mp);
    assert.equal(got?.trafficDate, want?.trafficDate);
    assert.deepEqual(got?.flashes, want?.flashes, `withUdp ${withUdp}`);
  }
});

/**
 * A random capture around busy endpoints: three external hubs, long flows between them that
 * start first (each keyed by its destination hub), then 40-200 new peers per hub, each pair a
 * candidate event keyed by its hub (so a long flow's source hub gets a session midway and its
 * packets change sessions), while the long flows keep sending; the hubs cross the engine's
 * busy-endpoint threshold of 64 flows midway.
 */
function busyCapture(seed: number): ModelPkt[] {
  const r = prng(seed);
  const hubs = [
    { ip: "5.5.5.5", port: 1000 },
    { ip: "6.6.6.6", port: 2000 },
    { ip: "7.7.7.7", port: 3000 },
  ];
  // Lower port to higher: keyed by the destination.
  const long = [[hubs[0], hubs[1]], [hubs[0], hubs[2]], [hubs[1], hubs[2]]];
  const peers: [{ ip: string; port: number }, { ip: string; port: number }][] = [];
  for (const hub of hubs) {
    const n = 40 + Math.floor(r() * 160);
    for (let i = 0; i < n; i++) {
      const peer = { ip: `8.9.${i >> 8}.${i & 255}`, port: 500 + (i % 7) };
      peers.push(r() < 0.5 ? [hub, peer] : [peer, hub]);
    }
  }
  for (let i = peers.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [peers[i], peers[j]] = [peers[j], peers[i]];
  }
  const out: ModelPkt[] = [];
  const pairsOf = new Map<string, number>();
  // Long flows send TCP and UDP alike; a hub's first 70 pairs are TCP, the rest UDP, so the UDP
  // event that gives a hub its session in the platform's UDP pass comes after the threshold.
  const send = (
    src: { ip: string; port: number },
    dst: { ip: string; port: number },
    peer = false,
  ) => {
    let proto: 6 | 17 = r() < 0.5 ? 6 : 17;
    if (peer) {
      const hub = src.ip.startsWith("8.") ? dst.ip : src.ip;
      const k = (pairsOf.get(hub) ?? 0) + 1;
      pairsOf.set(hub, k);
      proto = k <= 70 ? 6 : 17;
    }
    const i = out.length;
    out.push({
      us: at(i / 100),
      proto,
      src: src.ip,
      dst: dst.ip,
      sp: src.port,
      dp: dst.port,
      bytes: Math.floor(r() * 200),
    });
  };
  for (const [a, b] of long) send(a, b);
  let next = 0;
  while (next < peers.length) {
    if (r() < 0.5) {
      const [a, b] = peers[next++];
      send(a, b, true);
    } else {
      const [a, b] = long[Math.floor(r() * long.length)];
      if (r() < 0.7) send(a, b);
      else send(b, a);
    }
  }
  return out;
}

Deno.test("one pass: busy endpoints (flows checked at every packet past 64 flows) agree with the model", async () => {
  for (let seed = 1; seed <= 30; seed++) {
    const mp = busyCapture(seed);
    const got = await convertBytes(pcapOf(mp.map(toPkt)));
    const want = model(mp);
    assert.equal(got?.trafficDate, want?.trafficDate, `seed ${seed}`);
    assert.deepEqual(got?.flashes ?? [], want?.flashes ?? [], `seed ${seed}`);
  }
});

Deno.test("one pass: a live window's session count so far equals the sessions it closes with", () => {
  for (let seed = 1; seed <= 100; seed++) {
    const engine = new FlowEngine({ arrivalOrder: true });
    const reader = new CaptureReader(engine, "live");
    reader.push(pcapOf(randomCapture(seed).map(toPkt)));
    reader.end();
    const soFar = engine.sessionCount;
    assert.equal(soFar, engine.finish().sessions.length, `seed ${seed}`);
  }
});

Deno.test("live order: a packet stamped before the window's first moves trafficDate back (no negative relativeStart)", () => {
  // A clock stepped back 10 s: the second session starts before the first packet.
  const E = "93.184.216.34";
  const packets: Pkt[] = [
    { us: T0, ip: tcp({ src: "10.0.0.5", dst: E, sp: 50000, dp: 443, payload: 10 }) },
    { us: T0 - 10_000_000, ip: tcp({ src: "10.0.0.5", dst: E, sp: 50001, dp: 443, payload: 20 }) },
    { us: T0 + 1_000, ip: tcp({ src: "10.0.0.5", dst: E, sp: 50000, dp: 443, payload: 30 }) },
  ];
  const engine = new FlowEngine({ arrivalOrder: true });
  const reader = new CaptureReader(engine, "live");
  reader.push(pcapOf(packets));
  reader.end();
  const a = engine.finish();
  assert.equal(a.startTime, (T0 - 10_000_000) / 1e6);
  assert.ok(a.sessions.every((s) => s.first >= a.startTime!), JSON.stringify(a.sessions));
  // In order, the first packet's time, as section 6 says.
  const ordered = new FlowEngine({ arrivalOrder: true });
  const r2 = new CaptureReader(ordered, "live");
  r2.push(pcapOf([packets[1], packets[0], packets[2]]));
  r2.end();
  assert.equal(ordered.finish().startTime, (T0 - 10_000_000) / 1e6);
});
