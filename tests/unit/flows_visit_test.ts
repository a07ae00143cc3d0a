/**
 * The fast ways through flows (`visitFlows`: one reused object; `visitFlowViews`: the engine's
 * row itself, whose text fields the ECS writer writes from numbers) against the general one
 * (`readFlows`: an object per flow): the same flows, the same order, the same JSON and ECS bytes,
 * on a capture with every way a flow can end and be named.
 */
import assert from "node:assert/strict";
import { readFlowBatches, readFlows, visitFlows, visitFlowViews } from "../../io/flows.ts";
import { EcsWriter } from "../../secflow/flows/ecs_bytes.ts";
import { flowCells, flowEcs, flowJson } from "../../secflow/flows/format.ts";
import { csvLine } from "../../cli/_format.ts";
import type { Flow, FlowOptions } from "../../secflow/flows/types.ts";
import { cat, dnsA, ether, pcap, qinq, type Rec, T0, tcp, udp } from "../_pcap.ts";
import {
  clientHello,
  ether6,
  gre,
  httpRequest,
  icmpMessage,
  ip4,
  ipv6,
  tcpSegment,
  udpDatagram,
} from "../_flows_pcap.ts";

const SYN = 0x02, SYNACK = 0x12, FINACK = 0x11;
const C = "10.0.0.2", S = "93.184.216.34", W = "151.101.1.69", R = "10.0.0.1";

/** Flows that end in every way, named in every way, as records 1 ms apart unless told. */
function mixedCapture(): Uint8Array {
  const frames: Uint8Array[] = [
    // Named by an earlier answer (settled when it ends), with SNI.
    ether(dnsA({ server: R, client: C, qname: "s.example", addrs: [S] })),
    ether(tcp({ src: C, dst: S, sp: 50000, dp: 443, flags: SYN })),
    ether(tcp({ src: S, dst: C, sp: 443, dp: 50000, flags: SYNACK })),
    ether(tcp({ src: C, dst: S, sp: 50000, dp: 443, payload: clientHello("api.s.example") })),
    ether(tcp({ src: C, dst: S, sp: 50000, dp: 443, flags: FINACK })),
    ether(tcp({ src: S, dst: C, sp: 443, dp: 50000, flags: FINACK })),
    // Named only by a later answer (waits for the end), with an HTTP Host.
    ether(tcp({ src: C, dst: W, sp: 50001, dp: 80, flags: SYN })),
    ether(tcp({ src: C, dst: W, sp: 50001, dp: 80, payload: httpRequest("w.example") })),
    ether(dnsA({ server: R, client: C, cport: 40001, qname: "w.example", addrs: [W] })),
    // Private DNS answering a private address: a local lookup (its verdict waits for the end).
    ether(dnsA({
      server: "192.168.1.1",
      client: "192.168.1.5",
      qname: "nas.lan",
      addrs: [
        "192.168.1.50",
      ],
    })),
    // IPv6, ICMP echo and its reply, a GRE tunnel's carrier and inner flow, QinQ.
    ether6(ipv6({ src: "2001:db8::10", dst: "2001:db8:1::20", next: 6, body: tcpSegment(1, 2) })),
    ether(ip4(C, S, 1, icmpMessage(8))),
    ether(ip4(S, C, 1, icmpMessage(0))),
    ether(ip4(C, S, 47, gre(0x0800, ip4("10.9.9.9", S, 17, udpDatagram(1000, 2000))))),
    qinq(udp({ src: C, dst: S, sp: 5353, dp: 9999, payload: 30 })),
  ];
  const recs: Rec[] = frames.map((data, i) => ({ us: T0 + i * 1000, data }));
  // A flow that goes idle for longer than the UDP timeout ends while the capture is read; one
  // new flow after it is still open at the end.
  recs.push({
    us: T0 + 20_000,
    data: ether(udp({ src: C, dst: S, sp: 6000, dp: 123, payload: 48 })),
  });
  recs.push({
    us: T0 + 90e6,
    data: ether(udp({ src: C, dst: W, sp: 6001, dp: 123, payload: 48 })),
  });
  recs.push({
    us: T0 + 90e6 + 5,
    data: ether(udp({ src: W, dst: C, sp: 123, dp: 6001, payload: 48 })),
  });
  return pcap(recs);
}

