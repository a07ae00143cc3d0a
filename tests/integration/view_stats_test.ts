/**
 * `view` and `stats` on hand-built samples whose order and totals are known, on every input kind
 * (.sf, pcap, pcapng, Zeek conn.log, a platform sample through a real `serve`), with every
 * option; the table under a real pseudo-terminal (`script`) fits its width; nothing is written.
 */
import { flashOf } from "../_flash.ts";
import assert from "node:assert/strict";
import { cli as cliInProcess, type ConnRow, connTsv, gzip } from "../zeek_fixtures.ts";
import { ether, pcapng, pcapOf, type Pkt, T0, tcp } from "../_pcap.ts";
import { runCli, startServe, tempDir } from "../api_fixtures.ts";
import { convertFile } from "../../io/convert.ts";
import { formatSample } from "../../secflow/sample.ts";
import type { Flash, Sample } from "../../secflow/types.ts";
import { NetworkSageClient } from "../../api/client.ts";
import { type Column, formatDate, renderTable } from "../../cli/_format.ts";
import { denoRun, hasCommand, underTerminal } from "../_terminal.ts";

/** The CLI in process; output split into lines (a command may print many lines in one write). */
async function cli(args: string[]) {
  const r = await cliInProcess(args);
  return { ...r, out: r.out.flatMap((l) => l.split("\n")) };
}

const flash = (f: Partial<Flash> & Pick<Flash, "src" | "dst">): Flash =>
  flashOf({ srcBytes: 0, dstBytes: 0, ...f });

/**
 * Four Secflows whose every order differs:
 * start A B C D; bytes A B C D (5100, 2100, 120, 0); packets B D A C (20, 8, 5, 2);
 * duration D A B C (3, 1.5, 0.5, 0); dst C B A D ("93…", "a.…", "b.…", "c.…").
 */
const A = flash({
  src: "10.0.0.1:1000",
  dst: "b.example:443",
  srcPkts: 2,
  srcBytes: 100,
  dstPkts: 3,
  dstBytes: 5000,
  relativeStart: 0,
  duration: 1.5,
});
const B = flash({
  src: "10.0.0.2:1001",
  dst: "a.example:80",
  destinationNameSource: "cache",
  srcPkts: 10,
  srcBytes: 2000,
  dstPkts: 10,
  dstBytes: 100,
  relativeStart: 1,
  duration: 0.5,
});
const C = flash({
  src: "10.0.0.1:1002",
  dst: "93.184.216.34:53",
  destinationNameSource: "original",
  srcBytes: 40,
  dstBytes: 80,
  relativeStart: 2,
});
const D = flash({
  src: "10.0.0.3",
  dst: "c.example",
  destinationNameSource: "session",
  srcPkts: 4,
  dstPkts: 4,
  relativeStart: 3.5,
  protocolInformation: "ICMP",
  duration: 3,
});
const FLASHES = [A, B, C, D];
const SAMPLE: Sample = {
  hash: "0123456789abcdef0123456789abcdef",
  trafficDate: "1700000000.0",
  fileName: "known.sf",
  flashes: FLASHES,
};

async function withSample<T>(fn: (dir: string, sf: string) => Promise<T>): Promise<T> {
  await using dir = await tempDir();
  const sf = `${dir.path}/known.sf`;
  await Deno.writeTextFile(sf, formatSample(SAMPLE));
  return await fn(dir.path, sf);
}

async function jsonOf(args: string[]): Promise<unknown> {
  const r = await cli(args);
  assert.equal(r.code, 0, r.err.join("\n"));
  assert.equal(r.out.length, 1, "one JSON document");
  return JSON.parse(r.out[0]);
}

const dsts = (v: unknown) => (v as Flash[]).map((f) => f.dst);

