/**
 * A `Store` for a cluster worker: every call goes to the primary, which owns the real store, over
 * the worker's IPC channel; `subscribe` listeners fire on the updates the primary relays (those
 * appended by any worker, this one included, once each and in append order).
 */
import { DuplicateUpdateIdError, StoreClosedError, StoreUnavailableError } from '../stores/errors.js';
import { type ListenerErrorHandler, ListenerSet } from '../stores/listeners.js';
import type { Store } from '../stores/store.js';
import type { Presence, SubscriberRecord } from '../subscribers/presence.js';
import type { Update } from '../update.js';
import {
  type Batch,
  type GroupCallRequest,
  type IpcPort,
  isHeraldMessage,
  type MetricJson,
  type MetricsRequest,
  type Note,
  type Outbox,
  type Request,
  type WireError,
} from './messages.js';
import { streamErrorFromWire } from './resumable-wire.js';

// A distributive Omit, so that each request kind keeps its own fields.
type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'seq'> : never) : never;

/** How long a worker waits for the primary's answer to a request, by default. */
export const DEFAULT_PRIMARY_TIMEOUT_MS = 10_000;
/**
 * Requests that may wait for the primary at once; past it new ones fail at once (503) rather than
 * pile up while the primary does not keep up.
 */
export const MAX_PENDING_REQUESTS = 10_000;

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** `Date.now()` past which the request fails. */
  deadline: number;
  kind: Request['herald'];
}

/** The worker's end of the channel to the primary: requests, replies and relayed updates. */
export class PrimaryConnection {
  readonly #port: IpcPort;
  /** In `seq` order, hence in deadline order: the sweep stops at the first one still in time. */
  readonly #pending = new Map<number, Waiter>();
  #timeoutMs = DEFAULT_PRIMARY_TIMEOUT_MS;
  /** One timer for every waiting request, running only while some wait (not one per request). */
  #sweeper: NodeJS.Timeout | null = null;
  readonly #sweep = () => {
    const now = Date.now();
    for (const [seq, waiter] of this.#pending) {
      if (waiter.deadline > now) break;
      this.#pending.delete(seq);
      waiter.reject(
        new StoreUnavailableError(
          `the cluster primary did not answer "${waiter.kind}" within ${this.#timeoutMs} ms; it is stalled or overloaded`,
        ),
      );
    }
    if (this.#pending.size === 0) this.#stopSweeper();
  };
  readonly #listeners: ListenerSet;
  readonly #stop: () => void;
  #seq = 0;
  #lost: Error | undefined;
  /** Requests and notes of this event-loop turn, sent as one message (see `Outbox`). */
  #outbox: (Request | Note)[] = [];
  readonly #flush = () => {
    const items = this.#outbox;
    this.#outbox = [];
    if (this.#lost === undefined && items.length > 0)
      this.#port.send({ herald: 'outbox', items } satisfies Outbox);
  };

