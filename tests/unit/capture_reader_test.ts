/**
 * The pcap and pcapng readers (SECFLOW.md section 2 "Readers"): byte orders, resolutions,
 * sections, interfaces, packet block kinds, skipped blocks, and chunk-size independence.
 */
import assert from "node:assert/strict";
import { CaptureReader, type PacketSink, timestampMicros } from "../../secflow/capture_reader.ts";
import {
  cat,
  chunks,
  convertBytes,
  convertChunked,
  customBody,
  dnsA,
  ether,
  icmp,
  idb,
  isbBody,
  ngBlock,
  nrbBody,
  packetBlock,
  pcap,
  pcapng,
  pcapRecord,
  type Rec,
  shb,
  sll,
  sll2,
  T0,
  tcp,
  tsUnits,
  udp,
} from "../_pcap.ts";
import type { Sample } from "../../secflow/types.ts";

interface Seen {
  data: number[];
  caplen: number;
  origLen: number;
  linkType: number;
  micros: number;
}

function read(bytes: Uint8Array, chunkSize?: number): { seen: Seen[]; reader: CaptureReader } {
  const seen: Seen[] = [];
  const sink: PacketSink = {
    packet(b, off, caplen, origLen, linkType, micros) {
      seen.push({ data: [...b.subarray(off, off + caplen)], caplen, origLen, linkType, micros });
    },
  };
  const reader = new CaptureReader(sink, "t.cap");
  if (chunkSize === undefined) reader.push(bytes);
  else for (const c of chunks(bytes, chunkSize)) reader.push(c);
  reader.end();
  return { seen, reader };
}

/** A DNS answer naming 93.184.216.34 `example.com` for 10.0.0.5, as an Ethernet frame. */
const DNS_ANSWER = ether(
  dnsA({ server: "8.8.8.8", client: "10.0.0.5", qname: "example.com", addrs: ["93.184.216.34"] }),
);

/** Reading `bytes` in chunks of each of {@link CHUNK_SIZES} gives what `whole` (one push) gave. */
function assertSameInChunks(bytes: Uint8Array, whole: ReturnType<typeof read>): void {
  for (const n of CHUNK_SIZES) {
    const part = read(bytes, n);
    assert.deepEqual(part.seen, whole.seen, `chunk size ${n}`);
    assert.deepEqual(part.reader.warnings, whole.reader.warnings, `chunk size ${n}`);
  }
}

const A = tcp({ src: "10.0.0.5", dst: "93.184.216.34", sp: 50000, dp: 443, payload: 10 });
const B = udp({ src: "10.0.0.5", dst: "8.8.8.8", sp: 50001, dp: 123, payload: 48 });
const C = icmp({ src: "10.0.0.5", dst: "1.1.1.1" });

const RECS: Rec[] = [
  { us: T0 + 1, data: ether(A), ns: 999 },
  { us: T0 + 2_000_123, data: ether(B), ns: 1, origLen: 1500 },
  { us: T0 + 3_999_999, data: ether(C), ns: 500 },
];

function withoutHash(s: Sample | null) {
  return s && { ...s, hash: "" };
}

Deno.test("pcap: both byte orders, micro- and nanosecond magic, give the same records", () => {
  const expected = RECS.map((r) => ({
    data: [...r.data],
    caplen: r.data.length,
    origLen: r.origLen ?? r.data.length,
    linkType: 1,
    micros: r.us,
  }));
  for (const bigEndian of [false, true]) {
    for (const nanos of [false, true]) {
      const { seen, reader } = read(pcap(RECS, { bigEndian, nanos }));
      assert.deepEqual(seen, expected, `bigEndian=${bigEndian} nanos=${nanos}`);
      assert.equal(reader.format, "pcap");
      assert.deepEqual(reader.warnings, []);
      assert.equal(reader.packets, 3);
    }
  }
});

Deno.test("pcap: magic bytes on disk are as the four variants write them", () => {
  const head = (o: { bigEndian?: boolean; nanos?: boolean }) => [...pcap([], o).subarray(0, 4)];
  assert.deepEqual(head({}), [0xd4, 0xc3, 0xb2, 0xa1]);
  assert.deepEqual(head({ bigEndian: true }), [0xa1, 0xb2, 0xc3, 0xd4]);
  assert.deepEqual(head({ nanos: true }), [0x4d, 0x3c, 0xb2, 0xa1]);
  assert.deepEqual(head({ bigEndian: true, nanos: true }), [0xa1, 0xb2, 0x3c, 0x4d]);
});

