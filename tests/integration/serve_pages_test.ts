/**
 * `serve`'s web pages over real HTTP on 127.0.0.1: the session cookie (HttpOnly, SameSite=Strict,
 * a random id, never the key), logout, key isolation (another key's sample is a 404 like a
 * missing one), cross-site and token-less form posts refused, uploads and annotations through
 * the forms, escaping and the Content-Security-Policy of every page.
 */
import assert from "node:assert/strict";
import { toPlatformSecflow } from "../../api/classify.ts";
import { createPages, PAGE_SECFLOW_LIMIT } from "../../serve/_pages.ts";
import { Store } from "../../serve/storage/_sqlite_db.ts";
import { WebSessions } from "../../serve/_web_session.ts";
import { client, sfSample, startServe, tempDir } from "../api_fixtures.ts";
import { HOSTILE } from "../report_fixtures.ts";

const ALICE = "key-alice-0123456789";
const BOB = "key-bob-9876543210";

/** A browser-like form post from this origin (or from `origin`). */
function post(
  url: string,
  path: string,
  form: Record<string, string>,
  init: { cookie?: string; origin?: string; site?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    origin: init.origin ?? url,
    "sec-fetch-site": init.site ?? "same-origin",
  };
  if (init.cookie) headers.cookie = init.cookie;
  return fetch(`${url}${path}`, {
    method: "POST",
    headers,
    body: new URLSearchParams(form).toString(),
    redirect: "manual",
  });
}

async function login(url: string, key: string): Promise<{ cookie: string; setCookie: string }> {
  const r = await post(url, "/login", { apikey: key });
  await r.body?.cancel();
  assert.equal(r.status, 303);
  const setCookie = r.headers.get("set-cookie") ?? "";
  return { cookie: setCookie.split(";")[0], setCookie };
}

