/**
 * The PostgreSQL {@link Storage} of `serve`: several nodes share one database. Loaded only when
 * `serve` is given a `postgres://` URL; the client is `npm:postgres` (porsager/postgres, pure
 * TypeScript, no native code), imported here on first use.
 *
 * - Originals live in the database, in 1 MiB chunks (`originals`), so any node can convert any
 *   upload; a node copies them to its own scratch directory while it converts.
 * - A claim is a row lock taken with `FOR UPDATE SKIP LOCKED` on a pending sample whose lease is
 *   free or expired, turned into a lease (`lease_token`, `lease_until`, database clock) that the
 *   converting node renews. `finish` and `fail` lock the row and write only while the token is
 *   still theirs, in one transaction: a node whose lease was taken over cannot complete it again.
 * - Migrations are numbered and applied in one transaction under an advisory lock, so nodes
 *   starting together apply each exactly once.
 * @module
 */
import { loadPostgres, type Row, type Sql, type TransactionSql } from "./_postgres_client.ts";
import type { Metadata, PlatformSecflow } from "./types.ts";
import type { KeyRecordStore } from "./_keys.ts";
import { isoMicros, sampleRowOf } from "./store.ts";
import {
  type Claim,
  DEFAULT_LEASE_MS,
  interruptedMessage,
  MAX_CONVERSION_ATTEMPTS,
  type NewUpload,
  redactUrl,
  type Storage,
  type StorageOptions,
} from "./storage.ts";

export { POSTGRES_CLIENT, POSTGRES_LOCK } from "./_postgres_client.ts";

/** Bytes per row of `originals`. */
const CHUNK = 1 << 20;

/** Key of the advisory lock that serialises migrations ("nsmigrat"). */
const MIGRATION_LOCK = 0x6e736d6967726174n;

/** Key of the advisory lock that serialises matching API keys to records ("nskeysrg"). */
const KEYS_LOCK = 0x6e736b6579737267n;

/** The schema, one version per entry; never edit a released entry, append a new one. */
export const MIGRATIONS: readonly string[][] = [
  [
    `CREATE TABLE samples(
      uuid text PRIMARY KEY,
      owner text NOT NULL,
      file_name text NOT NULL,
      file_type text NOT NULL,
      created_ms bigint NOT NULL,
      created_iso text NOT NULL,
      processed_ms bigint,
      status text NOT NULL DEFAULT 'pending',
      error text,
      hash text NOT NULL DEFAULT '',
      traffic_date text NOT NULL DEFAULT '',
      warnings text NOT NULL DEFAULT '[]',
      has_dns boolean NOT NULL DEFAULT false,
      attempts integer NOT NULL DEFAULT 0,
      lease_token text,
      lease_node text,
      lease_until timestamptz
    )`,
    `CREATE INDEX samples_owner ON samples(owner, created_ms, uuid)`,
    `CREATE INDEX samples_pending ON samples(created_ms, uuid) WHERE status = 'pending'`,
    `CREATE TABLE originals(
      sample_uuid text NOT NULL REFERENCES samples(uuid) ON DELETE CASCADE,
      part text NOT NULL,
      seq integer NOT NULL,
      data bytea NOT NULL,
      PRIMARY KEY(sample_uuid, part, seq)
    )`,
    `CREATE TABLE secflows(
      sample_uuid text NOT NULL REFERENCES samples(uuid) ON DELETE CASCADE,
      idx integer NOT NULL,
      flow_id text NOT NULL,
      data text NOT NULL,
      PRIMARY KEY(sample_uuid, idx)
    )`,
    `CREATE INDEX secflows_flow ON secflows(flow_id, sample_uuid)`,
    `CREATE TABLE keys(
      id text PRIMARY KEY,
      salt text NOT NULL,
      hash text NOT NULL
    )`,
    `CREATE TABLE annotations(
      kind text NOT NULL,
      name text NOT NULL,
      data text NOT NULL,
      PRIMARY KEY(kind, name)
    )`,
  ],
];

