/**
 * The default {@link Storage} of `serve`: the SQLite database of `store.ts` plus the originals as
 * files under `DATA/uploads/<uuid>/`. One process owns the data directory, so a claim is a mark
 * in memory that lasts as long as the process: what it held when it stopped is pending again at
 * the next start.
 * @module
 */
import { Store } from "./store.ts";
import type { Claim, ConversionResult, NewUpload, Storage, StorageOptions } from "./storage.ts";

function join(...parts: string[]): string {
  return parts.join("/").replace(/\/+/g, "/");
}

/** Opens `DATA/networksage.db` and removes originals that no sample needs any more. */
export async function openSqliteStorage(options: StorageOptions): Promise<Storage> {
  const keep = options.keepOriginals;
  const uploadsRoot = join(options.dataDir, "uploads");
  await Deno.mkdir(uploadsRoot, { recursive: true });
  const store = new Store(join(options.dataDir, "networksage.db"));

  // Originals no row points to (a crash between finishing and removing): remove them.
  const live = new Set(store.pending().map((s) => s.uuid));
  for await (const entry of Deno.readDir(uploadsRoot)) {
    if (live.has(entry.name) || store.sample(entry.name, null)?.storedPath) continue;
    await Deno.remove(join(uploadsRoot, entry.name), { recursive: true }).catch(() => {});
  }

  const claimed = new Set<string>();
  let closed = false;
  const settle = async (claim: Claim, record: () => void): Promise<boolean> => {
    if (closed || !claimed.delete(claim.sample.uuid)) return false;
    record();
    if (!keep) {
      await Deno.remove(join(uploadsRoot, claim.sample.uuid), { recursive: true }).catch(() => {});
    }
    return true;
  };

  return {
    kind: "sqlite",
    pollMs: null,
    async addUpload(u: NewUpload) {
      const dir = join(uploadsRoot, u.uuid);
      await Deno.rename(u.dir, dir);
      store.addSample({
        uuid: u.uuid,
        owner: u.owner,
        fileName: u.fileName,
        fileType: u.fileType,
        createdMs: u.createdMs,
        storedPath: join(dir, "sample"),
        dnsPath: u.hasDns ? join(dir, "dns") : null,
      });
    },
    sample: (uuid, owner) => Promise.resolve(store.sample(uuid, owner)),
    samples: (owner) => Promise.resolve(store.samples(owner)),
    claim() {
      if (closed) return Promise.resolve(null);
      const s = store.pending().find((s) => !claimed.has(s.uuid) && s.storedPath);
      if (!s) return Promise.resolve(null);
      claimed.add(s.uuid);
      return Promise.resolve({
        sample: s,
        samplePath: s.storedPath!,
        dnsPath: s.dnsPath,
        token: s.uuid,
      });
    },
    renew: (claim) => Promise.resolve(!closed && claimed.has(claim.sample.uuid)),
    finish: (claim, result: ConversionResult) =>
      settle(claim, () => store.finish(claim.sample.uuid, result, keep)),
    fail: (claim, message) => settle(claim, () => store.fail(claim.sample.uuid, message, keep)),
    release(claim) {
      claimed.delete(claim.sample.uuid);
      return Promise.resolve();
    },
    secflows: (uuid) => Promise.resolve(store.secflows(uuid)),
    count: (flowId) => Promise.resolve(store.count(flowId)),
    annotation: (kind, name) => Promise.resolve(store.annotation(kind, name)),
    annotate(kind, name, data) {
      store.annotate(kind, name, data);
      return Promise.resolve();
    },
    async originals() {
      const out: string[] = [];
      for await (const entry of Deno.readDir(uploadsRoot)) out.push(entry.name);
      return out.sort();
    },
    async readOriginal(uuid, part) {
      if (!/^[0-9a-f-]{36}$/.test(uuid)) return null;
      return await Deno.readFile(join(uploadsRoot, uuid, part)).catch(() => null);
    },
    close() {
      if (!closed) {
        closed = true;
        claimed.clear();
        store.close();
      }
      return Promise.resolve();
    },
  };
}
