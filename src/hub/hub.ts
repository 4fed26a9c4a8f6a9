/**
 * The Mercure hub: routes, subscribers, fan-out and the store, behind one `handle(req, res)` for
 * node:http and node:http2 (compat) servers.
 */

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NodeRequest, NodeServerResponse, StreamOptions } from '../server/index.js';
import { createResumableStreams, type ResumableStreams, SseServer } from '../server/index.js';
import type { HubContext } from './context.js';
import { AddressLimit } from './http/address-limit.js';
import { Authenticator } from './http/authenticate.js';
import { Cors } from './http/cors.js';
import { describeError, HubHttpError, sendError } from './http/errors.js';
import { guardMetrics } from './http/metrics-access.js';
import { handleHealth, handleMetrics, handleResourceMetadata } from './http/operations.js';
import { handlePublish } from './http/publish.js';
import { servePublishConnections } from './http/publish-connection.js';
import { type PublishInput, toUpdate } from './http/publish-input.js';
import { type ExpiringReader, handleStreamRead, STREAMS_PATH } from './http/streams.js';
import { assertStrictForm } from './http/strict-form.js';
import { handleSubscriptions } from './http/subscriptions.js';
import { HubMetrics } from './metrics/hub-metrics.js';
import {
  HUB_PATH,
  type HubOptions,
  type ResolvedHubOptions,
  resolveHubOptions,
  type Transport,
} from './options.js';
import { RepeatedErrors } from './repeated-errors.js';
import { createMemoryStore, DEFAULT_RETENTION } from './stores/index.js';
import type { Store } from './stores/store.js';
import { ExpiryQueue } from './subscribers/expiry-queue.js';
import { createLocalPresence, type Presence } from './subscribers/presence.js';
import { SubscriberRegistry } from './subscribers/registry.js';
import type { Subscriber } from './subscribers/subscriber.js';
import {
  SUBSCRIPTION_EVENT_TYPE,
  SUBSCRIPTIONS_PATH,
  shapeOf,
  subscriptionDocument,
} from './subscribers/subscription-documents.js';
import { ConnectionCapacity } from './subscription/capacity.js';
import { CursorSeed } from './subscription/cursor-seed.js';
import { handleSubscribe } from './transports/event-stream.js';
import { handlePoll } from './transports/poll.js';
import { WebSocketTransport } from './transports/websocket.js';
import type { Update } from './update.js';
import { randomUrnUuid } from './urn-uuid.js';

/** Options of {@link Hub.close}. */
export interface HubCloseOptions {
  /** Reconnection time sent to every subscriber before its stream ends, in ms. */
  retryMs?: number;
}

/** A running hub. */
export interface Hub {
  /** The options in effect, defaults applied. */
  readonly options: ResolvedHubOptions;
  /** The store updates go to (the one given, or the in-memory default). */
  readonly store: Store;
  /** Counters and the Prometheus registry served on `/metrics`. */
  readonly metrics: HubMetrics;
  /** Subscribers connected to this process. */
  readonly subscriberCount: number;
  /** Resumable streams: read on `/.well-known/mercure/streams?topic=…`; write here or by publishing. */
  readonly streams: ResumableStreams;
  /**
   * Serves a request. Requests outside the hub's paths go to `next` when given, else get 404; so a
   * server can put its own pages (the demo) behind the hub.
   */
  handle(req: NodeRequest, res: NodeServerResponse, next?: () => void): void;
  /**
   * Serves an HTTP `upgrade` event: WebSocket subscribers on the hub URL (docs/transports.md).
   * Wire it to every listener: `server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head))`.
   * A refused upgrade gets an HTTP error response, as a refused event stream does.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Mounts the hub on a node:http or https server: its requests (the rest go to `next`, else 404)
   * and its WebSocket upgrades, so every transport the hub offers is served. Returns the server:
   * `hub.attach(http.createServer()).listen(3000)`.
   */
  attach<S extends Server>(server: S, next?: (req: IncomingMessage, res: ServerResponse) => void): S;
  /**
   * Reads keep-alive publishers of this plain node:http server without node:http, which costs a
   * publish several times the publish itself; every other request still goes to the server's
   * request handler (see http/publish-connection.ts). Call it before `listen`. Returns false, and
   * changes nothing, when the server is not one it knows how to take over.
   */
  servePublishConnections(server: Server): boolean;
  /** Publishes from this process (no token needed); resolves with the stored update. */
  publish(input: PublishInput): Promise<Update>;
  /**
   * Ends every subscriber connection of this process, whatever its transport, as a restart would,
   * and keeps serving: clients reconnect and resume after their last event ID. Returns how many
   * were ended. For maintenance, tests and the demo's "drop all connections".
   */
  disconnectSubscribers(): number;
  /** Stops accepting, ends every stream with the retry hint, then closes presence and the store. */
  close(options?: HubCloseOptions): Promise<void>;
}

