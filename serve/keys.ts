/**
 * API keys of `serve`: read from a keys file or the environment, stored only as salted scrypt
 * hashes (`keys` table), and recognised per request without a slow hash: at start each configured
 * key is matched to its stored record once (scrypt), then requests are looked up by an HMAC under
 * a secret that lives only in this process's memory.
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { KeyRecord } from "./storage/rows.ts";

/** A key `serve` accepts, and whether it may write annotations. */
export interface ApiKey {
  /** The key itself. */
  key: string;
  /** May write annotations. */
  admin: boolean;
}

/** Who a request's key is: the owner id its samples carry, and its rights. */
export interface KeyOwner {
  /** The key record's id: what its samples' `owner` holds. */
  id: string;
  /** May write annotations. */
  admin: boolean;
}

/** What {@link KeyRing.open} needs of a store. */
export interface KeyRecordStore {
  /** Every stored key record. */
  keyRecords(): Promise<KeyRecord[]>;
  /** Stores a new key record. */
  addKeyRecord(record: KeyRecord): Promise<void>;
}

// scrypt N=2^14, r=8, p=1: 16 MiB and ~50 ms per hash here, paid once per key at start.
const SCRYPT = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const HASH_BYTES = 32;

/** scrypt(key, salt) in hex. */
export function hashKey(key: string, saltHex: string): Promise<string> {
  return new Promise((resolve, reject) => {
    scrypt(key, Buffer.from(saltHex, "hex"), HASH_BYTES, SCRYPT, (err, out) => {
      if (err) reject(err);
      else resolve(out.toString("hex"));
    });
  });
}

/** A keys list that cannot be read as meant; its message never quotes a key. Exit code 2. */
export class KeyListError extends Error {
  override name = "KeyListError";
  /** A usage error for the CLI: the user must fix the list. */
  readonly exitCode = 2;
}

/**
 * Reads keys from a keys file's text: one key per line, optionally followed by `admin`; blank
 * lines and `#` comments are skipped. Anything else after the key is refused rather than guessed
 * at: "k1 k2" (two keys meant) or "k1 amdin" would otherwise give one key, or no admin, silently.
 * `source` and `unit` name the place in errors (`keys.txt line 3`).
 */
export function parseKeys(text: string, source = "keys", unit = "line"): ApiKey[] {
  const keys: ApiKey[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const [key, ...rest] = line.split(/\s+/);
    const admin = rest.length === 1 && rest[0].toLowerCase() === "admin";
    if (rest.length > 0 && !admin) {
      throw new KeyListError(
        `${source} ${unit} ${i + 1}: expected KEY or "KEY admin", found ${
          rest.length + 1
        } words (a key holds no spaces; ${
          unit === "line" ? "one key per line" : "separate keys with commas"
        })`,
      );
    }
    keys.push({ key, admin });
  }
  return keys;
}

/** The accepted keys of a running `serve`. */
export class KeyRing {
  #secret = randomBytes(32);
  #owners = new Map<string, KeyOwner>();

  private constructor() {}

  /**
   * Matches every configured key with its stored record (creating records for new keys) and
   * returns the ring.
   */
  static async open(store: KeyRecordStore, keys: ApiKey[]): Promise<KeyRing> {
    const ring = new KeyRing();
    const records = await store.keyRecords();
    // One random salt per data directory, shared by its records: each key costs one scrypt at
    // start whatever the number of records (per-record salts would cost keys x records).
    const salt = records[0]?.salt ?? randomBytes(16).toString("hex");
    for (const { key, admin } of keys) {
      const known = ring.#owners.get(ring.#tag(key));
      if (known) {
        known.admin ||= admin;
        continue;
      }
      const hash = Buffer.from(await hashKey(key, salt), "hex");
      const match = records.find((r) => {
        const stored = Buffer.from(r.hash, "hex");
        return r.salt === salt && stored.length === hash.length && timingSafeEqual(stored, hash);
      });
      let id = match?.id;
      if (id === undefined) {
        const record = { id: crypto.randomUUID(), salt, hash: hash.toString("hex") };
        await store.addKeyRecord(record);
        records.push(record);
        id = record.id;
      }
      ring.#owners.set(ring.#tag(key), { id, admin });
    }
    return ring;
  }

  #tag(key: string): string {
    return createHmac("sha256", this.#secret).update(key).digest("base64");
  }

  /** The owner of `key`, or undefined when it is not accepted. */
  owner(key: string): KeyOwner | undefined {
    return this.#owners.get(this.#tag(key));
  }

  /** How many distinct keys are accepted. */
  get size(): number {
    return this.#owners.size;
  }
}
