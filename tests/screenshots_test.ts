/**
 * `deno task screenshots` (`bench/screenshots.ts`) makes the README's and docs/REPORT.md's
 * pictures from the demo data: run as the task runs it (its permissions), into a temp directory,
 * it writes the four PNGs at the sizes the docs show. Skips with a message when chromium is not
 * installed.
 */
import assert from "node:assert/strict";
import { SCREENSHOTS } from "../bench/screenshots.ts";
import { chromiumPath } from "./_chromium.ts";
import { tempDir } from "./api_fixtures.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): [number, number] {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], signature, "not a PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
}

Deno.test({
  name: "deno task screenshots makes the docs' pictures from the demo data",
  ignore: chromiumPath() === null,
  async fn() {
    await using dir = await tempDir();
    const task = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.screenshots;
    assert.match(task, /^deno run .* bench\/screenshots\.ts$/);
    const args = task.split(" ").slice(1);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...args, "--out", dir.path],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    const sizes: Record<string, [number, number]> = {};
    for (const name of SCREENSHOTS) {
      sizes[name] = pngSize(await Deno.readFile(`${dir.path}/${name}`));
    }
    assert.deepEqual(sizes, {
      "report.png": [1280, 900],
      "report-phone.png": [390, 844],
      "sample-page.png": [1280, 900],
      "sample-page-table.png": [1280, 900],
    });
  },
});