const HEALTH_PATH = '/healthz';
const METRICS_PATH = '/metrics';
const METADATA_PREFIX = '/.well-known/oauth-protected-resource';

/**
 * Creates a hub. Options are checked at once (see `resolveHubOptions`).
 *
 * @example
 * const hub = createHub({ jwt: { key: process.env.JWT_KEY }, anonymous: true });
 * http.createServer((req, res) => hub.handle(req, res)).listen(3000);
 * await hub.publish({ topics: ['https://example.com/books/1'], data: '{"title":"Dune"}' });
 */
export function createHub(options: HubOptions = {}): Hub {
  return new HeraldHub(resolveHubOptions(options));
}

class HeraldHub implements Hub, HubContext {
  readonly options: ResolvedHubOptions;
  readonly store: Store;
  readonly metrics: HubMetrics;
  readonly presence: Presence;
  readonly logger: ResolvedHubOptions['logger'];
  readonly registry: SubscriberRegistry;
  readonly capacity: ConnectionCapacity;
  readonly cursorSeed: CursorSeed;
  readonly sse: SseServer;
  readonly streamOptions: StreamOptions;
  /** Resumable streams: read on STREAMS_PATH, written with the `herald.stream` publish field. */
  readonly streams: ResumableStreams;
  /** Stream readers whose token expires (or with a connection bound): closed then, as subscribers are. */
  readonly streamReaders = new ExpiryQueue<ExpiringReader>((reader) => reader.stream.close());
  readonly cors: Cors;
  readonly auth: Authenticator;
  closing = false;
  readonly #unsubscribe: () => void;
  /** RFC 9728 metadata: its path on this hub, and the challenge parameter pointing to it. */
  readonly #metadataPath: string | undefined;
  readonly #challenge: { resourceMetadata?: string } = {};
  #closed: Promise<void> | undefined;
  /** Open subscriber connections per client address, when `maxConnectionsPerAddress` is set. */
  readonly #addresses: AddressLimit;
  readonly #ws: WebSocketTransport;
  /** Failed requests and health checks, logged once per kind per interval (a Redis outage repeats them). */
  readonly #repeatedErrors: RepeatedErrors | undefined;

