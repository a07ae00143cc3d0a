/**
 * The `.sf` format (SECFLOW.md section 1): number formatting, the writer byte for byte, the
 * validating reader, and sample assembly.
 */
import assert from "node:assert/strict";
import { microsToSeconds, pyFloat, round6 } from "../../secflow/format.ts";
import {
  buildSample,
  formatSample,
  parseSample,
  sampleChunks,
  SampleError,
  validateSample,
} from "../../secflow/sample.ts";
import type { Flash, Sample } from "../../secflow/types.ts";
import type { SessionRecord } from "../../secflow/session.ts";
import { parseIPv4 } from "../../secflow/net.ts";

Deno.test("pyFloat writes floats as Python's repr does", () => {
  const cases: [number, string][] = [
    [1700000003, "1700000003.0"],
    [0, "0.0"],
    [-0, "-0.0"],
    [1e-6, "1e-06"],
    [1e-5, "1e-05"],
    [1.5e-5, "1.5e-05"],
    [0.0001, "0.0001"],
    [0.1, "0.1"],
    [0.1 + 0.2, "0.30000000000000004"],
    [12.5, "12.5"],
    [1617652286.24605, "1617652286.24605"],
    [1618432252.101913, "1618432252.101913"],
    [123456789.123456, "123456789.123456"],
    [9999999999999998, "9999999999999998.0"],
    [1e16, "1e+16"],
    [1.5e16, "1.5e+16"],
    [1e22, "1e+22"],
    [12345678901234567890, "1.2345678901234567e+19"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [-2.5, "-2.5"],
    [24.621645, "24.621645"],
  ];
  for (const [x, expected] of cases) assert.equal(pyFloat(x), expected, String(x));
});

Deno.test('round6 rounds to 6 decimals like Python\'s "%.6f"', () => {
  const cases: [number, number][] = [
    [0.1234565, 0.123456], // the double lies below the tie
    [2.9999996, 3],
    [5e-7, 0],
    [1.5e-6, 0.000002],
    [2.5e-6, 0.000003],
    [1617652287.246051 - 1617652286.24605, 1.000001],
    [1.0000005, 1.000001],
    [0, 0],
    [24.6216449999, 24.621645],
  ];
  for (const [x, expected] of cases) assert.equal(round6(x), expected, String(x));
});

Deno.test("timestamps: integer microseconds become the double of the text seconds.micros", () => {
  for (
    const [sec, us] of [[1617652286, 246050], [1700000000, 1], [1700000000, 999999], [
      1618432252,
      101913,
    ]]
  ) {
    const micros = sec * 1e6 + us;
    assert.equal(microsToSeconds(micros), Number(`${sec}.${String(us).padStart(6, "0")}`));
  }
  assert.equal(pyFloat(microsToSeconds(1617652286246050)), "1617652286.24605");
});

function flash(over: Partial<Flash> = {}): Flash {
  return {
    src: "10.0.0.5:50000",
    dst: "example.com:443",
    destinationNameSource: "passive",
    srcPkts: 3,
    srcBytes: 517,
    dstPkts: 2,
    dstBytes: 1400,
    relativeStart: 0,
    protocolInformation: "",
    duration: 0.2,
    ...over,
  };
}

const SAMPLE: Sample = {
  hash: "0123456789abcdef0123456789abcdef",
  trafficDate: "1700000003.0",
  fileName: "t.sf",
  flashes: [
    flash(),
    flash({
      src: "10.0.0.5",
      dst: "1.1.1.1",
      destinationNameSource: "original",
      srcPkts: 1,
      srcBytes: 0,
      dstPkts: 1,
      dstBytes: 0,
      relativeStart: 0.000001,
      protocolInformation: "ICMP",
      duration: 0,
    }),
    flash({
      dst: "cached.example:53",
      destinationNameSource: "cache",
      relativeStart: 12.5,
      duration: 1.000001,
    }),
  ],
};

Deno.test("formatSample is byte-exact Python json.dumps output", () => {
  const expected = '{"hash": "0123456789abcdef0123456789abcdef", "trafficDate": "1700000003.0", ' +
    '"fileName": "t.sf", "flashes": [' +
    '{"src": "10.0.0.5:50000", "dst": "example.com:443", "destinationNameSource": "passive", ' +
    '"srcPkts": 3, "srcBytes": 517, "dstPkts": 2, "dstBytes": 1400, "relativeStart": 0.0, ' +
    '"protocolInformation": "", "duration": 0.2}, ' +
    '{"src": "10.0.0.5", "dst": "1.1.1.1", "destinationNameSource": "original", ' +
    '"srcPkts": 1, "srcBytes": 0, "dstPkts": 1, "dstBytes": 0, "relativeStart": 1e-06, ' +
    '"protocolInformation": "ICMP", "duration": 0.0}, ' +
    '{"src": "10.0.0.5:50000", "dst": "cached.example:53", "destinationNameSource": "cache", ' +
    '"srcPkts": 3, "srcBytes": 517, "dstPkts": 2, "dstBytes": 1400, "relativeStart": 12.5, ' +
    '"protocolInformation": "", "duration": 1.000001}]}';
  assert.equal(formatSample(SAMPLE), expected);
  assert.equal(
    formatSample({ ...SAMPLE, flashes: [] }),
    '{"hash": "0123456789abcdef0123456789abcdef", "trafficDate": "1700000003.0", "fileName": "t.sf", "flashes": []}',
  );
  // NaN and Infinity have no JSON text (Python would write NaN): refused, never written.
  for (const bad of [{ srcPkts: NaN }, { duration: Infinity }, { relativeStart: -Infinity }]) {
    const flashes = [{ ...SAMPLE.flashes[0], ...bad }];
    assert.throws(() => formatSample({ ...SAMPLE, flashes }), /a count or time is not finite/);
    assert.throws(() => [...sampleChunks({ ...SAMPLE, flashes })], /not finite/);
  }
});

Deno.test("formatSample escapes strings as Python's ensure_ascii does", () => {
  // Python: json.dumps("a\"b\\c/\x01\n\u00e9\U0001F600") == '"a\\"b\\\\c/\\u0001\\n\\u00e9\\ud83d\\ude00"'
  const s = formatSample({ ...SAMPLE, fileName: 'a"b\\c/\x01\n\u00e9\u{1F600}', flashes: [] });
  assert.ok(s.includes('"fileName": "a\\"b\\\\c/\\u0001\\n\\u00e9\\ud83d\\ude00"'), s);
});

Deno.test("formatSample escapes DEL (0x7f) as Python does (\\u007f)", () => {
  // Python: json.dumps("x\x7fy") == '"x\\u007fy"' (ensure_ascii escapes everything outside ' '..'~').
  const s = formatSample({ ...SAMPLE, fileName: "x\x7fy.sf", flashes: [] });
  assert.ok(s.includes('"fileName": "x\\u007fy.sf"'), JSON.stringify(s));
});

Deno.test("parseSample reads back what formatSample writes", () => {
  assert.deepEqual(parseSample(formatSample(SAMPLE)), SAMPLE);
  assert.deepEqual(validateSample(JSON.parse(formatSample(SAMPLE))), []);
});

Deno.test("validateSample reports each problem with its JSON path", () => {
  const bad = (mutate: (s: any) => void): string[] => {
    const s = JSON.parse(JSON.stringify(SAMPLE));
    mutate(s);
    return validateSample(s).map((p) => p.path);
  };
  assert.deepEqual(bad((s) => s.hash = "ABC"), ["$.hash"]);
  assert.deepEqual(bad((s) => s.trafficDate = 1700000003), ["$.trafficDate"]);
  assert.deepEqual(bad((s) => s.trafficDate = "1700000003"), ["$.trafficDate"]);
  assert.deepEqual(bad((s) => delete s.fileName), ["$.fileName"]);
  assert.deepEqual(bad((s) => s.extra = 1), ["$.extra"]);
  assert.deepEqual(bad((s) => s.flashes[0].srcPkts = -1), ["$.flashes[0].srcPkts"]);
  assert.deepEqual(bad((s) => s.flashes[0].dstBytes = 1.5), ["$.flashes[0].dstBytes"]);
  assert.deepEqual(bad((s) => s.flashes[1].destinationNameSource = "dns"), [
    "$.flashes[1].destinationNameSource",
  ]);
  assert.deepEqual(bad((s) => s.flashes[0].protocolInformation = "TCP"), [
    "$.flashes[0].protocolInformation",
  ]);
  assert.deepEqual(bad((s) => s.flashes[0].src = "10.0.0.5"), ["$.flashes[0].src"]);
  assert.deepEqual(bad((s) => s.flashes[2].relativeStart = 0), ["$.flashes[2].relativeStart"]);
  assert.ok(
    bad((s) => s.flashes[0] = { ...Object.fromEntries(Object.entries(s.flashes[0]).reverse()) })
      .includes("$.flashes[0]"),
  );
  assert.deepEqual(validateSample([]).map((p) => p.path), ["$"]);
});

Deno.test("parseSample throws a SampleError naming the file and the first problem", () => {
  assert.throws(() => parseSample("{not json", "x.sf"), (e: unknown) => {
    assert.ok(e instanceof SampleError);
    assert.match(e.message, /^x\.sf: not a valid Secflow sample: \$: not JSON/);
    return true;
  });
  assert.throws(
    () => parseSample('{"hash": 1}', "y.sf"),
    /^SampleError: y\.sf: not a valid Secflow sample: \$\.\w+: .* \(and 3 more problems\)$/,
  );
});

function session(over: Partial<SessionRecord>): SessionRecord {
  return {
    icmp: false,
    srcIp: parseIPv4("10.0.0.5")!,
    srcPort: 50000,
    dstIp: parseIPv4("1.1.1.1")!,
    dstPort: 443,
    srcPkts: 1,
    dstPkts: 0,
    srcBytes: 0,
    dstBytes: 0,
    first: 1700000000,
    last: 1700000000,
    ...over,
  };
}

Deno.test("buildSample: null without sessions, a fresh hash, stable order, rounding", () => {
  assert.equal(
    buildSample({ sessions: [], startTime: 1, active: new Set(), names: new Map() }, {
      fileName: "a.sf",
    }).sample,
    null,
  );
  const input = {
    sessions: [
      session({ first: 1700000002.5, last: 1700000003.1234567, srcPort: 1 }),
      session({ first: 1700000001, srcPort: 2, icmp: true }),
      session({ first: 1700000002.5, srcPort: 3 }),
      session({ first: 1700000001.0000001, srcPort: 4 }), // rounds to the same relativeStart
    ],
    startTime: 1700000000,
    active: new Set<number>(),
    names: new Map(),
  };
  const a = buildSample(input, { fileName: "a.sf" }).sample!;
  const b = buildSample(input, { fileName: "a.sf" }).sample!;
  assert.match(a.hash, /^[0-9a-f]{32}$/);
  assert.notEqual(a.hash, b.hash);
  assert.equal(a.trafficDate, "1700000000.0");
  assert.equal(a.fileName, "a.sf");
  assert.deepEqual(a.flashes.map((f) => [f.src, f.relativeStart]), [
    ["10.0.0.5", 1],
    ["10.0.0.5:4", 1],
    ["10.0.0.5:1", 2.5],
    ["10.0.0.5:3", 2.5],
  ]);
  assert.equal(a.flashes[2].duration, 0.623457);
  assert.equal(a.flashes[0].dst, "1.1.1.1");
  assert.equal(a.flashes[0].protocolInformation, "ICMP");
  assert.equal(
    buildSample(input, { fileName: "a.sf", hash: "f".repeat(32) }).sample!.hash,
    "f".repeat(32),
  );
});

Deno.test("sampleChunks: the concatenated chunks are formatSample's text at every chunk size", () => {
  const flashes = Array.from({ length: 50 }, (_, i) => ({
    src: `192.168.1.${i}:${50000 + i}`,
    dst: i % 3 === 0 ? `93.184.216.${i}` : `host${i}.example.com:443`,
    destinationNameSource: (i % 3 === 0 ? "original" : "passive") as "original" | "passive",
    srcPkts: i,
    srcBytes: i * 100,
    dstPkts: i * 2,
    dstBytes: i * 1400,
    relativeStart: i / 8,
    protocolInformation: (i % 3 === 0 ? "ICMP" : "") as "" | "ICMP",
    duration: i === 7 ? 0.000001 : i / 3,
  }));
  const sample = {
    hash: "ab".repeat(16),
    trafficDate: "1700000000.5",
    fileName: "ünï.sf",
    flashes,
  };
  const text = formatSample(sample);
  for (const size of [1, 7, 64, 300, 4096, 1 << 20]) {
    const parts: Uint8Array[] = [];
    for (const chunk of sampleChunks(sample, size)) parts.push(chunk.slice());
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      joined.set(p, o);
      o += p.length;
    }
    assert.equal(new TextDecoder().decode(joined), text, `chunk size ${size}`);
  }
});

