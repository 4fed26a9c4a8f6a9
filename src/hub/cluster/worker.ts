/**
 * A cluster worker's link to its primary: the setup it was given, a store and a presence that go
 * through the primary, and the primary's order to shut down.
 */
import cluster from 'node:cluster';
import { Registry } from 'prom-client';
import type { ResumableStore } from '../../server/index.js';
import type { Store } from '../stores/store.js';
import type { Presence } from '../subscribers/presence.js';
import { createIpcResumableStore } from './ipc-resumable-store.js';
import { createIpcPresence, createIpcStore, PrimaryConnection } from './ipc-store.js';
import {
  type IpcPort,
  isHeraldMessage,
  type Listening,
  type MetricJson,
  type Shutdown,
  type StartupFailed,
  type WorkerSetup,
} from './messages.js';

export interface WorkerLink<T> {
  /** What the primary sent this worker to run with. */
  setup: T;
  /** This worker's slot, 0 to N-1, kept by its replacement if it dies. */
  slot: number;
  /**
   * Listen on a socket of your own: `server.listen({ port, host, ...OWN_SOCKET })` (see
   * `reuse-port.ts`); false: a plain `listen`, on the primary's shared socket.
   */
  reusePort: boolean;
  /** Tells the primary this worker listens (call once, from the `listen` callback). */
  listening(address: { address: string; port: number }): void;
  store: Store;
  /** Resumable streams kept by the primary, shared by every worker (unused on Redis). */
  resumableStore: ResumableStore;
  presence: Presence;
  /**
   * Calls `drain` once, when the primary orders a shutdown (with the retry hint to send) or when
   * the primary is gone (the worker would be orphaned otherwise).
   */
  onShutdown(drain: (retryMs: number | undefined, reason: string) => void): void;
  /** Sets what this worker reports when the group's metrics are gathered (its hub's `collect`). */
  reportMetrics(source: () => Promise<MetricJson[]>): void;
  /**
   * The whole group's metrics, Prometheus text: every worker's series labelled `worker="<slot>"`,
   * the primary's `worker="primary"`. What a worker serves on `/metrics`.
   */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Sets what this worker runs when any worker of the group calls `callGroup(name)`. */
  onGroupCall(name: string, handler: () => Promise<unknown> | unknown): void;
  /**
   * Runs `name` in every worker of the group, this one included, and resolves with their answers
   * (a worker that does not answer within 2 s is left out). For actions that concern the whole
   * group, such as the demo's "drop all connections".
   */
  callGroup(name: string): Promise<unknown[]>;
  /** Closes the link; the process can then exit by itself. */
  close(): void;
}

/** True in a process started by `startCluster`. */
export function isClusterWorker(): boolean {
  return cluster.isWorker && process.send !== undefined;
}

/**
 * In a worker that cannot start: tells the primary why (see `StartupFailed`), then resolves, within
 * a second, so the caller can exit. Does nothing outside a cluster worker.
 */
export function reportStartupFailure(reason: string): Promise<void> {
  if (!isClusterWorker() || !process.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    process.send!({ herald: 'startup-failed', reason } satisfies StartupFailed, undefined, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The worker's end of the IPC channel (the `process` object). */
function processPort(): IpcPort {
  return {
    send(message) {
      // A channel closed by a dying primary makes send throw; `disconnect` reports the loss.
      if (process.connected) process.send!(message);
    },
    onMessage(listener) {
      process.on('message', listener);
      return () => process.off('message', listener);
    },
  };
}

/** Waits for the primary's setup message, then returns the link. Call once, in a worker. */
export function connectToPrimary<T>(): Promise<WorkerLink<T>> {
  const port = processPort();
  const connection = new PrimaryConnection(port);
  return new Promise((resolve) => {
    let drain: ((retryMs: number | undefined, reason: string) => void) | undefined;
    let ordered: [number | undefined, string] | undefined;
    const order = (retryMs: number | undefined, reason: string) => {
      if (ordered !== undefined) return;
      ordered = [retryMs, reason];
      drain?.(retryMs, reason);
    };
    const stop = port.onMessage((message) => {
      if (!isHeraldMessage(message)) return;
      if (message.herald === 'shutdown') order((message as Shutdown).retryMs, 'the primary is shutting down');
      if (message.herald === 'setup') {
        const timeoutMs = (message as WorkerSetup<T>).requestTimeoutMs;
        if (timeoutMs !== undefined) connection.timeoutMs = timeoutMs;
        resolve({
          setup: (message as WorkerSetup<T>).config,
          slot: (message as WorkerSetup<T>).slot,
          reusePort: (message as WorkerSetup<T>).reusePort === true,
          listening({ address, port: listened }) {
            port.send({ herald: 'listening', address, port: listened } satisfies Listening);
          },
          store: createIpcStore(connection),
          resumableStore: createIpcResumableStore(connection),
          presence: createIpcPresence(connection),
          reportMetrics(source) {
            connection.metricsSource = source;
          },
          async metrics() {
            const body = (await connection.request({ herald: 'metrics' })) as string;
            return { contentType: Registry.PROMETHEUS_CONTENT_TYPE, body };
          },
          onGroupCall(name, handler) {
            connection.groupHandlers.set(name, handler);
          },
          async callGroup(name) {
            return (await connection.request({ herald: 'group-call', name })) as unknown[];
          },
          onShutdown(fn) {
            drain = fn;
            if (ordered !== undefined) fn(...ordered);
          },
          close() {
            stop();
            connection.close();
            process.off('disconnect', onDisconnect);
            if (process.connected) process.disconnect();
          },
        });
      }
    });
    const onDisconnect = () => {
      connection.lost('IPC channel closed');
      order(undefined, 'the primary is gone');
    };
    process.on('disconnect', onDisconnect);
    // Node's own cluster traffic (the acknowledgement of a connection the primary handed over) fails
    // with EPIPE when the primary is gone, as an 'error' on `process`; unhandled, that kills the
    // worker mid-drain. The loss itself is reported by 'disconnect'; any other error stays fatal.
    process.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_IPC_CHANNEL_CLOSED') return onDisconnect();
      throw error;
    });
    port.send({ herald: 'hello' });
  });
}
