/**
 * herald/hub: a Mercure hub (draft-07 and 1.0 at once) for node:http and node:http2 servers.
 *
 * @example
 * import http from 'node:http';
 * import { createHub } from 'herald/hub';
 * const hub = createHub({ jwt: { key: process.env.JWT_KEY! }, anonymous: true });
 * http.createServer((req, res) => hub.handle(req, res)).listen(3000);
 */

export { AuthConfigError, checkJwtKey, HMAC_MIN_KEY_BYTES, isPemKey } from './auth/index.js';
export { DEFAULT_PRIMARY_TIMEOUT_MS } from './cluster/ipc-store.js';
export { type Cluster, type ClusterOptions, startCluster } from './cluster/primary.js';
export { DEFAULT_MAX_WORKER_BACKLOG_BYTES } from './cluster/relay.js';
export { claimPort, OWN_SOCKET, reusePortAvailable } from './cluster/reuse-port.js';
export {
  connectToPrimary,
  isClusterWorker,
  reportStartupFailure,
  type WorkerLink,
} from './cluster/worker.js';
export {
  DEMO_TOPICS,
  type Demo,
  type DemoGroupAction,
  type DemoOptions,
  demoGroupAction,
  mountDemo,
} from './demo/index.js';
export { HubHttpError } from './http/errors.js';
export { guardMetrics } from './http/metrics-access.js';
export { KEY_FIELD, MAX_KEY_BYTES, type PublishInput, toUpdate } from './http/publish-input.js';
export { createHub, type Hub, type HubCloseOptions } from './hub.js';
export { HubMetrics } from './metrics/hub-metrics.js';
export {
  DEFAULT_COOKIE_NAME,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_HISTORY_PAGE_SIZE,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CONFLATION_BYTES,
  DEFAULT_MAX_CONFLATION_KEYS,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_MAX_SELECTORS,
  DEFAULT_MAX_TOPICS_PER_UPDATE,
  DEFAULT_POLL_TIMEOUT_MS,
  DEFAULT_RETRY_MS,
  HUB_PATH,
  HubOptionError,
  type HubOptions,
  JWT_ALGORITHMS,
  type JwtKeyOptions,
  ORIGIN_RULE,
  parseOrigin,
  type ResolvedHubOptions,
  resolveHubOptions,
  SLOW_CONSUMER_POLICIES,
  type SlowConsumerPolicy,
  type Transport,
} from './options.js';
export {
  createRedisPresence,
  DEFAULT_PRESENCE_TTL_MS,
  type RedisPresence,
  type RedisPresenceOptions,
} from './presence/redis-presence.js';
export {
  createMemoryStore,
  DEFAULT_RETENTION,
  type OpenStoreOptions,
  openResumableStore,
  openStore,
  parseStoreSpec,
  type RedisResumableStore,
  type RedisResumableStoreOptions,
  type Retention,
  type SqliteResumableStoreOptions,
  type Store,
  StoreUnavailableError,
} from './stores/index.js';
export {
  createLocalPresence,
  type Presence,
  type RecordedSelector,
  type SelectorSyntax,
  type SubscriberRecord,
} from './subscribers/presence.js';
export { WIRE_FORMATS, type WireFormat } from './subscribers/wire-format.js';
export type { Update } from './update.js';
