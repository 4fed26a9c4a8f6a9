/**
 * Repeated errors, logged once per interval: while Redis is down every refused publish fails the
 * same way, and a full line with a stack for each (about 1 KB) would flood the logs with copies of
 * one fact. The first occurrence of a kind is logged in full; the repeats within the interval are
 * counted, and one line per interval gives the count, until an interval passes without any.
 * As eventsource-parser reports repeated anomalies: once, with a count (STYLE.md).
 */

/** The part of a pino logger this uses. */
export interface ErrorLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** How long repeats of one kind are counted before their count is logged. */
export const DEFAULT_REPEAT_INTERVAL_MS = 10_000;

interface Window {
  /** Repeats counted since the window opened (the first occurrence not included). */
  repeats: number;
  timer: NodeJS.Timeout;
  level: 'warn' | 'error';
  kind: string;
  message: string;
}

/**
 * Logs through `logger`, one full line per kind of error per interval.
 *
 * @example
 * const errors = new RepeatedErrors(logger);
 * errors.log('error', error, { url: req.url }, 'hub request failed');
 */
export class RepeatedErrors {
  readonly #logger: ErrorLogger;
  readonly #intervalMs: number;
  readonly #windows = new Map<string, Window>();

  constructor(logger: ErrorLogger, intervalMs: number = DEFAULT_REPEAT_INTERVAL_MS) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  /**
   * Logs `message` with `error` as `err` if it is the first of its kind (the message and the error's
   * `code`, else its name) in the current interval; otherwise counts it. At the end of an interval
   * with repeats, one line: `<message> (N more like it in the last S s)`, with `repeated: N` and the
   * error's code, and a new interval starts.
   */
  log(level: 'warn' | 'error', error: unknown, details: object, message: string): void {
    const code = (error as { code?: unknown } | null)?.code;
    const kind = typeof code === 'string' ? code : ((error as Error | null)?.name ?? 'Error');
    const key = `${level}\u0000${message}\u0000${kind}`;
    const window = this.#windows.get(key);
    if (window !== undefined) {
      window.repeats++;
      return;
    }
    this.#logger[level]({ ...details, err: error }, message);
    this.#open(key, level, kind, message);
  }

  /** Stops the timers, logging the counts not yet logged. */
  close(): void {
    for (const window of this.#windows.values()) {
      clearTimeout(window.timer);
      this.#report(window);
    }
    this.#windows.clear();
  }

  #open(key: string, level: 'warn' | 'error', kind: string, message: string): void {
    const timer = setTimeout(() => {
      const ended = this.#windows.get(key);
      this.#windows.delete(key);
      // Still failing: keep counting, one line per interval.
      if (ended !== undefined && this.#report(ended)) this.#open(key, level, kind, message);
    }, this.#intervalMs);
    // Counting must never keep a process alive.
    timer.unref();
    this.#windows.set(key, { repeats: 0, timer, level, kind, message });
  }

  /** Logs a window's count, if any; returns whether there was one. */
  #report({ repeats, level, kind, message }: Window): boolean {
    if (repeats === 0) return false;
    this.#logger[level](
      { repeated: repeats, code: kind, intervalMs: this.#intervalMs },
      `${message} (${repeats} more like it in the last ${Math.round(this.#intervalMs / 1000)} s)`,
    );
    return true;
  }
}
