/**
 * The SQLite store behind `serve` (`node:sqlite`): samples, their Secflows, the Destination,
 * Behavior and Event annotations, and the salted hashes of API keys. A sample's owner is the
 * opaque id of a key record (`keys.id`), never the key nor an unsalted digest of it.
 *
 * Every method is async so that another backend (PostgreSQL) can implement the same surface; this
 * one answers synchronously underneath. The database file and its WAL files are made 0600.
 * The row shapes and their conversions, shared with PostgreSQL, are in `rows.ts`.
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Activity, Metadata, PlatformSecflow } from "../../api/types.ts";
import {
  type AnnotationKind,
  isoMicros,
  type KeyRecord,
  type Row,
  type SampleRow,
  sampleRowOf,
} from "./rows.ts";

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
