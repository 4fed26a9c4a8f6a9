import type { Update } from '../update.js';
import { StoreConfigError } from './errors.js';
import type { Retention } from './store.js';

/**
 * History kept when nothing else is configured: 1,000 updates per topic, 64 MiB in all, at most one
 * hour old.
 *
 * Why these numbers: history serves reconnecting subscribers (`Last-Event-ID`), and an
 * `EventSource` reconnects within seconds (its default retry is a few seconds; Herald's hub sends
 * a retry hint on shutdown), so a resume needs minutes of history, not days. An hour covers a laptop
 * lid closed over lunch. 1,000 updates bound the memory store at roughly 1,000 x (payload + ~200 bytes)
 * — about 1.2 MB for 1 KB payloads — and match the 1,000 queued updates at which Mercure drops a slow
 * subscriber: a subscriber further behind than that is cut anyway. Counting per topic, a hub of
 * many topics would keep 1,000 of each: 64 MiB bounds the whole (about 100,000 updates of 400
 * bytes; `bench/history` measures ~1.3 KB of heap per kept 1 KB update), what a small server spares
 * for history. Durable stores (SQLite, Redis) can keep more; raise both there.
 */
export const DEFAULT_RETENTION: Readonly<Required<Retention>> = Object.freeze({
  maxCount: 1000,
  maxAgeMs: 3_600_000,
  maxBytes: 64 * 1024 * 1024,
});

/**
 * Bookkeeping counted per kept update on top of its strings: its slots in the store's index (ring
 * columns, topic queue, ID map), measured by `bench/history` (with the update object) at about 200
 * bytes (270 before the index held positions instead of an object per update); kept at 250.
 */
export const UPDATE_OVERHEAD_BYTES = 250;

/**
 * The size an update counts for against `Retention.maxBytes` in the memory store: the length of
 * its strings (ID, topics, type, key, data) plus `UPDATE_OVERHEAD_BYTES`, one byte per character
 * (V8 keeps ASCII strings at one byte each). SQLite and Redis count what they store: the ID and the
 * encoded body (a few bytes of JSON more), plus the same overhead.
 */
export function updateBytes(update: Update): number {
  let size = UPDATE_OVERHEAD_BYTES + update.id.length + update.data.length;
  for (let i = 0; i < update.topics.length; i++) size += update.topics[i].length;
  if (update.type !== undefined) size += update.type.length;
  if (update.key !== undefined) size += update.key.length;
  return size;
}

/** Checks a retention once, at construction. */
export function checkRetention(retention: Retention): Required<Retention> {
  const { maxCount, maxAgeMs, maxBytes = DEFAULT_RETENTION.maxBytes } = retention ?? ({} as Retention);
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
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new StoreConfigError(
      `retention.maxBytes must be a non-negative integer of bytes (got ${String(maxBytes)}); ` +
        `use e.g. ${DEFAULT_RETENTION.maxBytes} for 64 MiB, or 0 for no byte limit`,
    );
  }
  return { maxCount, maxAgeMs, maxBytes };
}

/** Normalizes an `after()` limit: a non-negative number; `Infinity` means no limit. */
export function checkLimit(limit: number): number {
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0) {
    throw new RangeError(`after() limit must be a non-negative number (got ${String(limit)})`);
  }
  return Math.floor(limit);
}
