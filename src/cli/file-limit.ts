/**
 * How many connections one `herald serve` process can hold, from its open-file limit. Every socket
 * is a file descriptor; with no cap, one address opened 20,000 streams, took every descriptor, and
 * new clients were reset at `accept` with nothing said. The hub instead refuses subscribers past
 * a cap below the limit with 503 and `Retry-After` while it still can answer, and the listener's
 * `maxConnections`, a little higher, drops sockets past it at once rather than letting `accept` fail.
 */
import { readFileSync } from 'node:fs';

/** Assumed when the limit cannot be read (not Linux): the common default soft limit. */
export const DEFAULT_OPEN_FILE_LIMIT = 1024;

/**
 * The soft limit on open files of this process (`ulimit -n`), read from `/proc/self/limits`: Node
 * has no API for `getrlimit`. `DEFAULT_OPEN_FILE_LIMIT` when it cannot be read; Infinity for
 * "unlimited".
 */
export function openFileLimit(limitsText?: string): number {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return DEFAULT_OPEN_FILE_LIMIT;
    }
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
  const value = Number(soft);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_OPEN_FILE_LIMIT;
}

export interface ConnectionCaps {
  /** Long-lived connections (subscribers) the hub admits; past it, 503 with `Retry-After`. */
  subscribers: number;
  /** Sockets the listener keeps (`server.maxConnections`); past it, closed at once. */
  sockets: number;
}

/**
 * Caps for a process limited to `limit` open files. A tenth of the limit, at least 64 and at most
 * 512, stays free for the store, logs, publishes, `/healthz` and the 503 answers themselves; the
 * listener's last resort sits halfway into that reserve. The upper bound keeps a large limit for
 * subscribers: those few descriptors never need thousands (at 20,000 a tenth would refuse the
 * 18,001st subscriber of a process that can hold 19,000 and more).
 */
export function connectionCaps(limit: number): ConnectionCaps | undefined {
  if (!Number.isFinite(limit)) return undefined;
  const reserve = Math.min(512, Math.max(64, Math.ceil(limit / 10)));
  const subscribers = Math.max(1, limit - reserve);
  const sockets = Math.max(subscribers + 1, limit - Math.ceil(reserve / 2));
  return { subscribers, sockets };
}
