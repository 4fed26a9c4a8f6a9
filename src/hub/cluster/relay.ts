/**
 * The primary's side of the worker store: it owns the real store, answers the workers' requests,
 * and relays every appended update to every worker, once, in append order.
 *
 * Each update goes out in one message per worker per event-loop turn (a `Batch`), together with
 * that worker's replies: under load, many updates share one IPC write, which is what makes the
 * relay cheap (one JSON serialization and one write per worker per turn, not per update).
 */
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { ResumableStore } from '../../server/index.js';
import { processRegistry } from '../metrics/hub-metrics.js';
import { newestPublicId } from '../stores/newest-public.js';
import type { Store } from '../stores/store.js';
import type { SubscriberRecord } from '../subscribers/presence.js';
import type { Update } from '../update.js';
import { runResumableOp } from './ipc-resumable-store.js';
import {
  type Batch,
  type IpcPort,
  isHeraldMessage,
  type MetricJson,
  type Note,
  type Outbox,
  type Reply,
  type Request,
  type WireError,
} from './messages.js';
import { streamErrorFields } from './resumable-wire.js';

/**
 * How long a scrape waits for every worker's metrics. A worker that does not answer in time (busy,
 * stopped) is left out of that scrape and counted in `herald_cluster_workers_unreported`.
 */
export const METRICS_GATHER_MS = 2_000;

/**
 * What the primary may hold for one worker, sent but not yet taken by it (estimated bytes), by
 * default. Past it the worker counts as stalled: it is dropped from the relay and `onStalled` is
 * called (the cluster kills it; its replacement's subscribers resume from history).
 */
export const DEFAULT_MAX_WORKER_BACKLOG_BYTES = 64 * 1024 * 1024;

export interface StoreRelayOptions {
  /** See {@link DEFAULT_MAX_WORKER_BACKLOG_BYTES}. */
  maxWorkerBacklogBytes?: number;
  /** A worker went past the backlog bound; it is already detached. */
  onStalled?: (key: string | number, backlog: { bytes: number; messages: number }) => void;
  /**
   * The resumable-stream store the workers share (memory or SQLite, owned by the primary); without
   * it their calls fail. On Redis each worker opens its own and none is given here.
   */
  resumableStore?: ResumableStore;
}

interface Attached {
  key: string | number;
  port: IpcPort;
  /** Estimated bytes of the messages sent to it and not yet written to its channel. */
  backlogBytes: number;
  backlogMessages: number;
  /** The `worker` label of its metrics: its slot, kept by a replacement. */
  label: string;
  replies: Reply[];
  detach: () => void;
  /** Subscribers this worker reported, for the subscriptions API. */
  presence: Map<string, SubscriberRecord>;
  /** Resumable streams it follows: the function that stops watching each in the store. */
  watching: Map<string, () => void>;
  /** Followed streams that changed since its last batch. */
  changed: Set<string>;
}

/** The relay between one real store and the workers attached to it. */
export interface StoreRelay {
  /**
   * Starts serving a worker's channel. `key` names the worker (its cluster id); `label` is the
   * `worker` label of its metrics (default: the key).
   */
  attach(key: string | number, port: IpcPort, label?: string): void;
  /** Stops serving a worker (it exited); its subscribers leave the presence list. */
  detach(key: string | number): void;
  /** Updates relayed so far (each counted once, whatever the number of workers). */
  readonly relayed: number;
  /**
   * The group's metrics in the Prometheus text format: every worker's series with a `worker`
   * label (its slot), and the primary's own with `worker="primary"`.
   */
  metrics(): Promise<string>;
  /** Stops relaying; does not close the store (its owner does). */
  close(): void;
}

