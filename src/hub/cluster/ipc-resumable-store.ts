/**
 * A `ResumableStore` for a cluster worker: every call goes to the primary, which owns the real
 * store (memory or SQLite), so that every worker serves the same streams: a producer's appends
 * through one worker are read through any other. Watching goes by notes: the primary reports the
 * followed streams that changed in its next batch to this worker; readers also poll, so a lost
 * report only delays them.
 */
import type { ResumableStore, StreamInfo, StreamPage } from '../../server/index.js';
import { StoreClosedError } from '../stores/errors.js';
import type { PrimaryConnection } from './ipc-store.js';
import type { ResumableOp } from './messages.js';

/**
 * Creates the worker's resumable store over its connection to the primary. Closing it does not
 * close the primary's store; it waits for this worker's pending calls, then refuses new ones.
 */
export function createIpcResumableStore(connection: PrimaryConnection): ResumableStore {
  let closed = false;
  const inFlight = new Set<Promise<unknown>>();
  /** Listeners by stream ID; the primary is told to report a stream while it has one. */
  const watchers = new Map<string, Set<() => void>>();
  connection.streamChanged = (id) => {
    const listeners = watchers.get(id);
    if (listeners !== undefined) for (const listener of [...listeners]) listener();
  };
  const call = <T>(op: ResumableOp, args: unknown[]): Promise<T> => {
    if (closed) return Promise.reject(new StoreClosedError('use resumable streams'));
    const request = connection.request({ herald: 'rs', op, args });
    inFlight.add(request);
    const done = () => inFlight.delete(request);
    request.then(done, done);
    return request as Promise<T>;
  };
  return {
    create: (streamId, tag, options) => call<StreamInfo>('create', [streamId, tag, options ?? {}]),
    append: (streamId, chunks, bytes, maxStreamBytes, options) =>
      call<number>('append', [streamId, chunks, bytes, maxStreamBytes, options ?? {}]),
    finish: (streamId, state, reason, expireAfterMs) =>
      // JSON has no undefined in arrays: null stands for "no reason".
      call<StreamInfo>('finish', [streamId, state, reason ?? null, expireAfterMs]),
    abortIfIdle: (streamId, idleMs, reason, expireAfterMs) =>
      call<boolean>('abortIfIdle', [streamId, idleMs, reason, expireAfterMs]),
    touch: (streamId) => call<void>('touch', [streamId]),
    async read(streamId, after, limit) {
      const page = await call<{ chunks: string[]; info: StreamInfo | null }>('read', [
        streamId,
        after,
        limit,
      ]);
      return { chunks: page.chunks, info: page.info ?? undefined } satisfies StreamPage;
    },
    watch(streamId, listener) {
      let listeners = watchers.get(streamId);
      if (listeners === undefined) {
        listeners = new Set();
        watchers.set(streamId, listeners);
        connection.notify({ herald: 'rs-watch', id: streamId });
      }
      listeners.add(listener);
      return () => {
        const set = watchers.get(streamId);
        if (set === undefined || !set.delete(listener) || set.size > 0) return;
        watchers.delete(streamId);
        if (!closed) connection.notify({ herald: 'rs-unwatch', id: streamId });
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(inFlight);
      for (const id of watchers.keys()) connection.notify({ herald: 'rs-unwatch', id });
      watchers.clear();
      connection.streamChanged = undefined;
    },
  };
}

/**
 * The primary's side: runs one worker's call on the real store. `read` answers `info: null` for a
 * missing stream (JSON drops undefined fields, and the worker reads null back as undefined).
 */
export function runResumableOp(store: ResumableStore, op: ResumableOp, args: unknown[]): Promise<unknown> {
  const a = args as never[];
  switch (op) {
    case 'create':
      return store.create(a[0], a[1], a[2]);
    case 'append':
      return store.append(a[0], a[1], a[2], a[3], a[4]);
    case 'finish':
      return store.finish(a[0], a[1], (a[2] as string | null) ?? undefined, a[3]);
    case 'abortIfIdle':
      return store.abortIfIdle(a[0], a[1], a[2], a[3]);
    case 'touch':
      return store.touch(a[0]);
    case 'read':
      return store.read(a[0], a[1], a[2]).then((page) => ({ chunks: page.chunks, info: page.info ?? null }));
    default:
      return Promise.reject(new Error(`unknown resumable store operation ${JSON.stringify(op)}`));
  }
}
