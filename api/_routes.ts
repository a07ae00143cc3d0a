/**
 * The API of `serve` as one route table: each entry is a method, a path pattern (`:name` binds a
 * URL-decoded segment), who may call it (`public`, any accepted `key`, or an `admin` key) and a
 * handler of a few lines. {@link dispatch} matches, authorizes and answers 404/405/401/403.
 * @module
 */
import type { KeyOwner } from "./_keys.ts";
import { type AnnotationKind, sampleMetadataOf, uploadEntryOf } from "./store.ts";
import type { Storage } from "./storage.ts";
import type { Activity, Metadata } from "./types.ts";

/** Who may call a route. */
export type RouteAuth = "public" | "key" | "admin";

/** What a route's handler gets. */
export interface RouteContext {
  /** The request (its body not yet read). */
  request: Request;
  /** The URL-decoded `:name` segments. */
  params: Record<string, string>;
  /** The caller's key, for `key` and `admin` routes. */
  owner: KeyOwner;
}

/** One entry of the route table. */
export interface Route {
  /** `GET`, `POST`, `PUT`, ... */
  method: string;
  /** e.g. `/sec/v1.0/samples/:uuid/list`. */
  path: string;
  /** Who may call it. */
  auth: RouteAuth;
  /** Answers a matched, authorized request. */
  handler(context: RouteContext): Promise<Response>;
}

/** A JSON envelope answer. */
export function envelope(status: number, body: unknown): Response {
  return new Response(JSON.stringify({ error: status !== 200, body }), {
    status,
    headers: JSON_HEADERS,
  });
}

/**
 * The headers of every JSON answer. An answer can quote the request (`no such endpoint: GET
 * /<path>`): `nosniff` keeps a browser from reading it as anything but JSON.
 */
export const JSON_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
  "x-content-type-options": "nosniff",
};

/** Secflows per page of {@link secflowList}. */
const LIST_PAGE = 2000;

/**
 * Endpoint 4's answer, the same bytes as {@link envelope} would give, streamed a page of stored
 * rows at a time: a sample of 300k Secflows took the server to 770 MB as one string.
 */
function secflowList(store: Storage, uuid: string): Response {
  const encoder = new TextEncoder();
  let from = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode('{"error":false,"body":['));
    },
    async pull(controller) {
      const page = await store.secflowTexts(uuid, from, LIST_PAGE);
      const text = page.join(",");
      if (page.length > 0) controller.enqueue(encoder.encode(from === 0 ? text : `,${text}`));
      from += page.length;
      if (page.length < LIST_PAGE) {
        controller.enqueue(encoder.encode("]}"));
        controller.close();
      }
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    status: 200,
    headers: { ...JSON_HEADERS, "transfer-encoding": "chunked" },
  });
}

/** What the API routes need of the server. */
export interface ApiDeps {
  store: Storage;
  /** Endpoint 1. */
  upload(request: Request, owner: KeyOwner): Promise<Response>;
}

