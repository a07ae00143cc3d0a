/**
 * The client's transport and helpers against small HTTP servers on 127.0.0.1: retries (503, 429,
 * network errors) with Retry-After, no retries on other 4xx, timeouts, abort, envelopes, the key
 * never shown, and the aggregated / uuid / wait helpers.
 */
import assert from "node:assert/strict";
import { NetworkSageClient, publicUuidOf, uploadTimeOf } from "../api/client.ts";
import { NetworkSageError } from "../api/errors.ts";
import { tempDir } from "./api_fixtures.ts";

const KEY = "sk-very-secret-0123456789";

type Handler = (req: Request, n: number) => Response | Promise<Response>;

/** A server whose handler also gets how many requests came to that path before. */
function server(handler: Handler) {
  const counts = new Map<string, number>();
  const log: string[] = [];
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const n = counts.get(path) ?? 0;
    counts.set(path, n + 1);
    log.push(`${req.method} ${path}`);
    return await handler(req, n);
  });
  return {
    url: `http://127.0.0.1:${s.addr.port}`,
    counts,
    log,
    async [Symbol.asyncDispose]() {
      await s.shutdown();
    },
  };
}

const ok = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ error: status !== 200, body }), { status, headers });

function client(url: string, extra: Record<string, unknown> = {}) {
  return new NetworkSageClient({
    apiKey: KEY,
    apiUrl: url,
    publicUrl: url,
    useEnv: false,
    retryBaseMs: 1,
    retryMaxMs: 50,
    ...extra,
  });
}

async function failure(p: Promise<unknown>): Promise<NetworkSageError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof NetworkSageError, String(e));
    return e;
  }
  throw new Error("expected a NetworkSageError");
}

Deno.test("client: retries 503, 429 and 500 (honouring Retry-After), then succeeds", async () => {
  await using s = server((req, n) => {
    assert.equal(req.headers.get("apikey"), KEY);
    if (n === 0) return ok("busy", 503, { "retry-after": "0" });
    if (n === 1) return ok("slow down", 429, { "retry-after": "0.05" });
    if (n === 2) return new Response("<html>oops</html>", { status: 500 });
    return ok(7);
  });
  const t0 = performance.now();
  assert.equal(await client(s.url).secflowCount("f"), 7);
  assert.ok(performance.now() - t0 >= 50, "Retry-After: 0.05 was honoured");
  assert.equal(s.counts.get("/sec/v1.0/secflows/f/count"), 4);
});

Deno.test("client: gives up after maxAttempts with the last status and message", async () => {
  await using s = server(() => ok("down for maintenance", 503));
  const e = await failure(client(s.url, { maxAttempts: 3 }).getSample("u1"));
  assert.equal(e.status, 503);
  assert.equal(e.endpoint, "GET /sec/v1.0/samples/u1");
  assert.equal(e.serverMessage, "down for maintenance");
  assert.equal(s.counts.get("/sec/v1.0/samples/u1"), 3);
});

Deno.test("client: no retry on other 4xx; envelope error with 200 is an error too", async () => {
  await using s = server((req) => {
    const p = new URL(req.url).pathname;
    if (p.includes("missing")) return ok("no such sample", 404);
    if (p.includes("bad")) return new Response("plain text reason", { status: 400 });
    return new Response(JSON.stringify({ error: true, body: "quota exceeded" }));
  });
  const c = client(s.url);
  const e404 = await failure(c.getSample("missing"));
  assert.deepEqual([e404.status, e404.serverMessage], [404, "no such sample"]);
  const e400 = await failure(c.getSample("bad"));
  assert.deepEqual([e400.status, e400.serverMessage], [400, "plain text reason"]);
  const e200 = await failure(c.getSample("other"));
  assert.deepEqual([e200.status, e200.serverMessage], [200, "quota exceeded"]);
  assert.deepEqual([...s.counts.values()], [1, 1, 1]);
});

