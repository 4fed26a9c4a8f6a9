/**
 * Every option of `herald serve`, in one table: its flag, its `HERALD_*` variable, its config-file
 * key, how its text is read and what it means. The parser, the help text and the docs all come from
 * this table, so they cannot drift apart.
 */

import {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_CONFLATION_BYTES,
  DEFAULT_MAX_CONFLATION_KEYS,
  DEFAULT_MAX_WORKER_BACKLOG_BYTES,
  DEFAULT_POLL_TIMEOUT_MS,
  DEFAULT_PRIMARY_TIMEOUT_MS,
  DEFAULT_RETENTION,
  DEFAULT_RETRY_MS,
  JWT_ALGORITHMS,
  SLOW_CONSUMER_POLICIES,
  type SlowConsumerPolicy,
  WIRE_FORMATS,
} from '../hub/index.js';
import { DEFAULT_MAX_HELD_BYTES, DEFAULT_MAX_OPEN_STREAMS } from '../server/index.js';
import { formatDuration } from './duration.js';

/** How an option's text is read. */
export type OptionKind =
  | 'string'
  | 'boolean'
  | 'integer'
  /** A positive decimal number (rates: `1`, `0.5`). */
  | 'rate'
  | 'duration'
  | 'list'
  /** A JWT key: HMAC secret, PEM public key, or `@path` to read it from a file. */
  | 'key'
  /** A file path, relative to the working directory (flags, env) or to the config file. */
  | 'path'
  | 'store';

/** The options of `herald serve` once every source has been read and checked. */
export interface ServeConfig {
  port: number;
  host: string | undefined;
  /** Key used for both roles unless a per-role key is given. */
  jwtKey: string | undefined;
  publisherJwtKey: string | undefined;
  subscriberJwtKey: string | undefined;
  jwtAlgorithm: string | undefined;
  publisherJwtAlgorithm: string | undefined;
  subscriberJwtAlgorithm: string | undefined;
  jwksUrl: string | undefined;
  jwtAudience: string | undefined;
  jwtIssuer: string | undefined;
  anonymous: boolean;
  tcpNoDelay: boolean;
  corsOrigins: string[];
  publishOrigins: string[];
  subscriptions: boolean;
  store: string;
  storePrefix: string | undefined;
  /** Where resumable streams are kept; undefined: beside the history (see `streamStoreSpec`). */
  streamStore: string | undefined;
  maxOpenStreams: number;
  maxHeldStreamBytes: number;
  redisWaitReplicas: number;
  redisWaitTimeoutMs: number | undefined;
  historySize: number | undefined;
  historyMaxAgeMs: number | undefined;
  historyMaxBytes: number | undefined;
  heartbeatMs: number | undefined;
  retryMs: number | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  workers: number;
  workerBacklogBytes: number;
  primaryTimeoutMs: number;
  maxConnectionsPerAddress: number;
  maxConnections: number | undefined;
  metricsToken: string | undefined;
  selectorCompileBudget: number | undefined;
  slowConsumerPolicy: SlowConsumerPolicy;
  maxConflationKeys: number | undefined;
  maxConflationBytes: number | undefined;
  defaultMaxRate: number | undefined;
  maxRateCap: number | undefined;
  transports: string[];
  pollTimeoutMs: number | undefined;
  demo: boolean;
  logLevel: string;
  shutdownTimeoutMs: number;
  shutdownRetryMs: number;
}

