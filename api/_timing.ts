/**
 * The client's clocks: sleeping with a signal, `Retry-After`, delay options checked against what
 * a timer can wait, a polling helper's pauses and deadline, and a limit on calls at once.
 * @module
 */

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(id);
      reject(signal!.reason);
    };
    const id = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `Retry-After` (seconds or an HTTP date) in ms, or null. */
export function retryAfterMs(value: string | null): number | null {
  if (!value) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : Math.max(0, t - Date.now());
}

/** The longest delay a timer takes (2^31 - 1 ms, 24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay option in ms: `fallback` when undefined, else a number above 0 and at most
 * {@link MAX_TIMER_MS} (past it a timer fires at once: `intervalMs` of 3e9 polled every
 * millisecond), or a RangeError naming it.
 */
export function timerMs(owner: string, name: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !(v > 0) || v > MAX_TIMER_MS) {
    throw new RangeError(
      `${owner}: ${name} must be a number of ms above 0 and at most ${MAX_TIMER_MS}, not ${v}`,
    );
  }
  return v;
}

/**
 * How long a poll pauses: `interval`, or when less than that is left, until shortly before the
 * deadline, so that the last look still happens in time (an interval longer than the timeout
 * slept through it and failed without looking again).
 */
export function pauseWithin(interval: number, left: number): number {
  return interval < left ? interval : Math.max(0, left - Math.min(250, left / 2));
}

/** A polling helper's interval and deadline, checked (0 or NaN polled without pause). */
export function pollTiming(
  owner: string,
  options: { intervalMs?: number; timeoutMs?: number },
): { interval: number; deadline: number } {
  const interval = timerMs(owner, "intervalMs", options.intervalMs, 15_000);
  if (options.timeoutMs === undefined) return { interval, deadline: Infinity };
  return { interval, deadline: Date.now() + timerMs(owner, "timeoutMs", options.timeoutMs, 0) };
}

/**
 * `call` with the caller's signal and, when `deadline` is finite, one that fires at it: a request
 * hanging or retried past a helper's `timeoutMs` ends there, with `late()`'s error (`wait
 * --timeout 3` ran on for minutes against a server that never answered).
 */
export async function beforeDeadline<T, O extends { signal?: AbortSignal }>(
  call: (options: O) => Promise<T>,
  options: O,
  deadline: number,
  late: () => Error,
): Promise<T> {
  if (deadline === Infinity) return await call(options);
  const left = deadline - Date.now();
  if (left <= 0) throw late();
  const timer = AbortSignal.timeout(left);
  const signal = options.signal ? AbortSignal.any([options.signal, timer]) : timer;
  try {
    return await call({ ...options, signal });
  } catch (e) {
    if (timer.aborted && !options.signal?.aborted) throw late();
    throw e;
  }
}

/** Runs at most `n` of the given calls at once. */
export function limiter(n: number): <T>(call: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(call: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await call();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}