Deno.test("view --sort orders by start, bytes, packets, duration and dst; --top and --match select", async () => {
  await withSample(async (_dir, sf) => {
    assert.deepEqual(dsts(await jsonOf(["view", sf, "--json"])), [A, B, C, D].map((f) => f.dst));
    const orders: [string, Flash[]][] = [
      ["start", [A, B, C, D]],
      ["bytes", [A, B, C, D]],
      ["packets", [B, D, A, C]],
      ["duration", [D, A, B, C]],
      ["dst", [C, B, A, D]],
    ];
    for (const [key, expected] of orders) {
      assert.deepEqual(
        dsts(await jsonOf(["view", sf, "--sort", key, "--json"])),
        expected.map((f) => f.dst),
        key,
      );
    }
    assert.deepEqual(
      dsts(await jsonOf(["view", sf, "--sort", "packets", "--top", "2", "--json"])),
      [B.dst, D.dst],
    );
    // --match: src or dst, ignoring case; before --top.
    assert.deepEqual(dsts(await jsonOf(["view", sf, "--match", "A.EXAMPLE", "--json"])), [B.dst]);
    assert.deepEqual(
      dsts(await jsonOf(["view", sf, "--match", "10.0.0.1:", "--json"])),
      [A.dst, C.dst],
    );
    assert.deepEqual(
      dsts(
        await jsonOf(["view", sf, "--match", "example", "--sort", "bytes", "--top", "1", "--json"]),
      ),
      [A.dst],
    );
    assert.deepEqual(await jsonOf(["view", sf, "--match", "nothing-like-it", "--json"]), []);
  });
});

Deno.test("view --json prints the selected flashes exactly as the .sf holds them", async () => {
  await withSample(async (_dir, sf) => {
    const r = await cli(["view", sf, "--json"]);
    const text = await Deno.readTextFile(sf);
    const array = text.slice(text.indexOf('"flashes": ') + 11, -1);
    assert.equal(r.out[0], array, "byte for byte the .sf's flashes array");
    const top = await cli(["view", sf, "--sort", "duration", "--top", "1", "--json"]);
    assert.equal(top.out[0], `[${array.slice(array.indexOf('{"src": "10.0.0.3"'), -1)}]`);
  });
});

Deno.test("view --csv: a header row, then one row per Secflow with full values", async () => {
  await withSample(async (_dir, sf) => {
    const r = await cli(["view", sf, "--csv", "--sort", "bytes"]);
    assert.equal(r.code, 0);
    assert.equal(
      r.out[0],
      "src,dst,destinationNameSource,srcPkts,srcBytes,dstPkts,dstBytes,relativeStart,protocolInformation,duration,start",
    );
    assert.equal(r.out.length, 5);
    assert.equal(
      r.out[1],
      "10.0.0.1:1000,b.example:443,passive,2,100,3,5000,0,,1.5,2023-11-14T22:13:20.000000Z",
    );
    assert.equal(
      r.out[4],
      "10.0.0.3,c.example,session,4,0,4,0,3.5,ICMP,3,2023-11-14T22:13:23.500000Z",
    );
    const only = await cli(["view", sf, "--csv", "--match", "zzz"]);
    assert.deepEqual(only.out, [r.out[0]], "no rows: the header alone");
  });
});