Deno.test("pcap: nanosecond timestamps are truncated (not rounded) to microseconds", () => {
  const recs: Rec[] = [
    { us: T0 + 999_999, ns: 999, data: ether(A) },
    { us: T0, ns: 0, data: ether(A) },
    { us: T0 + 500_000, ns: 500, data: ether(A) },
  ];
  const { seen } = read(pcap(recs, { nanos: true }));
  assert.deepEqual(seen.map((s) => s.micros), [T0 + 999_999, T0, T0 + 500_000]);
});

Deno.test("pcap: the converter gives the same sample for all four header variants", async () => {
  const recs: Rec[] = [
    { us: T0, data: DNS_ANSWER },
    ...RECS.map((r) => ({ ...r, us: r.us + 10 })),
  ];
  const ref = withoutHash(await convertBytes(pcap(recs)));
  assert.ok(ref && ref.flashes.length === 4);
  for (const bigEndian of [false, true]) {
    for (const nanos of [false, true]) {
      assert.deepEqual(withoutHash(await convertBytes(pcap(recs, { bigEndian, nanos }))), ref);
    }
  }
});

Deno.test("pcap: link-type field upper bits (FCS flags) are ignored", () => {
  const bytes = pcap(RECS.slice(0, 1), { linkType: 1 | 0x10000000 });
  assert.equal(read(bytes).seen[0].linkType, 1);
});

// A pcapng file with two sections (the second big-endian), five interfaces of different link
// types and resolutions, EPBs and obsolete PBs, and NRB/ISB/custom blocks to skip.
const NS = 9, MS = 3, BIN20 = 0x80 | 20;
const NG_EXPECTED: { linkType: number; data: Uint8Array; micros: number }[] = [];
function ngFixture(): Uint8Array {
  NG_EXPECTED.length = 0;
  const p1 = ether(A), p2 = A, p3 = sll(B), p4 = sll2(C), p5 = ether(B);
  const t1 = T0 + 1_000_001, t2 = T0 + 2_000_002, t3 = T0 + 3_000_000, t4 = T0 + 4_000_004;
  const t5 = T0 + 5_123_456;
  // Binary 2^-20 units: the microsecond value is the exact truncation of units * 1e6 / 2^20.
  const u3 = tsUnits(t3, BIN20);
  const m3 = Number((u3 * 1_000_000n) / (1n << 20n));
  NG_EXPECTED.push(
    { linkType: 1, data: p1, micros: t1 },
    { linkType: 101, data: p2, micros: t2 },
    { linkType: 113, data: p3, micros: m3 },
    { linkType: 276, data: p4, micros: t4 },
    { linkType: 1, data: p5, micros: t5 },
    { linkType: 1, data: p1, micros: T0 + 8_000_000 },
  );
  return pcapng([
    {
      interfaces: [{ linkType: 1 }, { linkType: 101, tsresol: NS }, {
        linkType: 113,
        tsresol: BIN20,
      }],
      blocks: [
        { kind: "raw", type: 4, body: nrbBody() },
        { kind: "epb", iface: 0, ts: tsUnits(t1, undefined), data: p1 },
        { kind: "raw", type: 0x00000bad, body: customBody() },
        { kind: "epb", iface: 1, ts: tsUnits(t2, NS, 999), data: p2 },
        { kind: "pb", iface: 2, ts: u3, data: p3 },
        { kind: "raw", type: 5, body: isbBody(0) },
        { kind: "raw", type: 0x40000bad, body: customBody() },
      ],
    },
    {
      bigEndian: true,
      interfaces: [{ linkType: 276, tsresol: NS }, { linkType: 1, tsresol: MS }, { linkType: 1 }],
      blocks: [
        { kind: "epb", iface: 0, ts: tsUnits(t4, NS, 1), data: p4 },
        { kind: "pb", iface: 2, ts: tsUnits(t5, undefined), data: p5 },
        { kind: "raw", type: 5, body: isbBody(1) },
        // milliseconds
        { kind: "epb", iface: 1, ts: BigInt((T0 + 8_000_000) / 1000), data: p1 },
      ],
    },
  ]);
}

