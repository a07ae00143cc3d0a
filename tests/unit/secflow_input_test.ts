/**
 * `.sf` files as conversion input: detected from content, validated against section 1, written
 * back with a new hash and the output's file name, flashes unchanged; an invalid one is a
 * one-line error; the input is never overwritten by default (`NAME.sf` → `NAME.converted.sf`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { convertFile, detectFormat, readSecflow } from "../../io/convert.ts";
import { formatSample, SampleError } from "../../secflow/sample.ts";
import type { Sample } from "../../secflow/types.ts";
import { cli, gzip } from "../zeek_fixtures.ts";
import { conformanceCases, haveConformance } from "../_shared.ts";
import { withTempDir as withDir } from "../_child.ts";

const sample: Sample = {
  hash: "0123456789abcdef0123456789abcdef",
  trafficDate: "1700000003.0",
  fileName: "orig.sf",
  flashes: [{
    src: "10.0.0.2:50000",
    dst: "caf\u00e9.example:443",
    destinationNameSource: "session",
    srcPkts: 1,
    srcBytes: 2,
    dstPkts: 3,
    dstBytes: 4,
    relativeStart: 0.0,
    protocolInformation: "",
    duration: 1e-06,
  }],
};

Deno.test(".sf input: detected, validated, new hash and file name, flashes byte-identical", async () => {
  await withDir(async (dir) => {
    const input = join(dir, "whatever.bin");
    await Deno.writeTextFile(input, formatSample(sample));
    assert.equal(await detectFormat(input), "secflow");
    const { sample: out, format } = await convertFile(input, { fileName: "new.sf" });
    assert.equal(format, "secflow");
    assert.ok(out);
    assert.match(out.hash, /^[0-9a-f]{32}$/);
    assert.notEqual(out.hash, sample.hash);
    assert.equal(out.fileName, "new.sf");
    assert.equal(out.trafficDate, sample.trafficDate);
    assert.equal(
      formatSample({ ...out, hash: sample.hash, fileName: sample.fileName }),
      formatSample(sample),
    );
    // gzip looked through
    const gz = join(dir, "z.sf.gz");
    await Deno.writeFile(gz, await gzip(formatSample(sample)));
    assert.deepEqual((await readSecflow(gz, "z.sf"))?.flashes, sample.flashes);
  });
});

Deno.test(".sf input: an invalid sample is a one-line error with the JSON path (exit 2)", async () => {
  await withDir(async (dir) => {
    const input = join(dir, "bad.sf");
    const broken = { ...sample, flashes: [{ ...sample.flashes[0], srcPkts: "1" }] };
    await Deno.writeTextFile(input, JSON.stringify(broken));
    await assert.rejects(convertFile(input), (e: unknown) => {
      assert.ok(e instanceof SampleError);
      assert.match(e.message, /bad\.sf: not a valid Secflow sample: \$\.flashes\[0\]\.srcPkts/);
      return true;
    });
    const r = await cli(["convert", input, "-o", join(dir, "out.sf")]);
    assert.equal(r.code, 2);
    assert.equal(r.err.length, 1);
    assert.match(r.err[0], /\$\.flashes\[0\]\.srcPkts/);
  });
});

Deno.test(".sf input via the CLI: never overwrites the input unless -o names it", async () => {
  await withDir(async (dir) => {
    const input = join(dir, "s.sf");
    const original = formatSample(sample);
    await Deno.writeTextFile(input, original);
    let r = await cli(["convert", input]);
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.equal(await Deno.readTextFile(input), original);
    const written = JSON.parse(await Deno.readTextFile(join(dir, "s.converted.sf")));
    assert.equal(written.fileName, "s.converted.sf");
    assert.notEqual(written.hash, sample.hash);
    // Explicit -o to the input itself: the user asked for it.
    r = await cli(["convert", input, "-o", input]);
    assert.equal(r.code, 0);
    const rewritten = JSON.parse(await Deno.readTextFile(input));
    assert.notEqual(rewritten.hash, sample.hash);
    assert.deepEqual(rewritten.flashes, JSON.parse(original).flashes);
    // --dns makes no sense with a sample.
    r = await cli(["convert", input, "--dns", input, "-o", join(dir, "x.sf")]);
    assert.equal(r.code, 2);
    assert.match(r.err[0], /a dns\.log goes with a Zeek conn\.log, not with a Secflow sample/);
  });
});

Deno.test({
  name: ".sf input: every expected conformance sample round-trips unchanged but for its hash",
  ignore: !haveConformance,
  async fn() {
    for (const c of conformanceCases()) {
      if (!c.expected) continue;
      const text = await Deno.readTextFile(c.expected);
      const out = await readSecflow(c.expected, "x.sf");
      assert.ok(out);
      const expected = JSON.parse(text) as Sample;
      assert.equal(
        formatSample({ ...out, hash: expected.hash, fileName: expected.fileName }),
        formatSample(expected),
      );
    }
  },
});
