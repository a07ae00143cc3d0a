/**
 * The storage behind `serve`, as one interface with two implementations: SQLite in the data
 * directory (the default; `sqlite.ts`, built into Deno) and PostgreSQL shared by several
 * nodes (`postgres.ts`, loaded only when a `postgres://` URL is given, so the default path
 * needs no dependency).
 *
 * Conversions go through claims: {@link Storage.claim} hands one pending upload to this node
 * under a lease, and {@link Storage.finish} or {@link Storage.fail} records the result only while
 * the claim is still this node's. On PostgreSQL the lease expires when a node stops renewing it
 * (killed, partitioned), so another node converts the upload again, and the first one's late
 * result is refused: an upload is converted to completion exactly once.
 * @module
 */
import type { Activity, Metadata, PlatformSecflow } from "../../api/types.ts";
import type { AnnotationKind, SampleRow } from "./rows.ts";
import type { KeyRecordStore } from "../keys.ts";

/** A fully received upload, as the server hands it to the storage. */
export interface NewUpload {
  /** The sample's UUID (endpoint 1's answer). */
  uuid: string;
  /** The owner's key digest. */
  owner: string;
  /** The sample's name (endpoint 2's `fileName`). */
  fileName: string;
  /** `pcap`, `pcapng`, `zeek` or `secflow`. */
  fileType: string;
  /** When the upload completed, epoch ms. */
  createdMs: number;
  /**
   * The node-local directory holding the received `sample` (and `dns`, when `hasDns`) files. The
   * storage takes it over: it moves or copies the files and removes the directory.
   */
  dir: string;
  /** Whether a Zeek `dns.log` came with it. */
  hasDns: boolean;
}

/** One upload claimed for conversion by this node. */
export interface Claim {
  /** The sample as it was when claimed. */
  sample: SampleRow;
  /** A node-local path of the upload's bytes, readable until the claim is settled. */
  samplePath: string;
  /** The same for the Zeek `dns.log`, when one came with the upload. */
  dnsPath: string | null;
  /** Identifies this claim (a later claim of the same upload gets another token). */
  token: string;
}

/** What a finished conversion stores. */
export interface ConversionResult {
  /** The sample's hash (endpoint 3). */
  hash: string;
  /** The sample's `trafficDate`. */
  trafficDate: string;
  /** What the conversion warned about. */
  warnings: string[];
  /** The Secflows, in order. */
  secflows: PlatformSecflow[];
}

