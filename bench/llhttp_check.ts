/**
 * The independent check of serve's HTTP/1.1 listener against Node's llhttp: every strict request
 * case of llhttp's own test suite (`test/request/*.md`, `type: "request"` cases) is sent to a real
 * `serve` on 127.0.0.1 and the answers are judged by what llhttp's log says of that input
 * (docs/SERVE.md, "HTTP/1.1 as llhttp reads it"). A case holds when:
 * - llhttp refuses it (`error code=` in its log, other than the Upgrade pause): the messages it
 *   completed before the error are answered once each, and after them serve sends only refusals
 *   (400, 411, 413, 414, 417, 421, 431, 5xx; not the 408 of a timeout) or closes: never routed;
 * - llhttp accepts it: each message it completes is answered exactly once (any status);
 * - llhttp pauses on Upgrade/CONNECT (code 22) or PRI (code 23): the messages completed before
 *   are answered once; what follows must not be routed.
 *
 * llhttp's cases are not part of this repository. Give its `test/request` folder (a checkout of
 * nodejs/llhttp) with `--llhttp DIR`; without it the check says so and exits 0. `--split` sends
 * each case in two writes 60 ms apart (the second from the middle on), `--verbose` every verdict.
 *
 *     deno run --allow-read --allow-write --allow-net=127.0.0.1 --allow-env --allow-run \
 *       bench/llhttp_check.ts --llhttp ~/src/llhttp/test/request [--split] [--verbose]
 * @module
 */
import { parseArgs } from "node:util";
import { serve } from "../serve.ts";

const { values } = parseArgs({
  options: {
    llhttp: { type: "string" },
    split: { type: "boolean" },
    verbose: { type: "boolean" },
  },
});
const verbose = values.verbose === true;
const split = values.split === true;
if (!values.llhttp) {
  console.log(
    "llhttp_check: no --llhttp DIR (llhttp's test/request folder) given; nothing checked",
  );
  Deno.exit(0);
}
const dir = values.llhttp.endsWith("/") ? values.llhttp : `${values.llhttp}/`;

interface Case {
  file: string;
  line: number;
  name: string;
  input: Uint8Array;
  complete: number;
  error: number | null;
  reason: string;
}

function unescapeInput(raw: string): string {
  let input = raw.replace(/\n$/, "");
  input = input.replace(/\\(\r\n|\r|\n)/g, "");
  input = input.replace(/\r\n|\r|\n/g, "\r\n");
  input = input.replace(/\\r/g, "\r").replace(/\\n/g, "\n").replace(/\\t/g, "\t").replace(
    /\\f/g,
    "\f",
  );
  input = input.replace(/\\x([0-9a-fA-F]+)/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  input = input.replace(/\\([0-7]{1,3})/g, (_, d) => String.fromCharCode(parseInt(d, 8)));
  input = input.replace(/\$\{(.+?)\}/g, (_, code) => String((0, eval)(code)));
  return input;
}

function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

function parseCases(file: string, text: string): Case[] {
  const lines = text.split("\n");
  const out: Case[] = [];
  let name = "";
  for (let i = 0; i < lines.length; i++) {
    const h = /^#+\s+(.*)$/.exec(lines[i]);
    if (h) name = h[1];
    const m = /^<!--\s*meta=(.*)-->\s*$/.exec(lines[i]);
    if (!m) continue;
    const meta = JSON.parse(m[1]);
    // skipBody is a parser mode for answers to HEAD, not a request a server can get.
    if (meta.type !== "request" || meta.skipBody) continue;
    let j = i + 1;
    while (!lines[j].startsWith("```http")) j++;
    const body: string[] = [];
    for (j++; !lines[j].startsWith("```"); j++) body.push(lines[j]);
    while (!lines[j].startsWith("```log")) j++;
    const log: string[] = [];
    for (j++; !lines[j].startsWith("```"); j++) log.push(lines[j]);
    const err = log.map((l) => /error code=(\d+) reason="(.*)"/.exec(l)).find(Boolean);
    out.push({
      file,
      line: i + 1,
      name,
      input: latin1(unescapeInput(body.join("\n") + "\n")),
      complete: log.filter((l) => l.endsWith("message complete")).length,
      error: err ? Number(err[1]) : null,
      reason: err ? err[2] : "",
    });
  }
  return out;
}

/** Responses read from a connection until it closes or `quietMs` pass without bytes. */
async function answers(
  conn: Deno.Conn,
  expected: number,
  quietMs: number,
  totalMs: number,
  head_ = false,
): Promise<{ statuses: number[]; closed: boolean; raw: string; lastMs: number }> {
  const t0 = Date.now();
  let lastMs = 0;
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  const until = Date.now() + totalMs;
  let closed = false;
  const statuses: number[] = [];
  const parse = () => {
    statuses.length = 0;
    let off = 0;
    const text = new TextDecoder("latin1").decode(buf);
    for (;;) {
      const end = text.indexOf("\r\n\r\n", off);
      if (end < 0) return;
      const head = text.slice(off, end);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (!m) return;
      const status = Number(m[1]);
      let next = end + 4;
      const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
        for (;;) {
          const le = text.indexOf("\r\n", next);
          if (le < 0) return;
          const size = parseInt(text.slice(next, le), 16);
          next = le + 2 + size + 2;
          if (size === 0) break;
        }
      } else if (cl && status >= 200 && !head_) next += Number(cl[1]);
      if (next > text.length) return;
      if (status >= 200) statuses.push(status);
      off = next;
    }
  };
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) break;
    const wait = statuses.length >= expected ? Math.min(quietMs, left) : left;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(chunk).catch(() => null),
      new Promise<"quiet">((r) => timer = setTimeout(() => r("quiet"), wait)),
    ]);
    clearTimeout(timer);
    if (n === "quiet") break;
    lastMs = Date.now() - t0;
    if (n === null) {
      closed = true;
      break;
    }
    const nb = new Uint8Array(buf.length + n);
    nb.set(buf);
    nb.set(chunk.subarray(0, n), buf.length);
    buf = nb;
    parse();
  }
  parse();
  return { statuses, closed, raw: new TextDecoder("latin1").decode(buf), lastMs };
}

