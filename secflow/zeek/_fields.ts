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

/** The columns both logs begin with: the time, the connection's uid and its four id fields. */
export const ID_FIELDS = [
  "ts",
  "uid",
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
] as const;

/** Zeek's standard conn.log columns, used when a TSV log has no `#fields` header. */
export const CONN_FIELDS = [
  ...ID_FIELDS,
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
  ...ID_FIELDS,
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
  ...ID_FIELDS,
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