Deno.test("client: network errors are retried; the key never appears in an error", async () => {
  // A port that was just free: connection refused.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const e = await failure(client(`http://127.0.0.1:${port}`, { maxAttempts: 2 }).listUploads());
  assert.equal(e.status, 0);
  assert.match(e.message, /cannot reach 127\.0\.0\.1:\d+: connection refused \(2 attempts\)/);
  assert.ok(!e.message.includes(KEY) && !String(e.stack).includes(KEY));
  // A server echoing the key back in its error message: redacted.
  await using s = server((req) => ok(`bad key ${req.headers.get("apikey")}!`, 401));
  const echoed = await failure(client(s.url).listUploads());
  assert.equal(echoed.serverMessage, "bad key ***!");
  assert.ok(!JSON.stringify({ ...echoed, m: echoed.message }).includes(KEY));
});

Deno.test("client: a refused connection is retried once at most, whatever maxAttempts", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  let calls = 0;
  const counting: typeof fetch = (input, init) => {
    calls++;
    return fetch(input, init);
  };
  for (const maxAttempts of [5, 20]) {
    calls = 0;
    const c = client(`http://127.0.0.1:${port}`, { maxAttempts, fetch: counting });
    const e = await failure(c.listUploads());
    assert.match(e.message, /cannot reach 127\.0\.0\.1:\d+: connection refused \(2 attempts\)$/);
    assert.equal(calls, 2, `maxAttempts ${maxAttempts}`);
  }
  // maxAttempts 1 stays one.
  calls = 0;
  await failure(client(`http://127.0.0.1:${port}`, { maxAttempts: 1, fetch: counting }).event("e"));
  assert.equal(calls, 1);
  // Other network failures keep their retries: a reset connection is tried maxAttempts times.
  const resets = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of resets) conn.close();
  })();
  calls = 0;
  const url = `http://127.0.0.1:${(resets.addr as Deno.NetAddr).port}`;
  await failure(client(url, { maxAttempts: 4, fetch: counting }).event("e"));
  assert.equal(calls, 4);
  resets.close();
  await accepting.catch(() => {});
});

Deno.test("client: per-request timeout, retried, and the caller's AbortSignal", async () => {
  await using s = server(async (_req, n) => {
    if (n < 2) await new Promise((r) => setTimeout(r, 300));
    return ok({ title: n < 2 ? "late" : "fine" });
  });
  const timeout = await failure(client(s.url, { timeoutMs: 30, maxAttempts: 1 }).getSample("a"));
  assert.match(timeout.message, /no answer within 30 ms/);
  assert.deepEqual(await client(s.url, { timeoutMs: 100, maxAttempts: 3 }).behavior("b"), {
    title: "fine",
  });
  await using slow = server(async () => {
    await new Promise((r) => setTimeout(r, 300));
    return ok({});
  });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  const t0 = performance.now();
  const aborted = await failure(client(slow.url).event("e", { signal: controller.signal }));
  assert.match(aborted.message, /aborted/);
  assert.ok(performance.now() - t0 < 250);
});

Deno.test("client: no key means no request for private endpoints; public needs none", async () => {
  await using s = server(() => ok([]));
  const c = new NetworkSageClient({ apiUrl: s.url, publicUrl: s.url, useEnv: false });
  const e = await failure(c.listUploads());
  assert.match(e.message, /NETWORKSAGE_API_KEY/);
  assert.equal(s.log.length, 0);
  assert.deepEqual(await c.publicAggregated("cHVi"), []);
  assert.deepEqual(s.log, ["GET /public/secflows/v1/cHVi/list/aggregated"]);
});

Deno.test("client: path parameters are URL-encoded; unknown keys are kept", async () => {
  await using s = server((req) =>
    ok({ path: new URL(req.url).pathname, title: "t", extra: { a: 1 } })
  );
  const m = await client(s.url).destination("weird/name?x:443");
  assert.equal(m.path, "/sec/v1.0/destinations/weird%2Fname%3Fx%3A443");
  assert.deepEqual(m.extra, { a: 1 });
});

const secflow = (dst: string, flowId: string, eventId?: string) => ({
  sourceData: "10.0.0.1:50000",
  destinationData: dst,
  destinationNameSource: "passive",
  sourcePackets: "1",
  sourceBytes: "1",
  destinationPackets: "1",
  destinationBytes: "1",
  relativeStart: "0",
  duration: "0",
  flowCategory: "c",
  flowId,
  ...(eventId ? { eventId } : {}),
});

