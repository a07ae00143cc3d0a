/**
 * `validate FILE...`: every problem printed with its JSON path, exit 1 when any file is invalid,
 * 0 when all are valid; unreadable and non-JSON files are problems too; gzip looked through.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { validateSampleFile } from "../../io/convert.ts";
import { formatSample } from "../../secflow/sample.ts";
import type { Sample } from "../../secflow/types.ts";
import { cli, gzip } from "../zeek_fixtures.ts";
import { withTempDir as withDir } from "../_child.ts";
import { WEB_FLASH } from "../_flash.ts";

const valid: Sample = {
  hash: "0123456789abcdef0123456789abcdef",
  trafficDate: "1700000000.5",
  fileName: "a.sf",
  flashes: [
    WEB_FLASH,
    {
      src: "192.168.1.10",
      dst: "93.184.216.34",
      destinationNameSource: "original",
      srcPkts: 1,
      srcBytes: 0,
      dstPkts: 1,
      dstBytes: 0,
      relativeStart: 2.25,
      protocolInformation: "ICMP",
      duration: 0.0,
    },
  ],
};

Deno.test("validate: valid files exit 0 and say so; gzip is looked through", async () => {
  await withDir(async (dir) => {
    const a = join(dir, "a.sf"), b = join(dir, "b.sf.gz");
    await Deno.writeTextFile(a, formatSample(valid));
    await Deno.writeFile(b, await gzip(formatSample(valid)));
    const r = await cli(["validate", a, b]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.out, [`${a}: valid (2 flashes)`, `${b}: valid (2 flashes)`]);
  });
});

Deno.test("validate: every problem with its JSON path; exit 1 when any file is invalid", async () => {
  await withDir(async (dir) => {
    const good = join(dir, "good.sf"), bad = join(dir, "bad.sf");
    await Deno.writeTextFile(good, formatSample(valid));
    const broken = structuredClone(valid) as unknown as Record<string, any>;
    broken.hash = "XYZ";
    broken.trafficDate = 1700000000.5; // a number, not a string
    broken.flashes[0].srcPkts = -1;
    broken.flashes[0].extra = true;
    delete broken.flashes[1].duration;
    broken.flashes[1].relativeStart = -2;
    await Deno.writeTextFile(bad, JSON.stringify(broken));
    const r = await cli(["validate", good, bad]);
    assert.equal(r.code, 1);
    assert.equal(r.out[0], `${good}: valid (2 flashes)`);
    const problems = r.out.slice(1);
    for (const p of problems) assert.ok(p.startsWith(`${bad}: $`), p);
    const paths = problems.map((p) => p.slice(bad.length + 2).split(":")[0]);
    for (
      const path of [
        "$.hash",
        "$.trafficDate",
        "$.flashes[0].srcPkts",
        "$.flashes[0].extra",
        "$.flashes[1].duration",
        "$.flashes[1].relativeStart",
      ]
    ) {
      assert.ok(paths.includes(path), `${path} reported in ${JSON.stringify(problems)}`);
    }
    assert.match(r.err.join("\n"), /1 of 2 files invalid/);
  });
});

Deno.test("validate: key order, not-JSON, missing file; usage error without files", async () => {
  await withDir(async (dir) => {
    const order = join(dir, "order.sf");
    const { hash, trafficDate, fileName, flashes } = valid;
    await Deno.writeTextFile(order, JSON.stringify({ trafficDate, hash, fileName, flashes }));
    let report = await validateSampleFile(order);
    assert.equal(report.problems.length, 1);
    assert.equal(report.problems[0].path, "$");
    assert.match(
      report.problems[0].message,
      /keys must be in the order hash, trafficDate, fileName, flashes/,
    );
    const notJson = join(dir, "x.sf");
    await Deno.writeTextFile(notJson, "{not json");
    report = await validateSampleFile(notJson);
    assert.match(report.problems[0].message, /^not JSON/);
    const r = await cli(["validate", join(dir, "missing.sf"), notJson, "-q"]);
    assert.equal(r.code, 1);
    assert.match(r.out[0], /missing\.sf: \$: cannot read: .*no such file/);
    assert.match(r.out[1], /x\.sf: \$: not JSON/);
    const usage = await cli(["validate"]);
    assert.equal(usage.code, 2);
  });
});
