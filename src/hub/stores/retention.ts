import { StoreConfigError } from './errors.js';
import type { Retention } from './store.js';

/**
 * History kept when nothing else is configured: 1,000 updates, at most one hour old.
 *
 * Why these numbers: history serves reconnecting subscribers (`Last-Event-ID`), and an
 * `EventSource` reconnects within seconds (its default retry is a few seconds; Herald's hub sends
 * a retry hint on shutdown), so a resume needs minutes of history, not days. An hour covers a laptop
 * lid closed over lunch. 1,000 updates bound the memory store at roughly 1,000 x (payload + ~200 bytes)
 * — about 1.2 MB for 1 KB payloads — and match the 1,000 queued updates at which Mercure drops a slow
 * subscriber: a subscriber further behind than that is cut anyway. Durable stores (SQLite, Redis)
 * can keep more; raise `maxCount` there.
 */
export const DEFAULT_RETENTION: Readonly<Retention> = Object.freeze({ maxCount: 1000, maxAgeMs: 3_600_000 });

/** Checks a retention once, at construction. */
export function checkRetention(retention: Retention): Retention {
  const { maxCount, maxAgeMs } = retention ?? ({} as Retention);
  if (!Number.isSafeInteger(maxCount) || maxCount < 0) {
    throw new StoreConfigError(
      `retention.maxCount must be a non-negative integer (got ${String(maxCount)}); ` +
        `use e.g. ${DEFAULT_RETENTION.maxCount}, or 0 to keep no history`,
    );
  }
  if (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 0) {
    throw new StoreConfigError(
      `retention.maxAgeMs must be a non-negative integer of milliseconds (got ${String(maxAgeMs)}); ` +
        `use e.g. ${DEFAULT_RETENTION.maxAgeMs} for one hour, or 0 for no age limit`,
    );
  }
  return { maxCount, maxAgeMs };
}

/** Normalizes an `after()` limit: a non-negative number; `Infinity` means no limit. */
export function checkLimit(limit: number): number {
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0) {
    throw new RangeError(`after() limit must be a non-negative number (got ${String(limit)})`);
  }
  return Math.floor(limit);
}
