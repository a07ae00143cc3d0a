/**
 * Many conversions at once: a pool of workers (one per core) each running {@link convertFileTo}
 * on one input at a time, so a folder of a thousand small captures keeps both cores busy and
 * pays for module loading once per worker instead of once per file. A failed input is reported
 * and the pool moves on. This module is also the workers' entry point.
 *
 * When a worker cannot be started (a local module needs read access to its own file, which
 * `--allow-read=INPUTS` does not give), the inputs are converted one after the other here.
 * @module
 */
import { convertFileTo, type ConvertOptions, type WriteResult } from "../io/convert.ts";
import { onInterruptExit } from "../io/output.ts";
// A worker reports a failed job as the CLI would print it (message with advice, exit code): the
// error object itself cannot cross the worker boundary with its kind and facts intact.
import { cliMessage, exitCodeOf } from "./errors.ts";

/** One conversion to run. */
export interface ConvertJob {
  input: string;
  output: string;
  options: Omit<ConvertOptions, "onWarning" | "onOpen">;
}

/** How one job ended. */
export type JobOutcome =
  | { ok: true; result: WriteResult }
  | { ok: false; message: string; exitCode: number; notCapable: boolean };

/** Messages between the pool and its workers. */
type ToWorker = { id: number; job: ConvertJob };
type FromWorker =
  | { id: number; type: "warning"; text: string }
  | { id: number; type: "done"; outcome: JobOutcome };

const WORKER_NAME = "networksage-convert";

/**
 * Conversions a worker runs at once: two, so that one's file-system waits (an fsync takes
 * milliseconds) overlap the other's work; a folder of small captures is mostly such waits.
 */
const JOBS_PER_WORKER = 2;

/** Runs one job here, turning failures into an outcome. */
export async function runJob(
  job: ConvertJob,
  onWarning: (text: string) => void,
): Promise<JobOutcome> {
  try {
    const result = await convertFileTo(job.input, job.output, { ...job.options, onWarning });
    return { ok: true, result };
  } catch (e) {
    const notCapable = e instanceof Deno.errors.NotCapable || (e as Error)?.name === "NotCapable";
    return {
      ok: false,
      message: cliMessage(e),
      exitCode: notCapable ? 2 : exitCodeOf(e),
      notCapable,
    };
  }
}

/** Whether workers can load this module (see the module documentation). */
export function canUseWorkers(): boolean {
  const url = new URL(import.meta.url);
  if (url.protocol !== "file:") return true;
  return Deno.permissions.querySync({ name: "read", path: url }).state === "granted";
}

/** Callbacks of {@link runPool}. */
export interface PoolEvents {
  onWarning(job: ConvertJob, text: string): void;
  onDone(job: ConvertJob, outcome: JobOutcome): void;
}

/** Options of {@link runPool}. */
export interface PoolOptions {
  /** Workers (default: the number of cores). */
  workers?: number;
  /**
   * Give up on a job after this long: its worker is stopped, the job fails, and a new worker
   * takes the next one. Only with workers (a conversion on this thread cannot be stopped).
   */
  jobTimeoutMs?: number;
}

/**
 * Runs `jobs` on `workers` workers (default: the number of cores), calling back as each one
 * ends (in the order they end). Falls back to running them here one by one.
 */
