/**
 * `serve`'s HTTP/1.1 listener held to RFC 9112 and to what Node's llhttp refuses, over raw
 * sockets on 127.0.0.1: a body that arrives in a second packet, `Expect: 100-continue` refused,
 * pipelining after a body, connections held by slow heads, unread bodies and slow bodies while a
 * list request is answered, the whole-request deadline (408), request-smuggling framings, the
 * methods and versions it does not speak, `Host` (required, and checked for the pages: DNS
 * rebinding), HEAD's length, the request log, and NUL bytes in path parameters on both stores.
 * Timeouts are shortened through options so that nothing here waits the defaults.
 */
import assert from "node:assert/strict";
import { hasCommand } from "../_child.ts";
import { serveTest } from "../_storages.ts";
import { platformSecflows, startServe, tempDir } from "../api_fixtures.ts";

const enc = new TextEncoder();

/** One answer read off a socket. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `parts` (with `gapMs` between them) on a new connection and reads answers until `count`
 * came (then `quietMs` more to see that no other follows), the server closes, or `totalMs`.
 */
async function talk(
  url: string,
  parts: (string | Uint8Array)[],
  options: { count?: number; gapMs?: number; quietMs?: number; totalMs?: number; head?: boolean } =
    {},
): Promise<{ answers: Answer[]; closed: boolean; raw: string; ms: number }> {
  const started = Date.now();
  const u = new URL(url);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  const writing = (async () => {
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, options.gapMs ?? 300));
      const p = parts[i];
      await conn.write(typeof p === "string" ? enc.encode(p) : p).catch(() => {});
    }
  })();
  const count = options.count ?? 1;
  const until = Date.now() + (options.totalMs ?? 5000);
  let raw = "";
  let closed = false;
  let answers: Answer[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    answers = parseAnswers(raw, options.head ?? false);
    const left = until - Date.now();
    if (left <= 0) break;
    const wait = answers.length >= count ? Math.min(options.quietMs ?? 200, left) : left;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<"quiet">((r) => timer = setTimeout(() => r("quiet"), wait)),
    ]);
    clearTimeout(timer);
    if (n === "quiet") break;
    if (n === null) {
      closed = true;
      break;
    }
    raw += new TextDecoder("latin1").decode(buf.subarray(0, n));
  }
  answers = parseAnswers(raw, options.head ?? false);
  const ms = Date.now() - started;
  await writing;
  try {
    conn.close();
  } catch { /* closed */ }
  return { answers, closed, raw, ms };
}

/** Final answers (1xx skipped) in `raw`, bodies framed by length or chunks. */
function parseAnswers(raw: string, head: boolean): Answer[] {
  const out: Answer[] = [];
  let off = 0;
  for (;;) {
    const end = raw.indexOf("\r\n\r\n", off);
    if (end < 0) return out;
    const lines = raw.slice(off, end).split("\r\n");
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0])?.[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(":");
      headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    let next = end + 4;
    let body = "";
    if (status >= 200 && !head) {
      if (headers["transfer-encoding"] === "chunked") {
        for (;;) {
          const le = raw.indexOf("\r\n", next);
          if (le < 0) return out;
          const size = parseInt(raw.slice(next, le), 16);
          if (raw.length < le + 2 + size + 2) return out;
          body += raw.slice(le + 2, le + 2 + size);
          next = le + 2 + size + 2;
          if (size === 0) break;
        }
      } else {
        const n = Number(headers["content-length"] ?? 0);
        if (raw.length < next + n) return out;
        body = raw.slice(next, next + n);
        next += n;
      }
    }
    if (status >= 200) out.push({ status, headers, body });
    off = next;
  }
}

const KEY = "key-alice-0123456789";

async function withServe(
  options: Record<string, unknown>,
  fn: (s: Awaited<ReturnType<typeof startServe>>, host: string) => Promise<void>,
): Promise<void> {
  await using dir = await tempDir();
  const s = await startServe({
    dataDir: `${dir.path}/data`,
    apiKeys: [KEY],
    convert: () => Promise.reject(new Error("no conversions in these tests")),
    ...options,
  });
  try {
    await fn(s, new URL(s.url).host);
  } finally {
    await s.shutdown();
  }
}

