/**
 * The filters' meaning written a second way, on the text a command prints (addresses as BigInt,
 * times as decimal strings), for the filter tests to check the compiled predicate against, and
 * the small pieces those tests share.
 * @module
 */
import { cli as cliInProcess } from "./zeek_fixtures.ts";

/** The CLI in process; output split into lines (a command may print many lines in one write). */
export async function cli(args: string[]) {
  const r = await cliInProcess(args);
  return { ...r, out: r.out.flatMap((l) => l.split("\n")) };
}

/** Whole microseconds of a decimal text (`"12.5"` → 12500000n), exactly. */
export function decimalUs(text: string): bigint {
  const [whole, frac = ""] = text.split(".");
  return BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, "0").slice(0, 6));
}

/** An address as a number, family and width; undefined for a name. */
export function addressOf(text: string): { family: 4 | 6; value: bigint } | undefined {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    return { family: 4, value: v4.slice(1).reduce((n, p) => n * 256n + BigInt(p), 0n) };
  }
  if (!text.includes(":")) return undefined;
  const [left, right] = text.includes("::") ? text.split("::") : [text, undefined];
  // A trailing dotted IPv4 is the last two groups.
  const groups = (s: string) =>
    s === "" ? [] : s.split(":").flatMap((g) => {
      const v4 = addressOf(g);
      return v4 ? [(v4.value >> 16n).toString(16), (v4.value & 0xffffn).toString(16)] : [g];
    });
  const l = groups(left), r = right === undefined ? [] : groups(right);
  const all = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill("0"), ...r];
  return { family: 6, value: all.reduce((n, g) => n * 65536n + BigInt(`0x${g}`), 0n) };
}

/** A small deterministic generator (mulberry32), so a failure repeats. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whether the address `host` lies in `cidr` (an address alone is all its bits); a name never. */
export function refNet(host: string, cidr: string): boolean {
  const [net, len] = cidr.split("/");
  const a = addressOf(host), n = addressOf(net)!;
  if (!a || a.family !== n.family) return false;
  const width = n.family === 4 ? 32n : 128n;
  const shift = width - BigInt(len ?? width);
  return a.value >> shift === n.value >> shift;
}

/** Whole microseconds as TIME: epoch seconds (`1700000000.000001`) or ISO 8601. */
export function timeArg(us: bigint, iso: boolean): string {
  const s = us / 1_000_000n, frac = String(us % 1_000_000n).padStart(6, "0");
  return iso
    ? new Date(Number(s) * 1000).toISOString().replace(".000Z", `.${frac}Z`)
    : `${s}.${frac}`;
}

/** The filters, as the tests choose them: times in whole microseconds, the rest as typed. */
export interface RefFilter {
  since?: bigint;
  until?: bigint;
  protos?: string[];
  ports?: [number, number][];
  nets?: string[];
}

/**
 * The command-line words of a filter: times as ISO 8601 or epoch seconds, `--net` as one comma
 * list (with `iso`) or repeated (without), so both forms are exercised.
 */
export function argsOf(f: RefFilter, iso: boolean): string[] {
  const out: string[] = [];
  if (f.since !== undefined) out.push("--since", timeArg(f.since, iso));
  if (f.until !== undefined) out.push("--until", timeArg(f.until, iso));
  if (f.protos) out.push("--proto", f.protos.join(","));
  if (f.ports) out.push(...f.ports.flatMap(([a, b]) => ["--port", a === b ? `${a}` : `${a}-${b}`]));
  if (f.nets) {
    out.push(...(iso ? ["--net", f.nets.join(",")] : f.nets.flatMap((n) => ["--net", n])));
  }
  return out;
}
