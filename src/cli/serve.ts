/**
 * `herald serve`: one process serving HTTP, or with `--workers N` a primary holding the store and N
 * workers serving HTTP on one shared port. Each runs until SIGTERM/SIGINT, then drains.
 */

import cluster from 'node:cluster';
import http from 'node:http';
import type { Logger } from 'pino';
import {
  claimPort,
  connectToPrimary,
  createHub,
  createMemoryStore,
  createRedisPresence,
  DEFAULT_RETENTION,
  type Demo,
  demoGroupAction,
  guardMetrics,
  type HubMetrics,
  mountDemo,
  type OpenStoreOptions,
  OWN_SOCKET,
  openResumableStore,
  openStore,
  type Presence,
  parseStoreSpec,
  reusePortAvailable,
  type Store,
  startCluster,
  type WorkerLink,
} from '../hub/index.js';
import type { NodeRequest, NodeServerResponse, ResumableStore } from '../server/index.js';
import { applyDemo, demoBanner, demoMountOptions, demoPublisherToken } from './demo.js';
import { connectionCaps, openFileLimit } from './file-limit.js';
import { createHttpListener, publicUrl, type RequestHandler } from './http-listener.js';
import { streamStoreSpec, toHubOptions, toRetention } from './hub-options.js';
import { createLogger } from './logger.js';
import { newSqliteFile } from './new-store-file.js';
import type { ServeConfig } from './serve-options.js';
import { createShutdown, onSignals } from './shutdown.js';

/** How long requests still running at shutdown (a publish, a slow upload) get to finish. */
const REQUEST_GRACE_MS = 1_000;

/** Runs the hub as `config` says, in this process or as a cluster primary. */
export async function serve(requested: ServeConfig): Promise<void> {
  const config = applyDemo(requested);
  const logger = createLogger(config.logLevel);
  const losses = new LossCount();
  const created = newSqliteFile(config.store);
  const store = await openStore(
    config.store,
    toRetention(config, DEFAULT_RETENTION),
    storeOptions(config, logger, losses),
  );
  if (created !== undefined) {
    logger.warn(
      { path: created },
      'sqlite store file did not exist: began a new, empty history there (nothing kept from before)',
    );
  }
  if (config.workers > 1) return servePrimary(config, store, logger);

  const presence = await openPresence(config, logger);
  const resumableStore = await openStreamStore(config);
  const hub = createHub({
    ...toHubOptions(config, store, logger),
    resumableStore,
    ...(presence && { presence }),
  });
  losses.countIn(hub.metrics);
  const demo = config.demo ? await mountDemo(hub, demoMountOptions(config, true)) : undefined;
  const listener = createHttpListener(
    tlsFiles(config),
    (req, res) => hub.handle(req, res, pages(demo, req, res)),
    (req, socket, head) => hub.handleUpgrade(req, socket, head),
  );
  // Keep-alive publishers skip node:http (plain HTTP/1.1 only; the TLS listener is HTTP/2's).
  if (listener.server instanceof http.Server) hub.servePublishConnections(listener.server);
  capSockets(listener.server);
  const address = await listener.listen(config.port, config.host);
  const url = publicUrl(listener.tls, config.host, address.port);
  const shutdown = createShutdown(logger, config.shutdownTimeoutMs, async () => {
    listener.stopAccepting();
    demo?.close();
    await hub.close({ retryMs: config.shutdownRetryMs });
    await listener.finish(REQUEST_GRACE_MS);
    await store.close();
    await resumableStore.close();
    return true;
  });
  onSignals(['SIGTERM', 'SIGINT'], logger, shutdown);
  await announce(config, logger, url, 1);
}

/** Opens the resumable-stream store `--stream-store` names (by default beside the history). */
function openStreamStore(config: ServeConfig): Promise<ResumableStore> {
  return openResumableStore(streamStoreSpec(config), {
    ...(config.storePrefix !== undefined && { prefix: config.storePrefix }),
    startUnavailable: true,
  });
}

function isRedisSpec(spec: string): boolean {
  return parseStoreSpec(spec).kind === 'redis';
}

/**
 * The primary: owns the store, runs no HTTP itself. On Redis the workers read the stream themselves
 * (one reader each: less CPU per delivery than relaying through the primary, see docs/deploy.md),
 * so the primary only checked that Redis answers, and its relay carries no updates.
 */
