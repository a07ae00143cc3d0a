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
import { convertFileTo, type ConvertOptions, type WriteResult } from "./convert.ts";

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
    const code = (e as { exitCode?: unknown })?.exitCode;
    return {
      ok: false,
      message: ((e as Error)?.message ?? String(e)).split("\n")[0],
      exitCode: typeof code === "number" ? code : notCapable ? 2 : 1,
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

/**
 * Runs `jobs` on `workers` workers (default: the number of cores), calling back as each one
 * ends (in the order they end). Falls back to running them here one by one.
 */
export async function runPool(
  jobs: ConvertJob[],
  events: PoolEvents,
  workers = navigator.hardwareConcurrency || 2,
): Promise<void> {
  const count = Math.min(workers, jobs.length);
  if (count <= 1 || !canUseWorkers()) {
    for (const job of jobs) {
      events.onDone(job, await runJob(job, (w) => events.onWarning(job, w)));
    }
    return;
  }
  let next = 0;
  const started: Worker[] = [];
  const lanes: Promise<void>[] = [];
  for (let w = 0; w < count; w++) {
    let worker: Worker;
    try {
      worker = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
    } catch {
      break;
    }
    started.push(worker);
    lanes.push(
      new Promise<void>((resolve) => {
        let current = -1;
        const feed = () => {
          if (next >= jobs.length) {
            resolve();
            return;
          }
          current = next++;
          worker.postMessage({ id: current, job: jobs[current] } satisfies ToWorker);
        };
        worker.onmessage = (e: MessageEvent<FromWorker>) => {
          const m = e.data;
          if (m.type === "warning") events.onWarning(jobs[m.id], m.text);
          else {
            events.onDone(jobs[m.id], m.outcome);
            feed();
          }
        };
        worker.onerror = (e: ErrorEvent) => {
          // The worker died: its job failed; the other lanes take the rest.
          e.preventDefault();
          if (current >= 0) {
            events.onDone(jobs[current], {
              ok: false,
              message: `${jobs[current].input}: the conversion stopped: ${e.message}`,
              exitCode: 1,
              notCapable: false,
            });
          }
          resolve();
        };
        feed();
      }),
    );
  }
  try {
    await Promise.all(lanes);
    // Jobs left when every worker died run here.
    while (next < jobs.length) {
      const job = jobs[next++];
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
