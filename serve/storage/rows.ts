/**
 * The rows `serve` stores, shared by both storages and loading neither driver: the sample row and
 * its conversions to the platform's answers (endpoints 2 and 3), the key record, and the column
 * helpers both databases use.
 * @module
 */
import { formatPlatformDate } from "../../fmt/platform_date.ts";
import type { SampleMetadata, UploadEntry } from "../../api/types.ts";

/** Kinds of annotation. */
export type AnnotationKind = "destination" | "behavior" | "event";

/** A stored sample row. */
export interface SampleRow {
  /** The sample's private UUID. */
  uuid: string;
  /** The id of the key record that uploaded it. */
  owner: string;
  /** The uploaded file's name (control characters removed). */
  fileName: string;
  /** The upload type: `pcap`, `zeek` or `secflow`. */
  fileType: string;
  /** When the upload completed (epoch ms). */
  createdMs: number;
  /** `YYYY-MM-DDTHH:MM:SS.ffffff` UTC. */
  createdIso: string;
  /** When its conversion ended (epoch ms), or null while pending. */
  processedMs: number | null;
  /** Where its conversion stands. */
  status: "pending" | "processed" | "failed";
  /** Why the conversion failed (`processingError`), or null. */
  error: string | null;
  /** The sample's hash (32 hex digits) once converted, else empty. */
  hash: string;
  /** The sample's traffic date once converted, else empty. */
  trafficDate: string;
  /** The conversion's warnings, one line each. */
  warnings: string[];
  /** Where the original is kept (until converted, or for good with `keepOriginals`), or null. */
  storedPath: string | null;
  /** Where the dns.log of a Zeek upload is kept, or null. */
  dnsPath: string | null;
  /** Conversions started for this sample (a crash loop guard across restarts). */
  attempts: number;
}

/** A stored API key: an id (what samples' `owner` holds) and its salted scrypt hash. */
export interface KeyRecord {
  /** The owner id its samples are stored under. */
  id: string;
  /** Hex salt. */
  salt: string;
  /** Hex scrypt(key, salt). */
  hash: string;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffff` (UTC). */
export function isoMicros(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23) + "000";
}

/**
 * Unsalted SHA-256 hex of an API key: how owners were stored before key records. Only used to
 * move such samples to their key's record once, never stored anew.
 */
export async function legacyKeyDigest(key: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A database row as a driver hands it over: column names to values. */
// deno-lint-ignore no-explicit-any
export type Row = Record<string, any>;

/**
 * A `samples` row (snake_case columns, as both stores name them) as a {@link SampleRow}. A store
 * that keeps no file paths (PostgreSQL keeps the originals in the database) leaves them null.
 */
export function sampleRowOf(r: Row): SampleRow {
  return {
    uuid: r.uuid,
    owner: r.owner,
    fileName: r.file_name,
    fileType: r.file_type,
    createdMs: Number(r.created_ms),
    createdIso: r.created_iso,
    processedMs: r.processed_ms === null ? null : Number(r.processed_ms),
    status: r.status,
    error: r.error,
    hash: r.hash,
    trafficDate: r.traffic_date,
    warnings: JSON.parse(r.warnings),
    storedPath: r.stored_path ?? null,
    dnsPath: r.dns_path ?? null,
    attempts: Number(r.attempts ?? 0),
  };
}

/** The database of one `serve` data directory. */
/** Endpoint 2's entry for a sample. */
export function uploadEntryOf(s: SampleRow): UploadEntry {
  const entry: UploadEntry = {
    fileName: s.fileName,
    processed: s.status === "processed",
    fullS3FilePath: `serve://uploads/date=${s.createdIso}/${s.uuid}/${s.fileName}`,
    dateCreated: formatPlatformDate(s.createdMs),
    fileType: s.fileType,
    uuid: s.uuid,
  };
  if (s.processedMs !== null) entry.dateProcessed = formatPlatformDate(s.processedMs);
  if (s.status === "failed") entry.processingError = s.error ?? "failed";
  // Not in the platform's list (API.md allows more keys): a capture cut short that gave no
  // Secflows must not look like a clean empty upload.
  if (s.warnings.length) entry.warnings = s.warnings;
  return entry;
}

/** Endpoint 3's metadata for a sample. */
export function sampleMetadataOf(s: SampleRow): SampleMetadata {
  const meta: SampleMetadata = {
    id: s.uuid,
    hash: s.hash,
    fileName: s.fileName,
    dateCreated: formatPlatformDate(s.createdMs),
    trafficDate: s.trafficDate,
    fileType: s.fileType,
    processed: s.status === "processed",
    status: s.status,
  };
  if (s.processedMs !== null) meta.dateProcessed = formatPlatformDate(s.processedMs);
  if (s.status === "failed") meta.processingError = s.error ?? "failed";
  if (s.warnings.length) meta.warnings = s.warnings;
  return meta;
}