/** Everything `serve` keeps. Every method may be called concurrently. */
export interface Storage {
  /**
   * Runs `fn` over the stored API key records (salted hashes; `../keys.ts`) while no other node
   * does: nodes starting together with a new key must agree on one record for it, or each would
   * give the key's samples a different owner.
   */
  withKeyRecords<T>(fn: (records: KeyRecordStore) => Promise<T>): Promise<T>;
  /** Gives every sample owned by `from` to `to` (moving legacy digests to key records). */
  reassignOwner(from: string, to: string): Promise<void>;
  /** `sqlite` or `postgres`. */
  readonly kind: "sqlite" | "postgres";
  /**
   * How often this node should look for claimable work on its own, in ms (other nodes' uploads,
   * expired leases), or `null` when only this process adds work (SQLite).
   */
  readonly pollMs: number | null;
  /** Records a complete upload, pending conversion, and takes over its files. */
  addUpload(upload: NewUpload): Promise<void>;
  /** A sample by UUID, when `owner` uploaded it (or any owner when `owner` is null). */
  sample(uuid: string, owner: string | null): Promise<SampleRow | undefined>;
  /** Every sample of `owner`, oldest first. */
  samples(owner: string): Promise<SampleRow[]>;
  /**
   * Claims the oldest pending upload nobody holds, or gives `null`, counting one more attempt
   * (persisted before the conversion starts). An upload already started
   * {@link MAX_CONVERSION_ATTEMPTS} times is marked failed instead ({@link interruptedMessage}).
   */
  claim(): Promise<Claim | null>;
  /** Extends the lease of a claim; `false` when it is no longer this node's. */
  renew(claim: Claim): Promise<boolean>;
  /**
   * Stores the Secflows and marks the sample processed, atomically, if the claim still holds;
   * the original is deleted unless originals are kept. `false` (and nothing stored) otherwise.
   */
  finish(claim: Claim, result: ConversionResult): Promise<boolean>;
  /** Records a failed conversion if the claim still holds. */
  fail(claim: Claim, message: string): Promise<boolean>;
  /**
   * Gives a claim up unconverted (shutdown): the upload stays pending for any node; its attempt
   * is taken back when `undo` (the conversion stopped on request), kept otherwise.
   */
  release(claim: Claim, undo: boolean): Promise<void>;
  /** The Secflows of a sample, in order. */
  secflows(uuid: string): Promise<PlatformSecflow[]>;
  /**
   * Up to `limit` Secflows of a sample from position `from` on, in order, as the JSON text they
   * are stored as (endpoint 4 streams these pages: its memory does not grow with the sample).
   */
  secflowTexts(uuid: string, from: number, limit: number): Promise<string[]>;
  /** The number of stored samples holding `flowId`. */
  count(flowId: string): Promise<number>;
  /**
   * Endpoint 5's view of a sample: each Secflow with its Destination, Behavior and Event
   * annotations and its flowId count (in a few set queries where each is a round trip).
   */
  activities(uuid: string): Promise<Activity[]>;
  /** An annotation, or `{}`. */
  annotation(kind: AnnotationKind, name: string): Promise<Metadata>;
  /** Sets (replaces) an annotation. */
  annotate(kind: AnnotationKind, name: string, data: Metadata): Promise<void>;
  /** UUIDs of the samples whose original bytes are stored (pending, or kept). */
  originals(): Promise<string[]>;
  /** The stored bytes of an upload's `sample` or `dns` part, streamed, or `null` when not stored. */
  readOriginal(uuid: string, part: "sample" | "dns"): Promise<ReadableStream<Uint8Array> | null>;
  /** Calls `wake` when another node adds work (optional; polling covers its absence). */
  watch?(wake: () => void): Promise<void>;
  /** Closes connections and files. Claims still held are released first (attempts kept). */
  close(): Promise<void>;
}

/** Options of {@link openStorage}. */
export interface StorageOptions {
  /** `postgres://` or `postgresql://` URL; absent: SQLite in `dataDir`. */
  database?: string;
  /** The node-local data directory (SQLite file and uploads, or scratch space for PostgreSQL). */
  dataDir: string;
  /** Keep originals after conversion. */
  keepOriginals: boolean;
  /** How long a claim lasts without renewal, in ms (PostgreSQL; default 60 000). */
  leaseMs?: number;
  /** How often to look for work from other nodes, in ms (PostgreSQL; default 1 000). */
  pollMs?: number;
  /** Where log lines go. */
  log: (line: string) => void;
}

/** The default lease of a claim: 60 s. */
export const DEFAULT_LEASE_MS = 60_000;

/**
 * A pending upload whose conversion was started this many times is not started again (a file
 * that kills the converting node, or a server stopped during it every time).
 */
export const MAX_CONVERSION_ATTEMPTS = 2;

/** The `processingError` of an upload given up after {@link MAX_CONVERSION_ATTEMPTS}. */
export function interruptedMessage(attempts: number): string {
  return `its conversion was interrupted ${attempts} times (the server stopped during it); not retried`;
}

/** Whether `url` names a PostgreSQL database. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.href;
  } catch {
    return "(unparsable URL)";
  }
}

/** Opens the storage the options name. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  if (options.database !== undefined) {
    if (!isPostgresUrl(options.database)) {
      throw new Error(
        `--database must be a postgres:// or postgresql:// URL, not '${
          redactUrl(options.database)
        }'`,
      );
    }
    const { openPostgresStorage } = await import("./postgres.ts");
    return await openPostgresStorage({ ...options, database: options.database });
  }
  const { openSqliteStorage } = await import("./sqlite.ts");
  return await openSqliteStorage(options);
}