Deno.test("client: aggregated asks 6, 7, 8 (and 9 only with an eventId) once each, bounded", async () => {
  let inFlight = 0, peak = 0;
  const flows = [
    secflow("a.com:443", "f1"),
    secflow("b.com:443", "f2", "ev1"),
    secflow("c.com:80", "f3"),
    secflow("d.com:80", "f4"),
    secflow("a.com:443", "f1"), // the same lookups as the first: asked once
  ];
  await using s = server(async (req, n) => {
    const p = decodeURIComponent(new URL(req.url).pathname);
    if (p.endsWith("/list")) return ok(flows);
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 10));
    inFlight--;
    if (n === 0 && p.includes("behaviors/f3")) return ok("flaky", 502); // retried
    if (p.includes("/count")) return ok(Number(p.split("/")[4].slice(1)) * 10);
    if (p.includes("destinations/")) return ok({ title: `D ${p.split("/").pop()}`, more: true });
    if (p.includes("behaviors/f2")) return ok({});
    if (p.includes("behaviors/")) return ok({ title: `B ${p.split("/").pop()}` });
    if (p.includes("events/")) return ok({ title: `E ${p.split("/").pop()}` });
    return ok("?", 404);
  });
  const activities = await client(s.url).aggregated("u", { concurrency: 3 });
  assert.ok(peak <= 3, `peak ${peak}`);
  assert.equal(activities.length, 5);
  assert.deepEqual(activities[0], {
    secflow: flows[0],
    destination: { title: "D a.com:443", more: true },
    behavior: { title: "B f1" },
    event: {},
    flowIdCount: 10,
  });
  assert.deepEqual(activities[1].event, { title: "E ev1" });
  assert.deepEqual(activities[1].behavior, {});
  assert.deepEqual(activities[2].behavior, { title: "B f3" });
  assert.deepEqual(activities[4], { ...activities[0] });
  const calls = [...s.counts.entries()].map(([p, n]) => `${decodeURIComponent(p)} ${n}`).sort();
  assert.deepEqual(calls, [
    "/sec/v1.0/behaviors/f1 1",
    "/sec/v1.0/behaviors/f2 1",
    "/sec/v1.0/behaviors/f3 2",
    "/sec/v1.0/behaviors/f4 1",
    "/sec/v1.0/destinations/a.com:443 1",
    "/sec/v1.0/destinations/b.com:443 1",
    "/sec/v1.0/destinations/c.com:80 1",
    "/sec/v1.0/destinations/d.com:80 1",
    "/sec/v1.0/events/ev1 1",
    "/sec/v1.0/samples/u/list 1",
    "/sec/v1.0/secflows/f1/count 1",
    "/sec/v1.0/secflows/f2/count 1",
    "/sec/v1.0/secflows/f3/count 1",
    "/sec/v1.0/secflows/f4/count 1",
  ]);
});

Deno.test("client: findUploadUuid picks the entry within 60 s; public UUID waits for the hash", async () => {
  const entry = (uuid: string, name: string, iso: string) => ({
    fileName: name,
    processed: false,
    fullS3FilePath: `s3://bucket/x/date=${iso}/${name}`,
    dateCreated: "x",
    fileType: "pcap",
    uuid,
  });
  await using s = server((req, n) => {
    const p = new URL(req.url).pathname;
    if (p.endsWith("/uploads/list")) {
      return ok([
        entry("old", "a.pcap", "2023-11-14T22:00:00.000000"),
        entry("near", "a.pcap", "2023-11-14T22:13:50.123456"),
        entry("other", "b.pcap", "2023-11-14T22:13:20.000000"),
      ]);
    }
    return ok({
      id: "42",
      hash: n < 2 ? "" : "abc",
      fileName: "a.pcap",
      dateCreated: "",
      trafficDate: "",
    });
  });
  const c = client(s.url);
  assert.equal(uploadTimeOf(entry("x", "y", "2023-11-14T22:13:20.500000")), 1_700_000_000_500);
  const found = await c.findUploadUuid("a.pcap", 1_700_000_000);
  assert.equal(found.uuid, "near");
  assert.equal(found.publicUuid, undefined);
  const withPublic = await c.findUploadUuid("a.pcap", new Date(1_700_000_000_000), {
    public: true,
    intervalMs: 5,
  });
  assert.equal(withPublic.publicUuid, publicUuidOf({ id: "42", hash: "abc" }));
  assert.equal(atob(withPublic.publicUuid!), "42#hash#abc");
  const none = await failure(c.findUploadUuid("a.pcap", 1_700_000_200));
  assert.match(none.message, /no upload named 'a.pcap' within 60 s/);
});