Deno.test("http1: a body in a second packet is answered, and the request after it too", async () => {
  await withServe({}, async (s, host) => {
    const r = await talk(s.url, [
      `POST /nothing HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 10\r\n\r\n`,
      `0123456789GET /nothing/either HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    ], { count: 2 });
    assert.deepEqual(r.answers.map((a) => a.status), [404, 404]);
    assert.match(r.answers[1].body, /nothing\/either/);
    assert.ok(!r.closed, "kept alive");
    // The log tells what was received and that the answer went out.
    assert.match(
      s.logs.find((l) => l.startsWith("POST /nothing "))!,
      / 404 received 10 B, sent \d+ B/,
    );
  });
});

Deno.test("http1: Expect: 100-continue with a wrong key gets its 401, never 100 Continue", async () => {
  await withServe({}, async (s, host) => {
    const r = await talk(s.url, [
      `POST /upload/v1.0/uploader HTTP/1.1\r\nHost: ${host}\r\napikey: wrong-key-0123456789\r\n` +
      "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n" +
      "Expect: 100-continue\r\n\r\n",
    ]);
    assert.ok(!r.raw.includes("100 Continue"), r.raw);
    assert.equal(r.answers[0]?.status, 401);
    assert.equal(r.answers[0].headers.connection, "close", "the body was never read");
  });
});

Deno.test("http1: requests pipelined after a body are each answered once", async () => {
  await withServe({}, async (s, host) => {
    const r = await talk(s.url, [
      `POST /aaa HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 3\r\n\r\nAAA` +
      `PUT /bbb HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 4\r\n\r\nBBBB` +
      `POST /ccc HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nCC\r\n0\r\n\r\n` +
      `GET /ddd HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    ], { count: 4 });
    assert.deepEqual(r.answers.map((a) => a.status), [404, 404, 404, 404]);
    assert.deepEqual(
      r.answers.map((a) => /(\/\w+)"/.exec(a.body)?.[1]),
      ["/aaa", "/bbb", "/ccc", "/ddd"],
    );
  });
});

/** Opens `n` connections, each sent `text`. */
async function holders(url: string, n: number, text: string): Promise<Deno.TcpConn[]> {
  const u = new URL(url);
  const out: Deno.TcpConn[] = [];
  for (let i = 0; i < n; i++) {
    const c = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
    await c.write(enc.encode(text));
    out.push(c);
  }
  return out;
}

for (
  const [kind, text] of [
    [
      "an unread body that never comes",
      "POST /nothing HTTP/1.1\r\nHost: HOST\r\nContent-Length: 10\r\n\r\n",
    ],
    ["a slow head", "GET /upload/v1.0/uploads/list HTTP/1.1\r\nHost: HOST\r\n"],
    [
      "a slow login body",
      "POST /login HTTP/1.1\r\nHost: HOST\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
      "Content-Length: 8000\r\n\r\napikey=",
    ],
  ] as const
) {
  Deno.test(`http1: 512 connections held by ${kind} leave room for a list request`, async () => {
    await withServe({}, async (s, host) => {
      const held = await holders(s.url, 512, text.replace("HOST", host));
      try {
        // Let every holder reach its waiting state.
        await new Promise((r) => setTimeout(r, 300));
        const started = performance.now();
        const r = await fetch(`${s.url}/upload/v1.0/uploads/list`, {
          headers: { apikey: KEY },
          signal: AbortSignal.timeout(5000),
        });
        const ms = performance.now() - started;
        assert.equal(r.status, 200);
        assert.deepEqual(await r.json(), { error: false, body: [] });
        assert.ok(ms < 1000, `list answered in ${Math.round(ms)} ms`);
      } finally {
        for (const c of held) c.close();
      }
    });
  });
}

Deno.test("http1: a slow body gets 408 at the whole-request deadline, however it trickles", async () => {
  await withServe({ requestTimeoutMs: 800, stallTimeoutMs: 5000 }, async (s, host) => {
    const drip = Array.from({ length: 20 }, () => "a");
    const r = await talk(s.url, [
      `POST /login HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
      "Content-Length: 8000\r\n\r\napikey=",
      ...drip,
    ], { gapMs: 150, totalMs: 4000 });
    assert.equal(r.answers[0]?.status, 408, r.raw);
    assert.ok(r.closed);
    assert.ok(r.ms < 2500, `408 after ${r.ms} ms, well before the 5 s stall timeout`);
    // The login page the handler would have answered never went out; the log says so.
    await new Promise((r) => setTimeout(r, 100));
    const line = s.logs.find((l) => l.startsWith("POST /login "));
    assert.ok(line === undefined || / not sent, /.test(line), line);
  });
});

Deno.test("http1: a slow head gets 408, an idle connection is just closed", async () => {
  await withServe({ headerTimeoutMs: 500, idleTimeoutMs: 300 }, async (s, host) => {
    const slow = await talk(s.url, [`GET /nothing HTTP/1.1\r\nHost: ${host}\r\n`], {
      count: 1,
      totalMs: 3000,
    });
    assert.equal(slow.answers[0]?.status, 408);
    assert.ok(slow.closed);
    const idle = await talk(s.url, [`GET /nothing HTTP/1.1\r\nHost: ${host}\r\n\r\n`], {
      count: 2,
      totalMs: 3000,
    });
    assert.deepEqual(idle.answers.map((a) => a.status), [404]);
    assert.ok(idle.closed);
  });
});

/** Framings that a lenient parser reads differently from a strict proxy (request smuggling). */
const SMUGGLING: [string, string][] = [
  [
    "space before the colon of Transfer-Encoding",
    "Transfer-Encoding : chunked\r\n\r\n7\r\n1234567\r\n0\r\n\r\n",
  ],
  ["space before the colon of Content-Length", "Content-Length : 2\r\n\r\nab"],
  ["chunk size 0x7", "Transfer-Encoding: chunked\r\n\r\n0x7\r\n1234567\r\n0\r\n\r\n"],
  ["chunk size 7zz", "Transfer-Encoding: chunked\r\n\r\n7zz\r\n1234567\r\n0\r\n\r\n"],
  ["chunk size +7", "Transfer-Encoding: chunked\r\n\r\n+7\r\n1234567\r\n0\r\n\r\n"],
  ["chunk size with a space", "Transfer-Encoding: chunked\r\n\r\n7 \r\n1234567\r\n0\r\n\r\n"],
  ["-0 as the last chunk", "Transfer-Encoding: chunked\r\n\r\n7\r\n1234567\r\n-0\r\n\r\n"],
  ["a chunk line ending in a bare LF", "Transfer-Encoding: chunked\r\n\r\n7\n1234567\r\n0\r\n\r\n"],
  ["chunk data ending in a bare LF", "Transfer-Encoding: chunked\r\n\r\n7\r\n1234567\n0\r\n\r\n"],
  ["a chunk longer than declared", "Transfer-Encoding: chunked\r\n\r\n3\r\n1234567\r\n0\r\n\r\n"],
  ["an empty chunk extension", "Transfer-Encoding: chunked\r\n\r\n7;\r\n1234567\r\n0\r\n\r\n"],
  ["a missing last chunk", "Transfer-Encoding: chunked\r\n\r\n7\r\n1234567\r\n\r\n"],
  ["a bare CR in a header line", "X-A: 1\rX-B: 2\r\nContent-Length: 0\r\n\r\n"],
  ["a bare LF between headers", "X-A: 1\nContent-Length: 5\r\n\r\nhello"],
  ["an obs-fold line", "X-A: 1\r\n Content-Length: 5\r\n\r\nhello"],
  ["a control character in a value", "X-A: a\x0cb\r\n\r\n"],
  [
    "Content-Length and Transfer-Encoding",
    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  ],
  ["two Content-Lengths", "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"],
  ["Content-Length with a sign", "Content-Length: +2\r\n\r\nab"],
  ["Content-Length 4 2", "Content-Length: 4 2\r\n\r\nabcd"],
  ["an empty Content-Length", "Content-Length:\r\n\r\n"],
  [
    "Transfer-Encoding not ending in chunked",
    "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
  ],
  ["Transfer-Encoding chunkedchunked", "Transfer-Encoding: chunkedchunked\r\n\r\n0\r\n\r\n"],
  [
    "Transfer-Encoding with Content-Length (identity)",
    "Transfer-Encoding: identity\r\nContent-Length: 1\r\n\r\na",
  ],
];

Deno.test("http1: every request-smuggling framing is refused with 400, never routed", async () => {
  await withServe({}, async (s, host) => {
    for (const [name, rest] of SMUGGLING) {
      // /favicon.ico answers 204 to anything routed to it: a 204 here is a routed request.
      const r = await talk(s.url, [`POST /favicon.ico HTTP/1.1\r\nHost: ${host}\r\n${rest}`], {
        count: 1,
        totalMs: 3000,
      });
      assert.deepEqual(r.answers.map((a) => a.status), [400], `${name}: ${r.raw}`);
      assert.ok(r.closed, `${name}: closed after the 400`);
    }
    // The same framings done right are routed (so the refusals above are the framings').
    for (
      const rest of [
        'Transfer-Encoding: chunked\r\n\r\n7;ext=1;q="a b"\r\n1234567\r\n000\r\nX-T: 1\r\n\r\n',
        "Content-Length: 002\r\n\r\nab",
        "Transfer-Encoding:\tchunked \r\n\r\n0\r\n\r\n",
      ]
    ) {
      const r = await talk(s.url, [`POST /favicon.ico HTTP/1.1\r\nHost: ${host}\r\n${rest}`]);
      assert.deepEqual(r.answers.map((a) => a.status), [204], rest);
    }
  });
});

Deno.test("http1: methods, versions and request lines it does not speak", async () => {
  await withServe({}, async (s, host) => {
    const status = async (text: string) =>
      (await talk(s.url, [text], { count: 1, totalMs: 3000 })).answers.map((a) => a.status);
    assert.deepEqual(await status(`MKCOLA /login HTTP/1.1\r\nHost: ${host}\r\n\r\n`), [501]);
    assert.deepEqual(await status(`ANNOUNCE /login HTTP/1.1\r\nHost: ${host}\r\n\r\n`), [501]);
    assert.deepEqual(await status(`PROPFIND / HTTP/1.1\r\nHost: ${host}\r\n\r\n`), [501]);
    assert.deepEqual(await status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), [505]);
    assert.deepEqual(await status(`PRI * HTTP/1.1\r\nHost: ${host}\r\n\r\nSM\r\n\r\n`), [505]);
    assert.deepEqual(await status(`GET / HTTP/2.0\r\nHost: ${host}\r\n\r\n`), [505]);
    assert.deepEqual(await status(`GET / HTTP/1.2\r\nHost: ${host}\r\n\r\n`), [505]);
    assert.deepEqual(await status(`GET / RTSP/1.0\r\nHost: ${host}\r\n\r\n`), [400]);
    assert.deepEqual(await status(`GET /\r\n\r\n`), [400]);
    assert.deepEqual(await status(`GET  / HTTP/1.1\r\nHost: ${host}\r\n\r\n`), [400]);
    assert.deepEqual(await status(`GET /\xce\xb4 HTTP/1.1\r\nHost: ${host}\r\n\r\n`), [400]);
    // RFC 9112 section 2.2: empty lines before a request line are ignored.
    assert.deepEqual(await status(`\r\n\r\nGET /favicon.ico HTTP/1.1\r\nHost: ${host}\r\n\r\n`), [
      204,
    ]);
  });
});

Deno.test("http1: Connection is read as tokens: x-close-y keeps the connection, close ends it", async () => {
  await withServe({}, async (s, host) => {
    const get = (connection: string) =>
      `GET /favicon.ico HTTP/1.1\r\nHost: ${host}\r\nConnection: ${connection}\r\n\r\n`;
    const kept = await talk(s.url, [get("x-close-y") + get("keep-alive")], { count: 2 });
    assert.deepEqual(kept.answers.map((a) => a.status), [204, 204]);
    const closed = await talk(s.url, [get("keep-alive, Close\t") + get("keep-alive")], {
      count: 2,
    });
    assert.deepEqual(closed.answers.map((a) => a.status), [204]);
    assert.ok(closed.closed);
  });
});

Deno.test("http1: Host is required (400), and the pages answer only this server's own names", async () => {
  await withServe({}, async (s, host) => {
    const port = new URL(s.url).port;
    const noHost = await talk(s.url, ["GET /favicon.ico HTTP/1.1\r\n\r\n"]);
    assert.deepEqual(noHost.answers.map((a) => a.status), [400]);
    const twoHosts = await talk(s.url, [
      `GET /favicon.ico HTTP/1.1\r\nHost: ${host}\r\nHost: ${host}\r\n\r\n`,
    ]);
    assert.deepEqual(twoHosts.answers.map((a) => a.status), [400]);
    // HTTP/1.0 has no Host to require; the pages still do not answer without one.
    const old = await talk(s.url, ["GET /favicon.ico HTTP/1.0\r\n\r\n"]);
    assert.deepEqual(old.answers.map((a) => a.status), [421]);
    const login = (h: string) =>
      `POST /login HTTP/1.1\r\nHost: ${h}\r\nOrigin: http://${h}\r\n` +
      `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${
        7 + KEY.length
      }\r\n\r\napikey=${KEY}`;
    // A DNS-rebinding page: its origin and Host agree, and name the attacker's domain.
    const rebound = await talk(s.url, [login(`evil.example:${port}`)]);
    assert.equal(rebound.answers[0].status, 421);
    assert.ok(!rebound.answers[0].headers["set-cookie"]);
    for (const ok of [host, `localhost:${port}`]) {
      const r = await talk(s.url, [login(ok)]);
      assert.equal(r.answers[0].status, 303, ok);
      assert.match(r.answers[0].headers["set-cookie"], /^ns_session=/);
    }
    // The API itself (keys in a header, not a cookie) does not depend on the name used.
    const api = await talk(s.url, [
      `GET /upload/v1.0/uploads/list HTTP/1.1\r\nHost: api.example\r\napikey: ${KEY}\r\n\r\n`,
    ]);
    assert.equal(api.answers[0].status, 200);
  });
  await withServe({ publicOrigin: "https://ns.example.com" }, async (s, host) => {
    const port = new URL(s.url).port;
    const login = (h: string, origin: string) =>
      `POST /login HTTP/1.1\r\nHost: ${h}\r\nOrigin: ${origin}\r\n` +
      `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${
        7 + KEY.length
      }\r\n\r\napikey=${KEY}`;
    const rebound = await talk(s.url, [
      login(`evil.example:${port}`, `http://evil.example:${port}`),
    ]);
    assert.equal(rebound.answers[0].status, 421);
    const proxied = await talk(s.url, [login("ns.example.com", "https://ns.example.com")]);
    assert.equal(proxied.answers[0].status, 303);
    const direct = await talk(s.url, [login(host, "https://ns.example.com")]);
    assert.equal(direct.answers[0].status, 303);
  });
});

Deno.test("http1: HEAD answers with GET's Content-Length and no body", async () => {
  await withServe({}, async (s, host) => {
    const get = await talk(s.url, [`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`]);
    const head = await talk(s.url, [`HEAD / HTTP/1.1\r\nHost: ${host}\r\n\r\n`], { head: true });
    assert.equal(get.answers[0].status, 200);
    assert.ok(get.answers[0].body.length > 1000);
    assert.equal(head.answers[0].status, 200);
    assert.equal(Number(head.answers[0].headers["content-length"]), get.answers[0].body.length);
    assert.equal(head.raw.length, head.raw.indexOf("\r\n\r\n") + 4, "no body");
  });
});

Deno.test("http1: the log says 'sent' only for answers that went out", async () => {
  await withServe({}, async (s, host) => {
    // Half of a 10-byte body, then the client goes away: the 404 decided for it never leaves.
    await talk(s.url, [
      `POST /nothing HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 10\r\n\r\n01234`,
    ], {
      count: 0,
      quietMs: 300,
    });
    await new Promise((r) => setTimeout(r, 300));
    const line = s.logs.find((l) => l.startsWith("POST /nothing "));
    assert.match(line ?? "", / 404 received 5 B, not sent, /);
  });
});

serveTest(
  "http1: a NUL byte in a path parameter answers 404 on every route, never 500",
  async (storage) => {
    await withServe({ ...storage }, async (s) => {
      const get = (path: string) =>
        fetch(`${s.url}${path}`, { headers: { apikey: KEY } }).then(async (r) => ({
          status: r.status,
          body: await r.text(),
        }));
      for (
        const path of [
          "/sec/v1.0/samples/%00",
          "/sec/v1.0/samples/a%00b/list",
          "/sec/v1.0/secflows/%00/count",
          "/sec/v1.0/destinations/%00",
          `/public/secflows/v1/%00/list/aggregated`,
          // Base64 of a uuid with a NUL inside: passes the route, reaches the store.
          `/public/secflows/v1/${encodeURIComponent(btoa("a\0b#hash#c"))}/list/aggregated`,
        ]
      ) {
        const r = await get(path);
        assert.equal(r.status, 404, `${path}: ${r.body}`);
      }
      assert.ok(!s.logs.some((l) => / 500 |invalid byte/.test(l)), s.logs.join("\n"));
    });
  },
);

Deno.test("http1: a list request is answered while finished conversions are being stored, not after all of them", async () => {
  // A converter that answers at once, with many Secflows: storing them is the work. Storing used
  // to run in one chain of promise callbacks, one synchronous transaction each, and a list
  // request waited until every conversion was stored (50 of them: 7.6 s).
  const flows = (seed: number) => platformSecflows(5000, seed);
  let seed = 0;
  await withServe({
    convert: () => Promise.resolve({ sample: null, warnings: [], secflows: flows(seed++) }),
  }, async (s) => {
    const sf = JSON.stringify({ hash: "0".repeat(32), trafficDate: "1700000000.0", flashes: [] });
    await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const form = new FormData();
      form.append("file", new Blob([sf]), `s${i}.sf`);
      form.append("type", "secflow");
      const r = await fetch(`${s.url}/upload/v1.0/uploader`, {
        method: "POST",
        headers: { apikey: KEY },
        body: form,
      });
      assert.equal(r.status, 200, await r.text());
    }));
    const list = await (await fetch(`${s.url}/upload/v1.0/uploads/list`, {
      headers: { apikey: KEY },
    })).json();
    assert.equal(list.body.length, 20);
    const waiting = list.body.filter((e: { processed: boolean }) => !e.processed).length;
    assert.ok(waiting > 0, "answered while conversions were still being stored");
    await s.idle();
    // And each sample, once processed, has every Secflow and counts as one sample.
    const done = await (await fetch(`${s.url}/upload/v1.0/uploads/list`, {
      headers: { apikey: KEY },
    })).json();
    assert.ok(done.body.every((e: { processed: boolean }) => e.processed));
    const uuid = done.body[0].uuid;
    const secflows = await (await fetch(`${s.url}/sec/v1.0/samples/${uuid}/list`, {
      headers: { apikey: KEY },
    })).json();
    assert.equal(secflows.body.length, 5000);
    const count = await (await fetch(
      `${s.url}/sec/v1.0/secflows/${secflows.body[0].flowId}/count`,
      { headers: { apikey: KEY } },
    )).json();
    assert.equal(count.body, 1);
  });
});

