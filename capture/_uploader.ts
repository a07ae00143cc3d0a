/**
 * The collector's uploader: drains the spool on its own schedule, oldest first, one upload at a
 * time, independent of capture and of writing windows.
 *
 * Exactly once: before an upload starts, its attempt is recorded durably beside the sample. A
 * sample that carries such a record (the process died mid-upload, or an upload ended without a
 * clear answer: timeout, reset, 5xx) may already be on the platform, so before it is sent again
 * the platform is asked whether it holds that very sample: the uploads of its file name since the
 * first attempt (endpoint 2), each with the hash the platform holds (endpoint 3), compared with
 * the sample's own `hash`. Only a match drops it from the spool: a name and a time are no
 * identity (two collectors on hosts of one name, or one capture read twice, upload different
 * samples under one name; one of them, killed mid-upload, had its sample taken for the other's
 * and dropped). A same-named upload the platform has not processed yet (no hash yet) is asked
 * again each second for up to `decideMs`; past that the question stays open: the sample waits for
 * a later pass and the pass goes on. When the lookup cannot be made, the
 * sample is not sent again: it waits. A sample without a hash cannot be looked up: it is sent.
 *
 * Verdicts: 400, 404, 413, 422 and an error envelope with 200 are the platform refusing this
 * sample for good (moved to `rejected/`, the rest keep flowing); 401 and 403 are the platform
 * refusing the key (uploads pause, every sample stays); anything else is transient (backoff).
 * @module
 */
import { errorLine } from "./_durable.ts";
import { printable } from "../secflow/printable.ts";
import { type SampleUploader, type Spool, type UploadedCopy, uploadName } from "./spool.ts";

/** What a failed upload or lookup means. */
export type Verdict = "rejected" | "key" | "transient";

/** The verdict on a failed call, with the status (0: no answer) and the message to show. */
export function classifyFailure(e: unknown): { verdict: Verdict; status: number; message: string } {
  const status = typeof (e as { status?: unknown })?.status === "number"
    ? (e as { status: number }).status
    : 0;
  const server = (e as { serverMessage?: unknown })?.serverMessage;
  // The platform's words are quoted, never trusted: control bytes escaped, length capped.
  const message = printable(typeof server === "string" ? server.split("\n")[0] : errorLine(e));
  let verdict: Verdict = "transient";
  if (status === 401 || status === 403) verdict = "key";
  else if (status === 400 || status === 404 || status === 413 || status === 422) {
    verdict = "rejected";
  } else if (status === 200 && !message.startsWith("the answer is not JSON")) {
    // The platform answered with its error envelope: it read the sample and refused it.
    verdict = "rejected";
  }
  return { verdict, status, message };
}

/** Options of {@link Uploader}. */
export interface UploaderOptions {
  /** First retry delay after a transient failure, ms (default 5 000). */
  initialBackoffMs?: number;
  /** Largest retry delay, and the pause after a refused key, ms (default 300 000). */
  maxBackoffMs?: number;
  /**
   * Clock difference tolerated between this host and the platform in lookups, ms (60 000): uploads
   * older than the first attempt by more than this are not asked for their hash.
   */
  skewMs?: number;
  /** A lookup waits until this long after the attempt started, ms (default 2 000). */
  settleMs?: number;
  /**
   * How long a lookup keeps asking, once a second, while a same-named upload is not processed
   * yet (it has no hash to compare), ms (default 30 000); then the sample waits for a later pass.
   */
  decideMs?: number;
  /** One line per event worth telling. */
  onEvent?: (line: string) => void;
}

/** What the uploader did in this run. */
export interface UploadCounts {
  /** Uploads the platform acknowledged. */
  uploaded: number;
  /** Samples found on the platform, by their hash (an earlier attempt had arrived), and dropped. */
  found: number;
  /** Samples moved to `rejected/`. */
  rejected: number;
  /** Whether the platform refused the API key (uploads paused). */
  keyRefused: boolean;
}

type PassEnd = "done" | "transient" | "paused";
/** One sample's end: sent or settled (`next`), left for later (`undecided`), or the pass's end. */
type OneEnd = "next" | "undecided" | "transient" | "paused";

/** Drains a {@link Spool} through a {@link SampleUploader}; see the module comment. */
export class Uploader {
  readonly counts: UploadCounts = { uploaded: 0, found: 0, rejected: 0, keyRefused: false };
  readonly #spool: Spool;
  readonly #transport: SampleUploader;
  readonly #initial: number;
  readonly #max: number;
  readonly #skew: number;
  readonly #settle: number;
  readonly #decide: number;
  readonly #onEvent: (line: string) => void;
  readonly #abort = new AbortController();
  #backoff: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  /** The last pass ended without finishing (transient failure or refused key). */
  #stalled = false;

  constructor(spool: Spool, transport: SampleUploader, options: UploaderOptions = {}) {
    this.#spool = spool;
    this.#transport = transport;
    this.#initial = options.initialBackoffMs ?? 5_000;
    this.#max = options.maxBackoffMs ?? 300_000;
    this.#skew = options.skewMs ?? 60_000;
    this.#settle = options.settleMs ?? 2_000;
    this.#decide = options.decideMs ?? 30_000;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#backoff = this.#initial;
  }

