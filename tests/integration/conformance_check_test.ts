/**
 * The shared conformance checker (`../shared/conformance/check`) run over our CLI as a child
 * process: what the in-process cases of tests/unit/conformance_test.ts cannot see, the exit codes
 * and whether a file is written. Skips when ../shared or python3 is missing.
 */
import assert from "node:assert/strict";
import { hasCommand } from "../_child.ts";
import { CONFORMANCE, haveConformance } from "../_shared.ts";

const checker = `${CONFORMANCE}check`;
const havePython = hasCommand("python3");

Deno.test({
  name: "conformance: the shared checker passes over our CLI (exit codes and files included)",
  // The in-process cases above cannot see what the CLI exits with or whether it writes a file.
  ignore: !haveConformance || !havePython,
  async fn() {
    const root = new URL("../..", import.meta.url).pathname;
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