Deno.test("view: the table has units, right-aligned numbers, UTC dates; mistakes exit 2", async () => {
  await withSample(async (_dir, sf) => {
    const r = await cli(["view", sf]);
    assert.equal(r.code, 0);
    const [header, ...rows] = r.out;
    assert.match(
      header,
      /^src\s+dst\s+named\s+pkts out\s+bytes out\s+pkts in\s+bytes in\s+start\s+duration\s+proto$/,
    );
    assert.equal(rows.length, 4);
    const end = (col: string) => header.indexOf(col) + col.length;
    const rowA = rows[0], rowB = rows[1];
    // Right-aligned: the cells end where their header ends.
    assert.equal(rowA.indexOf("100 B") + 5, end("bytes out"));
    assert.equal(rowA.indexOf("5.0 kB") + 6, end("bytes in"));
    assert.equal(rowB.indexOf("2.0 kB") + 6, end("bytes out"));
    assert.equal(rowB.lastIndexOf(" 10 ") + 3, end("pkts in"));
    assert.match(rowA, /2023-11-14 22:13:20Z\s+1\.5 s\s+tcp\/udp$/);
    assert.match(rows[2], /93\.184\.216\.34:53\s+original .*\s+0 s\s+tcp\/udp$/);
    assert.match(
      rows[3],
      /^10\.0\.0\.3\s+c\.example\s+session .*2023-11-14 22:13:23Z\s+3\.0 s\s+ICMP$/,
    );
    const some = await cli(["view", sf, "--top", "1"]);
    assert.deepEqual(some.err, ["1 of 4 Secflows shown"]);
    for (
      const args of [
        ["view", sf, "--sort", "size"],
        ["view", sf, "--top", "0"],
        ["view", sf, "--json", "--csv"],
        ["view"],
        ["view", sf, "--uuid", "00000000-0000-4000-8000-000000000000"],
        ["view", "--uuid", "not-a-uuid"],
      ]
    ) {
      const bad = await cli(args);
      assert.equal(bad.code, 2, args.join(" "));
      assert.equal(bad.err.length, 1, args.join(" "));
      assert.match(bad.err[0], /^networksage view: .* \(see networksage view --help\)$/);
    }
  });
});

Deno.test("renderTable: shrinks the widest shrinkable column to fit, keeps numbers whole", () => {
  const columns: Column[] = [
    { header: "name", shrink: true },
    { header: "bytes", align: "right" },
  ];
  const rows = [["a-very-long-destination-name.example.com:443", "1.2 MB"], ["b", "12 B"]];
  const full = renderTable(columns, rows);
  assert.equal(full[1], "a-very-long-destination-name.example.com:443  1.2 MB");
  assert.equal(full[2], "b                                               12 B");
  const fit = renderTable(columns, rows, 30);
  for (const line of fit) assert.ok(line.length <= 30, line);
  assert.equal(fit[1], "a-very-long-destinati…  1.2 MB");
  assert.equal(fit[2].slice(-4), "12 B");
  assert.equal(formatDate(1_764_583_445.5), "2025-12-01 10:04:05Z");
});

Deno.test("view under a terminal: the table fits its width (script -qec)", async (t) => {
  if (!hasCommand("script")) {
    t.step("SKIP: script (util-linux) is not installed", () => {});
    return;
  }
  await withSample(async (_dir, sf) => {
    const narrow = await underTerminal(
      `stty cols 56 rows 30; ${denoRun("--allow-read")} view ${sf}`,
    );
    const lines = narrow.split(/\r?\n/).filter((l) => l.trim() !== "");
    assert.equal(lines.length, 5, narrow);
    for (const l of lines) assert.ok([...l].length <= 56, `${[...l].length}: ${l}`);
    // Who, where and how much stay; the rest is left out.
    assert.match(lines[0], /^src\s+dst\s+bytes out\s+bytes in$/);
    assert.match(lines[1], /^10\.0\.0\.1:1000\s+b\.example:443\s+100 B\s+5\.0 kB$/);
    const wide = await underTerminal(
      `stty cols 160 rows 30; ${denoRun("--allow-read")} view ${sf}`,
    );
    assert.match(wide.split(/\r?\n/)[0], /^src .* named .* start\s+duration\s+proto$/);
    // Piped, nothing is cut or left out, whatever the width.
    const piped = await cli(["view", sf]);
    assert.equal(wide.split(/\r?\n/)[1], piped.out[1]);
  });
});

// ---------------------------------------------------------------------------------------------
// Every input kind

/** Two TCP sessions: 3 packets and 300 bytes out, 2 packets and 1000 bytes in, each. */
function sessions(): Pkt[] {
  const packets: Pkt[] = [];
  for (const [i, sp] of [[0, 50000], [1, 50001]]) {
    const t = T0 + i * 2_000_000;
    const c = { src: "192.168.1.10", dst: "93.184.216.34", sp, dp: 443 };
    const s = { src: "93.184.216.34", dst: "192.168.1.10", sp: 443, dp: sp };
    packets.push(
      { us: t, ip: tcp({ ...c, flags: 0x02 }) },
      { us: t + 10_000, ip: tcp({ ...s, flags: 0x12, payload: 500 }) },
      { us: t + 20_000, ip: tcp({ ...c, payload: 150 }) },
      { us: t + 30_000, ip: tcp({ ...s, payload: 500 }) },
      { us: t + 250_000, ip: tcp({ ...c, flags: 0x11, payload: 150 }) },
    );
  }
  return packets;
}