async function withCapture(bytes: Uint8Array, run: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/mixed.pcap`, bytes);
    await run(`${dir}/mixed.pcap`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function objects(path: string, options: FlowOptions = {}): Promise<Flow[]> {
  const flows: Flow[] = [];
  for await (const f of readFlows(path, options)) flows.push(f);
  return flows;
}

Deno.test("visitFlows reads, through one reused object, every flow readFlows gives, in its order", async () => {
  await withCapture(mixedCapture(), async (path) => {
    const general = await objects(path);
    const seen = new Set<Flow>();
    const visited: string[] = [];
    const summary = await visitFlows(path, (f) => {
      seen.add(f);
      visited.push(JSON.stringify(f));
    });
    assert.equal(seen.size, 1, "one object for every flow");
    assert.equal(summary.flows, general.length);
    assert.deepEqual(visited, general.map((f) => JSON.stringify(f)));
    // Every way of ending and naming is in the capture (the test would prove little otherwise).
    const byDst = (ip: string, port: number) =>
      general.find((f) => f.dstIp === ip && f.dstPort === port)!;
    assert.deepEqual(byDst(S, 443).names.map((n) => n.source), ["dns", "sni"]);
    assert.deepEqual(byDst(W, 80).names.map((n) => `${n.source} ${n.name}`), [
      "dns w.example",
      "http w.example",
    ]);
    assert.equal(byDst("192.168.1.1", 53).sample, "local-dns");
    assert.equal(general.filter((f) => f.dstPort === 123).length, 2);
    assert.ok(general.some((f) => f.tunnel.length === 1));
    assert.ok(general.some((f) => f.vlans.length === 2));
    assert.ok(general.some((f) => f.ipVersion === 6));
    // The byte writer over the reused object writes what flowEcs writes for the objects.
    const expected = general.map((f) => flowEcs(f) + "\n").join("");
    const ecsOf = async (each: typeof visitFlows) => {
      const parts: Uint8Array[] = [];
      const writer = new EcsWriter((b) => parts.push(b.slice()), 256);
      await each(path, (f) => writer.write(f));
      writer.flush();
      return new TextDecoder().decode(cat(...parts));
    };
    assert.equal(await ecsOf(visitFlows), expected);
    // The engine's rows: the writer writes their times, addresses, Community IDs and Secflow ends
    // from numbers (a buffer of 256 bytes cuts lines across flushes), JSON reads their getters.
    assert.equal(await ecsOf(visitFlowViews), expected);
    const views: string[] = [], lines: string[] = [];
    await visitFlowViews(path, (f) => {
      views.push(JSON.stringify(f));
      lines.push(flowJson(f));
    });
    assert.deepEqual(views, general.map((f) => JSON.stringify(f)));
    assert.deepEqual(lines, general.map(flowJson));
  });
});

Deno.test("flows at the end come in start order; private DNS with local lookups is local-dns however read", async () => {
  await withCapture(mixedCapture(), async (path) => {
    const atEnd = await objects(path, { streaming: false });
    const streamed = await objects(path, { streaming: true });
    assert.deepEqual(atEnd.map((f) => f.start), streamed.map((f) => f.start).sort((a, b) => a - b));
    const line = (f: Flow) => JSON.stringify(f);
    assert.deepEqual(atEnd.map(line).sort(), streamed.map(line).sort());
    // The GRE carrier and the flow it carries start with the same packet: carrier first.
    const gre = atEnd.findIndex((f) => f.protocol === 47);
    assert.equal(atEnd[gre + 1].tunnel[0]?.kind, "gre");
    const dns = atEnd.find((f) => f.srcIp === "192.168.1.5" || f.dstIp === "192.168.1.5")!;
    assert.equal(dns.sample, "local-dns");
  });
});

Deno.test("the end of a capture comes in batches of at most 256, flows that waited for it included", async () => {
  // 1,000 flows to an address no DNS answer names: each waits for the end of the capture.
  const recs: Rec[] = [];
  for (let i = 0; i < 1000; i++) {
    const src = `10.0.${i >> 8}.${i & 255}`;
    recs.push({ us: T0 + i, data: ether(udp({ src, dst: S, sp: 40000, dp: 443, payload: 30 })) });
  }
  await withCapture(pcap(recs), async (path) => {
    for (const streaming of [true, false]) {
      const sizes: number[] = [];
      for await (const batch of readFlowBatches(path, { streaming })) sizes.push(batch.length);
      assert.equal(sizes.reduce((a, b) => a + b, 0), 1000);
      assert.ok(Math.max(...sizes) <= 256, `streaming ${streaming}: batches of ${sizes}`);
    }
  });
});

Deno.test("view --flows --json and --csv of more flows than one write holds: whole, in order", async () => {
  const { flowsView } = await import("../../cli/_flows_view.ts");
  const recs: Rec[] = [];
  for (let i = 0; i < 5000; i++) {
    const src = `10.0.${i >> 8}.${i & 255}`;
    recs.push({ us: T0 + i, data: ether(udp({ src, dst: S, sp: 40000, dp: 443, payload: 30 })) });
  }
  await withCapture(pcap(recs), async (path) => {
    const run = async (o: { json?: boolean; csv?: boolean }) => {
      const out: string[] = [];
      await flowsView([path], { ...o, quiet: true }, { out: (l) => out.push(l), err: () => {} });
      return out.join("\n");
    };
    const expected = await objects(path, { streaming: false });
    const json = JSON.parse(await run({ json: true }));
    assert.deepEqual(json, JSON.parse(JSON.stringify(expected)));
    const csv = (await run({ csv: true })).split("\n");
    assert.equal(csv.length, 5001);
    assert.deepEqual(csv.slice(1), expected.map((f) => csvLine(flowCells(f))));
  });
  await withCapture(pcap([]), async (path) => {
    const out: string[] = [];
    await flowsView([path], { json: true, quiet: true }, {
      out: (l) => out.push(l),
      err: () => {},
    });
    assert.deepEqual(out, ["[]"]);
  });
});
