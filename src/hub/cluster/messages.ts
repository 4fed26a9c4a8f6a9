/**
 * The messages between a cluster primary and its workers. Every message carries `herald` (its kind)
 * so that other IPC traffic on the same channel is ignored. Node's IPC channel serializes each
 * message as JSON and keeps order per worker; the relay relies on that order.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { SubscriberRecord } from '../subscribers/presence.js';
import type { Update } from '../update.js';

/** One end of an IPC channel: `process` in a worker, a `cluster.Worker` in the primary. */
export interface IpcPort {
  /**
   * Sends a message. `onWritten`, when given, is called once the message left this process (or
   * could not be sent): until then it sits in the channel's queue, in this process's memory.
   */
  send(message: unknown, onWritten?: () => void): void;
  /** Listens to messages; returns the function that stops listening. */
  onMessage(listener: (message: unknown) => void): () => void;
}

/** A request a worker makes; answered by one `Reply` with the same `seq`. */
export type Request =
  | { herald: 'append'; seq: number; update: Update }
  | { herald: 'after'; seq: number; lastEventId: string; limit: number }
  | { herald: 'lastId'; seq: number }
  /** The newest kept public update's ID (the primary's store, see `stores/newest-public.ts`). */
  | { herald: 'newestPublicId'; seq: number }
  | { herald: 'presence-list'; seq: number }
  /** The whole group's metrics, as Prometheus text (a worker serving `/metrics`). */
  | { herald: 'metrics'; seq: number }
  /** A call on the primary's resumable-stream store: `op` is the method, `args` its arguments. */
  | { herald: 'rs'; seq: number; op: ResumableOp; args: unknown[] }
  /** Runs the action `name` in every worker (see `GroupCallRequest`); answered with their values. */
  | { herald: 'group-call'; seq: number; name: string };

/** The resumable-store methods a worker calls on the primary (`watch` goes by notes). */
export type ResumableOp = 'create' | 'append' | 'finish' | 'abortIfIdle' | 'touch' | 'read';

/** Fire-and-forget notes from a worker. */
export type Note =
  | { herald: 'presence-join'; record: SubscriberRecord }
  | { herald: 'presence-leave'; id: string }
  /** A worker's answer to a `MetricsRequest`: its registries, as `getMetricsAsJSON()` gives them. */
  | { herald: 'metrics-report'; id: number; metrics: MetricJson[] }
  /** A worker starts (or stops) following a resumable stream: the primary tells it of changes. */
  | { herald: 'rs-watch'; id: string }
  | { herald: 'rs-unwatch'; id: string }
  /** A worker's answer to a `GroupCallRequest`: its handler's value (undefined without a handler). */
  | { herald: 'group-call-report'; id: number; value: unknown };

/** One metric as prom-client's `Registry.getMetricsAsJSON()` gives it. */
export type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** Sent by the primary to every worker to gather the group's metrics; answered by `metrics-report`. */
export interface MetricsRequest {
  herald: 'metrics-request';
  id: number;
}

/**
 * Sent by the primary to every worker when one asked for a group call: each runs its handler for
 * `name` (`WorkerLink.onGroupCall`) and answers with a `group-call-report`.
 */
export interface GroupCallRequest {
  herald: 'group-call-request';
  id: number;
  name: string;
}

/**
 * What a worker sends, at most once per event-loop turn: its requests and notes of that turn, in
 * order. One IPC write for many publishes is what keeps the relay cheap under load.
 */
export interface Outbox {
  herald: 'outbox';
  items: (Request | Note)[];
}

/** An error crossing the channel: enough to rebuild the store error classes the hub tells apart. */
export interface WireError {
  code: string | undefined;
  message: string;
  /** The duplicate ID of `HERALD_ERR_STORE_DUPLICATE_ID`. */
  id?: string;
  /** A resumable-stream error's fields (stream ID, limit, counts), to rebuild it in the worker. */
  stream?: Record<string, string | number>;
}

export type Reply = { seq: number; value?: unknown; error?: WireError };

/**
 * What the primary sends a worker, at most once per event-loop turn: the updates appended since
 * the last batch (to every worker), then the replies for this worker. Updates first, so that a
 * worker's `append` resolves after its listeners saw the update, as with a store in-process.
 */
export interface Batch {
  herald: 'batch';
  updates: Update[];
  replies: Reply[];
  /** Resumable streams this worker follows that changed (grew or finished) since the last batch. */
  streams?: string[];
}

/** Sent by the primary to every worker to make it drain and exit. */
export interface Shutdown {
  herald: 'shutdown';
  /** Reconnection delay to send subscribers, in ms. */
  retryMs: number;
}

/**
 * A worker's first message, once it listens: Node drops messages that reach a process before it
 * has a `message` listener, so the primary waits for this before sending anything.
 */
export interface Hello {
  herald: 'hello';
}

/**
 * A worker's last message when it cannot start (a port in use, a bad certificate): the cause, as the
 * CLI words it, so that the primary can stop the group with it rather than restart the worker forever.
 */
export interface StartupFailed {
  herald: 'startup-failed';
  reason: string;
}

/** The primary's first message to a new worker, in answer to its `Hello`: what it needs to run. */
export interface WorkerSetup<T> {
  herald: 'setup';
  config: T;
  /** The worker's slot, 0 to N-1; a replacement worker takes the slot of the one it replaces. */
  slot: number;
  /** How long the worker waits for the primary to answer a request before failing it, in ms. */
  requestTimeoutMs?: number;
  /**
   * Whether the worker listens on a socket of its own (`SO_REUSEPORT`, see `reuse-port.ts`) rather
   * than on the primary's shared one (round-robin).
   */
  reusePort?: boolean;
}

/**
 * A worker's word that it listens. node:cluster reports this itself only for listeners it shares
 * through the primary, not for a worker's own `SO_REUSEPORT` socket, so the worker says it.
 */
export interface Listening {
  herald: 'listening';
  address: string;
  port: number;
}

export function isHeraldMessage(message: unknown): message is { herald: string } {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { herald?: unknown }).herald === 'string'
  );
}