async function get(url: string, path: string, cookie?: string) {
  const r = await fetch(`${url}${path}`, {
    headers: cookie ? { cookie } : {},
    redirect: "manual",
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";

/** A serve with Alice's and Bob's keys and one processed sample of each. */
async function fixture(dir: string) {
  const server = await startServe({
    dataDir: `${dir}/data`,
    apiKeys: [{ key: ALICE, admin: true }, BOB],
  });
  const uuids: Record<string, string> = {};
  for (const [who, key] of [["alice", ALICE], ["bob", BOB]]) {
    const path = `${dir}/${who}.sf`;
    await Deno.writeTextFile(
      path,
      sfSample([{ dst: `${HOSTILE}:443` }, { dst: `${who}.example.com:443` }, {}]),
    );
    const c = client(server.url, key);
    await c.upload({ path, fileName: `${who}<i>.sf` });
    uuids[who] = (await c.listUploads())[0].uuid;
  }
  await server.idle();
  return { server, uuids };
}

Deno.test("pages: login sets an HttpOnly, SameSite=Strict random session id, never the key", async () => {
  await using dir = await tempDir();
  const { server } = await fixture(dir.path);
  try {
    const home = await get(server.url, "/");
    assert.equal(home.status, 200);
    assert.match(home.text, /<form class="box" method="post" action="\/login">/);
    assert.match(home.text, /name="apikey"/);

    const a = await login(server.url, ALICE);
    assert.match(a.setCookie, /^ns_session=[A-Za-z0-9_-]{43}; /);
    assert.match(a.setCookie, /; HttpOnly(;|$)/);
    assert.match(a.setCookie, /; SameSite=Strict(;|$)/);
    assert.match(a.setCookie, /; Path=\//);
    assert.ok(!a.setCookie.includes(ALICE) && !a.setCookie.includes(encodeURIComponent(ALICE)));
    const again = await login(server.url, ALICE);
    assert.notEqual(again.cookie, a.cookie, "a session id is new at every login");

    const bad = await post(server.url, "/login", { apikey: "wrong" });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get("set-cookie"), null);
    assert.match(await bad.text(), /unknown API key/);

    const list = await get(server.url, "/", a.cookie);
    assert.match(list.text, /<h1>Samples<\/h1>/);
    assert.ok(list.text.includes("alice&lt;i&gt;.sf") && !list.text.includes("bob"));

    // Logging out needs the form token, ends the session and clears the cookie.
    const noToken = await post(server.url, "/logout", {}, { cookie: a.cookie });
    assert.equal(noToken.status, 403);
    await noToken.body?.cancel();
    const out = await post(server.url, "/logout", { csrf: csrfOf(list.text) }, {
      cookie: a.cookie,
    });
    await out.body?.cancel();
    assert.equal(out.status, 303);
    assert.match(out.headers.get("set-cookie") ?? "", /^ns_session=; .*Max-Age=0/);
    const after = await get(server.url, "/", a.cookie);
    assert.match(after.text, /name="apikey"/);
    assert.ok(!after.text.includes("alice&lt;i&gt;.sf"));
  } finally {
    await server.shutdown();
  }
});

/** The status line of `request` sent raw (fetch shows its own reason phrase, not the wire's). */
async function statusLine(url: string, request: string): Promise<string> {
  const u = new URL(url);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  try {
    await conn.write(new TextEncoder().encode(request));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
  } finally {
    conn.close();
  }
}

Deno.test("pages: redirects and empty answers carry their standard reason phrases", async () => {
  await using dir = await tempDir();
  const { server } = await fixture(dir.path);
  try {
    const host = new URL(server.url).host;
    const body = `apikey=${ALICE}`;
    const login = await statusLine(
      server.url,
      `POST /login HTTP/1.1\r\nhost: ${host}\r\norigin: ${server.url}\r\n` +
        `content-type: application/x-www-form-urlencoded\r\n` +
        `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    assert.equal(login, "HTTP/1.1 303 See Other");
    const icon = await statusLine(
      server.url,
      `GET /favicon.ico HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`,
    );
    assert.equal(icon, "HTTP/1.1 204 No Content");
  } finally {
    await server.shutdown();
  }
});

Deno.test("pages: a sample shows only to its owner's session; another key's is a 404", async () => {
  await using dir = await tempDir();
  const { server, uuids } = await fixture(dir.path);
  try {
    const alice = await login(server.url, ALICE);
    const bob = await login(server.url, BOB);
    const own = await get(server.url, `/samples/${uuids.alice}`, alice.cookie);
    assert.equal(own.status, 200);
    assert.ok(own.text.includes("x&lt;svg/onload=window.__pwned=1&gt;.example:443"));
    assert.ok(!own.text.includes("<img"));
    assert.match(own.text, /local:https:small/);
    assert.match(own.text, />in samples<\/th>/);

    const foreign = await get(server.url, `/samples/${uuids.alice}`, bob.cookie);
    const missing = await get(server.url, `/samples/${crypto.randomUUID()}`, bob.cookie);
    assert.equal(foreign.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(foreign.text, missing.text, "a foreign sample must look exactly like none");
    assert.ok(!foreign.text.includes("alice"));

    // The standalone report, as a download: the owner's only.
    const file = await get(server.url, `/samples/${uuids.alice}/report.html`, alice.cookie);
    assert.equal(file.status, 200);
    assert.match(
      file.headers.get("content-disposition") ?? "",
      /^attachment; filename="alice_i_\.html"$/,
    );
    assert.match(file.text, /<meta http-equiv="Content-Security-Policy"/);
    assert.ok(file.text.includes("x&lt;svg/onload=window.__pwned=1&gt;.example:443"));
    assert.match(file.text, /local:https:small/);
    assert.equal(
      (await get(server.url, `/samples/${uuids.alice}/report.html`, bob.cookie)).status,
      404,
    );
    assert.equal((await get(server.url, `/samples/${uuids.alice}/report.html`)).status, 401);

    const anonymous = await get(server.url, `/samples/${uuids.alice}`);
    assert.equal(anonymous.status, 401);
    assert.ok(!anonymous.text.includes("alice") && !anonymous.text.includes("example.com"));
    const forged = await get(server.url, `/samples/${uuids.alice}`, `ns_session=${ALICE}`);
    assert.equal(forged.status, 401, "the key is not a session id");
  } finally {
    await server.shutdown();
  }
});

Deno.test("pages: cross-site and token-less form posts are refused; same-origin ones work", async () => {
  await using dir = await tempDir();
  const { server, uuids } = await fixture(dir.path);
  try {
    const alice = await login(server.url, ALICE);
    const page = await get(server.url, `/samples/${uuids.alice}`, alice.cookie);
    const csrf = csrfOf(page.text);
    assert.ok(csrf.length >= 40);
    const path = `/samples/${uuids.alice}/annotate`;
    const form = {
      csrf,
      kind: "destination",
      name: "alice.example.com:443",
      title: "Alice's <CDN>",
    };
    const api = client(server.url, ALICE);
    for (
      const [init, why] of [
        [{ cookie: alice.cookie, origin: "http://evil.example" }, "foreign Origin"],
        [{ cookie: alice.cookie, site: "cross-site" }, "Sec-Fetch-Site cross-site"],
        [{ cookie: alice.cookie, site: "same-site" }, "Sec-Fetch-Site same-site"],
      ] as const
    ) {
      const r = await post(server.url, path, form, init);
      assert.equal(r.status, 403, why);
      assert.match(await r.text(), /cross-site request refused/);
    }
    const noToken = await post(server.url, path, { ...form, csrf: "" }, { cookie: alice.cookie });
    assert.equal(noToken.status, 403);
    await noToken.body?.cancel();
    assert.deepEqual(await api.destination("alice.example.com:443"), {});
    const crossLogin = await post(server.url, "/login", { apikey: ALICE }, {
      origin: "http://evil.example",
      site: "cross-site",
    });
    assert.equal(crossLogin.status, 403);
    assert.equal(crossLogin.headers.get("set-cookie"), null);
    await crossLogin.body?.cancel();

    const ok = await post(server.url, path, form, { cookie: alice.cookie });
    await ok.body?.cancel();
    assert.equal(ok.status, 303);
    assert.deepEqual(await api.destination("alice.example.com:443"), { title: "Alice's <CDN>" });
    const shown = await get(server.url, `/samples/${uuids.alice}`, alice.cookie);
    assert.ok(shown.text.includes("Alice&#39;s &lt;CDN&gt;"));

    // Uploads: the token rides in the form's action URL (multipart bodies reach the API's parser).
    const upload = (token: string, origin = server.url) => {
      const body = new FormData();
      body.append("file", new Blob([sfSample([{}])]), "up<x>.sf");
      body.append("type", "");
      return fetch(`${server.url}/upload?csrf=${encodeURIComponent(token)}`, {
        method: "POST",
        headers: { cookie: alice.cookie, origin },
        body,
        redirect: "manual",
      });
    };
    const forged = await upload("nope");
    assert.equal(forged.status, 403);
    await forged.body?.cancel();
    const foreign = await upload(csrf, "http://evil.example");
    assert.equal(foreign.status, 403);
    await foreign.body?.cancel();
    assert.equal((await api.listUploads()).length, 1);
    const good = await upload(csrf);
    await good.body?.cancel();
    assert.equal(good.status, 303);
    await server.idle();
    const list = await api.listUploads();
    assert.equal(list.length, 2);
    assert.ok(list.some((e) => e.fileName === "up<x>.sf" && e.processed));
  } finally {
    await server.shutdown();
  }
});

Deno.test("pages: every page sends a strict CSP and no-store; API paths stay JSON", async () => {
  await using dir = await tempDir();
  const { server, uuids } = await fixture(dir.path);
  try {
    const alice = await login(server.url, ALICE);
    for (const path of ["/", `/samples/${uuids.alice}`, "/samples/nope"]) {
      for (const cookie of [undefined, alice.cookie]) {
        const r = await get(server.url, path, cookie);
        const csp = r.headers.get("content-security-policy") ?? "";
        assert.match(csp, /default-src 'none'/, path);
        assert.match(csp, /frame-ancestors 'none'/, path);
        assert.match(csp, /form-action 'self'/, path);
        assert.ok(!csp.includes("unsafe"), csp);
        assert.equal(r.headers.get("cache-control"), "no-store");
        assert.match(r.headers.get("content-type") ?? "", /^text\/html/);
      }
    }
    // An API answer may quote the request's path: never to be sniffed as HTML.
    const api = await fetch(`${server.url}/sec/v1.0/%3Cscript%3Ealert(1)%3C%2Fscript%3E`);
    assert.equal(api.status, 404);
    assert.equal(api.headers.get("x-content-type-options"), "nosniff");
    assert.equal(api.headers.get("content-type"), "application/json");
    assert.equal((await api.json()).error, true);
  } finally {
    await server.shutdown();
  }
});

Deno.test("pages: any unknown path under /samples/ is the HTML 404 page, not a JSON envelope", async () => {
  await using dir = await tempDir();
  const { server, uuids } = await fixture(dir.path);
  try {
    const alice = await login(server.url, ALICE);
    for (
      const path of [
        `/samples/${uuids.alice}/unknown`,
        `/samples/${uuids.alice}/report.html/more`,
        `/samples/${uuids.alice}/`,
        "/samples/",
        "/samples",
      ]
    ) {
      const r = await get(server.url, path, alice.cookie);
      assert.equal(r.status, 404, path);
      assert.match(r.headers.get("content-type") ?? "", /^text\/html/, path);
      assert.match(r.text, /<h1>Not found<\/h1>/, path);
      const anonymous = await get(server.url, path);
      assert.equal(anonymous.status, 401, path);
      assert.match(anonymous.headers.get("content-type") ?? "", /^text\/html/, path);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("pages: a key that may not annotate gets no form, and its annotation posts are refused", async () => {
  await using dir = await tempDir();
  const store = await Store.open(`${dir.path}/db`);
  const uuid = crypto.randomUUID();
  await store.addSample({
    uuid,
    owner: "reader-id",
    fileName: "a.sf",
    fileType: "secflow",
    createdMs: Date.now(),
    storedPath: `${dir.path}/none`,
    dnsPath: null,
  });
  const secflow = toPlatformSecflow({
    src: "192.168.1.10:50000",
    dst: "a.example.com:443",
    destinationNameSource: "passive",
    srcPkts: 1,
    srcBytes: 10,
    dstPkts: 1,
    dstBytes: 20,
    relativeStart: 0,
    duration: 1,
  });
  await store.finish(uuid, {
    hash: "a".repeat(32),
    trafficDate: "1700000000.0",
    warnings: [],
    secflows: [secflow],
  }, false);
  // The server's key ring, as the pages see it: one key, not an admin. Uploads are not used here.
  const pages = createPages({
    store,
    authenticate: (key) =>
      Promise.resolve(key === "reader-key" ? { id: "reader-id", admin: false } : null),
    upload: () => Promise.reject(new Error("no upload in this test")),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, pages);
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    const reader = await login(url, "reader-key");
    const page = await get(url, `/samples/${uuid}`, reader.cookie);
    assert.equal(page.status, 200);
    assert.ok(page.text.includes("a.example.com:443") && !page.text.includes('id="annotate"'));
    const r = await post(url, `/samples/${uuid}/annotate`, {
      csrf: csrfOf(page.text),
      kind: "destination",
      name: "a.example.com:443",
      title: "t",
    }, { cookie: reader.cookie });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /may not annotate/);
    assert.deepEqual(await store.annotation("destination", "a.example.com:443"), {});
  } finally {
    await server.shutdown();
    await store.close();
  }
});

Deno.test("pages: the origin check accepts the host the browser addressed when the listener's URL differs", async () => {
  await using dir = await tempDir();
  const store = await Store.open(`${dir.path}/db`);
  const pages = createPages({
    store,
    authenticate: (key) => Promise.resolve(key === "k" ? { id: "o", admin: false } : null),
    upload: () => Promise.reject(new Error("no upload in this test")),
  });
  // A listener that builds request URLs from its own address, as a raw HTTP/1.1 server does.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    return pages(new Request(`http://10.0.0.1:${url.port}${url.pathname}`, request));
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    const ok = await post(url, "/login", { apikey: "k" });
    await ok.body?.cancel();
    assert.equal(ok.status, 303, "Origin equals the Host the browser sent");
    const evil = await post(url, "/login", { apikey: "k" }, { origin: "http://10.0.0.2:1" });
    await evil.body?.cancel();
    assert.equal(evil.status, 403);
  } finally {
    await server.shutdown();
    await store.close();
  }
});

Deno.test("pages and API: a capture cut short is processed with its warning shown, not as a clean empty upload", async () => {
  await using dir = await tempDir();
  const server = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [ALICE] });
  try {
    // A pcap header, then a record whose header promises 60 bytes and whose data stops after 20.
    const bytes = new Uint8Array(24 + 16 + 20);
    const v = new DataView(bytes.buffer);
    v.setUint32(0, 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, 65535, true);
    v.setUint32(20, 1, true);
    v.setUint32(24, 1_700_000_000, true);
    v.setUint32(32, 60, true);
    v.setUint32(36, 60, true);
    await Deno.writeFile(`${dir.path}/cut.pcap`, bytes);
    const c = client(server.url, ALICE);
    await c.upload({ path: `${dir.path}/cut.pcap`, type: "pcap" });
    await server.idle();
    const warning = /^cut\.pcap: capture cut at byte offset 24\b/;
    const [entry] = await c.listUploads();
    assert.equal(entry.processed, true);
    assert.equal(entry.warnings?.length, 1, JSON.stringify(entry));
    assert.match(entry.warnings![0], warning);
    const meta = await c.getSample(entry.uuid);
    assert.equal(meta.trafficDate, "");
    assert.match((meta.warnings as string[])[0], warning);
    assert.deepEqual(await c.listSecflows(entry.uuid), []);
    // serve's log says it too.
    assert.ok(
      server.logs.some((l) =>
        l.startsWith("networksage serve: warning: cut.pcap: capture cut at byte offset 24") &&
        l.endsWith(`(upload ${entry.uuid}, 0 Secflows)`)
      ),
      server.logs.join("\n"),
    );
    // The samples page: no Secflows, one warning; the sample's page lists it, unfolded.
    const { cookie } = await login(server.url, ALICE);
    const list = await get(server.url, "/", cookie);
    assert.match(
      list.text,
      /processed, no Secflows · <span class="error" title="cut\.pcap: capture cut at byte offset 24[^"]*">1 warning<\/span>/,
    );
    const one = await get(server.url, `/samples/${entry.uuid}`, cookie);
    assert.equal(one.status, 200);
    assert.match(
      one.text,
      /<details open><summary>1 conversion warning<\/summary><ul><li>cut\.pcap: capture cut at byte offset 24/,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("pages: a sample past PAGE_SECFLOW_LIMIT gets a pointer to the CLI, not a page built in memory", async () => {
  await using dir = await tempDir();
  const server = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [ALICE] });
  try {
    const n = PAGE_SECFLOW_LIMIT + 1;
    const flashes = Array.from({ length: n }, (_, i) => ({
      src: `192.168.${(i >> 8) & 255}.${i & 255}:${50000 + (i >> 16)}`,
      dst: `h${i % 1000}.example.com:443`,
      relativeStart: i / 1000,
    }));
    await Deno.writeTextFile(`${dir.path}/big.sf`, sfSample(flashes));
    const c = client(server.url, ALICE);
    await c.upload({ path: `${dir.path}/big.sf` });
    await server.idle();
    const uuid = (await c.listUploads())[0].uuid;
    assert.equal((await c.listSecflows(uuid)).length, n, "stored whole");
    const { cookie } = await login(server.url, ALICE);
    const page = await get(server.url, `/samples/${uuid}`, cookie);
    assert.equal(page.status, 200);
    assert.match(page.text, /more than 20,000 Secflows, more than a page shows/);
    assert.match(page.text, new RegExp(`networksage view --uuid ${uuid} --api-url URL`));
    assert.ok(page.text.length < 20_000, `a short page, not the sample: ${page.text.length}`);
    const report = await get(server.url, `/samples/${uuid}/report.html`, cookie);
    assert.equal(report.status, 413);
    assert.match(report.text, /more than a page shows/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("pages: 30 wrong guesses a minute slow down wrong keys only; a right key still logs in", async () => {
  await using dir = await tempDir();
  const server = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [ALICE] });
  try {
    for (let i = 0; i < 31; i++) {
      const r = await post(server.url, "/login", { apikey: `wrong-${i}` });
      await r.body?.cancel();
      assert.equal(r.status, i < 30 ? 401 : 429, `attempt ${i + 1}`);
    }
    // Everyone was locked out here: the right key now gets in, wrong ones stay refused.
    const { cookie } = await login(server.url, ALICE);
    assert.match((await get(server.url, "/", cookie)).text, /Log out/);
    const wrong = await post(server.url, "/login", { apikey: "wrong-again" });
    await wrong.body?.cancel();
    assert.equal(wrong.status, 429);
  } finally {
    await server.shutdown();
  }
});

Deno.test("web sessions: one owner's logins evict only that owner's oldest sessions", () => {
  const sessions = new WebSessions({ maxPerOwner: 3, max: 10 });
  const victim = sessions.create("victim", false);
  const own = Array.from({ length: 50 }, () => sessions.create("attacker", false));
  assert.equal(sessions.get(victim.id)?.owner, "victim", "the other owner's session survives");
  assert.deepEqual(own.slice(0, 47).map((s) => sessions.get(s.id)), Array(47).fill(undefined));
  assert.ok(own.slice(47).every((s) => sessions.get(s.id)?.owner === "attacker"));
  assert.equal(sessions.size, 4);
  // The global bound still holds, oldest first, across many owners.
  for (let i = 0; i < 20; i++) sessions.create(`owner-${i}`, false);
  assert.equal(sessions.size, 10);
  sessions.delete(victim.id); // already evicted: a no-op
  assert.equal(sessions.size, 10);
});

Deno.test("pages: behind an https proxy (publicOrigin) logins from it work and the cookie is Secure", async () => {
  await using dir = await tempDir();
  const proxied = await startServe({
    dataDir: `${dir.path}/a`,
    apiKeys: [ALICE],
    publicOrigin: "https://ns.example.com",
  });
  const plain = await startServe({ dataDir: `${dir.path}/b`, apiKeys: [ALICE] });
  try {
    // What a browser at https://ns.example.com sends through a proxy that speaks HTTP to serve.
    const r = await post(proxied.url, "/login", { apikey: ALICE }, {
      origin: "https://ns.example.com",
    });
    await r.body?.cancel();
    assert.equal(r.status, 303);
    const setCookie = r.headers.get("set-cookie") ?? "";
    assert.match(setCookie, /; Secure/);
    const cookie = setCookie.split(";")[0];
    const page = await get(proxied.url, "/", cookie);
    assert.equal(page.status, 200);
    const out = await post(proxied.url, "/logout", { csrf: csrfOf(page.text) }, {
      cookie,
      origin: "https://ns.example.com",
    });
    await out.body?.cancel();
    assert.equal(out.status, 303);
    assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0.*; Secure|; Secure.*Max-Age=0/);
    // Another origin is still cross-site; and without publicOrigin the proxy's origin is too.
    const evil = await post(proxied.url, "/login", { apikey: ALICE }, {
      origin: "https://evil.example",
    });
    await evil.body?.cancel();
    assert.equal(evil.status, 403);
    const refused = await post(plain.url, "/login", { apikey: ALICE }, {
      origin: "https://ns.example.com",
    });
    await refused.body?.cancel();
    assert.equal(refused.status, 403);
    // Over plain http the cookie is not Secure (the browser would drop it).
    const local = await login(plain.url, ALICE);
    assert.doesNotMatch(local.setCookie, /Secure/);
  } finally {
    await proxied.shutdown();
    await plain.shutdown();
  }
  await assert.rejects(
    () => startServe({ dataDir: `${dir.path}/c`, publicOrigin: "https://ns.example.com/app" }),
    /publicOrigin must be an origin such as https:\/\/ns\.example\.com/,
  );
});

Deno.test("pages: another site cannot log a user out, session cookie or not", async () => {
  await using dir = await tempDir();
  const server = await startServe({ dataDir: `${dir.path}/data`, apiKeys: [ALICE] });
  try {
    // The browser withholds a SameSite=Strict cookie from a cross-site post: no session is seen.
    for (
      const init of [{ origin: "https://evil.example", site: "cross-site" }, {
        origin: "https://evil.example",
      }]
    ) {
      const r = await post(server.url, "/logout", {}, init);
      await r.body?.cancel();
      assert.equal(r.status, 403);
      assert.equal(r.headers.get("set-cookie"), null, "the session cookie was cleared");
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("pages: HEAD answers as GET does, without the body", async () => {
  await using dir = await tempDir();
  const { server, uuids } = await fixture(dir.path);
  try {
    const { cookie } = await login(server.url, ALICE);
    for (
      const path of ["/", `/samples/${uuids.alice}`, `/samples/${uuids.alice}/report.html`, "/nope"]
    ) {
      const g = await get(server.url, path, cookie);
      const h = await fetch(`${server.url}${path}`, {
        method: "HEAD",
        headers: { cookie },
        redirect: "manual",
      });
      assert.equal(h.status, g.status, path);
      assert.equal(h.headers.get("content-type"), g.headers.get("content-type"), path);
      assert.equal(await h.text(), "", path);
    }
  } finally {
    await server.shutdown();
  }
});