Deno.test("client: waitForProcessing polls until trafficDate, with interval and deadline", async () => {
  await using s = server((_req, n) =>
    ok({
      id: "1",
      hash: "h",
      fileName: "f",
      dateCreated: "",
      trafficDate: n < 3 ? "" : "1700000000.0",
    })
  );
  const meta = await client(s.url).waitForProcessing("u", { intervalMs: 5 });
  assert.equal(meta.trafficDate, "1700000000.0");
  assert.equal(s.counts.get("/sec/v1.0/samples/u"), 4);
  await using never = server(() =>
    ok({ id: "1", hash: "", fileName: "f", dateCreated: "", trafficDate: "" })
  );
  const e = await failure(
    client(never.url).waitForProcessing("u", { intervalMs: 10, timeoutMs: 40 }),
  );
  assert.match(e.message, /not processed within 40 ms/);
});

Deno.test("client: upload streams a multipart body with type, fileName, file and zeekDnsFile", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/conn.log`, "#fields\tts\n1\t2\n");
  await Deno.writeTextFile(`${dir.path}/dns.log`, "#fields\tquery\n");
  let seen: FormData | undefined;
  let chunked = "";
  await using s = server(async (req) => {
    chunked = req.headers.get("transfer-encoding") ?? req.headers.get("content-length") ?? "";
    seen = await req.formData();
    return ok("accepted");
  });
  const answer = await client(s.url).upload({
    path: `${dir.path}/conn.log`,
    dnsLog: `${dir.path}/dns.log`,
    fileName: "mine.log",
  });
  assert.equal(answer, "accepted");
  assert.ok(chunked !== "");
  assert.equal(seen!.get("type"), "zeek"); // detected
  assert.equal(seen!.get("fileName"), "mine.log");
  const file = seen!.get("file") as File;
  assert.equal(file.name, "mine.log");
  assert.equal(await file.text(), "#fields\tts\n1\t2\n");
  const dns = seen!.get("zeekDnsFile") as File;
  assert.equal(dns.name, "dns_mine.log");
  assert.equal(await dns.text(), "#fields\tquery\n");
});

Deno.test("client: a redirect is not followed where the key goes (the other origin never sees it); public calls follow", async () => {
  await using other = server((req) =>
    ok([{ secflow: { key: req.headers.get("apikey") ?? "no key" } }])
  );
  await using s = server((req) => {
    const path = new URL(req.url).pathname;
    return new Response(null, { status: 302, headers: { location: `${other.url}${path}` } });
  });
  const e = await failure(client(s.url).listUploads());
  assert.equal(e.status, 302);
  assert.match(
    e.message,
    /redirect to http:\/\/127\.0\.0\.1:\d+\/upload\/.*: not followed, the API key is sent only to http:\/\/127\.0\.0\.1:\d+/,
  );
  assert.equal(s.log.length, 1); // not retried
  // Uploads go through node:http, which never follows: the same refusal.
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/conn.log`, "#fields\tts\n1\t2\n");
  const u = await failure(client(s.url).upload({ path: `${dir.path}/conn.log` }));
  assert.equal(u.status, 302);
  assert.match(u.message, /not followed/);
  assert.deepEqual(other.log, []);
  // A public endpoint carries no key: its redirect is followed.
  const followed = await client(s.url).publicAggregated("p-1");
  assert.deepEqual(followed as unknown, [{ secflow: { key: "no key" } }]);
  assert.deepEqual(other.log, ["GET /public/secflows/v1/p-1/list/aggregated"]);
});