/** A conn.log row of a TLS connection: 3 packets / 300 bytes out, 2 packets / 1000 bytes in. */
function tlsRow(seconds: number, port: number): ConnRow {
  return {
    ts: `${seconds}.000000`,
    oh: "192.168.1.10",
    op: port,
    rh: "93.184.216.34",
    rp: 443,
    service: "ssl",
    duration: "0.25",
    ob: "300",
    rb: "1000",
    opk: "3",
    rpk: "2",
  };
}

Deno.test("view and stats read pcap, pcapng and Zeek conn.log in memory, exactly as convert, writing nothing", async () => {
  await using dir = await tempDir();
  const packets = sessions();
  const files: Record<string, Uint8Array | string> = {
    "s.pcap": pcapOf(packets),
    "s.pcapng": pcapng([{
      interfaces: [{ linkType: 1 }],
      blocks: packets.map((p) => ({ kind: "epb", iface: 0, ts: BigInt(p.us), data: ether(p.ip) })),
    }]),
    "conn.log": connTsv([tlsRow(1700000000, 50000), tlsRow(1700000002, 50001)]),
  };
  for (const [name, data] of Object.entries(files)) {
    const path = `${dir.path}/${name}`;
    if (typeof data === "string") await Deno.writeTextFile(path, data);
    else await Deno.writeFile(path, data);
  }
  const before = await listing(dir.path);
  for (const name of Object.keys(files)) {
    const path = `${dir.path}/${name}`;
    const reference = (await convertFile(path)).sample!;
    assert.equal(reference.flashes.length, 2, name);
    const shown = await jsonOf(["view", path, "--json"]) as Flash[];
    assert.deepEqual(shown, reference.flashes, name);
    // Known totals: per session 3 packets / 300 bytes out, 2 packets / 1000 bytes in.
    for (const f of shown) {
      assert.deepEqual([f.srcPkts, f.srcBytes, f.dstPkts, f.dstBytes], [3, 300, 2, 1000], name);
    }
    const stats = await jsonOf(["stats", path, "--json"]) as Record<string, unknown>;
    assert.equal(stats.secflows, 2, name);
    assert.equal(stats.packets, 10, name);
    assert.equal(stats.bytes, 2600, name);
    assert.equal(stats.start, "2023-11-14T22:13:20.000000Z", name);
    const table = await cli(["view", path]);
    assert.match(
      table.out[1],
      /^192\.168\.1\.10:50000\s+93\.184\.216\.34:443\s+original\s+3\s+300 B\s+2\s+1\.0 kB\s+2023-11-14 22:13:20Z\s+250 ms\s+tcp\/udp$/,
      name,
    );
  }
  // A gzip-compressed .sf and conn.log are looked through.
  await Deno.writeFile(`${dir.path}/known.sf.gz`, await gzip(formatSample(SAMPLE)));
  assert.deepEqual(await jsonOf(["view", `${dir.path}/known.sf.gz`, "--json"]), FLASHES);
  await Deno.writeFile(`${dir.path}/conn.log.gz`, await gzip(files["conn.log"] as string));
  assert.equal(
    (await jsonOf(["stats", `${dir.path}/conn.log.gz`, "--json"]) as { bytes: number }).bytes,
    2600,
  );
  for (const extra of ["known.sf.gz", "conn.log.gz"]) await Deno.remove(`${dir.path}/${extra}`);
  // Several inputs together: their Secflows sorted as one list.
  const all = await jsonOf([
    "view",
    ...Object.keys(files).map((n) => `${dir.path}/${n}`),
    "--json",
  ]) as Flash[];
  assert.equal(all.length, 6);
  assert.deepEqual(await listing(dir.path), before, "view and stats wrote nothing");
  // An input that is not one: one line naming it, exit 2.
  await Deno.writeTextFile(`${dir.path}/junk.txt`, "hello\n");
  const junk = await cli(["view", `${dir.path}/junk.txt`]);
  assert.equal(junk.code, 2);
  assert.match(
    junk.err.join("\n"),
    /junk\.txt: not a pcap or pcapng capture, Zeek log or Secflow sample/,
  );
});

