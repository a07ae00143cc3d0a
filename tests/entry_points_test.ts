/**
 * The library's entry points (deno.json `exports`): `./convert` and `./client` work in a process
 * with `--allow-read` only (no `--allow-ffi`, no network, no env), and their module graphs hold
 * neither `node:sqlite` nor the libpcap binding; every entry documents every export.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import denoJson from "../deno.json" with { type: "json" };

const ROOT = new URL("../", import.meta.url);
const dec = new TextDecoder();

Deno.test("deno.json exports: ., ./convert, ./capture, ./client, ./serve", () => {
  assert.deepEqual(denoJson.exports, {
    ".": "./mod.ts",
    "./convert": "./convert.ts",
    "./capture": "./capture.ts",
    "./client": "./client.ts",
    "./serve": "./serve.ts",
  });
});

Deno.test("./convert and ./client in a process with --allow-read only: a Zeek log converted, clients constructed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const conn = join(dir, "conn.log");
    await Deno.writeTextFile(
      conn,
      "1700000000.5\tC1\t10.0.0.2\t50000\t93.184.216.34\t443\ttcp\tssl\t1.5\t100\t2000" +
        "\tSF\t-\t-\t0\tShADadFf\t10\t600\t12\t2600\t-\n",
    );
    // `deno run` of a file, not `deno eval`: eval grants every permission whatever the flags.
    const script = join(dir, "use.ts");
    await Deno.writeTextFile(
      script,
      `
      import { convertFile } from ${JSON.stringify(new URL("convert.ts", ROOT).href)};
      import { NetworkSageClient } from ${JSON.stringify(new URL("client.ts", ROOT).href)};
      const { sample, format } = await convertFile(${JSON.stringify(conn)});
      // Given a key and a URL, with the environment left on (the default): no env access is
      // asked for (it threw NotCapable reading NETWORKSAGE_API_URL).
      const client = new NetworkSageClient({ apiKey: "k", apiUrl: "http://127.0.0.1:9" });
      const bare = new NetworkSageClient();
      const noKey = await bare.listUploads().catch((e) => e.message);
      console.log(JSON.stringify({
        format,
        flashes: sample?.flashes.map((f) => [f.src, f.dst, f.duration]),
        client: client.hasApiKey,
        bare: bare.hasApiKey,
        noKey,
        env: Deno.permissions.querySync({ name: "env" }).state,
        ffi: Deno.permissions.querySync({ name: "ffi" }).state,
      }));`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-config", "--no-prompt", `--allow-read=${dir}`, script],
      env: { NETWORKSAGE_API_KEY: "from-the-environment" }, // set, but not readable
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    assert.deepEqual(JSON.parse(dec.decode(out.stdout)), {
      format: "zeek",
      flashes: [["10.0.0.2:50000", "93.184.216.34:443", 1.5]],
      client: true,
      bare: false,
      noKey:
        "GET /upload/v1.0/uploads/list: no API key: set NETWORKSAGE_API_KEY (and let it be read: --allow-env=NETWORKSAGE_API_KEY) or pass the apiKey option",
      env: "prompt",
      ffi: "prompt",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function graph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, ROOT).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  const info = JSON.parse(dec.decode(out.stdout)) as {
    modules: { specifier: string; dependencies?: { specifier: string }[] }[];
  };
  const all = new Set<string>();
  for (const m of info.modules) {
    all.add(m.specifier);
    for (const d of m.dependencies ?? []) all.add(d.specifier);
  }
  return [...all];
}

Deno.test("./convert, ./client and . load neither node:sqlite nor the libpcap binding", async () => {
  for (const entry of ["convert.ts", "client.ts", "mod.ts"]) {
    const modules = await graph(entry);
    assert.ok(modules.some((m) => m.endsWith(`/${entry}`)), entry);
    const heavy = modules.filter((m) =>
      m === "node:sqlite" || m.endsWith("/capture/libpcap.ts") || m.endsWith("/api/server.ts")
    );
    assert.deepEqual(heavy, [], entry);
  }
  // The heavy entries do hold them (so the check above can fail).
  assert.ok((await graph("capture.ts")).some((m) => m.endsWith("/capture/libpcap.ts")));
  assert.ok((await graph("serve.ts")).includes("node:sqlite"));
});

Deno.test("deno doc --lint passes on every entry, together and each on its own", async () => {
  const entries = Object.values(denoJson.exports).map((p) => new URL(p, ROOT).pathname);
  // On its own, an entry must export every type its API mentions: together, another entry's
  // exports hid that serve.ts mentioned PlatformSecflow, Activity and Metadata without them.
  for (const list of [entries, ...entries.map((e) => [e])]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["doc", "--lint", ...list],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, `${list.join(" ")}: ${dec.decode(out.stderr).slice(0, 4000)}`);
  }
});
