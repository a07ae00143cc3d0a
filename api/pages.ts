/**
 * `serve`'s web pages, on the API's port: a login form (`POST /login`, field `apikey`), the
 * key's samples (`/`) with an upload form, a sample's page (`/samples/{uuid}`: the HTML report
 * with each Secflow's local category and the number of samples holding its flowId, and the
 * annotations of its Destinations, Behaviors and Events inline; `/samples/{uuid}/report.html`
 * downloads it as one standalone file), annotation forms for keys that may annotate, and
 * `POST /logout`.
 *
 * A page shows nothing of a sample without a session of the key that owns it: another key's
 * sample answers 404, exactly like a sample that does not exist. Sessions and cross-site
 * protection are in `web_session.ts`; every page sends a Content-Security-Policy that allows only
 * its own inline style and script (by hash) and forms posting to this origin.
 *
 * The pages take the store and two functions from the server ({@link PagesOptions}): how a key
 * is authenticated (the API's own check) and how an upload is received (the API's own handler),
 * so the pages cannot drift from the API's rules.
 * @module
 */
import { escapeHtml } from "../report/escape.ts";
import { renderReport, reportDocument, reportSections } from "../report/html.ts";
import { fromActivities, reportModel } from "../report/model.ts";
import { readLimited } from "./_routes.ts";
import type { Activity, Metadata, PlatformSecflow } from "./types.ts";
import {
  clearedSessionCookie,
  cookieValue,
  sameOrigin,
  SESSION_COOKIE,
  sessionCookie,
  tokensEqual,
  type WebSession,
  WebSessions,
} from "./web_session.ts";

type MaybePromise<T> = T | Promise<T>;

/** Kinds of annotation. */
type Kind = "destination" | "behavior" | "event";

/** What the pages read from the store (sync or async, so any storage backend fits). */
export interface PagesStore {
  samples(owner: string): MaybePromise<PageSample[]>;
  sample(uuid: string, owner: string | null): MaybePromise<PageSample | undefined>;
  /** Each Secflow of a sample with its annotations and flowId count (endpoint 5's view). */
  activities(uuid: string): MaybePromise<Activity[]>;
  /** Up to `limit` Secflows of a sample from position `from` on, as stored JSON text. */
  secflowTexts(uuid: string, from: number, limit: number): MaybePromise<string[]>;
  annotation(kind: Kind, name: string): MaybePromise<Metadata>;
  annotate(kind: Kind, name: string, data: Metadata): MaybePromise<void>;
}

/** The fields of a stored sample the pages show. */
export interface PageSample {
  uuid: string;
  fileName: string;
  fileType: string;
  createdMs: number;
  status: string;
  error: string | null;
  hash: string;
  trafficDate: string;
  warnings: string[];
}

/** Who a key is, as the API decides it (the shape of the key ring's owner). */
export interface KeyIdentity {
  /** The owner id samples are stored under. */
  id: string;
  /** May annotate Destinations, Behaviors and Events. */
  admin: boolean;
}

/** Options of {@link createPages}. */
export interface PagesOptions {
  store: PagesStore;
  /** The API's key check: the key's identity, or null for an unknown key. */
  authenticate(key: string): Promise<KeyIdentity | null>;
  /** The API's upload handler (endpoint 1) for an authenticated key; answers an envelope. */
  upload(request: Request, owner: KeyIdentity): Promise<Response>;
  /** The sessions (default: a new in-memory set). */
  sessions?: WebSessions;
}

/**
 * True for the paths the pages answer (the API keeps everything else). All of `/samples/` is the
 * pages' (the API has no path there), so a mistyped page is the HTML 404, not a JSON envelope.
 */
export function isPagePath(pathname: string): boolean {
  return pathname === "/" || pathname === "/login" || pathname === "/logout" ||
    pathname === "/upload" || pathname === "/favicon.ico" || pathname === "/samples" ||
    pathname.startsWith("/samples/");
}

const PAGE_CSS = `
nav{display:flex;gap:12px;align-items:center;flex-wrap:wrap;border-bottom:1px solid var(--line);padding-bottom:8px;margin-bottom:12px}
nav .brand{font-weight:700;margin-right:auto}
nav form{margin:0}
form.box{border:1px solid var(--line);border-radius:4px;padding:12px;max-width:40em;display:grid;gap:8px}
form.box label{display:grid;gap:2px}
input,select,textarea,button{font:inherit;padding:4px 8px}
button{cursor:pointer}
.error{color:#a4161a;font-weight:600}
.meta{color:var(--muted)}
.login{max-width:28em;margin:10vh auto}
`.trim();