  constructor(options: ResolvedHubOptions) {
    this.options = options;
    this.logger = options.logger;
    this.#repeatedErrors = options.logger && new RepeatedErrors(options.logger);
    this.store = options.store ?? createMemoryStore(DEFAULT_RETENTION);
    this.presence = options.presence ?? createLocalPresence();
    this.metrics = new HubMetrics(options.metrics);
    this.auth = new Authenticator(options);
    this.cors = new Cors(options.corsOrigins);
    this.#addresses = new AddressLimit(options.maxConnectionsPerAddress);
    this.sse = new SseServer({ heartbeatMs: options.heartbeatMs });
    this.streamOptions = {
      retryMs: options.retryMs,
      maxQueueBytes: options.maxQueuedBytes,
      tcpNoDelay: options.tcpNoDelay,
      // ~2 KB less per HTTP/1.1 subscriber; `close()` ends every stream, so nothing relies on
      // node:http's closeAllConnections() to reach them.
      detachConnections: true,
      overflow: options.slowConsumerPolicy,
      maxConflationKeys: options.maxConflationKeys,
      maxConflationBytes: options.maxConflationBytes,
      // The hub reads the resume point itself (header, then `lastEventID` / `last_event_id`).
      lastEventIdParams: [],
      logger: options.logger,
    };
    // Readers of resumable streams share the hub's heartbeat, shutdown and stream settings; the
    // memory store is made (and closed) by the streams object when none is given.
    this.streams = createResumableStreams({
      store: options.resumableStore,
      server: this.sse,
      streamOptions: this.streamOptions,
      ...options.resumable,
    });
    this.registry = new SubscriberRegistry(this.metrics, this.logger, options.maxQueuedBytes, (s) =>
      this.#left(s),
    );
    this.capacity = new ConnectionCapacity(options.maxSubscribers, this.registry);
    this.#unsubscribe = this.store.subscribe((update) => this.registry.deliver(update));
    // After subscribing: an update the store delivers from now on is newer than what it reads.
    this.cursorSeed = new CursorSeed(this.store, this.registry, this.logger);
    this.#ws = new WebSocketTransport(
      this,
      (req, socket) => this.#gateUpgrade(req, socket),
      (error) => describeError(error, this.#challenge),
    );
    // Mercure 1.0 "Protected Resource Metadata": derived from the resource identifier (the
    // audience) by inserting the well-known segment between host and path (RFC 9728 section 3.1).
    if (options.audience !== undefined && URL.canParse(options.audience) && this.auth.verifiesAny) {
      const resource = new URL(options.audience);
      const path = resource.pathname === '/' ? '' : resource.pathname;
      this.#metadataPath = `${METADATA_PREFIX}${path}`;
      this.#challenge.resourceMetadata = `${resource.origin}${this.#metadataPath}`;
    }
    if (!this.auth.verifiesSubscribers && !options.anonymous) {
      this.logger?.warn('no subscriber key and anonymous off: every subscription will be refused (401)');
    }
  }

  get subscriberCount(): number {
    return this.registry.size;
  }

  async append(update: Update): Promise<void> {
    await this.store.append(update);
    this.metrics.published++;
  }

  async publish(input: PublishInput): Promise<Update> {
    if (this.closing) throw new HubHttpError(503, 'HERALD_ERR_HUB_CLOSING', 'the hub is shutting down');
    const update = toUpdate(input, this.options.maxTopicsPerUpdate);
    await this.append(update);
    return update;
  }

  disconnectSubscribers(): number {
    // A copy: each close removes its subscriber from the registry.
    const subscribers = [...this.registry.values()];
    for (const subscriber of subscribers) this.registry.end(subscriber, 'ended');
    return subscribers.length;
  }

  announce(subscriber: Subscriber, active: boolean): void {
    if (!this.options.subscriptions || this.closing) return;
    const record = subscriber.record();
    for (const selector of record.selectors) {
      const doc = subscriptionDocument(record, selector, active, true);
      // Hub-made updates skip the publish checks: their topic is in the reserved namespace and
      // the 1.0 ones carry the reserved `mercure` type, which no publisher may use.
      const update: Update = {
        id: randomUrnUuid(),
        topics: [doc.id],
        private: true,
        data: JSON.stringify(doc),
        time: Date.now(),
      };
      if (shapeOf(selector.syntax) === '1.0') update.type = SUBSCRIPTION_EVENT_TYPE;
      this.append(update).catch((error) => {
        this.logger?.warn({ err: error, topic: doc.id }, 'subscription event not published');
      });
    }
  }

