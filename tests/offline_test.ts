/**
 * The README's first command with no package registry within reach, as an air-gapped user meets
 * it: the repository's files (what a fresh clone holds: tracked files and new ones not ignored,
 * copied from the working tree, no `demo/`, no `node_modules`), an empty `DENO_DIR`, and the npm
 * registry pointed at a port on 127.0.0.1 that nothing listens on. `deno task demo` and a
 * `deno task convert` must succeed there and download nothing.
 *
 * It failed before because `deno task` caches every npm package of the lock file before running
 * any task, and `deno.lock` held the PostgreSQL client ("Failed caching npm package
 * 'postgres@3.4.7'"). The same environment refuses to load that client (checked first, so that a
 * pass cannot come from a registry that was reachable after all).
 */
import assert from "node:assert/strict";

const REPO = new URL("../", import.meta.url).pathname;

/** `git ls-files` of the repository (null when it is not a git checkout or git is missing). */
async function repositoryFiles(): Promise<string[] | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
      cwd: REPO,
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return null;
    return new TextDecoder().decode(out.stdout).split("\0").filter((f) => f !== "");
  } catch {
    return null;
  }
}

/** A port on 127.0.0.1 that was free a moment ago (connections to it are refused). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

interface Run {
  code: number;
  out: string;
}

async function deno(args: string[], cwd: string, env: Record<string, string>): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, out: text.decode(out.stdout) + text.decode(out.stderr) };
}

const files = await repositoryFiles();

Deno.test({
  name: "a fresh clone with no registry and an empty DENO_DIR runs `deno task demo` and convert",
  ignore: files === null,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "ns_offline_" });
    try {
      const clone = `${root}/clone`;
      for (const file of files!) {
        const to = `${clone}/${file}`;
        await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
        try {
          await Deno.copyFile(`${REPO}${file}`, to);
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e; // deleted, not yet committed
        }
      }
      const registry = `http://127.0.0.1:${closedPort()}/`;
      const env = {
        // `deno task` runs `deno` from PATH: this one first.
        PATH: `${Deno.execPath().replace(/\/[^/]*$/, "")}:${
          Deno.env.get("PATH") ?? "/usr/bin:/bin"
        }`,
        HOME: root,
        DENO_DIR: `${root}/deno_dir`,
        NPM_CONFIG_REGISTRY: registry,
        NO_COLOR: "1",
      };

      // The environment really is without a registry: the PostgreSQL client cannot be had.
      const pg = await deno(
        ["eval", "--no-lock", 'const c = "npm:postgres@3.4.7"; await import(c);'],
        clone,
        env,
      );
      assert.notEqual(pg.code, 0, pg.out);
      assert.match(pg.out, new RegExp(registry.replaceAll(".", "\\.")), pg.out);

      const demo = await deno(["task", "demo"], clone, env);
      assert.equal(demo.code, 0, demo.out);
      assert.match(demo.out, /wrote \S+demo\.sf: \d+ Secflows/);
      assert.doesNotMatch(demo.out, /Download|npm package/, demo.out);

      const convert = await deno(
        ["task", "convert", "demo/demo.pcap", "-o", "demo/again.sf"],
        clone,
        env,
      );
      assert.equal(convert.code, 0, convert.out);
      const flashes = async (f: string) =>
        JSON.parse(await Deno.readTextFile(`${clone}/demo/${f}`)).flashes;
      assert.deepEqual(await flashes("again.sf"), await flashes("demo.sf"));
      // Nothing was added to the lock file on the way.
      assert.equal(
        await Deno.readTextFile(`${clone}/deno.lock`),
        await Deno.readTextFile(`${REPO}deno.lock`),
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
