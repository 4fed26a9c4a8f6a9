/**
 * `--workers N`: N processes serve one port, because one process holds about 20k sockets on these
 * machines. Each worker accepts on a socket of its own where the runtime allows (`SO_REUSEPORT`),
 * otherwise node:cluster's round-robin hands out connections (see `reuse-port.ts`). The primary
 * serves no HTTP: it owns the
 * real store, relays every update to every worker once (see `relay.ts`), restarts a worker that
 * dies, and on shutdown tells every worker to drain, then closes the store.
 */
import cluster, { type Worker } from 'node:cluster';
import type { ResumableStore } from '../../server/index.js';
import type { Store } from '../stores/store.js';
import {
  type IpcPort,
  isHeraldMessage,
  type Listening,
  type Shutdown,
  type StartupFailed,
  type WorkerSetup,
} from './messages.js';
import { createStoreRelay } from './relay.js';

/** What the primary reports; a pino logger fits. */
export interface ClusterLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface ClusterOptions<T> {
  /** How many workers to keep running. */
  workers: number;
  /** The real store; the primary closes it after the last worker exits. */
  store: Store;
  /**
   * The resumable-stream store every worker shares (memory or SQLite), closed with the store. Not
   * given on Redis: each worker reaches Redis itself.
   */
  resumableStore?: ResumableStore;
  /** Sent to each worker as it starts (`connectToPrimary().setup`). Must survive JSON. */
  setup: T;
  logger: ClusterLogger;
  /**
   * Estimated bytes the primary may hold for one worker that does not read its channel; past it
   * the worker is killed and replaced. Default 64 MiB (`DEFAULT_MAX_WORKER_BACKLOG_BYTES`).
   */
  maxWorkerBacklogBytes?: number;
  /** How long a worker waits for the primary to answer before failing the call (503), in ms. */
  requestTimeoutMs?: number;
  /**
   * Workers listen on sockets of their own (`SO_REUSEPORT`) and accept for themselves; only where
   * `reusePortAvailable()`, on a port checked free with `claimPort()` first. Default false: the
   * primary accepts and hands connections out round-robin. Workers see it as `WorkerLink.reusePort`.
   */
  reusePort?: boolean;
  /** Called once, when every worker of the first generation listens. */
  onListening?: (address: { address: string; port: number }) => void;
  /**
   * Called once when workers keep dying before they listen (`MAX_STARTUP_FAILURES` in a row, e.g. the
   * port is taken): the primary has stopped the group (workers killed, store closed) and gives the
   * last cause a worker reported. The caller should exit non-zero. Default: nothing more.
   */
  onFailed?: (cause: string) => void;
}

export interface Cluster {
  /** Worker process IDs, current generation. */
  readonly pids: number[];
  /** Updates relayed to the workers so far (each counted once). */
  readonly relayed: number;
  /**
   * Tells every worker to drain (subscribers get `retryMs` as their reconnection delay) and waits
   * for them to exit; workers still running after `deadlineMs` are killed. Then closes the store.
   * Resolves true when everything drained in time.
   */
  shutdown(retryMs: number, deadlineMs: number): Promise<boolean>;
}

/** A worker that dies sooner than this after starting is restarted after a pause, not at once. */
const CRASH_LOOP_MS = 5_000;
const RESTART_PAUSE_MS = 1_000;
/**
 * Workers that die before they listen, one after another, before the group gives up: a cause that
 * outlives a restart (a port in use, a certificate unreadable) would otherwise replace workers forever.
 * Two workers failing on the same port make two; a third after the pause confirms it was not a blip.
 */
export const MAX_STARTUP_FAILURES = 3;

