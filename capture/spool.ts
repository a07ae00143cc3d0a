/**
 * The upload spool: `<state>/spool/` holds every closed sample until the platform has it. Beside
 * a sample, `NAME.attempt` records that an upload of it was started (and when): a sample with
 * such a record may already be on the platform, so the platform is asked whether it holds that
 * very sample (by its `hash`) before it is sent again (see `_uploader.ts`). Samples the platform refuses for good move to
 * `spool/rejected/` with a `NAME.reason` file. Files are 0600 in 0700 directories, written
 * durably (`_durable.ts`); one collector at a time holds the spool (an advisory lock).
 * @module
 */
import type { NetworkSageClient } from "../api/client.ts";
import {
  ensureDir,
  freeName,
  removeStaleTemps,
  syncDir,
  writeDurable,
  writeUnique,
} from "./_durable.ts";

/** Moves samples to the platform; what the spool's uploader needs of the API. */
export interface SampleUploader {
  /** Uploads one `.sf` file; resolves once the platform acknowledged it, rejects otherwise. */
  upload(path: string, fileName: string, signal?: AbortSignal): Promise<void>;
  /**
   * The uploads named `fileName` (endpoint 2) made at `since` (epoch ms) or later, or at a time
   * the list does not say, each with the hash the platform holds for it (endpoint 3). Without it,
   * a sample whose earlier attempt is unresolved is uploaded again.
   */
  findUploads?(fileName: string, since: number, signal?: AbortSignal): Promise<UploadedCopy[]>;
}

/** An upload the platform holds (see {@link SampleUploader.findUploads}). */
export interface UploadedCopy {
  /** Its private UUID. */
  uuid: string;
  /** When it was uploaded (epoch ms), or null when the list does not say. */
  at: number | null;
  /** The sample's hash as the platform holds it (endpoint 3); `""` when it gives none (yet). */
  hash: string;
  /** Whether the platform is done with it (processed or failed): an empty hash stays empty. */
  settled: boolean;
}

/** Options of {@link apiUploader}. */
export interface ApiUploaderOptions {
  /** Timeout of one upload, ms (default 60 000). */
  uploadTimeoutMs?: number;
}

/**
 * A {@link SampleUploader} over the API client (`NETWORKSAGE_API_KEY`, `NETWORKSAGE_API_URL`),
 * uploading as type `secflow`. Uploads are sent once per call (no client-side retry: a retry
 * after a lost answer could duplicate the sample; the spool retries, after a lookup).
 */
export function apiUploader(
  client?: NetworkSageClient,
  options: ApiUploaderOptions = {},
): SampleUploader {
  // The API client loads on first use: a collector that never uploads never loads it.
  let uploads: NetworkSageClient | undefined = client;
  let lookups: NetworkSageClient | undefined = client;
  const load = async (attempts: number) => {
    const { NetworkSageClient } = await import("../api/client.ts");
    return new NetworkSageClient({
      maxAttempts: attempts,
      retryBaseMs: 500,
      timeoutMs: 30_000,
      uploadTimeoutMs: options.uploadTimeoutMs ?? 60_000,
    });
  };
  return {
    async upload(path, fileName, signal) {
      uploads ??= await load(1);
      await uploads.upload({ path, type: "secflow", fileName }, { signal });
    },
    async findUploads(fileName, since, signal) {
      lookups ??= await load(2);
      const { uploadTimeOf } = await import("../api/client.ts");
      const copies: UploadedCopy[] = [];
      for (const entry of await lookups.listUploads({ signal })) {
        if (entry.fileName !== fileName) continue;
        const at = uploadTimeOf(entry) ?? platformDate(String(entry.dateCreated ?? ""));
        if (at !== null && at < since) continue;
        // The name and the time are no identity (another collector may upload under the same
        // name): the sample's hash, from its metadata, is.
        let meta;
        try {
          meta = await lookups.getSample(entry.uuid, { signal });
        } catch (e) {
          // Listed but gone (removed meanwhile): it holds nothing.
          if ((e as { status?: number }).status === 404) continue;
          throw e;
        }
        const hash = typeof meta.hash === "string" ? meta.hash : "";
        const failed = entry.processingError !== undefined || meta.processingError !== undefined;
        const settled = hash !== "" || entry.processed === true || meta.trafficDate !== "" ||
          failed;
        copies.push({ uuid: entry.uuid, at, hash, settled });
      }
      return copies;
    },
  };
}

