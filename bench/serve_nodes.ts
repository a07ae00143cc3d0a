/**
 * `serve` throughput on one machine: uploads/s and lookup requests/s for one SQLite node, one
 * PostgreSQL node and two PostgreSQL nodes sharing a database, the configurations alternating
 * round by round so that load from elsewhere on the machine falls on all of them.
 *
 *     deno run -A --lock=postgres.lock bench/serve_nodes.ts [--uploads 200] [--concurrency 8] [--lookup-seconds 5]
 *                                                          [--rounds 2] [--database postgres://...]
 *
 * Without --database (or NETWORKSAGE_TEST_DATABASE_URL) a throwaway cluster is started as
 * `tests/_postgres.ts` does (root, Debian postgresql). Nodes are `cli.ts serve` subprocesses
 * (conversions in capped subprocesses, as documented); the load comes from this process.
 * - uploads/s: `--uploads` small pcaps (a few sessions each) through the client, `--concurrency`
 *   at once, spread round-robin over the nodes; "accepted" is until every upload was answered,
 *   "converted" until every one is processed (listed by the first node).
 * - lookups/s: for `--lookup-seconds`, `--concurrency` loops of GET flow count, Behavior and
 *   sample metadata (one request each), spread over the nodes.
 * @module
 */
import { parseArgs } from "node:util";
import { NetworkSageClient } from "../api/client.ts";
import { freshDatabase, postgresServer } from "../tests/_postgres.ts";
import { POSTGRES_LOCK_FILE, tinyPcap } from "../tests/api_fixtures.ts";

const { values } = parseArgs({
  options: {
    uploads: { type: "string", default: "200" },
    concurrency: { type: "string", default: "8" },
    "lookup-seconds": { type: "string", default: "5" },
    rounds: { type: "string", default: "2" },
    database: { type: "string" },
  },
});
const UPLOADS = Number(values.uploads);
const CONCURRENCY = Number(values.concurrency);
const LOOKUP_MS = Number(values["lookup-seconds"]) * 1000;
const ROUNDS = Number(values.rounds);
const KEY = "bench-key";
const CLI = new URL("../cli.ts", import.meta.url).pathname;

let base = values.database ?? Deno.env.get("NETWORKSAGE_TEST_DATABASE_URL");
if (!base) {
  const server = await postgresServer();
  if ("skip" in server) {
    console.error(`bench: ${server.skip}`);
    Deno.exit(1);
  }
  base = server.url;
}

type Node = { url: string; stop(): Promise<void> };

async function startNode(dataDir: string, database?: string): Promise<Node> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-net=127.0.0.1",
      `--allow-read=${dataDir}`,
      `--allow-write=${dataDir}`,
      `--allow-run=${Deno.execPath()}`,
      "--allow-env",
      ...(database ? [`--lock=${POSTGRES_LOCK_FILE}`] : []),
      CLI,
      "serve",
      "--port",
      "0",
      "--data",
      dataDir,
      "--admin-key",
      KEY,
      ...(database ? ["--database", database] : []),
    ],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const m = /listening on (http:\/\/\S+)/.exec(text);
  if (!m) throw new Error(`serve did not start: ${text}`);
  return {
    url: m[1],
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

async function pool(n: number, work: (i: number) => Promise<void>, count: number) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < count) await work(next++);
  }));
}

interface Result {
  accepted: number;
  converted: number;
  lookups: number;
}

async function measure(nodes: Node[], dir: string): Promise<Result> {
  const clients = nodes.map((n) =>
    new NetworkSageClient({ apiKey: KEY, apiUrl: n.url, useEnv: false, maxAttempts: 1 })
  );
  const paths = await Promise.all(Array.from({ length: UPLOADS }, async (_, i) => {
    const path = `${dir}/u${i}.pcap`;
    await Deno.writeFile(path, tinyPcap(1_700_000_000 + i * 10, i % 5));
    return path;
  }));
  const t0 = performance.now();
  await pool(
    CONCURRENCY,
    (i) => clients[i % clients.length].upload({ path: paths[i] }).then(() => {}),
    UPLOADS,
  );
  const accepted = performance.now() - t0;
  for (;;) {
    const list = await clients[0].listUploads();
    if (list.length === UPLOADS && list.every((e) => e.processed || e.processingError)) {
      const failed = list.filter((e) => !e.processed);
      if (failed.length) throw new Error(`${failed.length} failed: ${failed[0].processingError}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const converted = performance.now() - t0;
  const [entry] = await clients[0].listUploads();
  const [secflow] = await clients[0].listSecflows(entry.uuid);
  let lookups = 0;
  const deadline = performance.now() + LOOKUP_MS;
  const t1 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
    const c = clients[w % clients.length];
    for (let k = 0; performance.now() < deadline; k++) {
      if (k % 3 === 0) await c.secflowCount(secflow.flowId);
      else if (k % 3 === 1) await c.behavior(secflow.flowId);
      else await c.getSample(entry.uuid);
      lookups++;
    }
  }));
  const lookupMs = performance.now() - t1;
  return {
    accepted: UPLOADS / (accepted / 1000),
    converted: UPLOADS / (converted / 1000),
    lookups: lookups / (lookupMs / 1000),
  };
}

const configs: { name: string; nodes: number; postgres: boolean }[] = [
  { name: "sqlite, 1 node", nodes: 1, postgres: false },
  { name: "postgres, 1 node", nodes: 1, postgres: true },
  { name: "postgres, 2 nodes", nodes: 2, postgres: true },
];
const results = new Map<string, Result[]>(configs.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const config of configs) {
    const dir = await Deno.makeTempDir({ prefix: "ns_bench_serve_" });
    await using db = config.postgres ? await freshDatabase(base) : undefined;
    const nodes: Node[] = [];
    try {
      for (let i = 0; i < config.nodes; i++) {
        nodes.push(await startNode(`${dir}/node${i}`, db?.url));
      }
      const r = await measure(nodes, dir);
      results.get(config.name)!.push(r);
      console.error(
        `round ${round + 1} ${config.name}: ${r.accepted.toFixed(0)} uploads/s accepted, ` +
          `${r.converted.toFixed(0)} converted, ${r.lookups.toFixed(0)} lookups/s`,
      );
    } finally {
      for (const n of nodes) await n.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `| configuration | uploads/s accepted | uploads/s converted | lookups/s |\n| --- | --- | --- | --- |`,
);
for (const [name, rs] of results) {
  console.log(
    `| ${name} | ${median(rs.map((r) => r.accepted)).toFixed(0)} | ${
      median(rs.map((r) => r.converted)).toFixed(0)
    } | ${median(rs.map((r) => r.lookups)).toFixed(0)} |`,
  );
}
console.log(
  `(${UPLOADS} uploads, ${CONCURRENCY} at once, ${
    LOOKUP_MS / 1000
  } s of lookups, median of ${ROUNDS} rounds)`,
);