  #left(subscriber: Subscriber): void {
    if (!subscriber.joined) return;
    this.logger?.debug({ subscriber: subscriber.id }, 'subscriber left');
    this.presence.leave(subscriber.id);
    this.announce(subscriber, false);
  }

  handle(req: NodeRequest, res: NodeServerResponse, next?: () => void): void {
    if (this.metrics.wire.enabled && req.httpVersionMajor === 1) {
      const socket = (req as IncomingMessage).socket;
      res.once('finish', () => this.metrics.wire.responseEnded(socket));
    }
    this.#route(req as IncomingMessage, res as ServerResponse, next).catch((error) => {
      const status = sendError(res as ServerResponse, error, this.#challenge);
      if (status >= 500) this.requestFailed(error, req.url);
    });
  }

  requestFailed(error: unknown, url: string | undefined): void {
    this.#repeatedErrors?.log('error', error, { url }, 'hub request failed');
  }

  async #route(req: IncomingMessage, res: ServerResponse, next: (() => void) | undefined): Promise<void> {
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl.startsWith('/') ? rawUrl : `/${rawUrl}`, 'http://hub.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const isHub = path === HUB_PATH || path.startsWith(`${HUB_PATH}/`);
    if (!isHub) {
      if (path === HEALTH_PATH)
        return handleHealth(res, this.store, () => this.closing, this.#repeatedErrors);
      if (path === METRICS_PATH && this.options.metrics) {
        if (!guardMetrics(req, res, this.options.metricsToken)) return;
        return handleMetrics(res, this.metrics);
      }
      if (path === this.#metadataPath && (method === 'GET' || method === 'HEAD')) {
        this.cors.apply(req, res);
        return handleResourceMetadata(res, this.options);
      }
      if (next !== undefined) return next();
      throw new HubHttpError(404, 'HERALD_ERR_HUB_NOT_FOUND', `nothing at ${path}`);
    }
    if (method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      this.cors.preflight(req, res);
      return;
    }
    this.cors.apply(req, res);
    // Every hub route reads its query through `url.searchParams`, which would turn bytes that are
    // not UTF-8 into U+FFFD: refuse them once, here.
    assertStrictForm(url.search.slice(1), 'query');
    if (this.closing) {
      res.setHeader('Retry-After', '1');
      throw new HubHttpError(
        503,
        'HERALD_ERR_HUB_CLOSING',
        'the hub is shutting down; retry on another node',
      );
    }
    if (path === HUB_PATH) {
      if (method === 'GET' || method === 'HEAD') {
        const transport = this.#requestedTransport(url);
        if (transport === 'ws') {
          res.setHeader('Upgrade', 'websocket');
          res.setHeader('Connection', 'Upgrade');
          throw new HubHttpError(
            426,
            'HERALD_ERR_HUB_UPGRADE_REQUIRED',
            'transport=ws needs a WebSocket handshake (Upgrade: websocket); use a WebSocket client',
          );
        }
        if (this.#addresses.enabled) this.#admitAddress(req, res);
        try {
          if (transport === 'poll') return await handlePoll(this, req, res, url);
          return await handleSubscribe(this, req, res, url);
        } catch (error) {
          this.metrics.subscribeRejected++;
          if (this.closing && !res.headersSent) res.setHeader('Retry-After', '1'); // closed while admitting
          throw error;
        }
      }
      if (method === 'POST') {
        try {
          return await handlePublish(this, req, res, url);
        } catch (error) {
          this.metrics.publishRejected++;
          throw error;
        }
      }
      res.setHeader('Allow', 'GET, HEAD, POST, OPTIONS');
      throw new HubHttpError(405, 'HERALD_ERR_HUB_METHOD', `${method} is not allowed on ${HUB_PATH}`);
    }
    if (path === STREAMS_PATH) {
      if (method !== 'GET' && method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD, OPTIONS');
        throw new HubHttpError(
          405,
          'HERALD_ERR_HUB_METHOD',
          `${method} is not allowed on ${path}; write streams by publishing with herald.stream`,
        );
      }
      // A stream reader holds a connection as a subscriber does: counted against its address too.
      if (this.#addresses.enabled) this.#admitAddress(req, res);
      return handleStreamRead(this, req, res, url);
    }
    if (
      this.options.subscriptions &&
      (path === SUBSCRIPTIONS_PATH || path.startsWith(`${SUBSCRIPTIONS_PATH}/`))
    ) {
      if (method !== 'GET' && method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD, OPTIONS');
        throw new HubHttpError(405, 'HERALD_ERR_HUB_METHOD', `${method} is not allowed on ${path}`);
      }
      return handleSubscriptions(this, req, res, url);
    }
    throw new HubHttpError(404, 'HERALD_ERR_HUB_NOT_FOUND', `nothing at ${path}`);
  }

  /**
   * The transport a subscribe request asks for (`transport` query parameter, default `sse`);
   * 400 for an unknown name, 404 for one switched off.
   */
  #requestedTransport(url: URL, upgrade = false): Transport {
    const name = url.searchParams.get('transport') ?? (upgrade ? 'ws' : 'sse');
    const on = this.options.transports;
    if (name !== 'sse' && name !== 'ws' && name !== 'poll') {
      throw new HubHttpError(
        400,
        'HERALD_ERR_HUB_UNKNOWN_TRANSPORT',
        `unknown transport ${JSON.stringify(name)}: use sse (the default), ws (a WebSocket upgrade) or poll`,
      );
    }
    if (upgrade && name !== 'ws') {
      throw new HubHttpError(
        400,
        'HERALD_ERR_HUB_UNKNOWN_TRANSPORT',
        `a WebSocket upgrade cannot use transport=${name}: drop the parameter or send a plain GET`,
      );
    }
    if (!on.includes(name)) {
      throw new HubHttpError(
        404,
        'HERALD_ERR_HUB_TRANSPORT_OFF',
        `the ${name} transport is off on this hub; it serves ${on.join(', ')} (transports option)`,
      );
    }
    return name;
  }

  /** Everything a WebSocket upgrade passes before its subscription is admitted, as `#route` does for a GET. */
  #gateUpgrade(req: IncomingMessage, socket: Duplex): { ignoreCookie: boolean } {
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl.startsWith('/') ? rawUrl : `/${rawUrl}`, 'http://hub.invalid');
    if (url.pathname !== HUB_PATH) {
      throw new HubHttpError(
        404,
        'HERALD_ERR_HUB_NOT_FOUND',
        `no WebSocket at ${url.pathname}: subscribe on ${HUB_PATH}`,
      );
    }
    assertStrictForm(url.search.slice(1), 'query');
    if (this.closing) {
      throw new HubHttpError(
        503,
        'HERALD_ERR_HUB_CLOSING',
        'the hub is shutting down; retry on another node',
      );
    }
    this.#requestedTransport(url, true);
    const access = this.cors.upgradeAccess(req);
    if (access === 'refused') {
      throw new HubHttpError(
        403,
        'HERALD_ERR_HUB_WS_ORIGIN',
        `a WebSocket from origin ${JSON.stringify(req.headers.origin)} is not allowed: add it to corsOrigins ` +
          "or connect from the hub's own origin",
      );
    }
    if (this.#addresses.enabled) this.#addresses.count(req, socket);
    return { ignoreCookie: access === 'anonymous' };
  }

  servePublishConnections(server: Server): boolean {
    return servePublishConnections(server, this);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#ws.handleUpgrade(req, socket, head);
  }

  attach<S extends Server>(server: S, next?: (req: IncomingMessage, res: ServerResponse) => void): S {
    server.on('request', (req: IncomingMessage, res: ServerResponse) =>
      this.handle(req, res, next && (() => next(req, res))),
    );
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.handleUpgrade(req, socket, head),
    );
    return server;
  }

  /** Counts a subscribe request against its address until its response closes; 429 past the bound. */
  #admitAddress(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.#addresses.count(req, res);
    } catch (error) {
      this.metrics.subscribeRejected++;
      res.setHeader('Retry-After', '1');
      throw error;
    }
  }

  close(options: HubCloseOptions = {}): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.closing = true;
    this.#closed = (async () => {
      this.sse.closeAll({ retryMs: options.retryMs });
      // Waiting long polls answer now, with no update and their cursor.
      const polls = [...this.registry.values()].filter((s) => s.format === 'poll');
      for (const s of polls) this.registry.end(s, 'shutdown');
      this.#repeatedErrors?.close();
      await this.#ws.close(options.retryMs);
      this.registry.close();
      this.#unsubscribe();
      this.cursorSeed.close();
      await this.presence.close();
      this.streamReaders.clear();
      await this.streams.close();
      await this.store.close();
    })();
    return this.#closed;
  }
}