export function createStoreRelay(store: Store, options: StoreRelayOptions = {}): StoreRelay {
  const maxBacklog = options.maxWorkerBacklogBytes ?? DEFAULT_MAX_WORKER_BACKLOG_BYTES;
  const workers = new Map<string | number, Attached>();
  let pending: Update[] = [];
  let scheduled = false;
  let relayed = 0;
  let stalled = 0;

  // node:cluster's `send` never refuses: what a worker does not read piles up in this process. So
  // each message's size is estimated (without serializing twice) and counted until Node reports
  // it written; a worker whose count passes the bound is cut off rather than let it take the
  // primary's memory.
  const send = (worker: Attached, message: Batch, bytes: number) => {
    worker.backlogBytes += bytes;
    worker.backlogMessages++;
    worker.port.send(message, () => {
      worker.backlogBytes -= bytes;
      worker.backlogMessages--;
    });
    if (worker.backlogBytes > maxBacklog && workers.get(worker.key) === worker) {
      const backlog = { bytes: worker.backlogBytes, messages: worker.backlogMessages };
      stalled++;
      detach(worker.key);
      options.onStalled?.(worker.key, backlog);
    }
  };

  const flush = () => {
    scheduled = false;
    const updates = pending;
    pending = [];
    relayed += updates.length;
    let updatesBytes = 0;
    for (const update of updates) updatesBytes += estimateUpdate(update);
    for (const worker of workers.values()) {
      if (updates.length === 0 && worker.replies.length === 0 && worker.changed.size === 0) continue;
      const batch: Batch = { herald: 'batch', updates, replies: worker.replies };
      let bytes = updatesBytes + 32;
      if (worker.changed.size > 0) {
        batch.streams = [...worker.changed];
        worker.changed.clear();
        for (const id of batch.streams) bytes += id.length + 3;
      }
      for (const reply of worker.replies) bytes += estimateReply(reply);
      worker.replies = [];
      send(worker, batch, bytes);
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  // The primary's own series: the relay's counters and this process's CPU and memory.
  const registry = new Registry();
  new Gauge({
    name: 'herald_cluster_workers',
    help: 'Workers attached to the primary.',
    registers: [registry],
    collect() {
      this.set(workers.size);
    },
  });
  new Counter({
    name: 'herald_cluster_workers_stalled_total',
    help: 'Workers cut off because they left more than the backlog bound unread on their channel.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stalled);
    },
  });
  new Gauge({
    name: 'herald_cluster_backlog_bytes',
    help: 'Estimated bytes sent to the workers and not yet written to their channels, all workers.',
    registers: [registry],
    collect() {
      let bytes = 0;
      for (const worker of workers.values()) bytes += worker.backlogBytes;
      this.set(bytes);
    },
  });
  new Counter({
    name: 'herald_cluster_relayed_updates_total',
    help: 'Updates the primary relayed to its workers (each counted once).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(relayed);
    },
  });
  const unreported = new Gauge({
    name: 'herald_cluster_workers_unreported',
    help: 'Workers whose metrics did not arrive in time for this scrape (left out of it).',
    registers: [registry],
  });
  const gatherings = new Map<number, Gathering>();
  let gatheringSeq = 0;
  const groupCalls = new Map<number, GroupCall>();

  /** Asks every worker to run `name` and collects their answers; a worker silent for METRICS_GATHER_MS is left out. */
  const callGroup = async (name: string): Promise<unknown[]> => {
    const id = ++gatheringSeq;
    const call: GroupCall = { waiting: new Set(workers.values()), values: [], done: () => {} };
    if (call.waiting.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, METRICS_GATHER_MS);
        call.done = () => {
          clearTimeout(timer);
          resolve();
        };
        groupCalls.set(id, call);
        for (const worker of call.waiting) worker.port.send({ herald: 'group-call-request', id, name });
      });
      groupCalls.delete(id);
    }
    return call.values;
  };

  const gather = async (): Promise<string> => {
    const id = ++gatheringSeq;
    const gathering: Gathering = { waiting: new Set(workers.values()), reports: [], done: () => {} };
    if (gathering.waiting.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, METRICS_GATHER_MS);
        gathering.done = () => {
          clearTimeout(timer);
          resolve();
        };
        gatherings.set(id, gathering);
        for (const worker of gathering.waiting) worker.port.send({ herald: 'metrics-request', id });
      });
      gatherings.delete(id);
    }
    unreported.set(gathering.waiting.size);
    const own = [...(await registry.getMetricsAsJSON()), ...(await processRegistry().getMetricsAsJSON())];
    return AggregatorRegistry.aggregate([labelled(own, 'primary'), ...gathering.reports]).metrics();
  };

  function detach(key: string | number): void {
    const worker = workers.get(key);
    if (worker === undefined) return;
    worker.detach();
    workers.delete(key);
    for (const unwatch of worker.watching.values()) unwatch();
    worker.watching.clear();
    // A scrape waiting for it has nothing more to wait for.
    for (const gathering of [...gatherings.values(), ...groupCalls.values()]) {
      if (gathering.waiting.delete(worker) && gathering.waiting.size === 0) gathering.done();
    }
  }

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
      case 'newestPublicId':
        return answer(worker, message.seq, newestPublicId(store));
      case 'presence-list': {
        const all: SubscriberRecord[] = [];
        for (const w of workers.values()) all.push(...w.presence.values());
        return answer(worker, message.seq, Promise.resolve(all));
      }
      case 'metrics':
        return answer(worker, message.seq, gather());
      case 'metrics-report': {
        const gathering = gatherings.get(message.id);
        if (gathering === undefined || !gathering.waiting.delete(worker)) return;
        gathering.reports.push(labelled(message.metrics, worker.label));
        if (gathering.waiting.size === 0) gathering.done();
        return;
      }
      case 'rs': {
        const streams = options.resumableStore;
        return answer(
          worker,
          message.seq,
          streams === undefined
            ? Promise.reject(new Error('the cluster primary holds no resumable-stream store'))
            : runResumableOp(streams, message.op, message.args),
        );
      }
      case 'rs-watch': {
        const streams = options.resumableStore;
        if (streams === undefined || worker.watching.has(message.id)) return;
        const id = message.id;
        worker.watching.set(
          id,
          streams.watch(id, () => {
            worker.changed.add(id);
            schedule();
          }),
        );
        return;
      }
      case 'rs-unwatch': {
        worker.watching.get(message.id)?.();
        worker.watching.delete(message.id);
        return;
      }
      case 'group-call':
        return answer(worker, message.seq, callGroup(message.name));
      case 'group-call-report': {
        const call = groupCalls.get(message.id);
        if (call === undefined || !call.waiting.delete(worker)) return;
        call.values.push(message.value);
        if (call.waiting.size === 0) call.done();
        return;
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
    attach(key, port, label = String(key)) {
      const worker: Attached = {
        key,
        port,
        backlogBytes: 0,
        backlogMessages: 0,
        label,
        replies: [],
        presence: new Map(),
        watching: new Map(),
        changed: new Set(),
        detach: () => {},
      };
      worker.detach = port.onMessage((message) => {
        if (isHeraldMessage(message) && message.herald === 'outbox') {
          for (const item of (message as Outbox).items) serve(worker, item);
        }
      });
      workers.set(key, worker);
    },
    detach,
    get relayed() {
      return relayed;
    },
    metrics: gather,
    close() {
      stopListening();
      for (const worker of workers.values()) {
        worker.detach();
        for (const unwatch of worker.watching.values()) unwatch();
      }
      workers.clear();
    },
  };
}