async function servePrimary(config: ServeConfig, opened: Store, logger: Logger): Promise<void> {
  let store = opened;
  if (isRedis(config)) {
    await opened.close();
    store = createMemoryStore(DEFAULT_RETENTION);
  }
  const tls = tlsFiles(config);
  // Fail on a bad certificate or key here, once, rather than in every worker, forever restarted.
  if (tls !== undefined) createHttpListener(tls, () => {});
  await createHub(toHubOptions(config, createMemoryStore(DEFAULT_RETENTION), logger)).close();
  // Streams in memory or SQLite live in the primary, shared by every worker over IPC; on Redis
  // each worker reaches Redis itself.
  const resumableStore = isRedisSpec(streamStoreSpec(config)) ? undefined : await openStreamStore(config);
  // Workers accept for themselves where the runtime allows it (see src/hub/cluster/reuse-port.ts):
  // the primary handing out every connection capped how fast a mass connect went. Their port is
  // checked here, once: a port in use fails the start before any worker is forked.
  const reusePort = reusePortAvailable();
  const port = reusePort ? await claimPort(config.port, config.host) : config.port;
  const workers = startCluster({
    workers: config.workers,
    reusePort,
    maxWorkerBacklogBytes: config.workerBacklogBytes,
    requestTimeoutMs: config.primaryTimeoutMs,
    store,
    ...(resumableStore !== undefined && { resumableStore }),
    setup: { ...config, port },
    logger,
    onListening: (address) => {
      void announce(config, logger, publicUrl(tls !== undefined, config.host, address.port), config.workers);
    },
    onFailed: (cause) => {
      process.stderr.write(`herald: workers could not start: ${cause}\n`);
      process.exit(1);
    },
  });
  const shutdown = createShutdown(logger, config.shutdownTimeoutMs + 1_000, () =>
    workers.shutdown(config.shutdownRetryMs, config.shutdownTimeoutMs),
  );
  onSignals(['SIGTERM', 'SIGINT'], logger, shutdown);
}

/**
 * A worker: gets its config from the primary, serves HTTP with a store and presence that go
 * through the primary, or on Redis with its own connections to Redis. Tags each response with its PID (`X-Herald-Worker`) so that operators and
 * tests can tell which worker answered.
 */
export async function serveWorker(): Promise<void> {
  const link = await connectToPrimary<ServeConfig>();
  const config = link.setup;
  const logger = createLogger(config.logLevel, { worker: cluster.worker?.id });
  // On Redis each worker lists subscribers from Redis itself: the primary knows only its own workers.
  const presence = (await openPresence(config, logger)) ?? link.presence;
  const losses = new LossCount();
  const ownStore = isRedis(config)
    ? await openStore(
        config.store,
        toRetention(config, DEFAULT_RETENTION),
        storeOptions(config, logger, losses),
      )
    : undefined;
  const ownStreams = isRedisSpec(streamStoreSpec(config)) ? await openStreamStore(config) : undefined;
  const hub = createHub({
    ...toHubOptions(config, ownStore ?? link.store, logger),
    resumableStore: ownStreams ?? link.resumableStore,
    presence,
  });
  losses.countIn(hub.metrics);
  // One worker runs the demo's clock and ticker; each one serves the pages. The drop button and the
  // counters (transports, front-page stats) reach every worker.
  if (config.demo) {
    for (const action of ['drop', 'transports', 'stats'] as const) {
      link.onGroupCall(`demo-${action}`, () => demoGroupAction(hub, action));
    }
  }
  const demo = config.demo
    ? await mountDemo(hub, {
        ...demoMountOptions(config, link.slot === 0),
        everyWorker: (action) => link.callGroup(`demo-${action}`),
      })
    : undefined;
  const pid = String(process.pid);
  link.reportMetrics(() => hub.metrics.collect());
  const handler: RequestHandler = (req, res) => {
    res.setHeader('X-Herald-Worker', pid);
    // Whichever worker a scrape reaches answers for the whole group.
    if (isMetricsRequest(req)) {
      if (!guardMetrics(req as never, res as never, config.metricsToken)) return;
      return serveGroupMetrics(link, res, logger);
    }
    hub.handle(req, res, pages(demo, req, res));
  };
  const listener = createHttpListener(tlsFiles(config), handler, (req, socket, head) =>
    hub.handleUpgrade(req, socket, head),
  );
  capSockets(listener.server);
  const drain = async (retryMs: number) => {
    listener.stopAccepting();
    demo?.close();
    await hub.close({ retryMs });
    await listener.finish(REQUEST_GRACE_MS);
    await ownStore?.close();
    await ownStreams?.close();
    await link.resumableStore.close();
    await link.store.close();
    await link.presence.close();
    link.close();
    return true;
  };
  // The primary's order carries the retry hint; a SIGTERM sent to this worker alone uses the config's.
  let retryMs = config.shutdownRetryMs;
  const shutdown = createShutdown(logger, config.shutdownTimeoutMs, () => drain(retryMs));
  link.onShutdown((ordered, reason) => {
    if (ordered !== undefined) retryMs = ordered;
    shutdown(reason);
  });
  // Ctrl-C reaches the whole process group: the primary coordinates, so workers ignore SIGINT.
  process.on('SIGINT', () => {});
  onSignals(['SIGTERM'], logger, shutdown);
  // No publish fast path in a worker: X-Herald-Worker goes on every answer, through node:http.
  link.listening(await listener.listen(config.port, config.host, link.reusePort ? OWN_SOCKET : undefined));
}

/**
 * What a Redis outage means while the hub serves, said once per outage: the hub keeps serving and
 * catches up by itself when Redis is back (docs/cli.md, "Redis unavailable").
 */
const REDIS_DOWN =
  'redis unavailable: serving on; publishing and /healthz answer 503 and resuming subscribers ' +
  '(Last-Event-ID) 503 until it is back; new subscribers connect and get updates once it is';