export interface OptionSpec {
  /** The key in `ServeConfig` and in the config file. */
  key: keyof ServeConfig;
  /** The long flag, without `--`. */
  flag: string;
  /** The environment variable. */
  env: string;
  kind: OptionKind;
  /** Shown in help after the flag (`--port <n>`). Absent for booleans. */
  value?: string;
  help: string;
  /** Shown as "(default: …)" in help; the actual default lives in `SERVE_DEFAULTS`. */
  shownDefault?: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
}

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Defaults of every option; `undefined` leaves the choice to the hub (`resolveHubOptions`). */
export const SERVE_DEFAULTS: ServeConfig = {
  port: 3000,
  host: undefined,
  jwtKey: undefined,
  publisherJwtKey: undefined,
  subscriberJwtKey: undefined,
  jwtAlgorithm: undefined,
  publisherJwtAlgorithm: undefined,
  subscriberJwtAlgorithm: undefined,
  jwksUrl: undefined,
  jwtAudience: undefined,
  jwtIssuer: undefined,
  anonymous: false,
  tcpNoDelay: false,
  corsOrigins: [],
  publishOrigins: [],
  subscriptions: false,
  store: 'memory',
  storePrefix: undefined,
  streamStore: undefined,
  maxOpenStreams: DEFAULT_MAX_OPEN_STREAMS,
  maxHeldStreamBytes: DEFAULT_MAX_HELD_BYTES,
  redisWaitReplicas: 0,
  redisWaitTimeoutMs: undefined,
  historySize: undefined,
  historyMaxBytes: undefined,
  historyMaxAgeMs: undefined,
  heartbeatMs: undefined,
  retryMs: undefined,
  tlsCert: undefined,
  tlsKey: undefined,
  workers: 1,
  workerBacklogBytes: DEFAULT_MAX_WORKER_BACKLOG_BYTES,
  primaryTimeoutMs: DEFAULT_PRIMARY_TIMEOUT_MS,
  maxConnectionsPerAddress: 0,
  maxConnections: undefined,
  metricsToken: undefined,
  selectorCompileBudget: undefined,
  slowConsumerPolicy: 'close',
  maxConflationKeys: undefined,
  maxConflationBytes: undefined,
  defaultMaxRate: undefined,
  maxRateCap: undefined,
  transports: [...WIRE_FORMATS],
  pollTimeoutMs: undefined,
  demo: false,
  logLevel: 'info',
  // Orchestrators (systemd, Kubernetes) wait 30 s or more before SIGKILL; 10 s leaves them margin.
  shutdownTimeoutMs: 10_000,
  // Clients come back soon, but not all in the same millisecond as a restarted hub's first one.
  shutdownRetryMs: 2_000,
};

