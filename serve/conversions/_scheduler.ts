/**
 * The conversion scheduler of `serve`: which stored uploads this node converts, and when. It
 * claims work from the storage while fewer than `limit` conversions run, runs each through the
 * {@link Converter}, renews the claim's lease meanwhile, and records the result (or the failure)
 * only while the claim is still this node's.
 * @module
 */
import { toPlatformSecflow } from "../../api/classify.ts";
import type { UploadType } from "../../api/types.ts";
import { printable } from "../../secflow/printable.ts";
import type { Claim, Storage } from "../storage/mod.ts";
import type { Converter } from "./converter.ts";

/**
 * This node's conversions: claims work from the storage while fewer than `limit` run, when told
 * there is some (an upload here, a notification from another node), when one finishes, and every
 * `storage.pollMs`. Renews each claim's lease while its conversion runs.
 */
export class Conversions {
  #running = new Map<string, Claim>();
  #claiming = 0;
  #stopped = false;
  #again = false;
  #idle: (() => void)[] = [];
  #poll: ReturnType<typeof setInterval> | undefined;
  #settled = new Set<Promise<void>>();
  #claimErrorAt = 0;

  constructor(
    private storage: Storage,
    private limit: number,
    private options: {
      convert: Converter;
      log: (line: string) => void;
      leaseMs: number;
      signal: AbortSignal;
    },
  ) {
    if (storage.pollMs !== null) this.#poll = setInterval(() => this.wake(), storage.pollMs);
    storage.watch?.(() => this.wake()).catch((e) =>
      options.log(`networksage serve: not notified of other nodes' uploads: ${shown(e)}`)
    );
  }

  /** Claims work until the limit is reached or none is left. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#claiming > 0) {
      this.#again = true; // a claim loop is running: let it look once more
      return;
    }
    this.#claiming++;
    this.#claimLoop().finally(() => {
      this.#claiming--;
      this.#checkIdle();
    });
  }

  async #claimLoop(): Promise<void> {
    do {
      this.#again = false;
      while (!this.#stopped && this.#running.size < this.limit) {
        let claim: Claim | null;
        try {
          claim = await this.storage.claim();
        } catch (e) {
          // The database away: said once a minute, not at every poll.
          if (!this.#stopped && Date.now() - this.#claimErrorAt > 60_000) {
            this.#claimErrorAt = Date.now();
            this.options.log(`networksage serve: cannot claim work: ${shown(e)}`);
          }
          return;
        }
        if (!claim) break;
        if (this.#stopped) {
          await this.storage.release(claim, true).catch(() => {});
          return;
        }
        const held = claim;
        this.#running.set(held.token, held);
        const done: Promise<void> = this.#convert(held).finally(() => {
          this.#running.delete(held.token);
          this.#settled.delete(done);
          this.wake();
          this.#checkIdle();
        });
        this.#settled.add(done);
      }
    } while (this.#again && !this.#stopped);
  }

  async #convert(claim: Claim): Promise<void> {
    const { storage, options } = this;
    const s = claim.sample;
    // Messages name the upload, not where this node keeps it.
    const nameTheUpload = (text: string) =>
      text.replaceAll(claim.samplePath, s.fileName)
        .replaceAll(claim.dnsPath ?? "\0", `dns_${s.fileName}`);
    const extend = () =>
      storage.renew(claim).then((held) => {
        if (held) return;
        clearInterval(renew);
        options.log(`networksage serve: lost the lease on ${s.uuid} (another node may take it)`);
      }).catch(() => {});
    // Right away (copying the upload out took part of the lease), then every third of it.
    const renew = setInterval(extend, Math.max(10, options.leaseMs / 3));
    extend();
    try {
      let result;
      try {
        const out = await options.convert(claim.samplePath, {
          format: s.fileType as UploadType,
          dnsLog: claim.dnsPath ?? undefined,
          fileName: s.fileName,
          signal: options.signal,
        });
        const secflows = out.secflows ??
          (out.sample ? out.sample.flashes.map(toPlatformSecflow) : []);
        result = {
          hash: out.sample?.hash ?? crypto.randomUUID().replaceAll("-", ""),
          trafficDate: out.sample?.trafficDate ?? "",
          warnings: out.warnings.map(nameTheUpload),
          secflows,
        };
      } catch (e) {
        // Stopped at shutdown: stays pending, and this start does not count.
        if (this.#stopped) return await storage.release(claim, true);
        const message = nameTheUpload((e instanceof Error ? e.message : String(e)).split("\n")[0]);
        options.log(
          `networksage serve: conversion of ${shown(s.fileName)} (${s.uuid}) failed: ${
            shown(message)
          }`,
        );
        clearInterval(renew);
        try {
          await storage.fail(claim, message);
        } catch (e2) {
          options.log(`networksage serve: could not record the failure of ${s.uuid}: ${shown(e2)}`);
        }
        return;
      }
      if (this.#stopped) return await storage.release(claim, true);
      // No renewal while the result is stored: finish locks the row, so no node can claim it.
      clearInterval(renew);
      // Storing is synchronous on SQLite and a converter may answer at once: without a turn of
      // the event loop here, finished conversions were stored back to back in one chain of
      // promise callbacks and no request was read meanwhile (50 of them: a list took 13 s).
      await new Promise((r) => setTimeout(r, 0));
      if (!await storage.finish(claim, result)) {
        options.log(`networksage serve: ${s.uuid} was converted by another node; result dropped`);
      } else if (result.warnings.length) {
        // Stored and shown with the sample; said here too, so an operator sees a capture that
        // was cut short (and gave fewer Secflows, maybe none) without asking for it.
        const n = result.secflows.length;
        for (const warning of result.warnings) {
          options.log(
            `networksage serve: warning: ${shown(warning)} (upload ${s.uuid}, ${n} Secflow${
              n === 1 ? "" : "s"
            })`,
          );
        }
      }
    } catch (e) {
      if (!this.#stopped) options.log(`networksage serve: could not store ${s.uuid}: ${shown(e)}`);
    } finally {
      clearInterval(renew);
    }
  }

  #isIdle(): boolean {
    return this.#claiming === 0 && (this.#running.size === 0 || this.#stopped);
  }

  #checkIdle(): void {
    if (this.#isIdle()) { for (const f of this.#idle.splice(0)) f(); }
  }

  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops claiming; resolves when running conversions have finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poll);
    await Promise.all([...this.#settled]);
  }

  /**
   * Releases the claims of conversions still running after the grace period, their start still
   * counted: a conversion that does not stop may be what brings servers down.
   */
  async abandon(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poll);
    for (const claim of this.#running.values()) {
      await this.storage.release(claim, false).catch(() => {});
    }
  }
}

function shown(text: unknown): string {
  return printable(String(text), 1000);
}
