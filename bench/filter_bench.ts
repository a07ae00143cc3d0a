/**
 * The cost of the filters (`cli/_filter.ts`) per record: all five filters at once over 100,000
 * flows (IPv4 and IPv6) and over 100,000 Secflow rows, through the compiled numeric predicate,
 * beside the same filters written the obvious way on the records' text (the way the predicate
 * avoids). `deno bench bench/filter_bench.ts`.
 * @module
 */
import { fillRowAddresses, fillRowKey, filterOf, flowTest, keep } from "../cli/_filter.ts";
import type { SecflowRow } from "../cli/_rows.ts";
import type { Flow } from "../secflow/flows/types.ts";
import { isoTimestamp } from "../cli/_format.ts";

const N = 100_000;
const T0 = 1_700_000_000_000_000;

function flowAt(i: number): Flow {
  const six = i % 4 === 0;
  const srcIp = six
    ? `2001:db8:${(i % 7).toString(16)}::${(i % 900).toString(16)}`
    : `192.168.${i % 3}.${i % 250}`;
  const dstIp = six
    ? `2a00:1450:4001::${(i % 300).toString(16)}`
    : `${13 + (i % 200)}.${i % 256}.7.${i % 254}`;
  const protocol = [6, 17, 6, 1, 58][i % 5];
  const start = T0 + i * 90;
  return {
    start,
    end: start + 5000,
    duration: 5000,
    startTime: isoTimestamp(start / 1e6),
    endTime: "",
    srcIp,
    srcPort: 40000 + (i % 20000),
    dstIp,
    dstPort: [443, 53, 80, 8443][i % 4],
    ipVersion: six ? 6 : 4,
    protocol,
    transport: { 6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp" }[protocol]!,
    srcPackets: 1,
    srcBytes: 1,
    srcIpBytes: 1,
    dstPackets: 1,
    dstBytes: 1,
    dstIpBytes: 1,
    communityId: "",
    vlans: [],
    tunnel: [],
    names: [],
    sample: "kept",
  };
}

const flows = Array.from({ length: N }, (_, i) => flowAt(i));
const rows: SecflowRow[] = flows.filter((f) => f.ipVersion === 4).map((f) => ({
  src: `${f.srcIp}:${f.srcPort}`,
  dst: `${f.dstIp}:${f.dstPort}`,
  nameSource: "original",
  srcPkts: 1,
  srcBytes: 1,
  dstPkts: 1,
  dstBytes: 1,
  start: f.start / 1e6,
  duration: 0.005,
  protocol: f.protocol === 1 ? "ICMP" : "",
  raw: undefined as never,
}));

const VALUES = {
  since: "1700000001",
  until: "2023-11-14T22:13:28Z",
  port: ["443,53,8000-8100"],
  net: ["192.168.1.0/24", "2001:db8::/32", "13.0.0.0/8"],
};
const flowFilter = filterOf({ ...VALUES, proto: ["tcp", "udp"] }, "flows")!;
const secflowFilter = filterOf({ ...VALUES, proto: ["tcp/udp"] }, "Secflows")!;

/** The same filters on text: dates parsed, addresses split, prefixes compared as BigInt. */
function byText(f: Flow): boolean {
  const start = Date.parse(f.startTime.slice(0, 19) + "Z") * 1000 +
    Number(f.startTime.slice(20, 26));
  if (start + f.duration < 1700000001_000000 || start > Date.parse("2023-11-14T22:13:28Z") * 1000) {
    return false;
  }
  if (f.transport !== "tcp" && f.transport !== "udp") return false;
  const port = (p: number) => p === 443 || p === 53 || (p >= 8000 && p <= 8100);
  if (!port(f.srcPort) && !port(f.dstPort)) return false;
  const value = (ip: string) =>
    ip.includes(":")
      ? ip.split("::").map((h) => h.split(":").filter((g) => g !== "")).reduce(
        (n, part, k, all) => {
          const groups = k === 1
            ? [...Array(8 - all[0].length - part.length).fill("0"), ...part]
            : part;
          return groups.reduce((m, g) => m * 65536n + BigInt(`0x${g}`), n);
        },
        0n,
      )
      : ip.split(".").reduce((n, p) => n * 256n + BigInt(p), 0n);
  const nets: [boolean, bigint, number][] = [
    [false, value("192.168.1.0"), 24],
    [true, value("2001:db8::"), 32],
    [false, value("13.0.0.0"), 8],
  ];
  const inAny = (ip: string) =>
    nets.some(([six, net, bits]) =>
      six === ip.includes(":") &&
      value(ip) >> BigInt((six ? 128 : 32) - bits) === net >> BigInt((six ? 128 : 32) - bits)
    );
  return inAny(f.srcIp) || inAny(f.dstIp);
}

const test = flowTest(flowFilter);
let kept = 0;
for (const f of flows) if (test(f) !== byText(f)) throw new Error("the two ways disagree");
for (const f of flows) if (test(f)) kept++;
console.log(`flows kept: ${kept} of ${N}`);

Deno.bench("100k flows, five filters, compiled numeric predicate", {
  group: "flows",
  baseline: true,
}, () => {
  let n = 0;
  for (const f of flows) if (test(f)) n++;
  if (n !== kept) throw new Error("changed");
});

Deno.bench("100k flows, five filters on text (the way avoided)", { group: "flows" }, () => {
  let n = 0;
  for (const f of flows) if (byText(f)) n++;
  if (n !== kept) throw new Error("changed");
});

Deno.bench(`${rows.length / 1000}k Secflow rows, five filters (endpoints read from text)`, () => {
  keep(rows, secflowFilter, fillRowKey, fillRowAddresses);
});
