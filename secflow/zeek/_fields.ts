/**
 * What the Zeek logs are made of (SECFLOW.md section 5): their shapes, Zeek's standard column
 * orders, the conn.log columns section 5 reads (written once, here) and how a list of field names
 * tells a conn.log from a dns.log.
 * @module
 */

/** How a Zeek log is written. */
export type ZeekShape = "tsv" | "json" | "json-array";
/** Which log it is. */
export type ZeekKind = "conn" | "dns" | "unknown";

/** Zeek's standard conn.log columns, used when a TSV log has no `#fields` header. */
export const CONN_FIELDS = [
  "ts",
  "uid",
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "proto",
  "service",
  "duration",
  "orig_bytes",
  "resp_bytes",
  "conn_state",
  "local_orig",
  "local_resp",
  "missed_bytes",
  "history",
  "orig_pkts",
  "orig_ip_bytes",
  "resp_pkts",
  "resp_ip_bytes",
  "tunnel_parents",
] as const;

/** Zeek's standard dns.log columns, used when a TSV log has no `#fields` header. */
export const DNS_FIELDS = [
  "ts",
  "uid",
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "proto",
  "trans_id",
  "rtt",
  "query",
  "qclass",
  "qclass_name",
  "qtype",
  "qtype_name",
  "rcode",
  "rcode_name",
  "AA",
  "TC",
  "RD",
  "RA",
  "Z",
  "answers",
  "TTLs",
  "rejected",
] as const;

const CONN_ONLY = [
  "conn_state",
  "orig_pkts",
  "resp_pkts",
  "orig_ip_bytes",
  "resp_ip_bytes",
  "history",
];
const DNS_ONLY = ["query", "qtype", "qclass", "rcode_name", "answers", "trans_id"];

/** Which log a list of field names (or JSON keys) belongs to. */
export function kindOfFields(fields: readonly string[]): ZeekKind {
  const set = new Set(fields);
  const conn = CONN_ONLY.filter((f) => set.has(f)).length;
  const dns = DNS_ONLY.filter((f) => set.has(f)).length;
  if (conn > dns) return "conn";
  if (dns > conn) return "dns";
  return "unknown";
}

/** The conn.log columns section 5 reads (the general path's order). The first six are required. */
export const CONN_COLUMNS = [
  "ts",
  "uid",
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "proto",
  "service",
  "duration",
  "orig_bytes",
  "resp_bytes",
  "history",
  "orig_pkts",
  "orig_ip_bytes",
  "resp_pkts",
  "resp_ip_bytes",
] as const;

/** The fields a record of either log must have; without one it is skipped with a warning. */
export const REQUIRED = CONN_COLUMNS.slice(0, 6);

/** The columns of `id` (the connection's endpoints), which Zeek writes as `id.orig_h` etc. */
const ID_COLUMNS = new Set(["orig_h", "orig_p", "resp_h", "resp_p"]);

/**
 * Zeek's dotted name of a column: a deployment with `Log::default_scope_sep = "_"` writes the
 * fields of the `id` record as `id_orig_h`, `id_orig_p`, `id_resp_h`, `id_resp_p`, which are
 * read as `id.orig_h` and so on. Other names are kept.
 */
export function zeekName(name: string): string {
  return name.startsWith("id_") && ID_COLUMNS.has(name.slice(3)) ? `id.${name.slice(3)}` : name;
}

/**
 * The column names of a line written as a header without `#fields` (exports of Zeek-based tools
 * start with one), in Zeek's dotted form; undefined when the line is not one. It is one when a
 * `ts` column is there and either four of the six {@link REQUIRED} columns are, or the names
 * tell a conn.log or a dns.log: a data row has a time, never the text `ts`, in any column.
 */
export function namesOfLine(line: string, separator = "\t"): string[] | undefined {
  const written = line.split(separator);
  const names = written.map(zeekName);
  if (!names.includes("ts")) return undefined;
  const required = REQUIRED.filter((f) => names.includes(f)).length;
  return required >= 4 || kindOfFields(names) !== "unknown" ? written : undefined;
}
