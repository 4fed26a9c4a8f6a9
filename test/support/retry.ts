/**
 * A bounded retry for tests that wait on something outside the process (a port freed, a worker
 * replaced, a list that converges): never a loop without an end. The bound is generous (a busy
 * machine is slow, not broken) and the failure names what was awaited and the last error.
 */

/**
 * Calls `attempt` until it returns something other than `undefined`, waiting `everyMs` between
 * calls; rejects naming `what` (a function: read at that moment) once `ms` have passed. A throwing attempt counts as "not yet".
 */
export async function retryUntil<T>(
  attempt: () => Promise<T | undefined> | T | undefined,
  what: string | (() => string),
  { ms = 60_000, everyMs = 20 }: { ms?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + ms;
  let tries = 0;
  let lastError: unknown;
  for (;;) {
    tries++;
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? '' : `; last error: ${String(lastError)}`;
      const named = typeof what === 'string' ? what : what();
      throw new Error(`never happened within ${ms} ms (${tries} tries): ${named}${cause}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** How long a test helper waits for one event, frame or answer before it fails, naming it. */
export const WAIT_BOUND_MS = 60_000;

/**
 * `promise`, or a rejection naming `what` once `ms` passed: a bound on a wait, not a timing check.
 * The timer does not keep the process alive and is cleared once `promise` settles.
 */
export function bounded<T>(
  promise: Promise<T>,
  what: string | (() => string),
  ms = WAIT_BOUND_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`still waiting after ${ms} ms: ${typeof what === 'string' ? what : what()}`));
    }, ms);
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