/**
 * The store's options: the key prefix, Redis's ups and downs reported in the logs, and a start
 * while Redis is unreachable that serves rather than exits (a cluster's nodes often start with
 * their Redis, or while it restarts).
 */
function storeOptions(config: ServeConfig, logger: Logger, losses: LossCount): OpenStoreOptions {
  const options: OpenStoreOptions = {
    startUnavailable: true,
    onStatus(status, error) {
      if (status === 'down') logger.warn({ err: error }, REDIS_DOWN);
      else if (status === 'up') logger.info('redis available');
      else {
        losses.add();
        logger.error(
          { err: error },
          'updates lost: trimmed during an outage, or rolled back by a failover (see err)',
        );
      }
    },
    onFailure(error) {
      logger.error(
        { err: error },
        'sqlite store refuses appends: publishing answers 503 and /healthz is not ok',
      );
    },
  };
  if (config.storePrefix !== undefined) options.prefix = config.storePrefix;
  if (config.redisWaitReplicas > 0) options.waitReplicas = config.redisWaitReplicas;
  if (config.redisWaitTimeoutMs !== undefined) options.waitReplicasTimeoutMs = config.redisWaitTimeoutMs;
  return options;
}

/**
 * The store's reports of lost updates, counted in the hub's `herald_hub_store_losses_total`; the
 * store opens before the hub, so reports made meanwhile are kept until `countIn`.
 */
class LossCount {
  #early = 0;
  #metrics: HubMetrics | undefined;

  add(): void {
    if (this.#metrics === undefined) this.#early++;
    else this.#metrics.storeLosses++;
  }

  countIn(metrics: HubMetrics): void {
    this.#metrics = metrics;
    metrics.storeLosses += this.#early;
  }
}

function isRedis(config: ServeConfig): boolean {
  return parseStoreSpec(config.store).kind === 'redis';
}

/**
 * With a Redis store and the subscriptions API on, subscribers are listed from Redis, so that every
 * node (and every worker) sees those of all nodes. Otherwise undefined: the hub's in-process default.
 */
async function openPresence(config: ServeConfig, logger: Logger): Promise<Presence | undefined> {
  if (!config.subscriptions || !isRedis(config)) return undefined;
  const presence = createRedisPresence(config.store, {
    ...(config.storePrefix !== undefined && { prefix: config.storePrefix }),
    onError: (error) => logger.warn({ err: error }, 'presence not written to redis'),
  });
  // Unreachable at start: serve on, as the store does; presence rewrites its records once Redis
  // is back; until then the subscriptions API answers 503.
  await presence.ready().catch((error: unknown) => {
    logger.warn({ err: error }, 'redis unavailable: presence is written once it is back');
  });
  return presence;
}

function tlsFiles(config: ServeConfig): { cert: string; key: string } | undefined {
  return config.tlsCert !== undefined && config.tlsKey !== undefined
    ? { cert: config.tlsCert, key: config.tlsKey }
    : undefined;
}

/** What answers paths outside the hub's own: the demo pages when mounted, else the hub's 404. */
function pages(demo: Demo | undefined, req: NodeRequest, res: NodeServerResponse): (() => void) | undefined {
  return demo && (() => demo.handle(req, res));
}

/** Logs where the hub listens and, in demo mode, prints what to open and how to publish. */
async function announce(config: ServeConfig, logger: Logger, url: string, workers: number): Promise<void> {
  logger.info({ url, workers, store: redactStore(config.store) }, 'herald listening');
  if (!config.demo) return;
  process.stdout.write(demoBanner(url, await demoPublisherToken(config)));
}

/**
 * The last resort against running out of file descriptors: past this many sockets the listener
 * closes new ones at once (see `connectionCaps`), so `accept` itself never fails.
 */
function capSockets(server: { maxConnections: number }): void {
  const caps = connectionCaps(openFileLimit());
  if (caps !== undefined) server.maxConnections = caps.sockets;
}

/** The store spec without credentials, for logs. */
function redactStore(spec: string): string {
  return spec.replace(/\/\/[^@/]*@/, '//***@');
}

function isMetricsRequest(req: { method?: string; url?: string }): boolean {
  const url = req.url ?? '';
  return (
    (req.method === 'GET' || req.method === 'HEAD') && (url === '/metrics' || url.startsWith('/metrics?'))
  );
}

/** `/metrics` in a worker: the group's series, gathered by the primary (see `StoreRelay.metrics`). */
function serveGroupMetrics(link: WorkerLink<ServeConfig>, res: NodeServerResponse, logger: Logger): void {
  link.metrics().then(
    ({ contentType, body }) => {
      (res as http.ServerResponse).writeHead(200, {
        'Content-Type': contentType,
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      });
      res.end(body);
    },
    (error: unknown) => {
      logger.error({ err: error }, 'cluster metrics unavailable');
      const body = 'the cluster metrics are unavailable right now; retry later\n';
      (res as http.ServerResponse).writeHead(503, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
    },
  );
}