  /** A sample was added (or the run starts): drain soon, unless waiting out a backoff. */
  notify(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#kick();
  }

  /**
   * Ends the uploader: waits for the pass under way, then makes one last pass unless the last
   * one stalled (the platform is down or refused the key: the samples wait for the next start).
   */
  async finish(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    await this.#running;
    if (!this.#stalled && !this.#abort.signal.aborted) await this.#pass();
  }

  /** Aborts the upload or lookup in flight (a second interrupt); its sample stays spooled. */
  abort(): void {
    this.#abort.abort(new Error("interrupted"));
  }

  #kick(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop().finally(() => this.#running = undefined);
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      const end = await this.#pass();
      if (end !== "done") {
        this.#schedule(end === "paused" ? this.#max : this.#backoff);
        if (end === "transient") this.#backoff = Math.min(this.#max, this.#backoff * 2);
        return;
      }
      this.#backoff = this.#initial;
    } while (this.#again && !this.#closed);
  }

  #schedule(delay: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#kick();
    }, delay);
  }

  async #pass(): Promise<PassEnd> {
    let end: PassEnd = "done";
    try {
      for (const name of await this.#spool.pending()) {
        if (this.#abort.signal.aborted) {
          end = "transient";
          break;
        }
        const r = await this.#one(name);
        if (r === "undecided") end = "transient"; // come back to it; the samples after go on
        else if (r !== "next") {
          end = r;
          break;
        }
      }
    } catch (e) {
      this.#onEvent(`spool ${this.#spool.dir}: ${errorLine(e)}`);
      end = "transient";
    }
    this.#stalled = end !== "done";
    return end;
  }

  async #one(name: string): Promise<OneEnd> {
    const spool = this.#spool;
    const fileName = uploadName(name);
    const signal = this.#abort.signal;
    const retryIn = () => `retry in ${Math.round(this.#backoff / 1000)} s`;
    const prior = await spool.attempt(name);
    if (prior && this.#transport.findUploads) {
      const hash = await spool.sampleHash(name);
      if (hash === null) {
        this.#onEvent(`${name} has no hash to look it up by on the platform: sent again`);
      } else {
        const wait = prior.last + this.#settle - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const deadline = Date.now() + this.#decide;
        for (;;) {
          let copies: UploadedCopy[];
          try {
            copies = await this.#transport.findUploads(fileName, prior.first - this.#skew, signal);
          } catch (e) {
            const f = classifyFailure(e);
            if (f.verdict === "key") return this.#keyRefused(name, f.status, f.message);
            this.#onEvent(
              `cannot check whether ${name} already arrived (lookup: ${f.message}); ` +
                `kept in the spool, not sent again before the platform answers (${retryIn()})`,
            );
            return "transient";
          }
          const hit = copies.find((c) => c.hash === hash);
          if (hit !== undefined) {
            await spool.remove(name);
            this.counts.found++;
            this.#onEvent(
              `${name} had already arrived (upload ${printable(hit.uuid, 80)}${
                hit.at === null ? "" : ` of ${new Date(hit.at).toISOString()}`
              } holds its hash ${hash}); dropped from the spool`,
            );
            return "next";
          }
          const open = copies.filter((c) => c.hash === "" && !c.settled).length;
          if (open === 0) break; // the platform does not hold it: send it
          const left = deadline - Date.now();
          if (left <= 0 || signal.aborted) {
            this.#onEvent(
              `cannot tell yet whether ${name} already arrived: ${open} upload${
                open === 1 ? "" : "s"
              } of that name not processed yet; kept in the spool, not sent (${retryIn()})`,
            );
            return "undecided";
          }
          await abortableSleep(Math.min(1000, left), signal);
        }
      }
    }
    await spool.recordAttempt(name);
    try {
      await this.#transport.upload(`${spool.dir}/${name}`, fileName, signal);
    } catch (e) {
      const f = classifyFailure(e);
      if (f.verdict === "key") {
        await spool.clearAttempt(name); // a clear refusal: the platform did not store it
        return this.#keyRefused(name, f.status, f.message);
      }
      if (f.verdict === "rejected") {
        const to = await spool.reject(name, `${f.status} ${f.message}`);
        this.counts.rejected++;
        this.#onEvent(`upload of ${name} rejected (${f.status} ${f.message}): moved to ${to}`);
        return "next";
      }
      this.#onEvent(`upload of ${name} failed, kept in the spool (${retryIn()}): ${f.message}`);
      return "transient";
    }
    // Acknowledged: only now does the sample leave the spool.
    await spool.remove(name);
    this.counts.uploaded++;
    this.#onEvent(`uploaded ${name}`);
    return "next";
  }

  #keyRefused(name: string, status: number, message: string): "paused" {
    this.counts.keyRefused = true;
    this.#onEvent(
      `the API refused the key (${status} ${message}): uploads paused for ` +
        `${Math.round(this.#max / 1000)} s; ${name} and the samples after it stay in the spool ` +
        this.#spool.dir,
    );
    return "paused";
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