const REFUSALS = new Set([400, 408, 411, 413, 414, 417, 421, 431]);
const refusal = (s: number) => REFUSALS.has(s) || s >= 500;

const dataRoot = await Deno.makeTempDir({ prefix: "llhttp_check_" });
const server = await serve({
  dataDir: `${dataRoot}/data`,
  apiKeys: ["llhttp-check-key-0001"],
  port: 0,
  onLog: () => {},
  headerTimeoutMs: 1500,
  idleTimeoutMs: 1500,
  stallTimeoutMs: 1500,
  convert: () => Promise.reject(new Error("no conversions here")),
});
const cases: Case[] = [];
for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.name.endsWith(".md")) continue;
  cases.push(...parseCases(entry.name, Deno.readTextFileSync(dir + entry.name)));
}
let held = 0;
const failures: string[] = [];
for (const c of cases) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    if (split && c.input.length > 1) {
      const mid = Math.floor(c.input.length / 2);
      await conn.write(c.input.subarray(0, mid));
      await new Promise((r) => setTimeout(r, 60));
      await conn.write(c.input.subarray(mid)).catch(() => {});
    } else await conn.write(c.input);
  } catch { /* closed early: judged by what came back */ }
  // A refused case is read until serve closes (a refusal only by the 408 of a timeout fails).
  const got = await answers(
    conn,
    c.error === null || c.error === 22 ? c.complete : Infinity,
    300,
    4000,
    // Answers to HEAD carry GET's length and no body.
    new TextDecoder().decode(c.input).replace(/^(\r\n)+/, "").startsWith("HEAD "),
  );
  try {
    conn.close();
  } catch { /* closed */ }
  const first = got.statuses.slice(0, c.complete);
  const rest = got.statuses.slice(c.complete);
  let ok: boolean;
  let why = "";
  if (c.error === null) {
    ok = got.statuses.length === c.complete;
    if (!ok) why = `expected ${c.complete} answers`;
  } else {
    ok = first.length === c.complete && rest.every((s) => refusal(s) && s !== 408) &&
      (c.error === 22 || rest.length <= 1);
    if (!ok) {
      why = first.length < c.complete
        ? `expected ${c.complete} answers before the error`
        : `routed after the error (${rest.join(",")})`;
    }
    if (ok && c.error !== 22 && rest.length === 0 && !got.closed) {
      ok = false;
      why = "neither refused nor closed";
    }
    // serve's timeouts are 1.5 s here: a refusal that only came with one is no refusal.
    if (ok && c.error !== 22 && got.lastMs >= 1400) {
      ok = false;
      why = `refused only by a timeout (${got.lastMs} ms)`;
    }
  }
  if (ok) held++;
  else {
    failures.push(
      `${c.file}:${c.line} ${c.name} [llhttp: ${
        c.error === null ? `${c.complete} complete` : `error ${c.error} ${c.reason}`
      }] got ${JSON.stringify(got.statuses)}${got.closed ? " closed" : ""}: ${why}`,
    );
  }
  if (verbose) {
    console.log(
      `${ok ? "ok  " : "FAIL"} ${c.file}:${c.line} ${c.name} -> ${JSON.stringify(got.statuses)}${
        got.closed ? " closed" : ""
      }`,
    );
  }
}
await server.shutdown();
await Deno.remove(dataRoot, { recursive: true });
for (const f of failures) console.log(`FAIL ${f}`);
console.log(`${held} of ${cases.length} strict request cases hold${split ? " (split)" : ""}`);