export const OPTION_SPECS: readonly OptionSpec[] = [
  {
    key: 'port',
    flag: 'port',
    env: 'HERALD_PORT',
    kind: 'integer',
    value: '<n>',
    min: 0,
    max: 65535,
    help: 'TCP port to listen on; 0 picks a free one',
    shownDefault: '3000',
  },
  {
    key: 'host',
    flag: 'host',
    env: 'HERALD_HOST',
    kind: 'string',
    value: '<addr>',
    help: 'address to listen on',
    shownDefault: 'all interfaces; localhost with --demo',
  },
  {
    key: 'jwtKey',
    flag: 'jwt-key',
    env: 'HERALD_JWT_KEY',
    kind: 'key',
    value: '<key|@file>',
    help: 'key verifying both publisher and subscriber tokens: HMAC secret, PEM public key, or @file',
  },
  {
    key: 'publisherJwtKey',
    flag: 'publisher-jwt-key',
    env: 'HERALD_PUBLISHER_JWT_KEY',
    kind: 'key',
    value: '<key|@file>',
    help: 'key verifying publisher tokens (overrides --jwt-key)',
  },
  {
    key: 'subscriberJwtKey',
    flag: 'subscriber-jwt-key',
    env: 'HERALD_SUBSCRIBER_JWT_KEY',
    kind: 'key',
    value: '<key|@file>',
    help: 'key verifying subscriber tokens (overrides --jwt-key)',
  },
  {
    key: 'jwtAlgorithm',
    flag: 'jwt-algorithm',
    env: 'HERALD_JWT_ALGORITHM',
    kind: 'string',
    value: '<alg>',
    choices: JWT_ALGORITHMS,
    help: 'algorithm tokens must be signed with',
    shownDefault: 'HS256 for secrets',
  },
  {
    key: 'publisherJwtAlgorithm',
    flag: 'publisher-jwt-algorithm',
    env: 'HERALD_PUBLISHER_JWT_ALGORITHM',
    kind: 'string',
    value: '<alg>',
    choices: JWT_ALGORITHMS,
    help: 'algorithm of publisher tokens',
  },
  {
    key: 'subscriberJwtAlgorithm',
    flag: 'subscriber-jwt-algorithm',
    env: 'HERALD_SUBSCRIBER_JWT_ALGORITHM',
    kind: 'string',
    value: '<alg>',
    choices: JWT_ALGORITHMS,
    help: 'algorithm of subscriber tokens',
  },
  {
    key: 'jwksUrl',
    flag: 'jwks-url',
    env: 'HERALD_JWKS_URL',
    kind: 'string',
    value: '<url>',
    help: 'JSON Web Key Set to verify tokens with, for roles given no key',
  },
  {
    key: 'jwtAudience',
    flag: 'jwt-audience',
    env: 'HERALD_JWT_AUDIENCE',
    kind: 'string',
    value: '<aud>',
    help: 'audience 1.0 tokens (typ at+jwt) must name',
  },
  {
    key: 'jwtIssuer',
    flag: 'jwt-issuer',
    env: 'HERALD_JWT_ISSUER',
    kind: 'string',
    value: '<iss>',
    help: 'issuer 1.0 tokens (typ at+jwt) must name',
  },
  {
    key: 'anonymous',
    flag: 'anonymous',
    env: 'HERALD_ANONYMOUS',
    kind: 'boolean',
    help: 'let subscribers without a token receive public updates',
  },
  {
    key: 'corsOrigins',
    flag: 'cors-origins',
    env: 'HERALD_CORS_ORIGINS',
    kind: 'list',
    value: '<origins>',
    help: 'origins allowed to subscribe from a browser, comma-separated, or *',
  },
  {
    key: 'publishOrigins',
    flag: 'publish-origins',
    env: 'HERALD_PUBLISH_ORIGINS',
    kind: 'list',
    value: '<origins>',
    help: 'origins allowed to publish with the cookie, comma-separated, or *',
  },
  {
    key: 'subscriptions',
    flag: 'subscriptions',
    env: 'HERALD_SUBSCRIPTIONS',
    kind: 'boolean',
    help: 'publish subscription events and serve the subscriptions API',
  },
  {
    key: 'store',
    flag: 'store',
    env: 'HERALD_STORE',
    kind: 'store',
    value: '<spec>',
    help: 'where history is kept: memory, sqlite:PATH or redis://HOST:PORT',
    shownDefault: 'memory',
  },
  {
    key: 'storePrefix',
    flag: 'store-prefix',
    env: 'HERALD_STORE_PREFIX',
    kind: 'string',
    value: '<prefix>',
    help: 'Redis only: key prefix; hubs sharing Redis and prefix share history and updates',
    shownDefault: 'herald',
  },
  {
    key: 'streamStore',
    flag: 'stream-store',
    env: 'HERALD_STREAM_STORE',
    kind: 'store',
    value: '<spec>',
    help: 'where resumable streams are kept: memory, sqlite:PATH (a file of its own) or redis://HOST:PORT (with --store-prefix)',
    shownDefault: 'beside --store: memory; sqlite:X.db gives sqlite:X.streams.db; the same Redis',
  },
  {
    key: 'maxOpenStreams',
    flag: 'max-open-streams',
    env: 'HERALD_MAX_OPEN_STREAMS',
    kind: 'integer',
    value: '<n>',
    min: 0,
    help: 'resumable streams open at once (past it, a start gets 503); 0: no limit. Not checked on Redis',
    shownDefault: String(DEFAULT_MAX_OPEN_STREAMS),
  },
  {
    key: 'maxHeldStreamBytes',
    flag: 'max-held-stream-bytes',
    env: 'HERALD_MAX_HELD_STREAM_BYTES',
    kind: 'integer',
    value: '<bytes>',
    min: 0,
    help: 'chunk bytes all kept resumable streams may hold (past it, 503); 0: no limit. Not checked on Redis',
    shownDefault: String(DEFAULT_MAX_HELD_BYTES),
  },
  {
    key: 'redisWaitReplicas',
    flag: 'redis-wait-replicas',
    env: 'HERALD_REDIS_WAIT_REPLICAS',
    kind: 'integer',
    value: '<n>',
    min: 0,
    max: 100,
    help: 'Redis only: acknowledge a publish once this many replicas have it (WAIT), so it survives a failover',
    shownDefault: '0',
  },
  {
    key: 'redisWaitTimeoutMs',
    flag: 'redis-wait-timeout',
    env: 'HERALD_REDIS_WAIT_TIMEOUT',
    kind: 'duration',
    value: '<duration>',
    help: 'Redis only: how long a publish waits for those replicas before answering 503',
    shownDefault: '1s',
  },
  {
    key: 'historySize',
    flag: 'history-size',
    env: 'HERALD_HISTORY_SIZE',
    kind: 'integer',
    value: '<n>',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    shownDefault: String(DEFAULT_RETENTION.maxCount),
    help: 'updates kept per topic for reconnecting subscribers (an update with several topics counts in each)',
  },
  {
    key: 'historyMaxBytes',
    flag: 'history-max-bytes',
    env: 'HERALD_HISTORY_MAX_BYTES',
    kind: 'integer',
    value: '<bytes>',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    shownDefault: String(DEFAULT_RETENTION.maxBytes),
    help: 'bytes of kept updates, all topics together, oldest dropped first; 0: no byte limit',
  },
  {
    key: 'historyMaxAgeMs',
    flag: 'history-max-age',
    env: 'HERALD_HISTORY_MAX_AGE',
    kind: 'duration',
    value: '<duration>',
    shownDefault: formatDuration(DEFAULT_RETENTION.maxAgeMs),
    help: 'drop kept updates older than this; 0 keeps them whatever their age',
  },
  {
    key: 'heartbeatMs',
    flag: 'heartbeat',
    env: 'HERALD_HEARTBEAT',
    kind: 'duration',
    value: '<duration>',
    shownDefault: formatDuration(DEFAULT_HEARTBEAT_MS),
    help: 'longest silence of a stream: idle streams get a keep-alive comment; 0 disables them',
  },
  {
    key: 'retryMs',
    flag: 'retry',
    env: 'HERALD_RETRY',
    kind: 'duration',
    value: '<duration>',
    shownDefault: formatDuration(DEFAULT_RETRY_MS),
    help: 'reconnection delay (retry:) sent to subscribers when their stream opens',
  },
  {
    key: 'tcpNoDelay',
    flag: 'tcp-nodelay',
    env: 'HERALD_TCP_NODELAY',
    kind: 'boolean',
    help: 'send each update to HTTP/1.1 subscribers in its own TCP segment at once (more CPU, less latency)',
  },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    env: 'HERALD_TLS_CERT',
    kind: 'path',
    value: '<file>',
    help: 'PEM certificate chain: serve HTTPS, HTTP/2 and HTTP/1.1 on one port',
  },
  {
    key: 'tlsKey',
    flag: 'tls-key',
    env: 'HERALD_TLS_KEY',
    kind: 'path',
    value: '<file>',
    help: 'PEM private key of --tls-cert',
  },
  {
    key: 'workers',
    flag: 'workers',
    env: 'HERALD_WORKERS',
    kind: 'integer',
    value: '<n>',
    min: 1,
    max: 256,
    help: 'processes sharing the port (one holds about 20k connections)',
    shownDefault: '1',
  },
  {
    key: 'workerBacklogBytes',
    flag: 'worker-backlog',
    env: 'HERALD_WORKER_BACKLOG',
    kind: 'integer',
    value: '<bytes>',
    min: 65_536,
    max: Number.MAX_SAFE_INTEGER,
    help: 'with --workers: bytes the primary holds for a worker that stopped reading before it kills and replaces it',
    shownDefault: String(DEFAULT_MAX_WORKER_BACKLOG_BYTES),
  },
  {
    key: 'primaryTimeoutMs',
    flag: 'primary-timeout',
    env: 'HERALD_PRIMARY_TIMEOUT',
    kind: 'duration',
    value: '<duration>',
    help: "with --workers: how long a worker waits for the primary's answer (publish, history) before a 503; 0 waits forever",
    shownDefault: formatDuration(DEFAULT_PRIMARY_TIMEOUT_MS),
  },
  {
    key: 'maxConnectionsPerAddress',
    flag: 'max-connections-per-address',
    env: 'HERALD_MAX_CONNECTIONS_PER_ADDRESS',
    kind: 'integer',
    value: '<n>',
    min: 0,
    help: 'subscriber streams and stream readers one client address may hold (past it, 429); 0: no limit, as behind a proxy',
    shownDefault: '0',
  },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    env: 'HERALD_MAX_CONNECTIONS',
    kind: 'integer',
    value: '<n>',
    min: 0,
    help: 'subscribers (SSE, WebSocket, long polls) one process holds (past it, 503 with Retry-After); 0: no cap',
    shownDefault: '90% of the open-file limit',
  },
  {
    key: 'metricsToken',
    flag: 'metrics-token',
    env: 'HERALD_METRICS_TOKEN',
    kind: 'key',
    value: '<token|@file>',
    help: 'a secret /metrics scrapes must send as "Authorization: Bearer <token>" (past it, 401); none: /metrics is public',
  },
  {
    key: 'selectorCompileBudget',
    flag: 'selector-compile-budget',
    env: 'HERALD_SELECTOR_COMPILE_BUDGET',
    kind: 'integer',
    value: '<units>',
    min: 0,
    help: 'units a second one client address may spend compiling new topic selectors (past it, 429); 0: no limit per address',
    shownDefault: '10000',
  },
  {
    key: 'slowConsumerPolicy',
    flag: 'slow-consumer-policy',
    env: 'HERALD_SLOW_CONSUMER_POLICY',
    kind: 'string',
    value: '<policy>',
    choices: SLOW_CONSUMER_POLICIES,
    shownDefault: 'close',
    help: 'a subscriber that cannot keep up: close (it resumes) or conflate (keeps its stream, gets the latest of each herald.key)',
  },
  {
    key: 'maxConflationKeys',
    flag: 'max-conflation-keys',
    env: 'HERALD_MAX_CONFLATION_KEYS',
    kind: 'integer',
    value: '<n>',
    min: 0,
    shownDefault: String(DEFAULT_MAX_CONFLATION_KEYS),
    help: 'with conflate, most keys a subscriber past its queue bound may hold; one more closes it',
  },
  {
    key: 'maxConflationBytes',
    flag: 'max-conflation-bytes',
    env: 'HERALD_MAX_CONFLATION_BYTES',
    kind: 'integer',
    value: '<bytes>',
    min: 1,
    shownDefault: String(DEFAULT_MAX_CONFLATION_BYTES),
    help: 'with conflate, most bytes a subscriber past its queue bound may hold, all keys together; more closes it',
  },
  {
    key: 'defaultMaxRate',
    flag: 'max-rate',
    env: 'HERALD_MAX_RATE',
    kind: 'rate',
    value: '<per-second>',
    shownDefault: 'no limit',
    help: 'sends per second to subscribers that ask no maxRate; a send carries every update due (keyed ones conflated)',
  },
  {
    key: 'maxRateCap',
    flag: 'max-rate-cap',
    env: 'HERALD_MAX_RATE_CAP',
    kind: 'rate',
    value: '<per-second>',
    shownDefault: 'no cap',
    help: 'highest maxRate a subscriber may ask (past it, 400)',
  },
  {
    key: 'transports',
    flag: 'transports',
    env: 'HERALD_TRANSPORTS',
    kind: 'list',
    value: '<list>',
    choices: WIRE_FORMATS,
    help: 'how subscribers may connect: sse, ws (WebSocket), poll (long polling), comma-separated',
    shownDefault: WIRE_FORMATS.join(','),
  },
  {
    key: 'pollTimeoutMs',
    flag: 'poll-timeout',
    env: 'HERALD_POLL_TIMEOUT',
    kind: 'duration',
    value: '<duration>',
    help: 'how long a long poll waits for an update before answering an empty list',
    shownDefault: formatDuration(DEFAULT_POLL_TIMEOUT_MS),
  },
  {
    key: 'demo',
    flag: 'demo',
    env: 'HERALD_DEMO',
    kind: 'boolean',
    help: 'serve the demo pages; without keys, make a random one and print a publish command',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'HERALD_LOG_LEVEL',
    kind: 'string',
    value: '<level>',
    choices: LOG_LEVELS,
    help: 'least severe log level written',
    shownDefault: 'info',
  },
  {
    key: 'shutdownTimeoutMs',
    flag: 'shutdown-timeout',
    env: 'HERALD_SHUTDOWN_TIMEOUT',
    kind: 'duration',
    value: '<duration>',
    help: 'on SIGTERM, force the exit after this long',
    shownDefault: '10s',
  },
  {
    key: 'shutdownRetryMs',
    flag: 'shutdown-retry',
    env: 'HERALD_SHUTDOWN_RETRY',
    kind: 'duration',
    value: '<duration>',
    help: 'on SIGTERM, reconnection delay (retry:) sent to subscribers',
    shownDefault: '2s',
  },
];

/** The flag that names the config file; it is read before the other sources. */
export const CONFIG_FLAG = { flag: 'config', env: 'HERALD_CONFIG' } as const;
