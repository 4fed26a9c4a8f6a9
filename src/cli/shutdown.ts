/**
 * Graceful shutdown: on SIGTERM (what orchestrators send) or SIGINT (Ctrl-C), stop accepting, let
 * the hub end every stream with a `retry:` hint so subscribers come back to another instance or to
 * this one restarted, close the store, and exit 0. A drain that outlives its deadline, or a second
 * signal, ends the process at once with status 1.
 */
import type { Logger } from 'pino';

/** Returns the function that starts the shutdown (idempotent); the process exits when it ends. */
export function createShutdown(
  logger: Logger,
  deadlineMs: number,
  drain: (reason: string) => Promise<boolean | undefined>,
): (reason: string) => void {
  let started = false;
  return (reason) => {
    if (started) return;
    started = true;
    logger.info({ reason, deadlineMs }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown deadline passed; exiting now');
      process.exit(1);
    }, deadlineMs);
    force.unref();
    drain(reason).then(
      (inTime) => {
        clearTimeout(force);
        logger.info({}, inTime === false ? 'stopped (some work cut short)' : 'stopped');
        process.exit(inTime === false ? 1 : 0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
}

/**
 * Calls `shutdown` on each of `signals`; a second signal while draining exits at once (status 1),
 * for the impatient Ctrl-C.
 */
export function onSignals(
  signals: readonly NodeJS.Signals[],
  logger: Logger,
  shutdown: (reason: string) => void,
): void {
  let received = false;
  for (const signal of signals) {
    process.on(signal, () => {
      if (received) {
        logger.warn({ signal }, 'second signal; exiting without draining');
        process.exit(1);
      }
      received = true;
      shutdown(signal);
    });
  }
}