Deno.test("validateSample agrees with the reader: over-long strings and holes are problems; what validates reads back", () => {
  const flash = SAMPLE.flashes[0];
  const long = { ...SAMPLE, fileName: "x".repeat(5000) };
  assert.deepEqual(validateSample(long), [
    { path: "$.fileName", message: "is a string longer than 4096 bytes" },
  ]);
  assert.throws(() => parseSample(formatSample(long), "long.sf"), /longer than 4096 bytes/);
  // Escaped, "é" is 6 bytes (\u00e9): 700 of them are over the limit, though 700 characters.
  const escaped = { ...SAMPLE, flashes: [{ ...flash, dst: `${"é".repeat(700)}:443` }] };
  assert.match(validateSample(escaped)[0].message, /longer than 4096 bytes/);
  // deno-lint-ignore no-sparse-arrays
  const holes = { ...SAMPLE, flashes: [flash, , flash] as Flash[] };
  assert.deepEqual(validateSample(holes), [
    { path: "$.flashes[1]", message: "is missing (a hole in the array)" },
  ]);
  const longest = { ...SAMPLE, fileName: "y".repeat(4096) };
  assert.deepEqual(validateSample(longest), []);
  assert.equal(parseSample(formatSample(longest), "t.sf").fileName, longest.fileName);
});