const enc = encodeURIComponent;

/** Limits a form body to `limit` bytes; null when larger. */
async function formBody(request: Request, limit = 65536): Promise<URLSearchParams | null> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    await request.body?.cancel().catch(() => {});
    return new URLSearchParams();
  }
  const text = await readLimited(request, limit);
  return text === null ? null : new URLSearchParams(text);
}

/**
 * The status cell of the samples list: a processed upload that gave no Secflows (trafficDate
 * stays "" then) and one with conversion warnings say so, so a capture cut short does not pass
 * for a clean one.
 */
function statusOf(s: PageSample): string {
  if (s.status !== "processed") return escapeHtml(s.status);
  const parts = [s.trafficDate === "" ? "processed, no Secflows" : "processed"];
  if (s.warnings.length) {
    parts.push(
      `<span class="error" title="${escapeHtml(s.warnings.join("\n"))}">${
        plural(s.warnings.length, "warning")
      }</span>`,
    );
  }
  return parts.join(" · ");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The most Secflows a sample page (and its report download) shows; see tooLargeForPages. */
export const PAGE_SECFLOW_LIMIT = 20_000;

function tooLargeText(uuid: string): string {
  return `<p class="error">This sample has more than ${
    PAGE_SECFLOW_LIMIT.toLocaleString("en-US")
  } Secflows, more than a page shows. Look at it with the command-line tool, which works on your machine: <code>networksage view --uuid ${
    escapeHtml(uuid)
  } --api-url URL</code> or <code>networksage report --uuid ${
    escapeHtml(uuid)
  } --api-url URL</code>.</p>`;
}

function dateOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ") + " UTC";
}

/**
 * The pages' request handler.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPages, isPagePath } from "./pages.ts";
 * // serve passes its storage, its key check and its upload handler; here, a key with no samples.
 * const owner = { id: "owner-a", admin: false };
 * const pages = createPages({
 *   store: {
 *     samples: () => [],
 *     sample: () => undefined,
 *     activities: () => [],
 *     secflowTexts: () => [],
 *     annotation: () => ({}),
 *     annotate: () => {},
 *   },
 *   authenticate: (key) => Promise.resolve(key === "example-key" ? owner : null),
 *   upload: () => Promise.resolve(new Response(null, { status: 501 })),
 * });
 * assert.ok(isPagePath("/login") && !isPagePath("/upload/v1.0/uploads/list"));
 * const login = await pages(new Request("http://127.0.0.1:8787/login", {
 *   method: "POST",
 *   body: new URLSearchParams({ apikey: "example-key" }),
 * }));
 * assert.equal(login.status, 303);
 * const cookie = login.headers.get("set-cookie")!.split(";")[0];
 * const home = await pages(new Request("http://127.0.0.1:8787/", { headers: { cookie } }));
 * assert.equal(home.status, 200);
 * assert.match(await home.text(), /Log out/);
 * ```
 */