/** The NetworkSage API (`API.md`), plus PUT annotations for admin keys. */
export function apiRoutes({ store, upload }: ApiDeps): Route[] {
  const aggregated = (uuid: string): Promise<Activity[]> => store.activities(uuid);
  const annotations: [string, AnnotationKind][] = [
    ["destinations", "destination"],
    ["behaviors", "behavior"],
    ["events", "event"],
  ];
  return [
    {
      method: "GET",
      path: "/public/secflows/v1/:publicUuid/list/aggregated",
      auth: "public",
      async handler({ params }) {
        let decoded = "";
        try {
          decoded = new TextDecoder("utf-8", { fatal: true }).decode(
            Uint8Array.from(atob(params.publicUuid), (c) => c.charCodeAt(0)),
          );
        } catch { /* not base64 */ }
        const at = decoded.indexOf("#hash#");
        const s = at > 0 ? await store.sample(decoded.slice(0, at), null) : undefined;
        if (!s || s.status !== "processed" || s.hash !== decoded.slice(at + 6)) {
          return envelope(404, `no public sample '${params.publicUuid}'`);
        }
        return envelope(200, await aggregated(s.uuid));
      },
    },
    {
      method: "POST",
      path: "/upload/v1.0/uploader",
      auth: "key",
      handler: ({ request, owner }) => upload(request, owner),
    },
    {
      method: "GET",
      path: "/upload/v1.0/uploads/list",
      auth: "key",
      handler: async ({ owner }) =>
        envelope(200, (await store.samples(owner.id)).map(uploadEntryOf)),
    },
    {
      method: "GET",
      path: "/sec/v1.0/samples/:uuid",
      auth: "key",
      async handler({ params, owner }) {
        const s = await store.sample(params.uuid, owner.id);
        return s ? envelope(200, sampleMetadataOf(s)) : envelope(404, `no sample '${params.uuid}'`);
      },
    },
    {
      method: "GET",
      path: "/sec/v1.0/samples/:uuid/list",
      auth: "key",
      async handler({ params, owner }) {
        const s = await store.sample(params.uuid, owner.id);
        if (!s) return envelope(404, `no sample '${params.uuid}'`);
        // A sample not yet processed has no Secflows to show (some may be being stored).
        return s.status === "processed" ? secflowList(store, s.uuid) : envelope(200, []);
      },
    },
    {
      method: "GET",
      path: "/sec/v1.0/secflows/:flowId/count",
      auth: "key",
      handler: async ({ params }) => envelope(200, await store.count(params.flowId)),
    },
    ...annotations.flatMap(([segment, kind]): Route[] => [
      {
        method: "GET",
        path: `/sec/v1.0/${segment}/:name`,
        auth: "key",
        handler: async ({ params }) => envelope(200, await store.annotation(kind, params.name)),
      },
      {
        method: "PUT",
        path: `/sec/v1.0/${segment}/:name`,
        auth: "admin",
        async handler({ request, params }) {
          const text = await readLimited(request, 1 << 20);
          if (text === null) return envelope(413, "annotation larger than 1 MiB");
          let data: unknown;
          try {
            data = JSON.parse(text);
          } catch { /* below */ }
          if (!data || typeof data !== "object" || Array.isArray(data)) {
            return envelope(400, "the annotation must be a JSON object");
          }
          await store.annotate(kind, params.name, data as Metadata);
          return envelope(200, data);
        },
      },
    ]),
  ];
}

/**
 * A request body of at most `limit` bytes as text; null (the rest unread) when it is larger. The
 * one bounded reader of small bodies (annotations here, the pages' forms).
 */
export async function readLimited(request: Request, limit: number): Promise<string | null> {
  if (!request.body) return "";
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of request.body) {
    n += chunk.length;
    if (n > limit) return null;
    parts.push(chunk);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return new TextDecoder().decode(out);
}

/** How a request's key is checked. */
export type Authorize = (key: string) => KeyOwner | undefined;

/**
 * Answers `request` from `routes`: 404 when no path matches, 405 when the path does but not the
 * method, 401 for a missing or unknown key, 403 for a non-admin key on an admin route.
 */
export async function dispatch(
  routes: Route[],
  request: Request,
  authorize: Authorize,
): Promise<Response> {
  const url = new URL(request.url);
  let segments: string[];
  try {
    segments = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
  } catch {
    return envelope(400, "malformed percent-encoding in the path");
  }
  // No id holds a NUL byte, and PostgreSQL cannot even compare text with one (it answered 500
  // where SQLite answered 404): such a path names nothing, on every route and either store.
  if (segments.some((s) => s.includes("\0"))) {
    return envelope(404, `no such endpoint: ${request.method} ${url.pathname}`);
  }
  let pathMatched = false;
  for (const route of routes) {
    const params = match(route.path, segments);
    if (!params) continue;
    pathMatched = true;
    if (route.method !== request.method) continue;
    let owner: KeyOwner = { id: "", admin: false };
    if (route.auth !== "public") {
      const key = request.headers.get("apikey");
      if (key === null || key === "") return envelope(401, "missing API key (header 'apikey')");
      const found = authorize(key);
      if (!found) return envelope(401, "invalid API key");
      if (route.auth === "admin" && !found.admin) {
        return envelope(403, "this key may not write annotations (admin keys only)");
      }
      owner = found;
    }
    return await route.handler({ request, params, owner });
  }
  const path = "/" + segments.join("/");
  return pathMatched
    ? envelope(405, `${request.method} is not allowed on ${path}`)
    : envelope(404, `no such endpoint: ${request.method} ${path}`);
}

function match(pattern: string, segments: string[]): Record<string, string> | null {
  const parts = pattern.split("/").filter((s) => s !== "");
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].startsWith(":")) params[parts[i].slice(1)] = segments[i];
    else if (parts[i] !== segments[i]) return null;
  }
  return params;
}