Deno.test("pcapng: sections, interfaces, tsresol, EPB and PB, skipped blocks", () => {
  const bytes = ngFixture();
  const { seen, reader } = read(bytes);
  assert.equal(reader.format, "pcapng");
  assert.deepEqual(reader.warnings, []);
  assert.equal(reader.skipped, 0);
  assert.deepEqual(
    seen.map((s) => ({ linkType: s.linkType, data: s.data, micros: s.micros })),
    NG_EXPECTED.map((e) => ({ linkType: e.linkType, data: [...e.data], micros: e.micros })),
  );
});

Deno.test("pcapng: Simple Packet Blocks are skipped with a warning, not silently", () => {
  // An SPB body: the original length, then the packet (no interface id, no timestamp).
  const spb = (data: Uint8Array) => {
    const body = new Uint8Array(4 + data.length);
    new DataView(body.buffer).setUint32(0, data.length, true);
    body.set(data, 4);
    return body;
  };
  const data = ether(A);
  const { seen, reader } = read(pcapng([{
    interfaces: [{ linkType: 1 }],
    blocks: [
      { kind: "raw", type: 3, body: spb(data) },
      { kind: "epb", iface: 0, ts: tsUnits(T0, undefined), data },
      { kind: "raw", type: 3, body: spb(data) },
    ],
  }]));
  assert.equal(seen.length, 1);
  assert.equal(reader.skipped, 2);
  assert.deepEqual(reader.warnings, [
    "t.cap: skipped 2 pcapng Simple Packet Blocks (they carry no timestamp, and a Secflow's " +
    "times come from packets')",
  ]);
});

Deno.test("pcapng: interface ids restart in each section", () => {
  // Section 2 has its own interface 0 (SLL2); a packet on it must not use section 1's Ethernet.
  const { seen } = read(ngFixture());
  assert.equal(seen[3].linkType, 276);
});

Deno.test("timestampMicros is exact for 10^-6, 10^-9 and 2^-n units, large values too", () => {
  const us = 1_799_999_999_999_999; // near the top of realistic times
  for (
    const [res, extra] of [[undefined, 0], [NS, 999], [NS, 0], [BIN20, 0], [0x80 | 30, 0]] as const
  ) {
    const units = tsUnits(us, res, extra);
    const perSecond = res === undefined
      ? 1_000_000n
      : res & 0x80
      ? 1n << BigInt(res & 0x7f)
      : 10n ** BigInt(res);
    const expected = Number((units * 1_000_000n) / perSecond);
    const got = timestampMicros(
      Number(units >> 32n),
      Number(units & 0xffffffffn),
      Number(perSecond),
    );
    assert.equal(got, expected, `tsresol ${res}`);
    if (res === NS || res === undefined) assert.equal(got, us);
  }
  // 10^-9 with nanoseconds just below the next microsecond: truncation.
  const u = BigInt(T0) * 1000n + 999n;
  assert.equal(timestampMicros(Number(u >> 32n), Number(u & 0xffffffffn), 1e9), T0);
});

Deno.test("pcapng: a packet block naming an undescribed interface is skipped with a warning", () => {
  const bytes = pcapng([{
    interfaces: [{ linkType: 1 }],
    blocks: [
      { kind: "epb", iface: 3, ts: 5n, data: ether(A) },
      { kind: "epb", iface: 0, ts: 6n, data: ether(A) },
    ],
  }]);
  const { seen, reader } = read(bytes);
  assert.equal(seen.length, 1);
  assert.equal(reader.skipped, 1);
  assert.equal(reader.warnings.length, 1);
  assert.match(reader.warnings[0], /interface 3/);
});

Deno.test("pcapng: a block of a skipped type with an odd body is stepped over by its length", () => {
  const odd = ngBlock(0x12345678, Uint8Array.from([1, 2, 3, 4, 5, 6, 7]));
  const bytes = cat(
    shb(),
    odd,
    idb({ linkType: 1 }),
    packetBlock("epb", 0, 1n, ether(A)),
  );
  const { seen, reader } = read(bytes);
  assert.equal(seen.length, 1);
  assert.deepEqual(reader.warnings, []);
});