/** `DD/MM/YYYY HH:MM:SS` (UTC, endpoint 2's `dateCreated`) in epoch ms, or null. */
export function platformDate(text: string): number | null {
  const m = /^(\d\d)\/(\d\d)\/(\d{4}) (\d\d):(\d\d):(\d\d)$/.exec(text.trim());
  if (!m) return null;
  const t = Date.UTC(+m[3], +m[2] - 1, +m[1], +m[4], +m[5], +m[6]);
  return Number.isNaN(t) ? null : t;
}

/** An upload attempt's record: when the first and the latest attempt started (epoch ms). */
export interface AttemptRecord {
  /** When the first attempt started (epoch ms). */
  first: number;
  /** When the latest attempt started (epoch ms). */
  last: number;
  /** Attempts so far. */
  count: number;
}

/**
 * The file name a spooled sample is uploaded under: its spool name, `-N` included. Whether an
 * attempted upload arrived is looked up by name and then decided by the sample's hash; distinct
 * names keep that lookup short (another collector may still use the same names).
 */
export function uploadName(spoolName: string): string {
  return spoolName;
}

/** A directory of samples waiting for upload. */
export class Spool {
  /** The spool directory. */
  readonly dir: string;
  /** Where permanently refused samples go, each with a `.reason` file beside it. */
  readonly rejectedDir: string;
  #lock: Deno.FsFile | undefined;

  /** A spool in `dir` (created 0700 by {@link Spool.open}); nothing is touched until then. */
  constructor(dir: string) {
    this.dir = dir;
    this.rejectedDir = `${dir}/rejected`;
  }

