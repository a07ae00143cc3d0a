/**
 * Zeek folders: a directory holding a conn.log (plain, gzip'd or rotated into pieces) and its
 * dns.log, found by their names.
 * @module
 */
import { dirname, join } from "node:path";
import { InputError } from "../secflow/errors.ts";
import { printable } from "../secflow/printable.ts";
import { isStdin } from "./files.ts";

/** A Zeek folder: its conn.log (or rotated pieces, in order) and its dns.log. */
export interface ZeekFolder {
  dir: string;
  conn: string[];
  dns?: string;
}

const CONN_NAME = /^conn(\.[^/]*)?\.log(\.gz)?$/;
const DNS_NAME = /^dns(\.[^/]*)?\.log(\.gz)?$/;

/**
 * The Zeek folder at `dir`, or undefined when it holds no conn.log: `conn.log` plain or `.gz`,
 * or Zeek's rotated `conn.*.log[.gz]` (read in name order, which is time order), with `dns.log`
 * (or `dns.log.gz`) when there is one.
 */
export async function zeekFolder(dir: string): Promise<ZeekFolder | undefined> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) names.push(e.name);
  names.sort();
  const conn = names.filter((n) => CONN_NAME.test(n));
  if (conn.length === 0) return undefined;
  // A plain conn.log and its own .gz copy would count twice: the plain one wins.
  const unique = conn.filter((n) => !(n.endsWith(".gz") && conn.includes(n.slice(0, -3))));
  const dnsNames = names.filter((n) => DNS_NAME.test(n));
  const dns = dnsNames.find((n) => n === "dns.log") ?? dnsNames.find((n) => n === "dns.log.gz");
  return { dir, conn: unique.map((n) => join(dir, n)), dns: dns ? join(dir, dns) : undefined };
}

/** A dns.log beside a conn.log (for the hint when `--dns` was not given). */
export async function dnsLogBeside(connPath: string): Promise<string | undefined> {
  for (const name of ["dns.log", "dns.log.gz"]) {
    const p = join(dirname(connPath), name);
    if (Deno.permissions.querySync({ name: "read", path: p }).state !== "granted") continue;
    try {
      if ((await Deno.stat(p)).isFile) return p;
    } catch { /* not there */ }
  }
  return undefined;
}

/**
 * The Zeek folder `path` names, or undefined when `path` is not a directory (standard input, a
 * file); a directory without a conn.log is an {@link InputError}.
 */
export async function folderAt(path: string): Promise<ZeekFolder | undefined> {
  if (isStdin(path)) return undefined;
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(path);
  } catch { /* openSource says what is wrong */ }
  if (!info?.isDirectory) return undefined;
  const folder = await zeekFolder(path);
  if (!folder) {
    throw new InputError(
      `${
        printable(path)
      }: is a directory without a Zeek conn.log (give its files, or several inputs)`,
      { kind: "unrecognised", file: path },
    );
  }
  return folder;
}