Deno.test("stats --json: every key against sums computed here", async () => {
  await withSample(async (_dir, sf) => {
    const stats = await jsonOf(["stats", sf, "--json"]) as Record<string, unknown>;
    assert.deepEqual(Object.keys(stats), [
      "secflows",
      "packets",
      "bytes",
      "start",
      "end",
      "nameSources",
      "topDestinations",
      "topSources",
    ]);
    const sum = (f: (x: Flash) => number) => FLASHES.reduce((n, x) => n + f(x), 0);
    assert.equal(stats.secflows, FLASHES.length);
    assert.equal(stats.packets, sum((f) => f.srcPkts + f.dstPkts));
    assert.equal(stats.bytes, sum((f) => f.srcBytes + f.dstBytes));
    assert.equal(
      stats.start,
      new Date(1_700_000_000_000).toISOString().replace(".000Z", ".000000Z"),
    );
    const end = Math.max(...FLASHES.map((f) => 1_700_000_000 + f.relativeStart + f.duration));
    assert.equal(stats.end, new Date(end * 1000).toISOString().replace(/\.(\d{3})Z/, ".$1000Z"));
    const sources: Record<string, number> = {};
    for (const f of FLASHES) {
      sources[f.destinationNameSource] = (sources[f.destinationNameSource] ?? 0) + 1;
    }
    assert.deepEqual(stats.nameSources, sources);
    const expectTop = (keyOf: (f: Flash) => string, name: string) => {
      const groups = new Map<string, { bytes: number; packets: number; secflows: number }>();
      for (const f of FLASHES) {
        const g = groups.get(keyOf(f)) ?? { bytes: 0, packets: 0, secflows: 0 };
        g.bytes += f.srcBytes + f.dstBytes;
        g.packets += f.srcPkts + f.dstPkts;
        g.secflows++;
        groups.set(keyOf(f), g);
      }
      return [...groups].sort((a, b) => b[1].bytes - a[1].bytes).map(([k, g]) => ({
        [name]: k,
        ...g,
      }));
    };
    assert.deepEqual(stats.topDestinations, expectTop((f) => f.dst, "dst"));
    assert.deepEqual(stats.topSources, expectTop((f) => f.src.split(":")[0], "src"));
    assert.deepEqual(
      (stats.topSources as unknown as { src: string }[]).map((s) => s.src),
      ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
    );
    const top1 = await jsonOf(["stats", sf, "--json", "--top", "1"]) as Record<string, unknown[]>;
    assert.equal(top1.topDestinations.length, 1);
    // The text form says the same.
    const text = await cli(["stats", sf]);
    assert.equal(text.out[0], "Secflows   4");
    assert.equal(text.out[1], "packets    35 (out 17, in 18)");
    assert.equal(text.out[2], "bytes      7.3 kB (out 2.1 kB, in 5.2 kB)");
    assert.equal(text.out[3], "time span  2023-11-14 22:13:20Z to 2023-11-14 22:13:26Z (6.5 s)");
    assert.equal(
      text.out[4],
      "named      3 of 4 Secflows (passive 1, cache 1, session 1); 1 by address only",
    );
    // Global options go before the command too.
    assert.deepEqual(await jsonOf(["--json", "stats", sf]), stats);
  });
});

