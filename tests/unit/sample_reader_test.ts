/**
 * The streaming `.sf` reader against JSON.parse: the same values whatever the push sizes (a
 * string's escapes split across pushes included), and the problems JSON.parse cannot see.
 */
import assert from "node:assert/strict";
import { SampleReader } from "../../secflow/sample_reader.ts";
import type { Flash } from "../../secflow/types.ts";

const flash = (over: Record<string, unknown> = {}) => ({
  src: "10.0.0.5:50000",
  dst: "example.com:443",
  destinationNameSource: "passive",
  srcPkts: 1,
  srcBytes: 2,
  dstPkts: 3,
  dstBytes: 9007199254740991,
  relativeStart: 0.25,
  protocolInformation: "",
  duration: 1e-6,
  ...over,
});
const sample = (flashes: unknown[], fileName = "x.sf") =>
  JSON.stringify({ hash: "0".repeat(32), trafficDate: "1700000000.0", fileName, flashes });

function read(text: string, piece: number) {
  const bytes = new TextEncoder().encode(text);
  const flashes: Flash[] = [];
  let fields: Map<string, unknown> | undefined;
  const r = new SampleReader({ onFlash: (f) => flashes.push(f), onHead: (h) => fields = h.fields });
  for (let i = 0; i < bytes.length; i += piece) r.push(bytes.subarray(i, i + piece));
  r.end();
  return { r, flashes, fields };
}

Deno.test("sample reader: the same flashes as JSON.parse at every push size, escapes split anywhere", () => {
  const names = ['we\\"ird \\\\ name \u00e9\u4e2d \ud83d\ude00.sf', "plain.sf"];
  for (const fileName of names) {
    const text = sample([flash(), flash({ relativeStart: 1, dst: "b.example:80" })], fileName);
    const expected = JSON.parse(text);
    for (let piece = 1; piece <= 17; piece++) {
      const { r, flashes, fields } = read(text, piece);
      assert.deepEqual(r.problems, [], `piece ${piece}`);
      assert.deepEqual(flashes, expected.flashes, `piece ${piece}`);
      assert.equal(fields!.get("fileName"), expected.fileName, `piece ${piece}`);
    }
  }
});

Deno.test("sample reader: what JSON.parse hides is a problem with its path", () => {
  const cases: [string, string, RegExp][] = [
    [
      sample([flash()]).replace('"duration":0.000001', '"duration":1e400'),
      "$.flashes[0].duration",
      /out of range/,
    ],
    [
      sample([flash()]).replace("9007199254740991", "9007199254740993"),
      "$.flashes[0].dstBytes",
      /beyond 2\^53/,
    ],
    [
      sample([flash()], "plain.sf").replace("plain", "pl\u0001ain"),
      "$.fileName",
      /control character/,
    ],
    [sample([flash({ dst: "a\u001bb:443" })]), "$.flashes[0].dst", /control characters/],
    [sample([flash()]) + "{", "$", /unexpected '\{'/],
    ["\ufeff" + sample([flash()]), "$", /starts with a UTF-8 byte order mark \(EF BB BF\)/],
    ["[".repeat(40), "$", /must be an object/],
    ['{"hash": "' + "a".repeat(5000) + '"}', "$.hash", /longer than 4096/],
  ];
  for (const [text, path, message] of cases) {
    for (const piece of [1, 3, 1 << 20]) {
      const { r } = read(text, piece);
      assert.ok(r.failed, `${path} at piece ${piece}`);
      assert.equal(r.problems[0].path, path, `${JSON.stringify(r.problems)} (piece ${piece})`);
      assert.match(r.problems[0].message, message);
    }
  }
});
