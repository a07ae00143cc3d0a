/**
 * Which `Host` values `serve`'s pages answer: DNS rebinding defeats the same-origin policy by
 * pointing an attacker's name (`evil.example`) at 127.0.0.1, after which the attacker's page is
 * "same-origin" with this server as far as the browser knows, and its `Origin` matches the `Host`
 * it sends. Only the name a browser legitimately uses can be trusted: the configured public
 * origin's host, the address serve listens on, and `localhost` when that address is loopback
 * (a name no other site can claim). On a wildcard address (`0.0.0.0`, `::`) any IP literal is
 * the listening address: an IP literal cannot be rebound. The port must be the one listened on
 * (or the public origin's).
 * @module
 */

/** `[v6]` or a name/IPv4, and the port (null when absent), lowercased; null when malformed. */
function split(host: string): { name: string; port: number | null } | null {
  const m = /^(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/i.exec(host.trim());
  if (!m) return null;
  return { name: m[1].toLowerCase(), port: m[2] === undefined ? null : Number(m[2]) };
}

function isIpLiteral(name: string): boolean {
  return name.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(name);
}

function isLoopback(name: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) || name === "[::1]";
}

/**
 * A check of `Host` for the pages of a server listening on `addr`, reached also at
 * `publicOrigin` (`https://ns.example.com`) when given.
 */
export function pageHosts(
  addr: Deno.NetAddr,
  publicOrigin?: string | false,
): (host: string | null) => boolean {
  const listen = addr.hostname.includes(":") ? `[${addr.hostname.toLowerCase()}]` : addr.hostname;
  const wildcard = listen === "0.0.0.0" || listen === "[::]";
  const allowed = new Set<string>();
  const add = (name: string, port: number) => {
    allowed.add(`${name}:${port}`);
    if (port === 80) allowed.add(`${name}:`);
  };
  if (!wildcard) add(listen, addr.port);
  if (isLoopback(listen) || wildcard) add("localhost", addr.port);
  if (publicOrigin) {
    const url = new URL(publicOrigin);
    const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    const name = url.hostname.toLowerCase();
    allowed.add(`${name}:${port}`);
    if (!url.port) allowed.add(`${name}:`);
  }
  return (host) => {
    if (host === null) return false;
    const h = split(host);
    if (!h) return false;
    const key = `${h.name}:${h.port ?? ""}`;
    if (allowed.has(key)) return true;
    return wildcard && isIpLiteral(h.name) && (h.port ?? 80) === addr.port;
  };
}
