/**
 * The default {@link Storage} of `serve`: the SQLite database of `store.ts` plus the originals as
 * files under `DATA/uploads/<uuid>/`. One process owns the data directory, so a claim is a mark
 * in memory that lasts as long as the process: what it held when it stopped is pending again at
 * the next start.
 * @module
 */
import { type SampleRow, Store } from "./store.ts";
import { privateDir } from "./_ingest.ts";
import {
  type Claim,
  type ConversionResult,
  interruptedMessage,
  MAX_CONVERSION_ATTEMPTS,
  type NewUpload,
  type Storage,
  type StorageOptions,
} from "./storage.ts";

function join(...parts: string[]): string {
  return parts.join("/").replace(/\/+/g, "/");
}

/** Opens `DATA/networksage.db` and removes originals that no sample needs any more. */
export async function openSqliteStorage(options: StorageOptions): Promise<Storage> {
  const keep = options.keepOriginals;
  const uploadsRoot = join(options.dataDir, "uploads");
  await privateDir(uploadsRoot);
  const store = await Store.open(join(options.dataDir, "networksage.db"));

  // Originals no row points to (a crash between finishing and removing): remove them.
  const live = new Set((await store.pending()).map((s) => s.uuid));
  for await (const entry of Deno.readDir(uploadsRoot)) {
    if (live.has(entry.name) || (await store.sample(entry.name, null))?.storedPath) continue;
    await Deno.remove(join(uploadsRoot, entry.name), { recursive: true }).catch(() => {});
  }

  /** Claimed samples (uuid → owner): what this process is converting. */
  const claimed = new Map<string, string>();
  /** Each owner's latest claim, as a claim counter: who was served least recently. */
  const served = new Map<string, number>();
  let claims = 0;
  let closed = false;
  const settle = async (claim: Claim, record: () => Promise<void>): Promise<boolean> => {
    if (closed || !claimed.has(claim.sample.uuid)) return false;
    // Claimed until recorded: storing takes turns of the event loop (Store.finish), and a
    // sample still pending and no longer claimed would be claimed and converted again.
    try {
      await record();
    } finally {
      claimed.delete(claim.sample.uuid);
    }
    if (!keep) {
      await Deno.remove(join(uploadsRoot, claim.sample.uuid), { recursive: true }).catch(() => {});
    }
    return true;
  };

  const storage: Storage = {
    kind: "sqlite",
    withKeyRecords: (fn) => fn(store), // one process owns the data directory
    reassignOwner: (from, to) => store.reassignOwner(from, to),
    pollMs: null,
    async addUpload(u: NewUpload) {
      const dir = join(uploadsRoot, u.uuid);
      await Deno.rename(u.dir, dir);
      try {
        await store.addSample({
          uuid: u.uuid,
          owner: u.owner,
          fileName: u.fileName,
          fileType: u.fileType,
          createdMs: u.createdMs,
          storedPath: join(dir, "sample"),
          dnsPath: u.hasDns ? join(dir, "dns") : null,
        });
      } catch (e) {
        // Not recorded (a full disk): its files would stay under uploads/ until the next start.
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        throw e;
      }
    },
    sample: (uuid, owner) => store.sample(uuid, owner),
    samples: (owner) => store.samples(owner),
    async claim() {
      for (;;) {
        if (closed) return null;
        const s = fairestPending(await store.pending(), claimed, served);
        if (!s) return null;
        const claim = { sample: s, samplePath: s.storedPath!, dnsPath: s.dnsPath, token: s.uuid };
        claimed.set(s.uuid, s.owner);
        served.set(s.owner, ++claims);
        if (s.attempts >= MAX_CONVERSION_ATTEMPTS) {
          await storage.fail(claim, interruptedMessage(s.attempts));
          continue;
        }
        await store.startAttempt(s.uuid);
        return claim;
      }
    },
    renew: (claim) => Promise.resolve(!closed && claimed.has(claim.sample.uuid)),
    finish: (claim, result: ConversionResult) =>
      settle(claim, () => store.finish(claim.sample.uuid, result, keep)),
    fail: (claim, message) => settle(claim, () => store.fail(claim.sample.uuid, message, keep)),
    async release(claim, undo) {
      if (closed || !claimed.delete(claim.sample.uuid)) return;
      if (undo) await store.abandonAttempt(claim.sample.uuid);
    },
    secflows: (uuid) => store.secflows(uuid),
    secflowTexts: (uuid, from, limit) => store.secflowTexts(uuid, from, limit),
    count: (flowId) => store.count(flowId),
    activities: (uuid) => store.activities(uuid),
    annotation: (kind, name) => store.annotation(kind, name),
    annotate: (kind, name, data) => store.annotate(kind, name, data),
    async originals() {
      const out: string[] = [];
      for await (const entry of Deno.readDir(uploadsRoot)) out.push(entry.name);
      return out.sort();
    },
    async readOriginal(uuid, part) {
      if (!/^[0-9a-f-]{36}$/.test(uuid)) return null;
      const file = await Deno.open(join(uploadsRoot, uuid, part)).catch(() => null);
      return file?.readable ?? null;
    },
    async close() {
      if (closed) return;
      claimed.clear();
      closed = true;
      await store.close();
    },
  };
  return storage;
}

/**
 * The pending upload to convert next, round robin between keys: of the owners with the fewest
 * conversions running, the one served least recently (`served`: each owner's latest claim as a
 * counter), its oldest upload. Oldest first across all keys let one key's queue of large uploads
 * hold every other key's sample back (8 uploads of 200,000 Secflows kept a 300-Secflow one
 * pending for 24 s; uploads near the conversion time limit would make it hours).
 */
export function fairestPending(
  pending: SampleRow[],
  running: ReadonlyMap<string, string>,
  served: ReadonlyMap<string, number> = new Map(),
): SampleRow | undefined {
  const busy = new Map<string, number>();
  for (const owner of running.values()) busy.set(owner, (busy.get(owner) ?? 0) + 1);
  const rank = (p: SampleRow) => [busy.get(p.owner) ?? 0, served.get(p.owner) ?? -1];
  let best: SampleRow | undefined;
  for (const p of pending) {
    if (running.has(p.uuid) || !p.storedPath) continue;
    if (!best) {
      best = p;
      continue;
    }
    const [b, s] = rank(p), [bb, bs] = rank(best);
    if (b < bb || (b === bb && s < bs)) best = p; // ties: the older (pending is oldest first)
  }
  return best;
}