export function createPages(options: PagesOptions): (request: Request) => Promise<Response> {
  const { store } = options;
  const sessions = options.sessions ?? new WebSessions();
  // Failed logins in the last minute, process-wide: guessing keys gets slow, not free.
  const failures: number[] = [];

  function page(
    status: number,
    title: string,
    body: string,
    extraHeaders: Record<string, string> = {},
  ): Response {
    const { html, csp } = reportDocument(title, body, {
      extraCss: PAGE_CSS,
      head: `<link rel="icon" href="data:,">\n`,
    });
    return new Response(html, {
      status,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": `${csp}; frame-ancestors 'none'`,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        // Not no-referrer: under it browsers send `Origin: null` on form posts, which
        // sameOrigin() must refuse; same-origin keeps the origin for this server's own forms.
        "referrer-policy": "same-origin",
        "cache-control": "no-store",
        ...extraHeaders,
      },
    });
  }

  function redirect(location: string, headers: Record<string, string> = {}): Response {
    return new Response(null, {
      status: 303,
      headers: { location, "cache-control": "no-store", ...headers },
    });
  }

  function nav(session: WebSession): string {
    return `<nav><a class="brand" href="/">networksage serve</a><a href="/">samples</a>${
      session.admin ? '<span class="meta">(may annotate)</span>' : ""
    }<form method="post" action="/logout"><input type="hidden" name="csrf" value="${
      escapeHtml(session.csrf)
    }"><button type="submit">Log out</button></form></nav>`;
  }

  function loginPage(status: number, message = ""): Response {
    return page(
      status,
      "networksage serve: log in",
      `<main class="login"><h1>networksage serve</h1>${
        message ? `<p class="error">${escapeHtml(message)}</p>` : ""
      }<form class="box" method="post" action="/login"><label>API key <input type="password" name="apikey" autocomplete="current-password" required autofocus></label><button type="submit">Log in</button></form><p class="meta">The key is checked and forgotten: the browser keeps only a random session id.</p></main>`,
    );
  }

  function notFound(session: WebSession | undefined): Response {
    return page(
      404,
      "not found",
      `${session ? nav(session) : ""}<main><h1>Not found</h1><p>No such page or sample.</p></main>`,
    );
  }

  function refused(message: string): Response {
    return page(
      403,
      "refused",
      `<main><h1>Refused</h1><p class="error">${escapeHtml(message)}</p></main>`,
    );
  }

  /** The session's token from a form field or the query (multipart uploads carry it there). */
  function checkForm(request: Request, session: WebSession, token: string | null): Response | null {
    if (!sameOrigin(request)) return refused("cross-site request refused");
    if (!tokensEqual(token, session.csrf)) {
      return refused("missing or stale form token: reload the page");
    }
    return null;
  }

  async function login(request: Request): Promise<Response> {
    if (!sameOrigin(request)) {
      await request.body?.cancel().catch(() => {});
      return refused("cross-site request refused");
    }
    // The key is looked up first (an HMAC, not a slow hash): a right key always gets in. Counted
    // before it, 30 wrong guesses a minute from anyone kept every user out.
    const now = Date.now();
    while (failures.length && failures[0] < now - 60_000) failures.shift();
    const form = await formBody(request, 8192);
    const key = form?.get("apikey") ?? "";
    const who = key === "" ? null : await options.authenticate(key);
    if (!who) {
      if (failures.length >= 30) {
        return loginPage(429, "too many failed logins; try again in a minute");
      }
      failures.push(now);
      return loginPage(401, key === "" ? "enter an API key" : "unknown API key");
    }
    const old = cookieValue(request, SESSION_COOKIE);
    if (old) sessions.delete(old);
    const session = sessions.create(who.id, who.admin);
    const secure = new URL(request.url).protocol === "https:";
    return redirect("/", {
      "set-cookie": sessionCookie(session.id, sessions.maxAgeSeconds, secure),
    });
  }

  async function samplesPage(session: WebSession, message = "", status = 200): Promise<Response> {
    const list = [...await store.samples(session.owner)].reverse();
    const rows = list.map((s) =>
      `<tr><td class="dst"><a href="/samples/${enc(s.uuid)}">${
        escapeHtml(s.fileName)
      }</a></td><td>${escapeHtml(s.fileType)}</td><td>${
        s.status === "failed"
          ? `<span class="error">failed</span>: ${escapeHtml(s.error ?? "")}`
          : statusOf(s)
      }</td><td>${dateOf(s.createdMs)}</td><td>${escapeHtml(s.uuid)}</td></tr>`
    ).join("\n");
    return page(
      status,
      "networksage serve: samples",
      `${nav(session)}<main><h1>Samples</h1>${
        message ? `<p class="error">${escapeHtml(message)}</p>` : ""
      }${
        list.length
          ? `<div class="tablewrap"><table id="samples"><thead><tr><th>file</th><th>type</th><th>status</th><th>uploaded</th><th>uuid</th></tr></thead><tbody>${rows}</tbody></table></div>`
          : "<p>No samples yet: upload one below.</p>"
      }<h2>Upload</h2><form class="box" method="post" action="/upload?csrf=${
        enc(session.csrf)
      }" enctype="multipart/form-data"><label>Capture, Zeek conn.log or .sf <input type="file" name="file" required></label><label>Zeek dns.log (optional) <input type="file" name="zeekDnsFile"></label><label>Type <select name="type"><option value="">detect from the content</option><option>pcap</option><option>pcapng</option><option>zeek</option><option>secflow</option></select></label><button type="submit">Upload</button></form></main>`,
    );
  }

  async function upload(request: Request, session: WebSession): Promise<Response> {
    const bad = checkForm(request, session, new URL(request.url).searchParams.get("csrf"));
    if (bad) {
      await request.body?.cancel().catch(() => {});
      return bad;
    }
    const answer = await options.upload(request, { id: session.owner, admin: session.admin });
    if (answer.status === 200) return redirect("/");
    let message = `upload failed (${answer.status})`;
    try {
      const body = (await answer.json()).body;
      if (typeof body === "string") message = `upload failed: ${body}`;
    } catch { /* keep the status */ }
    return samplesPage(session, message, answer.status);
  }

  /**
   * A stored sample as a report's input: its Secflows with counts and annotations, looked up as
   * endpoint 5 looks them up (a few set queries on PostgreSQL, not three per Secflow).
   */
  async function sampleReport(s: PageSample) {
    const activities = await store.activities(s.uuid);
    return { ...fromActivities(s, activities), secflows: activities.map((a) => a.secflow) };
  }

  /**
   * Whether a sample has more Secflows than a page shows: its report is built in memory (about
   * 17 KB and 0.3 ms per Secflow), so a key holder's 200,000-Secflow sample took 57 s and 3.3 GB
   * of the server per page view. One row past the limit tells, without loading the rest.
   */
  async function tooLargeForPages(uuid: string): Promise<boolean> {
    return (await store.secflowTexts(uuid, PAGE_SECFLOW_LIMIT, 1)).length > 0;
  }

  /** The standalone report of a sample, as a download. */
  async function reportDownload(session: WebSession, uuid: string): Promise<Response> {
    const s = await store.sample(uuid, session.owner);
    if (!s || s.status !== "processed") return notFound(session);
    if (await tooLargeForPages(s.uuid)) {
      return page(
        413,
        `${s.fileName}: too large`,
        `${nav(session)}<main><h1>${escapeHtml(s.fileName)}</h1>${tooLargeText(s.uuid)}</main>`,
      );
    }
    const { sample, extras } = await sampleReport(s);
    const name = (s.fileName.replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9._-]/g, "_") || "sample") +
      ".html";
    return new Response(renderReport(sample, extras), {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-disposition": `attachment; filename="${name}"`,
        "content-security-policy": "default-src 'none'; sandbox",
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
      },
    });
  }

  async function samplePage(session: WebSession, uuid: string): Promise<Response> {
    const s = await store.sample(uuid, session.owner);
    if (!s) return notFound(session);
    const download = s.status === "processed"
      ? ` · <a href="/samples/${enc(s.uuid)}/report.html">download this report</a>`
      : "";
    const head = `<p class="meta">${escapeHtml(s.fileType)} · uploaded ${dateOf(s.createdMs)} · ${
      escapeHtml(s.uuid)
    }${download}</p>${
      s.warnings.length
        ? `<details${s.trafficDate === "" ? " open" : ""}><summary>${
          plural(s.warnings.length, "conversion warning")
        }</summary><ul>${
          s.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")
        }</ul></details>`
        : ""
    }`;
    if (s.status !== "processed") {
      const text = s.status === "failed"
        ? `<p class="error">Conversion failed: ${escapeHtml(s.error ?? "")}</p>`
        : `<p>Being converted; this page reloads every 5 seconds.</p>`;
      return page(
        200,
        `${s.fileName}: ${s.status}`,
        `${nav(session)}<main><h1>${escapeHtml(s.fileName)}</h1>${head}${text}</main>`,
        s.status === "pending" ? { refresh: "5" } : {},
      );
    }
    if (await tooLargeForPages(s.uuid)) {
      return page(
        200,
        `${s.fileName}: Secflows`,
        `${nav(session)}<main><h1>${escapeHtml(s.fileName)}</h1>${head}${
          tooLargeText(s.uuid)
        }</main>`,
      );
    }
    const { sample, extras, secflows } = await sampleReport(s);
    const model = reportModel(sample, extras);
    return page(
      200,
      `${s.fileName}: Secflows`,
      `${nav(session)}<main>${head}${reportSections(model)}${
        session.admin ? annotationForm(session, s.uuid, secflows) : ""
      }</main>`,
    );
  }

  function annotationForm(session: WebSession, uuid: string, secflows: PlatformSecflow[]): string {
    const names = new Set<string>();
    for (const s of secflows) {
      if (names.size >= 2000) break;
      names.add(s.destinationData);
      names.add(s.flowId);
      if (s.eventId) names.add(s.eventId);
    }
    return `<section id="annotate"><h2>Annotate</h2><form class="box" method="post" action="/samples/${
      enc(uuid)
    }/annotate"><input type="hidden" name="csrf" value="${
      escapeHtml(session.csrf)
    }"><label>Kind <select name="kind"><option value="destination">Destination (name:port)</option><option value="behavior">Behavior (flowId)</option><option value="event">Event (eventId)</option></select></label><label>Name <input name="name" list="annotatable" required></label><datalist id="annotatable">${
      [...names].map((n) => `<option value="${escapeHtml(n)}">`).join("")
    }</datalist><label>Title <input name="title"></label><label>Description <textarea name="description" rows="3"></textarea></label><label>Relevance <input name="relevance"></label><label>Tags (comma-separated) <input name="tags"></label><button type="submit">Save</button></form></section>`;
  }

  async function annotate(request: Request, session: WebSession, uuid: string): Promise<Response> {
    if (!sameOrigin(request)) {
      await request.body?.cancel().catch(() => {});
      return refused("cross-site request refused");
    }
    const form = await formBody(request);
    if (!form) return refused("form larger than 64 KiB");
    const bad = checkForm(request, session, form.get("csrf"));
    if (bad) return bad;
    if (!session.admin) return refused("this key may not annotate");
    if (!await store.sample(uuid, session.owner)) return notFound(session);
    const kind = form.get("kind") as Kind;
    const name = form.get("name") ?? "";
    if (!["destination", "behavior", "event"].includes(kind) || name === "") {
      return page(
        400,
        "bad annotation",
        `${nav(session)}<main><p class="error">An annotation needs a kind and a name.</p></main>`,
      );
    }
    // Fields left empty are removed; keys the form does not know (set through the API) stay.
    const data: Metadata = { ...await store.annotation(kind, name) };
    for (const field of ["title", "description", "relevance"]) {
      const v = (form.get(field) ?? "").trim();
      if (v) data[field] = v;
      else delete data[field];
    }
    const tags = (form.get("tags") ?? "").split(",").map((t) => t.trim()).filter(Boolean);
    if (tags.length) data.tags = tags;
    else delete data.tags;
    await store.annotate(kind, name, data);
    return redirect(`/samples/${enc(uuid)}#annotations`);
  }

  // HEAD is GET without the body (a link checker or `curl -I` got 404 where GET got 200), and
  // with GET's Content-Length (RFC 9110 section 9.3.2; it said 0).
  return async function handle(request: Request): Promise<Response> {
    if (request.method !== "HEAD") return await answer(request, request.method);
    const response = await answer(request, "GET");
    const headers = new Headers(response.headers);
    if (response.body) {
      headers.set("content-length", String((await response.arrayBuffer()).byteLength));
    }
    return new Response(null, { status: response.status, headers });
  };

  async function answer(request: Request, m: string): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    const session = sessions.get(cookieValue(request, SESSION_COOKIE));
    if (path === "/login") {
      return m === "POST" ? login(request) : redirect("/");
    }
    if (path === "/logout") {
      if (m !== "POST") return redirect("/");
      // Checked with or without a session: another site's form (whose cookie the browser
      // withholds) cleared the user's session cookie, and so logged them out.
      if (!sameOrigin(request)) {
        await request.body?.cancel().catch(() => {});
        return refused("cross-site request refused");
      }
      const form = await formBody(request, 8192);
      if (session) {
        const bad = checkForm(request, session, form?.get("csrf") ?? null);
        if (bad) return bad;
        sessions.delete(session.id);
      }
      const secure = url.protocol === "https:";
      return redirect("/", { "set-cookie": clearedSessionCookie(secure) });
    }
    if (!session) {
      await request.body?.cancel().catch(() => {});
      return loginPage(path === "/" ? 200 : 401, path === "/" ? "" : "log in to see this page");
    }
    if (path === "/") return m === "GET" ? samplesPage(session) : notFound(session);
    if (path === "/upload") {
      if (m === "POST") return upload(request, session);
      return redirect("/");
    }
    const parts = path.split("/");
    // `/samples/UUID` and its two sub-pages; anything else there is the HTML 404.
    if (
      parts.length < 3 || parts.length > 4 || parts[2] === "" ||
      (parts.length === 4 && parts[3] !== "report.html" && parts[3] !== "annotate")
    ) {
      await request.body?.cancel().catch(() => {});
      return notFound(session);
    }
    let uuid: string;
    try {
      uuid = decodeURIComponent(parts[2]);
    } catch {
      return notFound(session);
    }
    if (parts[3] === "report.html") {
      return m === "GET" ? reportDownload(session, uuid) : notFound(session);
    }
    if (parts[3] === "annotate") {
      return m === "POST" ? annotate(request, session, uuid) : redirect(`/samples/${enc(uuid)}`);
    }
    return m === "GET" ? samplePage(session, uuid) : notFound(session);
  }
}