Deno.test("client: an answer past maxResponseBytes fails at once, unread and not retried", async () => {
  let sent = 0;
  await using endless = server(() => {
    const chunk = new Uint8Array(64 * 1024).fill(32);
    return new Response(
      new ReadableStream({
        pull(c) {
          sent += chunk.length;
          // Ends on its own only far past the limit.
          if (sent > 64 << 20) c.close();
          else c.enqueue(chunk);
        },
      }),
    );
  });
  const e = await failure(client(endless.url, { maxResponseBytes: 1 << 20 }).listUploads());
  assert.equal(e.status, 200);
  assert.match(e.message, /the answer is larger than 1 MiB: not read/);
  assert.equal(endless.log.length, 1);
  assert.ok(sent < 8 << 20, `the client kept reading: ${sent} bytes sent`);
  // A declared Content-Length past the limit: refused before any byte of the body.
  await using declared = server(() =>
    new Response(" ".repeat(2 << 20), { headers: { "content-length": String(2 << 20) } })
  );
  const d = await failure(client(declared.url, { maxResponseBytes: 1 << 20 }).listUploads());
  assert.match(d.message, /larger than 1 MiB \(Content-Length 2097152\)/);
  // Within the limit: read as before.
  await using small = server(() => ok([]));
  assert.deepEqual(await client(small.url, { maxResponseBytes: 64 }).listUploads(), []);
});