  constructor(port: IpcPort, onListenerError?: ListenerErrorHandler) {
    this.#port = port;
    this.#listeners = new ListenerSet(onListenerError);
    this.#stop = port.onMessage((message) => {
      if (!isHeraldMessage(message)) return;
      if (message.herald === 'batch') this.#receive(message as Batch);
      else if (message.herald === 'metrics-request') this.#report((message as MetricsRequest).id);
      else if (message.herald === 'group-call-request') this.#runGroupCall(message as GroupCallRequest);
    });
  }

  /** What this worker runs when a group call names it (`WorkerLink.onGroupCall`). */
  readonly groupHandlers = new Map<string, () => Promise<unknown> | unknown>();

  #runGroupCall({ id, name }: GroupCallRequest): void {
    const handler = this.groupHandlers.get(name);
    Promise.resolve()
      .then(() => handler?.())
      .then(
        (value) => this.notify({ herald: 'group-call-report', id, value }),
        () => this.notify({ herald: 'group-call-report', id, value: undefined }),
      );
  }

  /** What this worker reports when the primary gathers the group's metrics; none by default. */
  metricsSource: (() => Promise<MetricJson[]>) | undefined;

  /** Called with each followed resumable stream the primary reports changed (see `Batch.streams`). */
  streamChanged: ((streamId: string) => void) | undefined;

  #report(id: number): void {
    const source = this.metricsSource;
    (source === undefined ? Promise.resolve([]) : source()).then(
      (metrics) => this.notify({ herald: 'metrics-report', id, metrics }),
      () => this.notify({ herald: 'metrics-report', id, metrics: [] }),
    );
  }

  /** Requests still waiting for their reply. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Sets how long a request waits for its answer (ms; 0 waits forever), for requests made afterwards. */
  set timeoutMs(ms: number) {
    this.#timeoutMs = ms;
  }

  request(body: RequestBody): Promise<unknown> {
    if (this.#lost !== undefined) return Promise.reject(this.#lost);
    if (this.#pending.size >= MAX_PENDING_REQUESTS) {
      return Promise.reject(
        new StoreUnavailableError(
          `${this.#pending.size} requests already wait for the cluster primary (the bound is ${MAX_PENDING_REQUESTS}); it is not keeping up`,
        ),
      );
    }
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timeout = this.#timeoutMs;
      this.#pending.set(seq, {
        resolve,
        reject,
        deadline: timeout > 0 ? Date.now() + timeout : Number.POSITIVE_INFINITY,
        kind: body.herald,
      });
      this.#queue({ ...body, seq } as Request);
      if (this.#sweeper === null && timeout > 0) {
        // A quarter of the timeout: a request fails between 1 and 1.25 times it.
        this.#sweeper = setInterval(this.#sweep, Math.max(1, this.#timeoutMs >> 2));
        this.#sweeper.unref();
      }
    });
  }

  #stopSweeper(): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }

  notify(note: Note): void {
    if (this.#lost === undefined) this.#queue(note);
  }

  #queue(item: Request | Note): void {
    if (this.#outbox.length === 0) setImmediate(this.#flush);
    this.#outbox.push(item);
  }

  subscribe(listener: (update: Update) => void): () => void {
    return this.#listeners.add(listener);
  }

  /** The primary is gone: every waiting and later request fails with `StoreUnavailableError`. */
  lost(reason: string): void {
    this.#lost = new StoreUnavailableError(
      `the cluster primary is unreachable (${reason}); this worker will exit`,
    );
    for (const { reject } of this.#pending.values()) reject(this.#lost);
    this.#pending.clear();
    this.#stopSweeper();
  }

  close(): void {
    this.#stopSweeper();
    this.#stop();
    this.#listeners.clear();
  }

  #receive(batch: Batch): void {
    for (const update of batch.updates) this.#listeners.emit(update);
    if (batch.streams !== undefined && this.streamChanged !== undefined) {
      for (const id of batch.streams) this.streamChanged(id);
    }
    for (const reply of batch.replies) {
      const waiter = this.#pending.get(reply.seq);
      if (waiter === undefined) continue;
      this.#pending.delete(reply.seq);
      if (reply.error === undefined) waiter.resolve(reply.value);
      else waiter.reject(fromWire(reply.error));
    }
    if (this.#pending.size === 0) this.#stopSweeper();
  }
}

/** Rebuilds the store errors the hub tells apart (409 for a duplicate ID, 503 when unavailable). */
function fromWire(error: WireError): Error {
  if (error.code === 'HERALD_ERR_STORE_DUPLICATE_ID' && error.id !== undefined)
    return new DuplicateUpdateIdError(error.id);
  const streamError = streamErrorFromWire(error);
  if (streamError !== undefined) return streamError;
  return new StoreUnavailableError(`the primary's store failed: ${error.message}`);
}

/**
 * Creates the worker's store over a connection to the primary. Closing it does not close the
 * primary's store; it waits for this worker's pending calls, then refuses new ones.
 */
export function createIpcStore(connection: PrimaryConnection): Store {
  let closed = false;
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(operation: string, body: RequestBody): Promise<T> => {
    if (closed) return Promise.reject(new StoreClosedError(operation));
    const call = connection.request(body);
    inFlight.add(call);
    const done = () => inFlight.delete(call);
    call.then(done, done);
    return call as Promise<T>;
  };
  const unsubscribers = new Set<() => void>();
  return {
    async append(update) {
      await track('append', { herald: 'append', update });
    },
    after(lastEventId, limit) {
      // JSON cannot carry Infinity; -1 stands for "no limit" on the wire.
      return track('read history', { herald: 'after', lastEventId, limit: limit === Infinity ? -1 : limit });
    },
    async lastId() {
      return (await track<string | null | undefined>('read history', { herald: 'lastId' })) ?? undefined;
    },
    // The primary answers after relaying every update its store held when it read the answer
    // (a batch carries updates before replies): every update up to it reached this worker first.
    async newestPublicId() {
      return (
        (await track<string | null | undefined>('read history', { herald: 'newestPublicId' })) ?? undefined
      );
    },
    subscribe(listener) {
      if (closed) throw new StoreClosedError('subscribe');
      const stop = connection.subscribe(listener);
      unsubscribers.add(stop);
      return () => {
        unsubscribers.delete(stop);
        stop();
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(inFlight);
      for (const stop of unsubscribers) stop();
      unsubscribers.clear();
    },
  };
}

/** The subscriptions API's view across workers: each worker reports its own, the primary lists all. */
export function createIpcPresence(connection: PrimaryConnection): Presence {
  const local = new Set<string>();
  return {
    join(record: SubscriberRecord) {
      local.add(record.id);
      connection.notify({ herald: 'presence-join', record });
    },
    leave(id: string) {
      local.delete(id);
      connection.notify({ herald: 'presence-leave', id });
    },
    async list() {
      return (await connection.request({ herald: 'presence-list' })) as SubscriberRecord[];
    },
    async close() {
      for (const id of local) connection.notify({ herald: 'presence-leave', id });
      local.clear();
    },
  };
}
