/**
 * The SQLite store behind `serve` (`node:sqlite`): samples, their Secflows, the Destination,
 * Behavior and Event annotations, and the salted hashes of API keys. A sample's owner is the
 * opaque id of a key record (`keys.id`), never the key nor an unsalted digest of it.
 *
 * Every method is async so that another backend (PostgreSQL) can implement the same surface; this
 * one answers synchronously underneath. The database file and its WAL files are made 0600.
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Activity, Metadata, PlatformSecflow, SampleMetadata, UploadEntry } from "./types.ts";

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

/** Secflows stored per transaction by {@link Store.finish}. */
const FINISH_BATCH = 500;

/** Rows of processed samples only (a sample being finished has some of its rows already). */
const PROCESSED = "sample_uuid IN (SELECT uuid FROM samples WHERE status = 'processed')";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS samples(
  uuid TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  file_name TEXT NOT NULL,
  file_type TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  created_iso TEXT NOT NULL,
  processed_ms INTEGER,
  status TEXT NOT NULL DEFAULT 'pending',
  error TEXT,
  hash TEXT NOT NULL DEFAULT '',
  traffic_date TEXT NOT NULL DEFAULT '',
  warnings TEXT NOT NULL DEFAULT '[]',
  stored_path TEXT,
  dns_path TEXT,
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS samples_owner ON samples(owner, created_ms);
CREATE TABLE IF NOT EXISTS secflows(
  sample_uuid TEXT NOT NULL,
  idx INTEGER NOT NULL,
  flow_id TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY(sample_uuid, idx)
);
CREATE INDEX IF NOT EXISTS secflows_flow ON secflows(flow_id, sample_uuid);
CREATE TABLE IF NOT EXISTS annotations(
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY(kind, name)
);
CREATE TABLE IF NOT EXISTS keys(
  id TEXT PRIMARY KEY,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL
);
`;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** `DD/MM/YYYY HH:MM:SS` (UTC), as endpoint 2 writes `dateCreated`. */
export function platformDate(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${
    pad(d.getUTCHours())
  }:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
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

// deno-lint-ignore no-explicit-any
type Row = Record<string, any>;

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
export class Store {
  #db: DatabaseSync;
  #annotationQuery: StatementSync | undefined;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database file at `path`, readable by its owner only. */
  static async open(path: string): Promise<Store> {
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
    db.exec(SCHEMA);
    const columns = db.prepare("PRAGMA table_info(samples)").all().map((r) => (r as Row).name);
    if (!columns.includes("attempts")) {
      db.exec("ALTER TABLE samples ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0");
    }
    // SQLite creates files with 0644 less the umask; the WAL and shm files copy the main file's.
    for (const suffix of ["", "-wal", "-shm"]) {
      await Deno.chmod(path + suffix, 0o600).catch(() => {});
    }
    return new Store(db);
  }

  /** Closes the database. */
  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }

  /** Every key record. */
  keyRecords(): Promise<KeyRecord[]> {
    return Promise.resolve(
      this.#db.prepare("SELECT id, salt, hash FROM keys ORDER BY id").all()
        .map((r) => ({ id: String((r as Row).id), salt: (r as Row).salt, hash: (r as Row).hash })),
    );
  }

  /** Adds a key record. */
  addKeyRecord(record: KeyRecord): Promise<void> {
    this.#db.prepare("INSERT INTO keys(id, salt, hash) VALUES (?, ?, ?)")
      .run(record.id, record.salt, record.hash);
    return Promise.resolve();
  }

  /** Gives every sample owned by `from` to `to` (moving legacy digests to key records). */
  reassignOwner(from: string, to: string): Promise<void> {
    this.#db.prepare("UPDATE samples SET owner = ? WHERE owner = ?").run(to, from);
    return Promise.resolve();
  }

  /** Records a fully received upload, pending conversion. */
  addSample(s: {
    uuid: string;
    owner: string;
    fileName: string;
    fileType: string;
    createdMs: number;
    storedPath: string;
    dnsPath: string | null;
  }): Promise<void> {
    this.#db.prepare(
      `INSERT INTO samples(uuid, owner, file_name, file_type, created_ms, created_iso, stored_path, dns_path)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      s.uuid,
      s.owner,
      s.fileName,
      s.fileType,
      s.createdMs,
      isoMicros(s.createdMs),
      s.storedPath,
      s.dnsPath,
    );
    return Promise.resolve();
  }

  /** A sample by UUID, when `owner` uploaded it (or any owner when `owner` is null). */
  sample(uuid: string, owner: string | null): Promise<SampleRow | undefined> {
    const r = owner === null
      ? this.#db.prepare("SELECT * FROM samples WHERE uuid = ?").get(uuid)
      : this.#db.prepare("SELECT * FROM samples WHERE uuid = ? AND owner = ?").get(uuid, owner);
    return Promise.resolve(r ? sampleRowOf(r as Row) : undefined);
  }

  /** Every sample of `owner`, oldest first. */
  samples(owner: string): Promise<SampleRow[]> {
    return Promise.resolve(
      this.#db.prepare("SELECT * FROM samples WHERE owner = ? ORDER BY created_ms, uuid")
        .all(owner).map((r) => sampleRowOf(r as Row)),
    );
  }

  /** Samples still waiting for conversion (after a restart), oldest first. */
  pending(): Promise<SampleRow[]> {
    return Promise.resolve(
      this.#db.prepare("SELECT * FROM samples WHERE status = 'pending' ORDER BY created_ms")
        .all().map((r) => sampleRowOf(r as Row)),
    );
  }

  /**
   * Counts one more conversion attempt of a sample, persisted before the conversion starts, and
   * returns the new count: a conversion that takes the whole server down still counts.
   */
  startAttempt(uuid: string): Promise<number> {
    const r = this.#db.prepare(
      "UPDATE samples SET attempts = attempts + 1 WHERE uuid = ? RETURNING attempts",
    ).get(uuid) as Row | undefined;
    return Promise.resolve(r ? Number(r.attempts) : 0);
  }

  /** Takes back an attempt that was abandoned on purpose (an orderly shutdown). */
  abandonAttempt(uuid: string): Promise<void> {
    this.#db.prepare("UPDATE samples SET attempts = MAX(0, attempts - 1) WHERE uuid = ?").run(uuid);
    return Promise.resolve();
  }

  /**
   * Stores the Secflows of a converted sample, then marks it processed. The rows go in batches of
   * {@link FINISH_BATCH}, each its own transaction, with a turn of the event loop between them:
   * one transaction of every row held serve's only thread (20,000 rows, or a few finishing at
   * once, kept a list request waiting a second). Nothing reads them before the last step marks
   * the sample processed: counts look only at processed samples, and endpoint 4 lists only a
   * processed sample's rows. Rows of a finish cut short stay with a sample that is not processed
   * and are replaced when it is finished again.
   */
  async finish(
    uuid: string,
    result: { hash: string; trafficDate: string; warnings: string[]; secflows: PlatformSecflow[] },
    keptPath: boolean,
  ): Promise<void> {
    const db = this.#db;
    db.prepare("DELETE FROM secflows WHERE sample_uuid = ?").run(uuid);
    const insert = db.prepare(
      "INSERT INTO secflows(sample_uuid, idx, flow_id, data) VALUES (?, ?, ?, ?)",
    );
    const rows = result.secflows;
    for (let from = 0; from < rows.length; from += FINISH_BATCH) {
      if (from > 0) await new Promise((r) => setTimeout(r, 0));
      this.#transaction(() => {
        const to = Math.min(rows.length, from + FINISH_BATCH);
        for (let i = from; i < to; i++) {
          insert.run(uuid, i, rows[i].flowId, JSON.stringify(rows[i]));
        }
      });
    }
    db.prepare(
      `UPDATE samples SET status = 'processed', processed_ms = ?, hash = ?, traffic_date = ?,
       warnings = ?, error = NULL ${keptPath ? "" : ", stored_path = NULL, dns_path = NULL"}
       WHERE uuid = ?`,
    ).run(Date.now(), result.hash, result.trafficDate, JSON.stringify(result.warnings), uuid);
  }

  #transaction(fn: () => void): void {
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      fn();
      db.exec("COMMIT");
    } catch (e) {
      // SQLite may have rolled back already (a full disk does): a second ROLLBACK would throw
      // "no transaction is active" and hide the real error.
      if (db.isTransaction) db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Records a conversion failure. */
  fail(uuid: string, message: string, keptPath: boolean): Promise<void> {
    this.#db.prepare(
      `UPDATE samples SET status = 'failed', processed_ms = ?, error = ?
       ${keptPath ? "" : ", stored_path = NULL, dns_path = NULL"} WHERE uuid = ?`,
    ).run(Date.now(), message, uuid);
    return Promise.resolve();
  }

  /** The Secflows of a sample, in order. */
  secflows(uuid: string): Promise<PlatformSecflow[]> {
    return Promise.resolve(
      this.#db.prepare("SELECT data FROM secflows WHERE sample_uuid = ? ORDER BY idx")
        .all(uuid).map((r) => JSON.parse(String((r as Row).data))),
    );
  }

  /** Up to `limit` Secflows of a sample from position `from` on, as stored JSON text. */
  secflowTexts(uuid: string, from: number, limit: number): Promise<string[]> {
    return Promise.resolve(
      this.#db.prepare(
        "SELECT data FROM secflows WHERE sample_uuid = ? AND idx >= ? ORDER BY idx LIMIT ?",
      ).all(uuid, from, limit).map((r) => String((r as Row).data)),
    );
  }

  /**
   * Each Secflow of a sample with its annotations and flowId count (endpoint 5's view). Each
   * distinct flowId is counted once, in one grouped query, and each annotation read once: counted
   * per Secflow, a sample of N Secflows sharing one flowId cost N scans of N index rows (20,000
   * such Secflows held the server's one thread for 20 s, every other request waiting).
   */
  async activities(uuid: string): Promise<Activity[]> {
    const secflows = await this.secflows(uuid);
    const counts = new Map<string, number>();
    const rows = this.#db.prepare(
      `SELECT flow_id, COUNT(DISTINCT sample_uuid) AS n FROM secflows
       WHERE flow_id IN (SELECT DISTINCT flow_id FROM secflows WHERE sample_uuid = ?)
         AND ${PROCESSED} GROUP BY flow_id`,
    ).all(uuid) as Row[];
    for (const r of rows) counts.set(String(r.flow_id), Number(r.n));
    const notes = new Map<string, string | null>();
    const note = (kind: AnnotationKind, name: string): Metadata => {
      const key = `${kind}\0${name}`;
      let data = notes.get(key);
      if (data === undefined) {
        data = this.#annotationText(kind, name);
        notes.set(key, data);
      }
      // Parsed per activity: each gets its own object, as separate requests would give.
      return data === null ? {} : JSON.parse(data);
    };
    return secflows.map((secflow) => ({
      secflow,
      destination: note("destination", secflow.destinationData),
      behavior: note("behavior", secflow.flowId),
      event: secflow.eventId ? note("event", secflow.eventId) : {},
      flowIdCount: counts.get(secflow.flowId) ?? 0,
    }));
  }

  /** The number of stored samples holding `flowId`. */
  count(flowId: string): Promise<number> {
    const r = this.#db.prepare(
      `SELECT COUNT(DISTINCT sample_uuid) AS n FROM secflows WHERE flow_id = ? AND ${PROCESSED}`,
    ).get(flowId) as Row;
    return Promise.resolve(Number(r.n));
  }

  /** An annotation, or `{}`. */
  annotation(kind: AnnotationKind, name: string): Promise<Metadata> {
    const data = this.#annotationText(kind, name);
    return Promise.resolve(data === null ? {} : JSON.parse(data));
  }

  /** An annotation's stored JSON text, or null (the statement prepared once: pages ask often). */
  #annotationText(kind: AnnotationKind, name: string): string | null {
    this.#annotationQuery ??= this.#db.prepare(
      "SELECT data FROM annotations WHERE kind = ? AND name = ?",
    );
    const r = this.#annotationQuery.get(kind, name) as Row | undefined;
    return r ? String(r.data) : null;
  }

  /** Sets (replaces) an annotation. */
  annotate(kind: AnnotationKind, name: string, data: Metadata): Promise<void> {
    this.#db.prepare(
      "INSERT INTO annotations(kind, name, data) VALUES (?, ?, ?) " +
        "ON CONFLICT(kind, name) DO UPDATE SET data = excluded.data",
    ).run(kind, name, JSON.stringify(data));
    return Promise.resolve();
  }
}

/** Endpoint 2's entry for a sample. */
export function uploadEntryOf(s: SampleRow): UploadEntry {
  const entry: UploadEntry = {
    fileName: s.fileName,
    processed: s.status === "processed",
    fullS3FilePath: `serve://uploads/date=${s.createdIso}/${s.uuid}/${s.fileName}`,
    dateCreated: platformDate(s.createdMs),
    fileType: s.fileType,
    uuid: s.uuid,
  };
  if (s.processedMs !== null) entry.dateProcessed = platformDate(s.processedMs);
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
    dateCreated: platformDate(s.createdMs),
    trafficDate: s.trafficDate,
    fileType: s.fileType,
    processed: s.status === "processed",
    status: s.status,
  };
  if (s.processedMs !== null) meta.dateProcessed = platformDate(s.processedMs);
  if (s.status === "failed") meta.processingError = s.error ?? "failed";
  if (s.warnings.length) meta.warnings = s.warnings;
  return meta;
}
