/**
 * The persistent name cache: a text file of `ip name` lines (SECFLOW.md section 4).
 * @module
 */
import { InputError } from "../secflow/errors.ts";
import { ipToString, parseIPv4 } from "../secflow/net.ts";
import { isUsableName } from "../secflow/dns.ts";
import { printable, quoted } from "../secflow/printable.ts";
import { writeTextOutput } from "./output.ts";

/** Largest name cache read (about a million entries): memory stays bounded on any file. */
export const MAX_CACHE_BYTES = 64 << 20;

/** Reads a name cache; a missing file is an empty cache. Malformed lines are errors. */
export async function readNameCache(path: string): Promise<Map<number, string>> {
  let text: string;
  try {
    await plainFile(path);
    const size = (await Deno.stat(path)).size;
    if (size > MAX_CACHE_BYTES) {
      throw new InputError(
        `${printable(path)}: a name cache of ${size} bytes is over the ${
          MAX_CACHE_BYTES >> 20
        } MiB limit`,
      );
    }
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Map();
    if (e instanceof Deno.errors.IsADirectory) {
      throw new InputError(`${printable(path)}: is a directory, not a name cache file`);
    }
    if (e instanceof InputError) throw e;
    if (e instanceof Deno.errors.NotCapable || (e as Error)?.name === "NotCapable") throw e;
    throw new InputError(`${printable(path)}: cannot read the name cache: ${(e as Error).message}`);
  }
  return parseNameCache(text, path);
}

/** Parses `ip name` lines; blank lines and `#` comments are allowed. */
export function parseNameCache(text: string, path = "name cache"): Map<number, string> {
  const cache = new Map<number, string>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const [ipText, name, extra] = line.split(/\s+/);
    const ip = parseIPv4(ipText);
    if (ip === undefined || !name || extra !== undefined) {
      throw new InputError(
        `${printable(path)}: line ${i + 1}: expected "ip name", found ${quoted(line, 60)}`,
      );
    }
    if (!isUsableName(name)) {
      throw new InputError(
        `${printable(path)}: line ${i + 1}: ${
          quoted(name, 60)
        } is not a name a resolver accepts (empty, a label over 63 characters, over 253 in all, or control characters)`,
      );
    }
    cache.set(ip, name);
  });
  return cache;
}

/** The cache file's text, sorted by address so the file diffs well. */
export function formatNameCache(cache: ReadonlyMap<number, string>): string {
  for (const [ip, name] of cache) {
    // A name with a line break would add lines of its own ("ok.com\n8.8.8.8 evil.com").
    if (!isUsableName(name)) {
      throw new RangeError(`name cache: ${printable(name, 80)} for ${ipToString(ip)} is no name`);
    }
  }
  return [...cache].sort((a, b) => a[0] - b[0]).map(([ip, name]) => `${ipToString(ip)} ${name}\n`)
    .join("");
}

/**
 * Merges `updates` into the cache at `path` (new names replace older ones) and writes it. A cache
 * is kept under {@link MAX_CACHE_BYTES}, the most {@link readNameCache} reads: past it, this run's
 * names are kept first, then the earlier ones, and `onWarning` says how many were left out (a
 * dns.log of 300,000 long names wrote a cache that every later run refused).
 */
export async function updateNameCache(
  path: string,
  cache: Map<number, string>,
  updates: ReadonlyMap<number, string>,
  onWarning?: (message: string) => void,
): Promise<void> {
  if (updates.size === 0) return;
  for (const [ip, name] of updates) cache.set(ip, name);
  const left = leaveOutPastLimit(cache, updates);
  if (left > 0) {
    onWarning?.(
      `${printable(path)}: ${left} names left out of the name cache to keep it under ${
        MAX_CACHE_BYTES >> 20
      } MiB (this run's names kept first)`,
    );
  }
  // Never through a link: run as root, a names.cache linked to /etc/passwd was replaced.
  try {
    await plainFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  // 0600: which names this machine looked up is nobody else's business (samples are 0600 too).
  await writeTextOutput(path, formatNameCache(cache), { mode: 0o600 });
}

/** Removes entries from `cache` until its file fits the limit; returns how many went. */
function leaveOutPastLimit(cache: Map<number, string>, first: ReadonlyMap<number, string>): number {
  const lineBytes = (ip: number, name: string) =>
    ipToString(ip).length + 2 + new TextEncoder().encode(name).length;
  let total = 0;
  for (const [ip, name] of cache) total += lineBytes(ip, name);
  if (total <= MAX_CACHE_BYTES) return 0;
  const kept = new Map<number, string>();
  let bytes = 0;
  for (const [ip, name] of [...first, ...cache]) {
    if (kept.has(ip)) continue;
    const n = lineBytes(ip, cache.get(ip) ?? name);
    if (bytes + n > MAX_CACHE_BYTES) continue;
    kept.set(ip, cache.get(ip) ?? name);
    bytes += n;
  }
  const left = cache.size - kept.size;
  cache.clear();
  for (const [ip, name] of kept) cache.set(ip, name);
  return left;
}

/**
 * Checks that `path` is a plain file, not followed if it is a link: a name cache in a state
 * directory is written as it is read, and a link (to /etc/passwd) or a FIFO (which would block
 * the read forever, deaf to signals) is refused. Throws NotFound when there is nothing there.
 */
async function plainFile(path: string): Promise<void> {
  const info = await Deno.lstat(path);
  if (info.isSymlink) {
    throw new InputError(
      `${printable(path)}: is a symbolic link; a name cache must be a plain file (not followed)`,
    );
  }
  if (info.isDirectory) {
    throw new InputError(`${printable(path)}: is a directory, not a name cache file`);
  }
  if (!info.isFile) {
    throw new InputError(`${printable(path)}: is not a plain file (a FIFO or device?): not read`);
  }
}
