/**
 * The primary's side of the worker store: it owns the real store, answers the workers' requests,
 * and relays every appended update to every worker, once, in append order.
 *
 * Each update goes out in one message per worker per event-loop turn (a `Batch`), together with
 * that worker's replies: under load, many updates share one IPC write, which is what makes the
 * relay cheap (one JSON serialization and one write per worker per turn, not per update).
 */
import type { Store } from '../stores/store.js';
import type { SubscriberRecord } from '../subscribers/presence.js';
import type { Update } from '../update.js';
import {
  type Batch,
  type IpcPort,
  isHeraldMessage,
  type Note,
  type Outbox,
  type Reply,
  type Request,
  type WireError,
} from './messages.js';

interface Attached {
  port: IpcPort;
  replies: Reply[];
  detach: () => void;
  /** Subscribers this worker reported, for the subscriptions API. */
  presence: Map<string, SubscriberRecord>;
}

/** The relay between one real store and the workers attached to it. */
export interface StoreRelay {
  /** Starts serving a worker's channel. `key` names the worker (its cluster id). */
  attach(key: string | number, port: IpcPort): void;
  /** Stops serving a worker (it exited); its subscribers leave the presence list. */
  detach(key: string | number): void;
  /** Updates relayed so far (each counted once, whatever the number of workers). */
  readonly relayed: number;
  /** Stops relaying; does not close the store (its owner does). */
  close(): void;
}

export function createStoreRelay(store: Store): StoreRelay {
  const workers = new Map<string | number, Attached>();
  let pending: Update[] = [];
  let scheduled = false;
  let relayed = 0;

  const flush = () => {
    scheduled = false;
    const updates = pending;
    pending = [];
    relayed += updates.length;
    for (const worker of workers.values()) {
      if (updates.length === 0 && worker.replies.length === 0) continue;
      const batch: Batch = { herald: 'batch', updates, replies: worker.replies };
      worker.replies = [];
      worker.port.send(batch);
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  const stopListening = store.subscribe((update) => {
    pending.push(update);
    schedule();
  });

  const answer = (worker: Attached, seq: number, work: Promise<unknown>) => {
    work
      .then(
        (value) => worker.replies.push(value === undefined ? { seq } : { seq, value }),
        (error: unknown) => worker.replies.push({ seq, error: toWire(error) }),
      )
      .finally(schedule);
  };

  const serve = (worker: Attached, message: Request | Note) => {
    switch (message.herald) {
      case 'append':
        return answer(worker, message.seq, store.append(message.update));
      case 'after':
        // JSON has no Infinity: the worker sends -1 for "no limit".
        return answer(
          worker,
          message.seq,
          store.after(message.lastEventId, message.limit < 0 ? Infinity : message.limit),
        );
      case 'lastId':
        return answer(worker, message.seq, store.lastId());
      case 'presence-list': {
        const all: SubscriberRecord[] = [];
        for (const w of workers.values()) all.push(...w.presence.values());
        return answer(worker, message.seq, Promise.resolve(all));
      }
      case 'presence-join':
        worker.presence.set(message.record.id, message.record);
        return;
      case 'presence-leave':
        worker.presence.delete(message.id);
        return;
    }
  };

  return {
    attach(key, port) {
      const worker: Attached = { port, replies: [], presence: new Map(), detach: () => {} };
      worker.detach = port.onMessage((message) => {
        if (isHeraldMessage(message) && message.herald === 'outbox') {
          for (const item of (message as Outbox).items) serve(worker, item);
        }
      });
      workers.set(key, worker);
    },
    detach(key) {
      workers.get(key)?.detach();
      workers.delete(key);
    },
    get relayed() {
      return relayed;
    },
    close() {
      stopListening();
      for (const worker of workers.values()) worker.detach();
      workers.clear();
    },
  };
}

function toWire(error: unknown): WireError {
  const code = (error as { code?: unknown })?.code;
  const wire: WireError = {
    code: typeof code === 'string' ? code : undefined,
    message: error instanceof Error ? error.message : String(error),
  };
  const id = (error as { id?: unknown })?.id;
  if (typeof id === 'string') wire.id = id;
  return wire;
}
