/**
 * Browser sessions of `serve`'s pages. Logging in with an API key creates a session: a random
 * id (256 bits, base64url) in an HttpOnly, SameSite=Strict cookie, never the key itself; the
 * server keeps the session's owner (the key's owner id), whether the key may annotate, and a
 * per-session CSRF token that every form carries. Sessions live in memory: a restart logs
 * everyone out, which is the right default for a local server.
 *
 * Cross-site requests are refused twice over: state-changing requests must come from this origin
 * ({@link sameOrigin}: `Sec-Fetch-Site` and `Origin`), and carry the session's token
 * ({@link tokensEqual}, constant time). The Strict cookie alone already keeps other sites'
 * requests anonymous in current browsers; the checks cover older ones and same-site neighbours.
 * @module
 */
import { timingSafeEqual } from "node:crypto";

/** The session cookie's name. */
export const SESSION_COOKIE = "ns_session";

/** One logged-in browser. */
export interface WebSession {
  /** The cookie value: 32 random bytes, base64url. */
  id: string;
  /** The key's owner id as the store knows it (never the key). */
  owner: string;
  /** The key may annotate Destinations, Behaviors and Events. */
  admin: boolean;
  /** The token forms must echo. */
  csrf: string;
  /** Epoch ms after which the session is gone. */
  expires: number;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** Options of {@link WebSessions}. */
export interface WebSessionOptions {
  /** Lifetime of a session in ms (default 12 h). */
  ttlMs?: number;
  /** Sessions kept at most; the oldest goes first (default 10 000). */
  max?: number;
  /**
   * Sessions one owner keeps at most; that owner's oldest goes first (default 100). Without it,
   * one key logging in 10,000 times ended every other key's sessions.
   */
  maxPerOwner?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * The live sessions, bounded in number and age.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WebSessions } from "./web_session.ts";
 * const sessions = new WebSessions();
 * const s = sessions.create("owner-id", false);
 * assert.equal(sessions.get(s.id)?.owner, "owner-id");
 * sessions.delete(s.id);
 * assert.equal(sessions.get(s.id), undefined);
 * ```
 */
export class WebSessions {
  #byId = new Map<string, WebSession>();
  /** Each owner's session ids, oldest first. */
  #byOwner = new Map<string, Set<string>>();
  #ttl: number;
  #max: number;
  #maxPerOwner: number;
  #now: () => number;

  constructor(options: WebSessionOptions = {}) {
    this.#ttl = options.ttlMs ?? 12 * 3600_000;
    this.#max = Math.max(1, options.max ?? 10_000);
    this.#maxPerOwner = Math.max(1, options.maxPerOwner ?? 100);
    this.#now = options.now ?? Date.now;
  }

  /** The lifetime of a session, in seconds (for the cookie's Max-Age). */
  get maxAgeSeconds(): number {
    return Math.floor(this.#ttl / 1000);
  }

  /** A new session for `owner`. */
  create(owner: string, admin: boolean): WebSession {
    const own = this.#byOwner.get(owner) ?? new Set<string>();
    this.#byOwner.set(owner, own);
    while (own.size >= this.#maxPerOwner) this.delete(own.values().next().value!);
    while (this.#byId.size >= this.#max) this.delete(this.#byId.keys().next().value!);
    const session = {
      id: randomToken(),
      owner,
      admin,
      csrf: randomToken(),
      expires: this.#now() + this.#ttl,
    };
    this.#byId.set(session.id, session);
    own.add(session.id);
    return session;
  }

  /** The live session with this id, if any (an expired one is removed). */
  get(id: string | undefined): WebSession | undefined {
    if (id === undefined) return undefined;
    const s = this.#byId.get(id);
    if (s && s.expires <= this.#now()) {
      this.delete(id);
      return undefined;
    }
    return s;
  }

  /** Ends a session. */
  delete(id: string): void {
    const s = this.#byId.get(id);
    if (!s) return;
    this.#byId.delete(id);
    const own = this.#byOwner.get(s.owner);
    own?.delete(id);
    if (own?.size === 0) this.#byOwner.delete(s.owner);
  }

  /** Live sessions (expired ones may still be counted until looked up). */
  get size(): number {
    return this.#byId.size;
  }
}

/** A cookie's value from the request's `Cookie` header (a request, or anything with headers). */
export function cookieValue(request: { headers: Headers }, name: string): string | undefined {
  const header = request.headers.get("cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** `Set-Cookie` for a session (`Secure` when the page was served over https). */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${
    secure ? "; Secure" : ""
  }`;
}

/** `Set-Cookie` that removes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${
    secure ? "; Secure" : ""
  }`;
}

/**
 * True when a state-changing request comes from this server's own pages: `Sec-Fetch-Site`, when
 * the browser sends it, is `same-origin` (or `none`: typed by the user), and `Origin`, when
 * sent, is this origin: the request URL's, or the one the browser addressed (`Host`), since a
 * listener may build request URLs from its own address (`127.0.0.1`) while the browser used
 * `localhost`. Clients that send neither header (curl) pass here and meet the CSRF token next.
 */
export function sameOrigin(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") return false;
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  const url = new URL(request.url);
  const host = request.headers.get("host");
  return origin === url.origin || (host !== null && origin === `${url.protocol}//${host}`);
}

/** Compares two tokens in constant time. */
export function tokensEqual(a: string | null | undefined, b: string): boolean {
  if (typeof a !== "string") return false;
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