const hasCurl = hasCommand("curl");

Deno.test({
  name:
    "http1: curl with a wrong key gets its 401 every time, with and without Expect: 100-continue",
  ignore: !hasCurl,
}, async () => {
  await withServe({}, async (s) => {
    await using dir = await tempDir();
    const file = `${dir.path}/demo.sf`;
    // Large enough that curl sends Expect: 100-continue on its own (over 1 MiB).
    await Deno.writeTextFile(file, "x".repeat(1_100_000));
    const codes: string[] = [];
    for (let i = 0; i < 30; i++) {
      const out = await new Deno.Command("curl", {
        args: [
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "--max-time",
          "5",
          "-H",
          "apikey: wrong-key-0123456789",
          ...(i % 2 ? ["-H", "Expect: 100-continue"] : []),
          "-F",
          `file=@${file}`,
          `${s.url}/upload/v1.0/uploader`,
        ],
        stdout: "piped",
        stderr: "null",
      }).output();
      codes.push(new TextDecoder().decode(out.stdout));
    }
    assert.deepEqual(codes, Array(30).fill("401"));
  });
});

Deno.test("http1 parser: a request fed a byte at a time reads (or is refused) exactly as fed whole", async () => {
  const { ChunkedDecoder, HeadParser, HttpError } = await import("../../serve/_http1_parse.ts");
  const heads = [
    "\r\nPOST /a?b=c HTTP/1.1\r\nHost: x\r\nX-A:\t v \r\nTransfer-Encoding: chunked\r\n\r\n",
    "GET / HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
    "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
    "GET / HTTP/2.0\r\n\r\n",
    "GET /\xff HTTP/1.1\r\n\r\n",
  ];
  const bodies = [
    '5;a=b;c="d\\"e"\r\nhello\r\n0\r\nX-T: 1\r\n\r\n',
    "000\r\n\r\n",
    "5\r\nhello\n0\r\n\r\n",
    "5 \r\nhello\r\n0\r\n\r\n",
  ];
  const bytes = (t: string) => Uint8Array.from(t, (c) => c.charCodeAt(0));
  const outcome = (fn: () => unknown) => {
    try {
      return JSON.stringify(fn());
    } catch (e) {
      assert.ok(e instanceof HttpError, String(e));
      return `${e.status} ${e.message}`;
    }
  };
  for (const text of heads) {
    const whole = outcome(() => {
      const p = new HeadParser(16384);
      assert.equal(p.feed(bytes(text)), text.length);
      return p.head();
    });
    const dripped = outcome(() => {
      const p = new HeadParser(16384);
      const b = bytes(text);
      for (let i = 0; i < b.length; i++) {
        const end = p.feed(b.subarray(i, i + 1));
        if (end >= 0) {
          assert.equal(i, b.length - 1);
          return p.head();
        }
      }
      throw new Error("never complete");
    });
    assert.equal(dripped, whole, JSON.stringify(text));
  }
  for (const text of bodies) {
    const run = (step: number) =>
      outcome(() => {
        const d = new ChunkedDecoder();
        const b = bytes(text);
        let data = "";
        for (let i = 0; i < b.length; i += step) {
          let piece = b.subarray(i, Math.min(b.length, i + step));
          while (piece.length > 0) {
            const r = d.feed(piece);
            if (r.data) data += String.fromCharCode(...r.data);
            piece = piece.subarray(r.used);
            if (r.done) {
              return { data, rest: piece.length + b.length - Math.min(b.length, i + step) };
            }
          }
        }
        return { data, incomplete: true };
      });
    const whole = run(1 << 20);
    for (const step of [1, 2, 3, 7]) {
      assert.equal(run(step), whole, `${JSON.stringify(text)} by ${step}`);
    }
  }
});