/** Applies the migrations this database lacks; safe when several nodes start at once. */
export async function migrate(sql: Sql): Promise<number[]> {
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS networksage_migrations(
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
    const done = new Set(
      (await tx`SELECT version FROM networksage_migrations`).map((r) => Number(r.version)),
    );
    const applied: number[] = [];
    for (const [i, statements] of MIGRATIONS.entries()) {
      const version = i + 1;
      if (done.has(version)) continue;
      for (const statement of statements) await tx.unsafe(statement);
      await tx`INSERT INTO networksage_migrations(version) VALUES (${version})`;
      applied.push(version);
    }
    const newest = Math.max(0, ...done);
    if (newest > MIGRATIONS.length) {
      throw new Error(
        `the database has schema version ${newest}, newer than this serve knows ` +
          `(${MIGRATIONS.length}): upgrade this node`,
      );
    }
    return applied;
  });
}

const SAMPLE_COLUMNS = [
  "uuid",
  "owner",
  "file_name",
  "file_type",
  "created_ms",
  "created_iso",
  "processed_ms",
  "status",
  "error",
  "hash",
  "traffic_date",
  "warnings",
  "has_dns",
  "attempts",
];

/** Connects, migrates, and returns the storage. */
export async function openPostgresStorage(
  options: StorageOptions & { database: string },
): Promise<Storage> {
  // Loaded here, never before: SQLite users must not download (or need) a PostgreSQL client.
  const postgres = await loadPostgres();
  const keep = options.keepOriginals;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const node = crypto.randomUUID();
  const workRoot = `${options.dataDir}/work`;
  await Deno.remove(workRoot, { recursive: true }).catch(() => {});
  await Deno.mkdir(workRoot, { recursive: true, mode: 0o700 });
  const sql = postgres(options.database, {
    max: 10,
    onnotice: () => {},
    connection: { application_name: "networksage-serve" },
  });
  try {
    const applied = await migrate(sql);
    if (applied.length) {
      options.log(`networksage serve: applied schema migration ${applied.join(", ")}`);
    }
  } catch (e) {
    await sql.end({ timeout: 1 }).catch(() => {});
    const message = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    throw new Error(
      `cannot use the database ${redactUrl(options.database)}: ${
        message.replaceAll(options.database, redactUrl(options.database))
      }`,
    );
  }

  const held = new Map<string, Claim>();
  const sample = (r: Row) => sampleRowOf(r);

  async function storeFile(tx: TransactionSql, uuid: string, part: string, path: string) {
    const file = await Deno.open(path);
    try {
      let seq = 0;
      const buf = new Uint8Array(CHUNK);
      for (;;) {
        let n = 0;
        while (n < CHUNK) {
          const got = await file.read(buf.subarray(n));
          if (got === null) break;
          n += got;
        }
        if (n === 0 && seq > 0) break;
        await tx`INSERT INTO originals(sample_uuid, part, seq, data)
                 VALUES (${uuid}, ${part}, ${seq}, ${buf.slice(0, n)})`;
        seq++;
        if (n < CHUNK) break;
      }
    } finally {
      file.close();
    }
  }

  async function copyOut(uuid: string, part: string, path: string): Promise<boolean> {
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    try {
      for (let seq = 0;; seq++) {
        const [row] = await sql`SELECT data FROM originals
          WHERE sample_uuid = ${uuid} AND part = ${part} AND seq = ${seq}`;
        if (!row) return seq > 0;
        const data = row.data as Uint8Array;
        let off = 0;
        while (off < data.length) off += await file.write(data.subarray(off));
      }
    } finally {
      file.close();
    }
  }

  async function cleanup(claim: Claim) {
    held.delete(claim.token);
    await Deno.remove(`${workRoot}/${claim.token}`, { recursive: true }).catch(() => {});
  }

  /** Runs `record` in a transaction if the claim still holds the row. */
  async function settle(
    claim: Claim,
    record: (tx: TransactionSql) => Promise<unknown>,
  ): Promise<boolean> {
    try {
      return await sql.begin(async (tx) => {
        const [row] = await tx`SELECT 1 FROM samples
          WHERE uuid = ${claim.sample.uuid} AND status = 'pending' AND lease_token = ${claim.token}
          FOR UPDATE`;
        if (!row) return false;
        await record(tx);
        if (!keep) await tx`DELETE FROM originals WHERE sample_uuid = ${claim.sample.uuid}`;
        return true;
      });
    } finally {
      await cleanup(claim);
    }
  }

  const storage: Storage = {
    kind: "postgres",
    async withKeyRecords<T>(fn: (records: KeyRecordStore) => Promise<T>): Promise<T> {
      let out!: T; // through a variable: begin() types its result as an unwrapped array
      await sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${KEYS_LOCK.toString()}::bigint)`;
        out = await fn({
          async keyRecords() {
            return (await tx`SELECT id, salt, hash FROM keys ORDER BY id`)
              .map((r) => ({ id: String(r.id), salt: String(r.salt), hash: String(r.hash) }));
          },
          async addKeyRecord(record) {
            await tx`INSERT INTO keys(id, salt, hash)
                     VALUES (${record.id}, ${record.salt}, ${record.hash})`;
          },
        });
      });
      return out;
    },
    async reassignOwner(from, to) {
      await sql`UPDATE samples SET owner = ${to} WHERE owner = ${from}`;
    },
    pollMs: options.pollMs ?? 1000,
    async addUpload(u: NewUpload) {
      try {
        await sql.begin(async (tx) => {
          await tx`INSERT INTO samples(uuid, owner, file_name, file_type, created_ms, created_iso, has_dns)
            VALUES (${u.uuid}, ${u.owner}, ${u.fileName}, ${u.fileType}, ${u.createdMs},
                    ${isoMicros(u.createdMs)}, ${u.hasDns})`;
          await storeFile(tx, u.uuid, "sample", `${u.dir}/sample`);
          if (u.hasDns) await storeFile(tx, u.uuid, "dns", `${u.dir}/dns`);
        });
        await sql`SELECT pg_notify('networksage_uploads', ${u.uuid})`.catch(() => {});
      } finally {
        await Deno.remove(u.dir, { recursive: true }).catch(() => {});
      }
    },
    async sample(uuid, owner) {
      if (!storable(uuid)) return undefined;
      const rows = owner === null
        ? await sql`SELECT ${sql(SAMPLE_COLUMNS)} FROM samples WHERE uuid = ${uuid}`
        : await sql`SELECT ${sql(SAMPLE_COLUMNS)} FROM samples
                    WHERE uuid = ${uuid} AND owner = ${owner}`;
      return rows.length ? sample(rows[0]) : undefined;
    },
    async samples(owner) {
      return (await sql`SELECT ${sql(SAMPLE_COLUMNS)} FROM samples WHERE owner = ${owner}
                        ORDER BY created_ms, uuid`).map(sample);
    },
    async claim() {
      for (;;) {
        const token = crypto.randomUUID();
        // Never this node's own running conversions, even when their lease ran out meanwhile.
        const running = [...held.values()].map((c) => c.sample.uuid);
        // Round robin between keys, as fairestPending does for SQLite: of the owners with the
        // fewest conversions running on any node, the one whose latest conversion ended longest
        // ago (or never), its oldest upload. One key's queue does not hold the others back.
        const outcome = await sql.begin(async (tx) => {
          const [row] = await tx`SELECT ${tx(SAMPLE_COLUMNS)} FROM samples s
            WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < clock_timestamp())
              AND NOT (uuid = ANY(${running}::text[]))
            ORDER BY (SELECT COUNT(*) FROM samples r WHERE r.owner = s.owner
                        AND r.status = 'pending' AND r.lease_until >= clock_timestamp()),
              (SELECT MAX(r.processed_ms) FROM samples r WHERE r.owner = s.owner) NULLS FIRST,
              created_ms, uuid
            LIMIT 1 FOR UPDATE OF s SKIP LOCKED`;
          if (!row) return null;
          if (Number(row.attempts) >= MAX_CONVERSION_ATTEMPTS) {
            await tx`UPDATE samples SET status = 'failed', processed_ms = ${Date.now()},
              error = ${interruptedMessage(Number(row.attempts))},
              lease_token = NULL, lease_node = NULL, lease_until = NULL
              WHERE uuid = ${row.uuid}`;
            if (!keep) await tx`DELETE FROM originals WHERE sample_uuid = ${row.uuid}`;
            return "again" as const;
          }
          await tx`UPDATE samples SET attempts = attempts + 1, lease_token = ${token},
            lease_node = ${node},
            lease_until = clock_timestamp() + ${leaseMs} * interval '1 millisecond'
            WHERE uuid = ${row.uuid}`;
          return row;
        });
        if (outcome === "again") continue;
        if (outcome === null) return null;
        const s = sample(outcome);
        const dir = `${workRoot}/${token}`;
        const claim: Claim = {
          sample: s,
          samplePath: `${dir}/sample`,
          dnsPath: outcome.has_dns ? `${dir}/dns` : null,
          token,
        };
        held.set(token, claim);
        try {
          await Deno.mkdir(dir, { mode: 0o700 });
          if (!await copyOut(s.uuid, "sample", claim.samplePath)) {
            throw new Error("the original is missing from the database");
          }
          if (claim.dnsPath) await copyOut(s.uuid, "dns", claim.dnsPath);
        } catch (e) {
          // Record it as this upload's failure rather than retrying forever.
          await storage.fail(
            claim,
            `cannot read the upload: ${e instanceof Error ? e.message : e}`,
          );
          continue;
        }
        return claim;
      }
    },
    async renew(claim) {
      const rows = await sql`UPDATE samples
        SET lease_until = clock_timestamp() + ${leaseMs} * interval '1 millisecond'
        WHERE uuid = ${claim.sample.uuid} AND status = 'pending' AND lease_token = ${claim.token}
        RETURNING 1`;
      return rows.length === 1;
    },
    finish: (claim, result) =>
      settle(claim, async (tx) => {
        await tx`DELETE FROM secflows WHERE sample_uuid = ${claim.sample.uuid}`;
        // Columns as arrays through unnest(): three parameters per batch, not four per row.
        const uuid = claim.sample.uuid;
        for (let i = 0; i < result.secflows.length; i += 10_000) {
          const batch = result.secflows.slice(i, i + 10_000);
          await tx`INSERT INTO secflows(sample_uuid, idx, flow_id, data)
            SELECT ${uuid}, * FROM unnest(
              ${batch.map((_, j) => i + j)}::integer[],
              ${batch.map((s) => s.flowId)}::text[],
              ${batch.map((s) => JSON.stringify(s))}::text[])`;
        }
        await tx`UPDATE samples SET status = 'processed', processed_ms = ${Date.now()},
          hash = ${result.hash}, traffic_date = ${result.trafficDate},
          warnings = ${JSON.stringify(result.warnings)}, error = NULL,
          lease_token = NULL, lease_node = NULL, lease_until = NULL
          WHERE uuid = ${claim.sample.uuid}`;
      }),
    fail: (claim, message) =>
      settle(
        claim,
        (tx) =>
          tx`UPDATE samples SET status = 'failed', processed_ms = ${Date.now()}, error = ${message},
          lease_token = NULL, lease_node = NULL, lease_until = NULL
          WHERE uuid = ${claim.sample.uuid}`,
      ),
    async release(claim, undo) {
      try {
        await sql`UPDATE samples SET lease_token = NULL, lease_node = NULL, lease_until = NULL,
          attempts = greatest(attempts - ${undo ? 1 : 0}, 0)
          WHERE uuid = ${claim.sample.uuid} AND status = 'pending' AND lease_token = ${claim.token}`;
      } finally {
        await cleanup(claim);
      }
    },
    async secflows(uuid) {
      return (await sql`SELECT data FROM secflows WHERE sample_uuid = ${uuid} ORDER BY idx`)
        .map((r) => JSON.parse(r.data));
    },
    async secflowTexts(uuid, from, limit) {
      return (await sql`SELECT data FROM secflows WHERE sample_uuid = ${uuid} AND idx >= ${from}
                        ORDER BY idx LIMIT ${limit}`).map((r) => r.data as string);
    },
    async count(flowId) {
      if (!storable(flowId)) return 0;
      const [r] = await sql`SELECT COUNT(DISTINCT sample_uuid) AS n FROM secflows
                            WHERE flow_id = ${flowId}`;
      return Number(r.n);
    },
    async activities(uuid) {
      const secflows: PlatformSecflow[] = await storage.secflows(uuid);
      if (secflows.length === 0) return [];
      const flowIds = [...new Set(secflows.map((s) => s.flowId))];
      const destinations = [...new Set(secflows.map((s) => s.destinationData))];
      const events = [...new Set(secflows.flatMap((s) => s.eventId ? [s.eventId] : []))];
      const [counts, notes] = await Promise.all([
        sql`SELECT flow_id, COUNT(DISTINCT sample_uuid) AS n FROM secflows
            WHERE flow_id = ANY(${flowIds}::text[]) GROUP BY flow_id`,
        sql`SELECT kind, name, data FROM annotations
            WHERE (kind = 'destination' AND name = ANY(${destinations}::text[]))
               OR (kind = 'behavior' AND name = ANY(${flowIds}::text[]))
               OR (kind = 'event' AND name = ANY(${events}::text[]))`,
      ]);
      const count = new Map(counts.map((r) => [String(r.flow_id), Number(r.n)]));
      const note = new Map(notes.map((r) => [`${r.kind}\0${r.name}`, String(r.data)]));
      // Parsed per activity: each gets its own object, as separate requests would give.
      const of = (kind: string, name: string | undefined): Metadata => {
        const data = name === undefined ? undefined : note.get(`${kind}\0${name}`);
        return data === undefined ? {} : JSON.parse(data);
      };
      return secflows.map((secflow) => ({
        secflow,
        destination: of("destination", secflow.destinationData),
        behavior: of("behavior", secflow.flowId),
        event: of("event", secflow.eventId || undefined),
        flowIdCount: count.get(secflow.flowId) ?? 0,
      }));
    },
    async annotation(kind, name) {
      if (!storable(name)) return {};
      const [r] = await sql`SELECT data FROM annotations WHERE kind = ${kind} AND name = ${name}`;
      return r ? JSON.parse(r.data) : {};
    },
    async annotate(kind, name, data) {
      await sql`INSERT INTO annotations(kind, name, data) VALUES (${kind}, ${name}, ${
        JSON.stringify(data)
      }) ON CONFLICT(kind, name) DO UPDATE SET data = excluded.data`;
    },
    async originals() {
      return (await sql`SELECT DISTINCT sample_uuid FROM originals ORDER BY sample_uuid`)
        .map((r) => String(r.sample_uuid));
    },
    async readOriginal(uuid, part) {
      const chunk = async (seq: number): Promise<Uint8Array | undefined> =>
        (await sql`SELECT data FROM originals
          WHERE sample_uuid = ${uuid} AND part = ${part} AND seq = ${seq}`)[0]?.data;
      const first = await chunk(0);
      if (!first) return null;
      let seq = 0;
      // One row in memory at a time.
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          const data = seq === 0 ? first : await chunk(seq);
          seq++;
          if (data) controller.enqueue(new Uint8Array(data));
          else controller.close();
        },
      });
    },
    async watch(wake) {
      await sql.listen("networksage_uploads", () => wake());
    },
    async close() {
      for (const claim of [...held.values()]) {
        await storage.release(claim, false).catch(() => {});
      }
      await sql.end({ timeout: 5 });
      await Deno.remove(workRoot, { recursive: true }).catch(() => {});
    },
  };
  return storage;
}

/**
 * Whether PostgreSQL can hold (and so compare) `text`: its text type refuses the NUL byte with an
 * error ("invalid byte sequence for encoding UTF8: 0x00"), where a lookup should simply find
 * nothing, as on SQLite. (Lone surrogates are sent as U+FFFD by the driver's UTF-8 encoding.)
 */
function storable(text: string): boolean {
  return !text.includes("\0");
}