Deno.test("client: an upload's answer that keeps coming is cut at 1 MiB", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/conn.log`, "#fields\tts\n1\t2\n");
  let sent = 0;
  await using endless = server(async (req) => {
    await req.arrayBuffer();
    const chunk = new Uint8Array(64 * 1024).fill(32);
    return new Response(
      new ReadableStream({
        pull(c) {
          sent += chunk.length;
          if (sent > 256 << 20) c.close();
          else c.enqueue(chunk);
        },
      }),
    );
  });
  const e = await failure(client(endless.url).upload({ path: `${dir.path}/conn.log` }));
  assert.equal(e.status, 200);
  assert.match(e.message, /the answer is larger than 1 MiB: not read/);
  assert.ok(sent < 64 << 20, `the client kept reading: ${sent} bytes sent`);
});

Deno.test("client: malformed answers are one clear error, never a JavaScript one or a wrong value", async () => {
  let body: unknown = null;
  await using s = server(() => ok(body));
  const c = client(s.url, { maxAttempts: 1 });
  const cases: [() => Promise<unknown>, unknown, RegExp][] = [
    [() => c.listUploads(), null, /malformed answer: not a list of uploads, but null/],
    [() => c.listUploads(), [{ uuid: "u", fileName: "f" }, null], /item 1 of the list of uploads/],
    [
      () => c.listSecflows("u-1"),
      [{ flowId: "f" }],
      /item 0 of the list of Secflows has no destinationData/,
    ],
    [() => c.secflowCount("f"), { n: 1 }, /malformed answer: not a count, but an object/],
    [
      () => c.getSample("u-1"),
      "text",
      /not a sample's metadata \(an object\), but the text "text"/,
    ],
    [() => c.destination("a.example:443"), [1], /not metadata \(an object\), but a list/],
  ];
  for (const [call, answer, message] of cases) {
    body = answer;
    const e = await failure(call());
    assert.equal(e.status, 200);
    assert.match(e.message, message);
  }
  // Well-formed answers pass, a count as text included.
  body = "3";
  assert.equal(await c.secflowCount("f"), "3");
});

Deno.test("client: an ID of any shape is one percent-encoded path segment; only what cannot be one is refused", async () => {
  await using s = server((req) =>
    ok(/\/(list|aggregated)$/.test(new URL(req.url).pathname) ? [] : {})
  );
  const c = client(s.url);
  // A 32-hex hash (the platform's own tools), base64 ending in '=', and text a URL must encode.
  const hash = "9e107d9d372bb6826bd81d3542a419d6";
  await c.getSample(hash);
  await c.listSecflows("MTIz+NDU2=");
  await c.behavior("a?b#c%d&é");
  await c.event("ev-1");
  await c.publicAggregated("YS9i/c2Q=");
  assert.deepEqual(s.log, [
    `GET /sec/v1.0/samples/${hash}`,
    "GET /sec/v1.0/samples/MTIz%2BNDU2%3D/list",
    "GET /sec/v1.0/behaviors/a%3Fb%23c%25d%26%C3%A9",
    "GET /sec/v1.0/events/ev-1",
    // base64's '/' in a public UUID is sent encoded, within its one segment.
    "GET /public/secflows/v1/YS9i%2Fc2Q%3D/list/aggregated",
  ]);
  s.log.length = 0;
  // '', '.' and '..' resolve to another path; '/' splits one; whitespace and controls are no IDs.
  const refused: [string, RegExp][] = [
    ["", /is empty/],
    [".", /resolves to another path/],
    ["..", /resolves to another path/],
    ["a/b", /holds '\/'/],
    ["a b", /whitespace or a control character/],
    ["ab\n", /whitespace or a control character/],
    ["a\u0000", /whitespace or a control character/],
    ["\ud800", /whitespace or a control character/],
  ];
  for (const [id, message] of refused) {
    for (const call of [() => c.behavior(id), () => c.getSample(id), () => c.aggregated(id)]) {
      const e = await failure(call());
      assert.match(e.message, /cannot be an ID in a URL path/);
      assert.match(e.message, message, JSON.stringify(id));
      assert.ok(!e.message.includes("\n"), "one line");
    }
  }
  assert.deepEqual(s.log, [], "nothing was sent");
});

Deno.test("client: waitForProcessing stops at its timeout even while a request hangs", async () => {
  const hanging: PromiseWithResolvers<void>[] = [];
  await using s = server(async () => {
    const never = Promise.withResolvers<void>();
    hanging.push(never);
    await never.promise;
    return ok({});
  });
  try {
    const e = await failure(client(s.url).waitForProcessing("u-1", { timeoutMs: 300 }));
    assert.match(e.message, /not processed within 300 ms/);
  } finally {
    for (const h of hanging) h.resolve();
  }
});

Deno.test("client: a Retry-After longer than a retry may wait fails at once, saying so", async () => {
  await using s = server(() => ok("slow down", 429, { "retry-after": "999999" }));
  const e = await failure(client(s.url, { maxAttempts: 5, retryMaxMs: 50 }).listUploads());
  assert.equal(e.status, 429);
  assert.match(
    e.message,
    /slow down \(the server asks to retry after 999999 s, longer than a retry waits here/,
  );
  assert.equal(s.log.length, 1);
});

Deno.test("client: delays no timer can keep, no concurrency and a fetch that is no function are refused before any request", async () => {
  let requests = 0;
  const fetch = (() => {
    requests++;
    return Promise.resolve(Response.json({ error: false, body: { trafficDate: "" } }));
  }) as typeof globalThis.fetch;
  const c = client("http://127.0.0.1:9", { fetch });
  const uuid = "00000000-0000-4000-8000-000000000000";
  // Past 2^31 - 1 ms a timer fires at once: intervalMs 3e9 polled every millisecond.
  for (const intervalMs of [0, -1, NaN, 3e9]) {
    await assert.rejects(
      () => c.waitForProcessing(uuid, { intervalMs }),
      RangeError,
      String(intervalMs),
    );
    await assert.rejects(
      () => c.findUploadUuid("f", Date.now(), { public: true, intervalMs }),
      RangeError,
    );
  }
  await assert.rejects(
    () => c.waitForProcessing(uuid, { timeoutMs: NaN }),
    /timeoutMs must be a number of ms above 0/,
  );
  // concurrency 0 waited forever after the first request.
  await assert.rejects(
    () => c.aggregated(uuid, { concurrency: 0 }),
    /concurrency must be a whole number of at least 1/,
  );
  assert.throws(() => new NetworkSageClient({ timeoutMs: 3e9, useEnv: false }), RangeError);
  assert.throws(
    () => new NetworkSageClient({ fetch: 5 as unknown as typeof globalThis.fetch, useEnv: false }),
    /fetch must be a function, not number/,
  );
  assert.equal(requests, 0);
});

Deno.test("client: an interval longer than the timeout still takes a last look before the deadline", async () => {
  const ready = Date.now() + 300;
  let looks = 0;
  const fetch = (() => {
    looks++;
    const done = Date.now() >= ready;
    return Promise.resolve(
      Response.json({ error: false, body: { id: "u", trafficDate: done ? "1700000000.0" : "" } }),
    );
  }) as typeof globalThis.fetch;
  const c = client("http://127.0.0.1:9", { fetch });
  const meta = await c.waitForProcessing("00000000-0000-4000-8000-000000000000", {
    intervalMs: 5_000,
    timeoutMs: 1_000,
  });
  assert.equal(meta.trafficDate, "1700000000.0");
  assert.equal(looks, 2);
});