/** Starts the workers. Call in the primary, once; the workers run the same entry script. */
export function startCluster<T>(options: ClusterOptions<T>): Cluster {
  // When the primary accepts (no SO_REUSEPORT): round-robin, Node's default on Linux, set so that
  // no platform default or NODE_CLUSTER_SCHED_POLICY lets workers race on one shared socket, which
  // hands most connections of a burst to one worker. Workers with sockets of their own bypass it.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const { logger, store } = options;
  const relay = createStoreRelay(store, {
    maxWorkerBacklogBytes: options.maxWorkerBacklogBytes,
    ...(options.resumableStore !== undefined && { resumableStore: options.resumableStore }),
    onStalled(id, backlog) {
      const worker = cluster.workers?.[id];
      logger.error(
        {
          pid: worker?.process.pid,
          slot: slots.get(Number(id)),
          backlogBytes: backlog.bytes,
          messages: backlog.messages,
        },
        'worker stopped reading the relay (backlog over its bound); killing it, a replacement starts and its subscribers resume from history',
      );
      worker?.process.kill('SIGKILL');
    },
  });
  const started = new Map<number, number>();
  /** Set once shutting down: the retry hint to give workers, including any still starting. */
  let stopping: Shutdown | undefined;
  let listeningCount = 0;
  let reportedListening = false;
  /** Workers that have listened; one that exits before is a start-up failure. */
  const listened = new Set<number>();
  /** Start-up failures since a worker last listened, and the last cause a worker reported. */
  let startupFailures = 0;
  let lastCause: string | undefined;

  const port = (worker: Worker): IpcPort => ({
    send(message, onWritten) {
      if (worker.isConnected()) worker.send(message as object, onWritten);
      else onWritten?.();
    },
    onMessage(listener) {
      worker.on('message', listener);
      return () => worker.off('message', listener);
    },
  });

  // A worker's slot (0..N-1) outlives it: its replacement takes it, so per-slot duties (the demo's
  // publishers run in slot 0 only) survive restarts.
  const slots = new Map<number, number>();
  const fork = (slot: number) => {
    if (stopping !== undefined) return; // a restart timer that fired during the shutdown
    const worker = cluster.fork();
    slots.set(worker.id, slot);
    started.set(worker.id, Date.now());
    // Node drops IPC messages that arrive before the worker listens, so the worker speaks first.
    const onStartupFailed = (message: unknown) => {
      if (isHeraldMessage(message) && message.herald === 'startup-failed') {
        lastCause = (message as StartupFailed).reason;
      }
    };
    worker.on('message', onStartupFailed);
    const onHello = (message: unknown) => {
      if (!isHeraldMessage(message) || message.herald !== 'hello') return;
      worker.off('message', onHello);
      relay.attach(worker.id, port(worker), String(slot));
      worker.send({
        herald: 'setup',
        config: options.setup,
        slot,
        requestTimeoutMs: options.requestTimeoutMs,
        reusePort: options.reusePort === true,
      } satisfies WorkerSetup<T>);
      // A worker still starting when the shutdown began missed that order: repeat it.
      if (stopping !== undefined) worker.send(stopping);
    };
    worker.on('message', onHello);
    // The worker's own word, not node:cluster's 'listening': that one is not sent for a worker's
    // own socket.
    const onListening = (message: unknown) => {
      if (!isHeraldMessage(message) || message.herald !== 'listening') return;
      worker.off('message', onListening);
      const address = message as Listening;
      listened.add(worker.id);
      startupFailures = 0;
      listeningCount++;
      if (!reportedListening && listeningCount >= options.workers) {
        reportedListening = true;
        options.onListening?.({ address: address.address, port: address.port });
      }
    };
    worker.on('message', onListening);
  };

  cluster.on('exit', (worker, code, signal) => {
    relay.detach(worker.id);
    const lived = Date.now() - (started.get(worker.id) ?? 0);
    started.delete(worker.id);
    const wasListening = listened.delete(worker.id);
    if (stopping !== undefined) return;
    if (!wasListening && ++startupFailures >= MAX_STARTUP_FAILURES) {
      const cause = lastCause ?? `a worker exited with ${signal ?? code} before listening`;
      logger.error(
        { pid: worker.process.pid, code, signal, failures: startupFailures },
        `workers failed to start ${startupFailures} times in a row (${cause}); stopping`,
      );
      void stopGroup().then(() => options.onFailed?.(cause));
      return;
    }
    logger.warn({ pid: worker.process.pid, code, signal }, 'worker exited; starting a replacement');
    const slot = slots.get(worker.id) ?? 0;
    slots.delete(worker.id);
    setTimeout(fork, lived < CRASH_LOOP_MS ? RESTART_PAUSE_MS : 0, slot);
  });

  /** Gives up: no more restarts, the workers left killed, the store closed. */
  const stopGroup = async () => {
    stopping = { herald: 'shutdown', retryMs: 0 };
    const running = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    await Promise.all(
      running.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            w.once('exit', () => resolve());
            w.process.kill('SIGKILL');
          }),
      ),
    );
    relay.close();
    await store.close();
  };

  for (let slot = 0; slot < options.workers; slot++) fork(slot);

  return {
    get pids() {
      return Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!);
    },
    get relayed() {
      return relay.relayed;
    },
    async shutdown(retryMs, deadlineMs) {
      stopping = { herald: 'shutdown', retryMs };
      const running = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      const exits = running.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) resolve();
            else w.once('exit', () => resolve());
          }),
      );
      for (const w of running) if (w.isConnected()) w.send(stopping);
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        Promise.all(exits).then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(resolve, deadlineMs, false);
        }),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        for (const w of running) if (!w.isDead()) w.process.kill('SIGKILL');
        logger.error({ deadlineMs }, 'workers did not drain in time; killed');
      }
      relay.close();
      await store.close();
      await options.resumableStore?.close();
      return inTime;
    },
  };
}
