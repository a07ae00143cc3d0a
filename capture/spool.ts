/**
 * The upload spool: closed samples wait in `<state>/spool/` until the platform acknowledges them,
 * retried with exponential backoff, also after a restart. A file leaves the spool only after its
 * upload is acknowledged, and uploads never run concurrently, so each sample arrives once.
 * @module
 */
import type { NetworkSageClient } from "../api/client.ts";

/** Uploads one `.sf` file; resolves once the platform acknowledged it, rejects otherwise. */
export interface SampleUploader {
  /** Uploads the file at `path` as `fileName`. */
  upload(path: string, fileName: string): Promise<void>;
}

/**
 * A {@link SampleUploader} over the API client (`NETWORKSAGE_API_KEY`, `NETWORKSAGE_API_URL`),
 * uploading as type `secflow`. The client's own retries are kept short: the spool retries.
 */
export function apiUploader(client?: NetworkSageClient): SampleUploader {
  // The API client loads on the first upload: a collector that never uploads never loads it.
  let c: NetworkSageClient | undefined = client;
  return {
    async upload(path: string, fileName: string): Promise<void> {
      if (c === undefined) {
        const { NetworkSageClient } = await import("../api/client.ts");
        c = new NetworkSageClient({ maxAttempts: 2, retryBaseMs: 500, uploadTimeoutMs: 120_000 });
      }
      await c.upload({ path, type: "secflow", fileName });
    },
  };
}

/** Options of {@link Spool}. */
export interface SpoolOptions {
  /** First retry delay after a failure, ms (default 5 000). */
  initialBackoffMs?: number;
  /** Largest retry delay, ms (default 300 000). */
  maxBackoffMs?: number;
  /** Called with one line per event worth telling (upload failures, late uploads). */
  onEvent?: (line: string) => void;
}

/** A directory of samples waiting for upload. */
export class Spool {
  /** The spool directory. */
  readonly dir: string;
  readonly #uploader: SampleUploader;
  readonly #initial: number;
  readonly #max: number;
  readonly #onEvent: (line: string) => void;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #backoff: number;
  #closed = false;

  /** A spool in `dir` that hands samples to `uploader`, retrying with backoff. */
  constructor(dir: string, uploader: SampleUploader, options: SpoolOptions = {}) {
    this.dir = dir;
    this.#uploader = uploader;
    this.#initial = options.initialBackoffMs ?? 5_000;
    this.#max = options.maxBackoffMs ?? 300_000;
    this.#backoff = this.#initial;
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /** File names waiting, oldest first. */
  async pending(): Promise<string[]> {
    const entries: { name: string; mtime: number }[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) {
        if (!e.isFile || !e.name.endsWith(".sf")) continue;
        const st = await Deno.stat(`${this.dir}/${e.name}`);
        entries.push({ name: e.name, mtime: st.mtime?.getTime() ?? 0 });
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return entries.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : 1)).map((e) =>
      e.name
    );
  }

  /** Copies `bytes` into the spool as `fileName` (atomically: temp file, then rename). */
  async add(fileName: string, bytes: Uint8Array): Promise<string> {
    await Deno.mkdir(this.dir, { recursive: true });
    let name = fileName;
    for (let i = 1; await exists(`${this.dir}/${name}`); i++) {
      name = fileName.replace(/\.sf$/, `-${i}.sf`);
    }
    const tmp = `${this.dir}/.${name}.tmp`;
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, `${this.dir}/${name}`);
    return name;
  }

  /**
   * Uploads every waiting file, oldest first, one at a time; stops at the first failure and
   * schedules a retry with backoff. Resolves to the names uploaded by this call.
   */
  flush(): Promise<string[]> {
    const run = this.#chain.then(() => this.#flushNow());
    this.#chain = run.catch(() => {});
    return run;
  }

  async #flushNow(): Promise<string[]> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const done: string[] = [];
    for (const name of await this.pending()) {
      const path = `${this.dir}/${name}`;
      try {
        await this.#uploader.upload(path, name.replace(/-\d+\.sf$/, ".sf"));
      } catch (e) {
        const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
        this.#onEvent(
          `upload of ${name} failed, kept in the spool (retry in ` +
            `${Math.round(this.#backoff / 1000)} s): ${msg}`,
        );
        this.#schedule();
        return done;
      }
      // Acknowledged: only now does the file leave the spool.
      await Deno.remove(path).catch(() => {});
      done.push(name);
    }
    this.#backoff = this.#initial;
    return done;
  }

  #schedule(): void {
    if (this.#closed) return;
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#max, this.#backoff * 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().then((names) => {
        for (const n of names) this.#onEvent(`spooled sample ${n} uploaded`);
      }).catch(() => {});
    }, delay);
  }

  /**
   * Stops retrying (files still waiting stay for the next start); lets flushes already asked for
   * finish first.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#chain;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
