/**
 * The byte writer of `--ecs` (secflow/flows/ecs_bytes.ts) against the string path it replaces
 * (`flowEcs`): every shape of flow, including text that needs escaping or is not ASCII, numbers
 * that are not safe integers, and a buffer small enough that lines are cut across flushes.
 */
import assert from "node:assert/strict";
import { EcsWriter } from "../../secflow/flows/ecs_bytes.ts";
import { flowEcs, flowJson } from "../../secflow/flows/format.ts";
import {
  isoMicros,
  isoMicrosCached,
  putInteger,
  putIpv4,
  putIsoMicros,
} from "../../secflow/flows/text.ts";
import { ipToString } from "../../secflow/net.ts";
import { type Flow, FLOW_KEYS, type FlowName } from "../../secflow/flows/types.ts";

const base: Flow = {
  start: 1700000000123456,
  end: 1700000003000001,
  duration: 2876545,
  startTime: "2023-11-14T22:13:20.123456Z",
  endTime: "2023-11-14T22:13:23.000001Z",
  srcIp: "10.0.0.2",
  srcPort: 50000,
  dstIp: "93.184.216.34",
  dstPort: 443,
  ipVersion: 4,
  protocol: 6,
  transport: "tcp",
  srcPackets: 12,
  srcBytes: 517,
  srcIpBytes: 1200,
  dstPackets: 10,
  dstBytes: 4000,
  dstIpBytes: 4600,
  communityId: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
  vlans: [],
  tunnel: [],
  names: [],
  sample: "kept",
  secflow: undefined,
  tcpFlags: { syn: true, fin: true, rst: false },
  uid: undefined,
  fragments: undefined,
};

const shapes: Flow[] = [
  base,
  { ...base, secflow: { src: "10.0.0.2:50000", dst: "93.184.216.34:443" } },
  {
    ...base,
    names: [
      { name: "example.com", source: "dns" },
      { name: "www.example.com", source: "sni" },
      { name: "[2001:db8::1]:8080", source: "http" },
    ],
  },
  { ...base, names: [{ name: "host.example:8080", source: "http" }] },
  // Names of another shape than the engine's \`{ name, source }\` (keys reordered, one more key):
  // written as JSON.stringify writes them, not by the writer's own loop.
  { ...base, names: [{ source: "dns", name: "a.example" } as FlowName] },
  {
    ...base,
    names: [{ name: "b.example", source: "sni" }, { name: "c", source: "dns", ttl: 5 } as FlowName],
  },
  { ...base, names: [{ name: 'évil"\\\u0001\u007f\u{1f600}', source: "sni" }] },
  { ...base, srcIp: '1.2.3.4","x":"y', dstIp: "5.6.7.8\\", communityId: '1:a"b' },
  { ...base, communityId: "", vlans: [10] },
  { ...base, vlans: [10, 4095] },
  {
    ...base,
    protocol: 47,
    transport: "gre",
    srcPort: 0,
    dstPort: 0,
    tunnel: [{ kind: "gre", src: "10.0.0.1", dst: "10.0.0.9" }, {
      kind: "vxlan",
      src: "",
      dst: "",
      id: 42,
    }],
  },
  {
    ...base,
    ipVersion: 6,
    srcIp: "2001:db8::1",
    dstIp: "2001:db8::2",
    protocol: 58,
    transport: "icmp",
  },
  { ...base, duration: 0.5, srcBytes: 2 ** 60, dstBytes: -3, uid: "CHhAvVGS1DHFjwGM9" },
  { ...base, duration: 0, srcPackets: 0, dstPackets: 0, sample: "local-only" },
];

Deno.test("--ecs as bytes: every shape of flow gives exactly flowEcs's line, across flushes", () => {
  const expected = new TextEncoder().encode(shapes.map((f) => flowEcs(f) + "\n").join(""));
  for (const size of [1 << 20, 7, 64]) {
    const parts: Uint8Array[] = [];
    const writer = new EcsWriter((b) => parts.push(b.slice()), size);
    for (const f of shapes) writer.write(f);
    writer.flush();
    const got = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      got.set(p, at);
      at += p.length;
    }
    assert.equal(new TextDecoder().decode(got), new TextDecoder().decode(expected), `size ${size}`);
    assert.deepEqual(got, expected);
    if (size < 100) assert.ok(parts.length > shapes.length, "lines cut across flushes");
  }
});

Deno.test("flow times: the minute-cached ISO text equals the full computation, in any order", () => {
  const points: number[] = [];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 20000; i++) {
    const base = [1700000000e6, 0, -1e6, 253402300799e6, -62167219200e6][Math.floor(i / 4000)];
    points.push(base + Math.floor((next() - 0.5) * 600e6));
  }
  points.push(253402300800e6, -62167219201e6, 59999999, 60000000, Infinity, NaN);
  for (const us of points) assert.equal(isoMicrosCached(us), isoMicros(us), `${us}`);
  // The same text written as bytes (the ECS writer's way for the engine's rows).
  const buf = new Uint8Array(64);
  for (const us of points) {
    const end = putIsoMicros(us, buf, 3);
    assert.equal(new TextDecoder().decode(buf.subarray(3, end)), isoMicros(us), `${us}`);
  }
});

Deno.test("addresses and integers written as bytes equal their text", () => {
  const buf = new Uint8Array(32);
  const text = (end: number) => new TextDecoder().decode(buf.subarray(1, end));
  for (const ip of [0, 1, 9, 10, 99, 100, 255, 0x0a000002, 0xc0a80101, 0xffffffff, 0x01020304]) {
    assert.equal(text(putIpv4(ip, buf, 1)), ipToString(ip));
  }
  for (let i = 0; i < 2000; i++) {
    const ip = (i * 2654435761) >>> 0;
    assert.equal(text(putIpv4(ip, buf, 1)), ipToString(ip));
  }
  for (const n of [0, 1, 9, 10, 99, 100, 443, 1023, 49151, 65535, 2 ** 31 - 1, 2 ** 53 - 1]) {
    assert.equal(text(putInteger(n, buf, 1)), String(n));
  }
});

Deno.test("--ndjson: a flow's keys in FLOW_KEYS order, then tcpFlags, fragments and uid; absent ones left out", () => {
  const full: Flow = {
    ...base,
    secflow: { src: "10.0.0.2:50000", dst: "93.184.216.34:443" },
    fragments: 2,
    uid: "C1",
  };
  assert.deepEqual(Object.keys(JSON.parse(flowJson(full))), [
    ...FLOW_KEYS,
    "tcpFlags",
    "fragments",
    "uid",
  ]);
  const bare: Flow = { ...base, tcpFlags: undefined };
  assert.deepEqual(
    Object.keys(JSON.parse(flowJson(bare))),
    FLOW_KEYS.filter((k) => k !== "secflow"),
  );
  // Read by name, not by key: the same text as the object itself gives (undefined dropped).
  assert.equal(
    flowJson(full),
    JSON.stringify(full, [
      ...FLOW_KEYS,
      "tcpFlags",
      "syn",
      "fin",
      "rst",
      "src",
      "dst",
      "fragments",
      "uid",
    ]),
  );
});