Deno.test("view --uuid and stats --uuid: a platform sample from a real serve, with category and count", async () => {
  await using dir = await tempDir();
  const KEY = "sk-view-test";
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  try {
    const client = new NetworkSageClient({ apiKey: KEY, apiUrl: s.url, useEnv: false });
    await Deno.writeTextFile(`${dir.path}/known.sf`, formatSample(SAMPLE));
    await client.upload({ path: `${dir.path}/known.sf` });
    await client.upload({ path: `${dir.path}/known.sf`, fileName: "again.sf" });
    await s.idle();
    const uuid = (await client.listUploads())[0].uuid;
    const platform = await client.listSecflows(uuid);
    const env = { NETWORKSAGE_API_KEY: KEY };
    const perms = [
      `--allow-env=NETWORKSAGE_API_KEY,NETWORKSAGE_API_URL,NETWORKSAGE_PUBLIC_URL`,
      `--allow-net=${new URL(s.url).host}`,
    ];
    const json = await runCli(["view", "--uuid", uuid, "--json", "--api-url", s.url], perms, env);
    assert.equal(json.code, 0, json.stderr);
    const shown = JSON.parse(json.stdout);
    // Both uploads hold every flowId: count 2.
    assert.deepEqual(shown, platform.map((p) => ({ ...p, flowIdCount: 2 })));
    const table = await runCli(
      ["--api-url", s.url, "view", "--uuid", uuid, "--sort", "bytes"],
      perms,
      env,
    );
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(lines[0], /proto\s+category\s+count$/);
    assert.match(
      lines[1],
      new RegExp(`^10\\.0\\.0\\.1:1000\\s+b\\.example:443 .*${platform[0].flowCategory}\\s+2$`),
    );
    const csv = await runCli(["view", "--uuid", uuid, "--csv", "--api-url", s.url], perms, env);
    assert.match(
      csv.stdout.split("\n")[0],
      /^sourceData,destinationData,.*,flowCategory,flowId,eventId,flowIdCount,start$/,
    );
    const stats = await runCli(["stats", "--uuid", uuid, "--json", "--api-url", s.url], perms, env);
    assert.equal(JSON.parse(stats.stdout).bytes, 7320);
  } finally {
    await s.shutdown();
  }
});

// ---------------------------------------------------------------------------------------------

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("view and stats refuse a name with control bytes, quoting it escaped, never raw", async () => {
  await using dir = await tempDir();
  const hostile = formatSample({
    ...SAMPLE,
    flashes: [{ ...A, dst: "evil\u001b]0;owned\u0007\u001b[2J.example:443" }],
  });
  await Deno.writeTextFile(`${dir.path}/hostile.sf`, hostile);
  for (const args of [["view"], ["stats"], ["view", "--csv"]]) {
    const r = await cli([...args, `${dir.path}/hostile.sf`]);
    // The .sf reader rejects control characters in names (validate does too): exit 2, one line.
    assert.equal(r.code, 2, r.err.join("\n"));
    assert.equal(r.out.join(""), "");
    const text = r.err.join("\n");
    assert.ok(!text.includes("\u001b") && !text.includes("\u0007"), text);
    assert.match(text, /hostile\.sf/);
  }
});

