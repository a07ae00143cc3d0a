/**
 * Fixtures for the Zeek tests: conn.log and dns.log rows in any shape, gzip, and running the CLI
 * in process with its output captured.
 */
import { main } from "../cli.ts";
import {
  CONN_FIELDS as ZEEK_CONN_FIELDS,
  DNS_FIELDS as ZEEK_DNS_FIELDS,
} from "../secflow/zeek/_fields.ts";

/** One conn.log row; unset values as "-". */
export interface ConnRow {
  ts: string;
  uid?: string;
  oh: string;
  op: number | string;
  rh: string;
  rp: number | string;
  proto?: string;
  service?: string;
  duration?: string;
  ob?: string;
  rb?: string;
  history?: string;
  opk?: string;
  oipb?: string;
  rpk?: string;
  ripb?: string;
}

/** Zeek's standard columns (the library's lists, as plain arrays a test may extend). */
export const CONN_FIELDS: string[] = [...ZEEK_CONN_FIELDS];
export const DNS_FIELDS: string[] = [...ZEEK_DNS_FIELDS];

/** The row as a map of field name → text value. */
export function connValues(r: ConnRow, i = 0): Record<string, string> {
  return {
    ts: r.ts,
    uid: r.uid ?? `C${i}x`,
    "id.orig_h": r.oh,
    "id.orig_p": String(r.op),
    "id.resp_h": r.rh,
    "id.resp_p": String(r.rp),
    proto: r.proto ?? "tcp",
    service: r.service ?? "-",
    duration: r.duration ?? "-",
    orig_bytes: r.ob ?? "-",
    resp_bytes: r.rb ?? "-",
    conn_state: "SF",
    local_orig: "-",
    local_resp: "-",
    missed_bytes: "0",
    history: r.history ?? "-",
    orig_pkts: r.opk ?? "-",
    orig_ip_bytes: r.oipb ?? "-",
    resp_pkts: r.rpk ?? "-",
    resp_ip_bytes: r.ripb ?? "-",
    tunnel_parents: "-",
  };
}

/** A Zeek TSV log with headers (`fields` picks and orders the columns). */
export function tsv(path: string, fields: string[], rows: Record<string, string>[]): string {
  const head = [
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    `#path\t${path}`,
    "#open\t2024-01-01-00-00-00",
    `#fields\t${fields.join("\t")}`,
    `#types\t${fields.map(() => "string").join("\t")}`,
  ];
  const body = rows.map((r) => fields.map((f) => r[f] ?? "-").join("\t"));
  return [...head, ...body, "#close\t2024-01-01-00-00-01", ""].join("\n");
}

export function connTsv(rows: ConnRow[], fields = CONN_FIELDS): string {
  return tsv("conn", fields, rows.map((r, i) => connValues(r, i)));
}

/** JSON value of a text field as Zeek writes it (numbers unquoted, unset fields left out). */
export function jsonRecord(
  values: Record<string, string>,
  nested = false,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const id: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === "-") continue;
    const value: unknown = /^\d+(\.\d+)?$/.test(v) && k !== "uid" && !k.endsWith("_h")
      ? Number(v)
      : v;
    if (nested && k.startsWith("id.")) id[k.slice(3)] = value;
    else out[k] = value;
  }
  if (nested) out.id = id;
  return out;
}

/** The first fields of a dns.log record: `client`:5353 asks 10.0.0.1:53 at `ts`, uid D1. */
export function lookupIds(client: string, ts = "1699999999.5"): Record<string, string> {
  return {
    ts,
    uid: "D1",
    "id.orig_h": client,
    "id.orig_p": "5353",
    "id.resp_h": "10.0.0.1",
    "id.resp_p": "53",
  };
}

/**
 * A dns.log (TSV, standard columns) of one answered lookup: `client` asked 10.0.0.1 for `query`
 * at 1700000000.0 and got `answers` (NOERROR, class and type 1).
 */
export function oneAnswerDnsLog(
  client = "192.168.1.10",
  query = "example.com",
  answers = "93.184.216.34",
): string {
  return tsv("dns", DNS_FIELDS, [{
    ts: "1700000000.0",
    uid: "D",
    "id.orig_h": client,
    "id.orig_p": "1",
    "id.resp_h": "10.0.0.1",
    "id.resp_p": "53",
    query,
    qclass: "1",
    qtype: "1",
    rtt: "0.1",
    rcode_name: "NOERROR",
    answers,
  }]);
}

export async function gzip(text: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Runs the CLI in process; returns exit code, stdout and stderr lines. */
export async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  // The CLI writes its answers to stdout directly (cli.ts writeOut): one call per line group.
  const stdout = Deno.stdout as { writeSync(b: Uint8Array): number };
  const hadOwn = Object.hasOwn(stdout, "writeSync");
  const own = stdout.writeSync;
  const text = new TextDecoder();
  stdout.writeSync = (b: Uint8Array) => {
    out.push(text.decode(b).replace(/\n$/, ""));
    return b.length;
  };
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    console.log = log;
    console.error = error;
    if (hadOwn) stdout.writeSync = own;
    else delete (stdout as { writeSync?: unknown }).writeSync;
  }
}
