/**
 * The public conformance suite, in process: every case of ../shared/conformance converted with
 * convertFile and compared field by field with the platform converter's output, as the shared
 * checker does (trafficDate as a number, every field of every flash in order).
 */
import assert from "node:assert/strict";
import { convertFile } from "../io/convert.ts";
import type { Sample } from "../secflow/types.ts";
import { FLASH_KEYS } from "../secflow/types.ts";
import { CONFORMANCE, conformanceCases, haveConformance } from "./_shared.ts";

for (const c of conformanceCases()) {
  Deno.test(`conformance: ${c.name}`, async () => {
    const { sample } = await convertFile(c.input, { dnsLog: c.dns, fileName: `${c.name}.sf` });
    if (!c.expected) {
      assert.ok(!sample || sample.flashes.length === 0, "expected no Secflows");
      return;
    }
    const expected = JSON.parse(await Deno.readTextFile(c.expected)) as Sample;
    assert.ok(sample, "expected a sample");
    assert.match(sample.hash, /^[0-9a-f]{32}$/);
    assert.equal(Number(sample.trafficDate), Number(expected.trafficDate), "trafficDate");
    assert.equal(sample.flashes.length, expected.flashes.length, "number of flashes");
    sample.flashes.forEach((flash, i) => {
      for (const key of FLASH_KEYS) {
        assert.equal(flash[key], expected.flashes[i][key], `flash ${i} ${key}`);
      }
    });
  });
}

Deno.test({
  name: "conformance: suite present",
  ignore: !haveConformance,
  fn() {
    assert.ok(conformanceCases().length >= 20);
  },
});

const checker = `${CONFORMANCE}check`;
const havePython = (() => {
  try {
    return new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "conformance: the shared checker passes over our CLI (exit codes and files included)",
  // The in-process cases above cannot see what the CLI exits with or whether it writes a file.
  ignore: !haveConformance || !havePython,
  async fn() {
    const root = new URL("..", import.meta.url).pathname;
    const out = await new Deno.Command(checker, {
      args: ["--quiet"],
      cwd: root,
      env: { NS_CONVERT: `${Deno.execPath()} run -A cli.ts convert`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
    assert.match(text, /conformance: (\d+)\/\1 cases exact/);
  },
});
