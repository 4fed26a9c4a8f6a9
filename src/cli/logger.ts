/** The hub's logs: pino, one JSON object per line on stdout, level from `--log-level`. */
import { type Logger, pino } from 'pino';

/** Creates the process logger. `bindings` go on every line (`worker` in a cluster worker). */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } });
}