Deno.test("view --csv: no .sf field can hold a control character; a platform field that does is quoted", async () => {
  await using dir = await tempDir();
  // Local samples: the .sf reader refuses a control character in every field the CSV shows
  // (src and dst are checked as addresses and names, protocolInformation is "" or "ICMP",
  // destinationNameSource one of four words, the rest numbers), so no row can carry one.
  const perms = [`--allow-read=${dir.path}`];
  for (
    const bad of [
      { dst: "a\u001b[2J.example:443" },
      { dst: "a\u0085.example:443" },
      { src: "10.0.0.1\u001b:1000" },
      { protocolInformation: "\u001b[2J" },
      { destinationNameSource: "passive\u009b" },
    ]
  ) {
    const path = `${dir.path}/bad.sf`;
    await Deno.writeTextFile(
      path,
      formatSample({ ...SAMPLE, flashes: [{ ...SAMPLE.flashes[0], ...bad }] } as Sample),
    );
    const r = await runCli(["view", path, "--csv"], perms);
    assert.equal(r.code, 2, `${JSON.stringify(bad)}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /not a valid Secflow sample/);
  }
  // fileName may hold one, but the CSV does not show it.
  const named = `${dir.path}/named.sf`;
  await Deno.writeTextFile(named, formatSample({ ...SAMPLE, fileName: "x\u001b[2J\u0085.pcap" }));
  const local = await runCli(["view", named, "--csv"], perms);
  assert.equal(local.code, 0, local.stderr);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(local.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);

  // A platform sample (--uuid) holds what the server sent: here an eventId with ESC and C1
  // characters, which serve keeps from an uploaded .sf. Its CSV field is quoted, exact.
  const KEY = "sk-view-csv";
  const s = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [KEY] });
  try {
    const client = new NetworkSageClient({ apiKey: KEY, apiUrl: s.url, useEnv: false });
    const eventId = "ev\u001b[2J\u0085x";
    // The flash's keys in the section 1 order (as formatSample writes them), then the eventId.
    const flashes = [{ ...JSON.parse(formatSample(SAMPLE)).flashes[0], eventId }];
    await Deno.writeTextFile(`${dir.path}/ev.sf`, JSON.stringify({ ...SAMPLE, flashes }));
    await client.upload({ path: `${dir.path}/ev.sf`, type: "secflow" });
    await s.idle();
    const uuid = (await client.listUploads())[0].uuid;
    const csv = await runCli(["view", "--uuid", uuid, "--csv", "--api-url", s.url], [
      `--allow-env=NETWORKSAGE_API_KEY,NETWORKSAGE_API_URL,NETWORKSAGE_PUBLIC_URL`,
      `--allow-net=${new URL(s.url).host}`,
    ], { NETWORKSAGE_API_KEY: KEY });
    assert.equal(csv.code, 0, csv.stderr);
    const [header, row] = csv.stdout.split("\n");
    assert.match(header, /,eventId,flowIdCount,start$/);
    assert.ok(row.includes(',"ev\u001b[2J\u0085x",1,'), JSON.stringify(row));
  } finally {
    await s.shutdown();
  }
});

Deno.test("view, stats and report read a Zeek folder (rotated conn.log pieces) as convert writes it", async () => {
  await using dir = await tempDir();
  const folder = `${dir.path}/zeek`;
  await Deno.mkdir(folder);
  // Zeek's rotated names, read in name order (time order).
  await Deno.writeTextFile(
    `${folder}/conn.00:00:00-01:00:00.log`,
    connTsv([tlsRow(1700000000, 50000)]),
  );
  await Deno.writeTextFile(
    `${folder}/conn.01:00:00-02:00:00.log`,
    connTsv([tlsRow(1700003600, 50001)]),
  );
  const written = await cliInProcess(["convert", folder, "-o", `${dir.path}/zeek.sf`]);
  assert.equal(written.code, 0, written.err.join("\n"));
  const reference = JSON.parse(await Deno.readTextFile(`${dir.path}/zeek.sf`)).flashes;
  assert.equal(reference.length, 2);
  assert.deepEqual(await jsonOf(["view", folder, "--json"]), reference);
  const stats = await jsonOf(["stats", folder, "--json"]) as Record<string, unknown>;
  assert.equal(stats.secflows, 2);
  assert.equal(stats.packets, 10);
  const report = await cliInProcess(["report", folder, "-o", `${dir.path}/zeek.html`]);
  assert.equal(report.code, 0, report.err.join("\n"));
  assert.match(await Deno.readTextFile(`${dir.path}/zeek.html`), /93\.184\.216\.34:443/);
});

Deno.test("hostile samples: 200k rows, a trafficDate past the calendar, formula-like names, bidi and wide names", async (t) => {
  await using dir = await tempDir();
  const write = async (name: string, sample: Partial<Sample>) => {
    const path = `${dir.path}/${name}`;
    await Deno.writeTextFile(path, formatSample({ ...SAMPLE, ...sample }));
    return path;
  };
  await t.step(
    "200,000 rows: a table (a spread of 125k+ widths overflowed the stack)",
    async () => {
      const flashes = Array.from({ length: 200_000 }, (_, i) =>
        flash({
          src: `10.0.${i >> 8 & 255}.${i & 255}:${1024 + (i >> 16)}`,
          dst: `h${i}.example:443`,
        }));
      const big = await write("big.sf", { flashes });
      const r = await cli(["view", big]);
      assert.equal(r.code, 0, r.err.join("\n"));
      assert.equal(r.out.length, 200_001);
      assert.match(r.out[200_000], /^10\.0\.13\.63:1027 +h199999\.example:443 /);
      const s = await cli(["stats", big, "--top", "200000"]);
      assert.equal(s.code, 0, s.err.join("\n"));
    },
  );
  await t.step(
    'trafficDate "1e308" is a valid float: shown as "?" (it threw "Invalid time value")',
    async () => {
      const far = await write("far.sf", { trafficDate: "1e308" });
      assert.equal((await cli(["validate", far])).code, 0);
      const v = await cli(["view", far]);
      assert.equal(v.code, 0, v.err.join("\n"));
      assert.match(v.out[1], / \? /);
      assert.equal((await cli(["stats", far])).code, 0);
      const r = await cli(["report", far, "-o", `${dir.path}/far.html`]);
      assert.equal(r.code, 0, r.err.join("\n"));
      // Past the year 9999, not cut at a column: 253402300800 is 10000-01-01.
      assert.equal(formatDate(253402300800.5, 6), "+010000-01-01 00:00:00.500000Z");
    },
  );
  await t.step(
    "--csv: text that starts with = + - @ gets a leading '; numbers stay numbers",
    async () => {
      const formula = await write("f.sf", {
        flashes: [
          flash({ src: "10.0.0.1:1", dst: '=HYPERLINK("evil.example"):443' }),
          flash({ src: "10.0.0.1:2", dst: "+1+1:80", relativeStart: 1 }),
          flash({ src: "10.0.0.1:3", dst: "@SUM(1):80", relativeStart: 2 }),
        ],
      });
      const r = await cli(["view", formula, "--csv"]);
      assert.equal(r.code, 0, r.err.join("\n"));
      assert.match(
        r.out[1],
        /^10\.0\.0\.1:1,"'=HYPERLINK\(""evil\.example""\):443",passive,/,
      );
      assert.match(r.out[2], /^10\.0\.0\.1:2,'\+1\+1:80,passive,1,0,1,0,1,/);
      assert.match(r.out[3], /^10\.0\.0\.1:3,'@SUM\(1\):80,/);
    },
  );
  await t.step(
    "the table: bidi and zero-width marks escaped, wide characters two columns",
    async () => {
      const tricky = await write("t.sf", {
        flashes: [
          flash({ src: "10.0.0.1:1", dst: "\u202eexe.txt\u200b.com:443" }),
          flash({ src: "10.0.0.1:2", dst: "日本語.example:443", relativeStart: 1 }),
          flash({ src: "10.0.0.1:3", dst: "plain.example:443", relativeStart: 2 }),
        ],
      });
      const r = await cli(["view", tricky]);
      assert.equal(r.code, 0, r.err.join("\n"));
      assert.ok(r.out[1].includes("\\u202eexe.txt\\u200b.com:443"), r.out[1]);
      // The column after dst starts at one terminal column on every row.
      const column = (line: string) => {
        const at = line.indexOf("passive");
        return [...line.slice(0, at)].reduce(
          (w, ch) => w + (/\p{Script=Han}/u.test(ch) ? 2 : 1),
          0,
        );
      };
      assert.equal(column(r.out[2]), column(r.out[3]));
      assert.equal(column(r.out[1]), column(r.out[3]));
    },
  );
});

Deno.test("validate stops at broken JSON instead of reading the rest (/dev/zero never ended)", async () => {
  const r = await runCli(["validate", "/dev/zero"], ["--allow-read=/dev/zero"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout + r.stderr, /\/dev\/zero: \$: not JSON: unexpected byte 0x0 at byte 0/);
});
