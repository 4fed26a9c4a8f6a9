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