export async function runPool(
  jobs: ConvertJob[],
  events: PoolEvents,
  options: PoolOptions = {},
): Promise<void> {
  const workers = options.workers ?? (navigator.hardwareConcurrency || 2);
  const count = Math.min(workers, jobs.length);
  // One job runs here, unless it has a time limit: only a worker can be stopped.
  if (count === 0 || (count === 1 && options.jobTimeoutMs === undefined) || !canUseWorkers()) {
    for (const job of jobs) {
      events.onDone(job, await runJob(job, (w) => events.onWarning(job, w)));
    }
    return;
  }
  let next = 0;
  const started = new Set<Worker>();
  // Ctrl-C stops the workers before their temporary files are looked for, so that none begins a
  // file after the cleanup looked (one did: a .tmp left behind by an interrupted batch).
  onInterruptExit(() => {
    for (const w of started) w.terminate();
  });
  const spawn = (): Worker | undefined => {
    try {
      const w = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
      started.add(w);
      return w;
    } catch {
      return undefined;
    }
  };
  /** Jobs handed back by a stopped worker (its other in-flight job), taken before new ones. */
  const again: number[] = [];
  const take = (): number | undefined => again.shift() ?? (next < jobs.length ? next++ : undefined);
  const lane = (first: Worker) =>
    new Promise<void>((resolve) => {
      let worker = first;
      /** Jobs on this worker, with their timers. */
      const inFlight = new Map<number, ReturnType<typeof setTimeout> | undefined>();
      const finish = (id: number, outcome: JobOutcome) => {
        clearTimeout(inFlight.get(id));
        inFlight.delete(id);
        events.onDone(jobs[id], outcome);
      };
      const failed = (message: string): JobOutcome => ({
        ok: false,
        message,
        exitCode: 1,
        notCapable: false,
      });
      const feed = () => {
        while (inFlight.size < JOBS_PER_WORKER) {
          const id = take();
          if (id === undefined) break;
          worker.postMessage({ id, job: jobs[id] } satisfies ToWorker);
          inFlight.set(
            id,
            options.jobTimeoutMs === undefined ? undefined : setTimeout(() => {
              // Stuck: this worker is stopped (its other job goes back to the queue), and a
              // new one carries on.
              worker.terminate();
              started.delete(worker);
              finish(
                id,
                failed(`${jobs[id].input}: gave up after ${options.jobTimeoutMs! / 1000} s`),
              );
              for (const [other, timer] of inFlight) {
                clearTimeout(timer);
                again.push(other);
              }
              inFlight.clear();
              const fresh = spawn();
              if (!fresh) return resolve();
              attach(fresh);
              feed();
            }, options.jobTimeoutMs),
          );
        }
        if (inFlight.size === 0) resolve();
      };
      const attach = (w: Worker) => {
        worker = w;
        w.onmessage = (e: MessageEvent<FromWorker>) => {
          const m = e.data;
          if (w !== worker || !inFlight.has(m.id)) return; // from a stopped worker
          if (m.type === "warning") events.onWarning(jobs[m.id], m.text);
          else {
            finish(m.id, m.outcome);
            feed();
          }
        };
        w.onerror = (e: ErrorEvent) => {
          // The worker died: its jobs failed; the other lanes take the rest.
          e.preventDefault();
          for (const id of [...inFlight.keys()]) {
            finish(id, failed(`${jobs[id].input}: the conversion stopped: ${e.message}`));
          }
          resolve();
        };
      };
      attach(first);
      feed();
    });
  const lanes: Promise<void>[] = [];
  for (let w = 0; w < count; w++) {
    const worker = spawn();
    if (!worker) break;
    lanes.push(lane(worker));
  }
  try {
    await Promise.all(lanes);
    // Jobs left when every worker died run here.
    for (let id = take(); id !== undefined; id = take()) {
      const job = jobs[id];
      events.onDone(job, await runJob(job, (w) => events.onWarning(job, w)));
    }
  } finally {
    for (const w of started) w.terminate();
  }
}

if (import.meta.main && (globalThis as { name?: string }).name === WORKER_NAME) {
  const scope = globalThis as unknown as {
    onmessage: (e: MessageEvent<ToWorker>) => void;
    postMessage: (m: FromWorker) => void;
  };
  scope.onmessage = async (e: MessageEvent<ToWorker>) => {
    const { id, job } = e.data;
    const outcome = await runJob(job, (text) => scope.postMessage({ id, type: "warning", text }));
    scope.postMessage({ id, type: "done", outcome });
  };
}