  /**
   * Creates the directory (0700), takes the lock (an error when another collector holds it), and
   * clears what a crash left: temporary files, and attempt records whose sample is gone.
   */
  async open(): Promise<void> {
    let lock: Deno.FsFile;
    try {
      await ensureDir(this.dir, true);
      lock = await Deno.open(`${this.dir}/.lock`, {
        read: true,
        write: true,
        create: true,
        mode: 0o600,
      });
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) throw e;
      // Uploads were asked for: nothing is captured that could not be kept for them.
      throw new Error(
        `the upload spool ${this.dir} cannot be used: ${
          (e as Error).message
        }; nothing was captured (use --state-dir on a writable disk, or --no-upload)`,
      );
    }
    if (!(await lock.tryLock(true))) {
      lock.close();
      throw new Error(`another collector is using the spool ${this.dir}`);
    }
    this.#lock = lock;
    // The holder's pid, for whoever wonders who holds it (the lock itself is the flock).
    try {
      await lock.truncate(0);
      await lock.write(new TextEncoder().encode(`${Deno.pid}\n`));
    } catch { /* a full disk: the lock holds all the same */ }
    await removeStaleTemps(this.dir, true);
    await removeStaleTemps(this.rejectedDir, true);
    const names = new Set<string>();
    const attempts: string[] = [];
    for await (const e of Deno.readDir(this.dir)) {
      if (!e.isFile) continue;
      if (e.name.endsWith(".sf")) names.add(e.name);
      else if (e.name.endsWith(".sf.attempt")) attempts.push(e.name);
    }
    for (const a of attempts) {
      if (!names.has(a.slice(0, -".attempt".length))) {
        await Deno.remove(`${this.dir}/${a}`).catch(() => {});
      }
    }
  }

  /** Releases the lock. */
  close(): void {
    this.#lock?.close();
    this.#lock = undefined;
  }

  /** File names waiting, oldest first (by modification time, then name). */
  async pending(): Promise<string[]> {
    const entries: { name: string; mtime: number }[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) {
        if (!e.isFile || !e.name.endsWith(".sf") || e.name.startsWith(".")) continue;
        try {
          const st = await Deno.stat(`${this.dir}/${e.name}`);
          entries.push({ name: e.name, mtime: st.mtime?.getTime() ?? 0 });
        } catch { /* removed meanwhile */ }
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return entries.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : 1))
      .map((e) => e.name);
  }

  /** Names in `rejected/`. */
  async rejected(): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(this.rejectedDir)) {
        if (e.isFile && e.name.endsWith(".sf")) names.push(e.name);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return names.sort();
  }

  /**
   * Puts `bytes` in the spool as `fileName`, durably. The same name with the same bytes is the
   * same sample (kept once); different bytes under a name already waiting are kept apart as
   * `NAME-1.sf`, `NAME-2.sf`... Resolves to the spool name.
   */
  async add(fileName: string, bytes: Uint8Array): Promise<string> {
    return await writeUnique(this.dir, sampleFileName(fileName), bytes);
  }

  /**
   * The `hash` of the spooled sample `name` (32 hex digits, its identity on the platform), read
   * from the sample's head (every writer puts it before the flashes); null when it has none.
   */
  async sampleHash(name: string): Promise<string | null> {
    sampleFileName(name);
    const file = await Deno.open(`${this.dir}/${name}`, { read: true });
    try {
      const head = new Uint8Array(HEAD_BYTES);
      let n = 0;
      while (n < head.length) {
        const r = await file.read(head.subarray(n));
        if (r === null) break;
        n += r;
      }
      const text = new TextDecoder().decode(head.subarray(0, n));
      const end = text.indexOf('"flashes"');
      const m = /"hash"\s*:\s*"([0-9a-f]{32})"/.exec(end < 0 ? text : text.slice(0, end));
      return m ? m[1] : null;
    } finally {
      file.close();
    }
  }

  /** The attempt record of `name`, or null. */
  async attempt(name: string): Promise<AttemptRecord | null> {
    sampleFileName(name);
    try {
      const r = JSON.parse(await Deno.readTextFile(`${this.dir}/${name}.attempt`));
      if (typeof r?.first === "number" && typeof r?.last === "number") return r;
    } catch { /* missing or torn: treated as absent only when missing */ }
    try {
      const st = await Deno.stat(`${this.dir}/${name}.attempt`);
      // A record that exists but cannot be read still means an attempt happened.
      const t = st.mtime?.getTime() ?? 0;
      return { first: t, last: t, count: 1 };
    } catch {
      return null;
    }
  }

  /** Records, durably, that an upload of `name` starts now. */
  async recordAttempt(name: string, now: number = Date.now()): Promise<AttemptRecord> {
    sampleFileName(name);
    const prior = await this.attempt(name);
    const record = { first: prior?.first ?? now, last: now, count: (prior?.count ?? 0) + 1 };
    await writeDurable(
      this.dir,
      `${name}.attempt`,
      new TextEncoder().encode(JSON.stringify(record)),
    );
    return record;
  }

  /** Forgets the attempt record of `name` (the platform answered: it does not have it). */
  async clearAttempt(name: string): Promise<void> {
    sampleFileName(name);
    await Deno.remove(`${this.dir}/${name}.attempt`).catch(ignoreNotFound);
  }

  /** Drops `name` (the platform has it): the sample first, then its attempt record. */
  async remove(name: string): Promise<void> {
    sampleFileName(name);
    await Deno.remove(`${this.dir}/${name}`).catch(ignoreNotFound);
    await Deno.remove(`${this.dir}/${name}.attempt`).catch(ignoreNotFound);
    await syncDir(this.dir);
  }

  /** Moves `name` to `rejected/` with a `NAME.reason` file saying why. */
  async reject(name: string, reason: string): Promise<string> {
    sampleFileName(name);
    await ensureDir(this.rejectedDir, true);
    // An earlier, different refused sample of that name (and its reason) is kept.
    const target = await freeName(this.rejectedDir, name);
    await writeDurable(
      this.rejectedDir,
      `${target}.reason`,
      new TextEncoder().encode(`${new Date().toISOString()} ${reason}\n`),
    );
    await Deno.rename(`${this.dir}/${name}`, `${this.rejectedDir}/${target}`);
    await Deno.remove(`${this.dir}/${name}.attempt`).catch(ignoreNotFound);
    await syncDir(this.rejectedDir);
    await syncDir(this.dir);
    return `${this.rejectedDir}/${target}`;
  }
}

/** How much of a sample's head {@link Spool.sampleHash} reads for its hash. */
const HEAD_BYTES = 4096;

function ignoreNotFound(e: unknown): void {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}

/** Retry settings of the spool's uploader (the former name of `UploaderOptions`). */
export type { UploaderOptions as SpoolOptions } from "./_uploader.ts";

/**
 * `name` when it is a sample's file name in the spool: `NAME.sf`, no directory part, not hidden
 * (temporary files are). `remove("../victim.txt")` deleted a file outside the spool, and
 * `add(undefined, ...)` wrote a file named "undefined".
 */
function sampleFileName(name: string): string {
  if (
    typeof name !== "string" || !/^[^./\\][^/\\]*\.sf$/.test(name) || name.includes("\0")
  ) {
    throw new TypeError(
      `spool: ${JSON.stringify(name) ?? String(name)} is not a sample's file name (NAME.sf)`,
    );
  }
  return name;
}