const CHUNK_SIZES = [1, 2, 3, 7, 64, 4096];

Deno.test("readers: the same file fed in chunks of 1, 2, 3, 7, 64, 4096 bytes reads identically", () => {
  const files = [
    pcap(RECS),
    pcap(RECS, { bigEndian: true, nanos: true }),
    ngFixture(),
  ];
  for (const bytes of files) {
    const whole = read(bytes);
    for (const n of CHUNK_SIZES) {
      const part = read(bytes, n);
      assert.deepEqual(part.seen, whole.seen, `chunk size ${n}`);
      assert.deepEqual(part.reader.warnings, whole.reader.warnings);
      assert.equal(part.reader.offset, bytes.length);
    }
  }
});

Deno.test("readers: chunked conversion gives the identical sample", async () => {
  const packets: Rec[] = [];
  for (let i = 0; i < 20; i++) {
    packets.push({ us: T0 + i * 1000, data: ether(i % 3 === 0 ? A : i % 3 === 1 ? B : C) });
  }
  packets.push({ us: T0 + 50, data: DNS_ANSWER });
  for (
    const bytes of [pcap(packets), pcap(packets, { nanos: true, bigEndian: true }), ngFixture()]
  ) {
    const ref = withoutHash(await convertBytes(bytes));
    assert.ok(ref && ref.flashes.length > 0);
    for (const n of CHUNK_SIZES) {
      assert.deepEqual(withoutHash(await convertChunked(bytes, n)), ref, `chunk size ${n}`);
    }
  }
});

Deno.test("readers: a cut record gives the same warning and packets at any chunk size", () => {
  for (const bytes of [pcap(RECS), ngFixture()]) {
    const cut = bytes.subarray(0, bytes.length - 5);
    const whole = read(cut);
    assert.equal(whole.reader.warnings.length, 1);
    assert.match(whole.reader.warnings[0], /byte offset \d+/);
    assertSameInChunks(cut, whole);
  }
});

Deno.test("readers: an absurd record or block length stops reading the same way at any chunk size", () => {
  const absurdPcap = cat(
    pcap(RECS),
    pcapRecord({ us: T0, data: new Uint8Array(0) }, {}, 0xfffffff0),
    new Uint8Array(40),
  );
  const good = ngFixture();
  const absurdNg = cat(good, ngBlock(6, new Uint8Array(40), false, 0x7ffffff0), new Uint8Array(40));
  for (
    const [bytes, offset] of [[absurdPcap, pcap(RECS).length], [absurdNg, good.length]] as const
  ) {
    const whole = read(bytes);
    assert.equal(whole.reader.stopped, true);
    assert.equal(whole.reader.warnings.length, 1);
    assert.match(whole.reader.warnings[0], new RegExp(`^t\\.cap: .*byte offset ${offset}\\b`));
    assertSameInChunks(bytes, whole);
  }
});

Deno.test("readers: a large legitimate record (256 KiB) is read whole at any chunk size", () => {
  const big = ether(
    udp({ src: "10.0.0.5", dst: "8.8.8.8", sp: 50000, dp: 9, payload: 262_000 - 42 }),
  );
  const bytes = pcap([{ us: T0, data: big }, ...RECS]);
  for (const n of [7, 4096, 1 << 20]) {
    const { seen, reader } = read(bytes, n);
    assert.equal(seen.length, 4);
    assert.equal(seen[0].caplen, big.length);
    assert.deepEqual(reader.warnings, []);
  }
});

Deno.test("readers: the first bytes decide; not-a-capture is an error naming the file", () => {
  for (
    const [bytes, what] of [
      [
        new TextEncoder().encode("#separator \\x09\n#fields ts"),
        /not a pcap or pcapng capture.*text/,
      ],
      [
        Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]),
        /not a pcap or pcapng capture.*bytes 1f 8b/,
      ],
      [new Uint8Array(0), /empty/],
      [Uint8Array.from([0xd4, 0xc3]), /too short/],
    ] as const
  ) {
    assert.throws(() => read(bytes), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /^t\.cap: /);
      assert.match(e.message, what);
      return true;
    });
  }
});