/** About the JSON size of an update, from its string lengths (not exact: escapes are ignored). */
function estimateUpdate(update: Update): number {
  let bytes = 96 + update.id.length + update.data.length + (update.type?.length ?? 0);
  for (const topic of update.topics) bytes += topic.length + 3;
  return bytes;
}

/** About the JSON size of a reply: history pages and metrics texts are the large ones. */
function estimateReply(reply: Reply): number {
  const value = reply.value as unknown;
  let bytes = 32;
  if (typeof value === 'string') bytes += value.length;
  else if (typeof value === 'object' && value !== null) {
    const updates = (value as { updates?: unknown }).updates;
    const chunks = (value as { chunks?: unknown }).chunks;
    if (Array.isArray(updates)) for (const u of updates as Update[]) bytes += estimateUpdate(u);
    else if (Array.isArray(chunks)) for (const c of chunks as string[]) bytes += c.length + 8;
    else bytes += 256 * (Array.isArray(value) ? value.length : 1);
  }
  return bytes;
}

/** A scrape in progress: the workers yet to report, and the reports so far. */
interface Gathering {
  waiting: Set<Attached>;
  reports: MetricJson[][];
  done: () => void;
}

interface GroupCall {
  waiting: Set<Attached>;
  values: unknown[];
  done: () => void;
}

/**
 * The metrics of one process with a `worker` label on every series. Per-process series, not sums:
 * a sum would drop when a worker restarts and Prometheus would read that as a counter reset, so
 * `rate()` over it would jump; `sum without (worker)` gives the group's total. Every metric is
 * then aggregated with `sum`, which over distinct labels keeps each series as it is.
 */
function labelled(metrics: MetricJson[], worker: string): MetricJson[] {
  return metrics.map((metric) => ({
    ...metric,
    aggregator: 'sum',
    values: metric.values.map((value) => ({ ...value, labels: { ...value.labels, worker } })),
  }));
}

function toWire(error: unknown): WireError {
  const code = (error as { code?: unknown })?.code;
  const wire: WireError = {
    code: typeof code === 'string' ? code : undefined,
    message: error instanceof Error ? error.message : String(error),
  };
  const stream = streamErrorFields(error);
  if (stream !== undefined) wire.stream = stream;
  const id = (error as { id?: unknown })?.id;
  if (typeof id === 'string') wire.id = id;
  return wire;
}
