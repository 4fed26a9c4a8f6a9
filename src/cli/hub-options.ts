/** Turns `herald serve`'s checked options into the hub's own (`HubOptions`) and the store's. */
import type { Logger } from 'pino';
import type { HubOptions, JwtKeyOptions, Retention, Store, Transport } from '../hub/index.js';
import { connectionCaps, openFileLimit } from './file-limit.js';
import type { ServeConfig } from './serve-options.js';

/**
 * The hub options for one process. The store and logger are opened by the caller (the primary owns
 * the real store when there are workers), so they come in as instances.
 */
export function toHubOptions(config: ServeConfig, store: Store, logger: Logger): HubOptions {
  const options: HubOptions = {
    store,
    logger,
    anonymous: config.anonymous,
    tcpNoDelay: config.tcpNoDelay,
    subscriptions: config.subscriptions,
    corsOrigins: config.corsOrigins,
    publishOrigins: config.publishOrigins,
    transports: config.transports as Transport[],
  };
  const publisherJwt = roleKey(config.publisherJwtKey, config.publisherJwtAlgorithm, config);
  const subscriberJwt = roleKey(config.subscriberJwtKey, config.subscriberJwtAlgorithm, config);
  if (publisherJwt !== undefined) options.publisherJwt = publisherJwt;
  if (subscriberJwt !== undefined) options.subscriberJwt = subscriberJwt;
  if (config.jwtAudience !== undefined) options.audience = config.jwtAudience;
  if (config.jwtIssuer !== undefined) options.issuer = config.jwtIssuer;
  if (config.heartbeatMs !== undefined) options.heartbeatMs = config.heartbeatMs;
  if (config.pollTimeoutMs !== undefined) options.pollTimeoutMs = config.pollTimeoutMs;
  if (config.retryMs !== undefined) options.retryMs = config.retryMs;
  if (config.maxConnectionsPerAddress > 0) options.maxConnectionsPerAddress = config.maxConnectionsPerAddress;
  options.resumable = { maxOpenStreams: config.maxOpenStreams, maxHeldBytes: config.maxHeldStreamBytes };
  // Without --max-connections, a cap derived from this process's open-file limit (file-limit.ts).
  const maxSubscribers = config.maxConnections ?? connectionCaps(openFileLimit())?.subscribers;
  if (maxSubscribers !== undefined && maxSubscribers > 0) options.maxSubscribers = maxSubscribers;
  if (config.selectorCompileBudget !== undefined)
    options.selectorCompileBudget = config.selectorCompileBudget;
  if (config.metricsToken !== undefined) options.metricsToken = config.metricsToken;
  options.slowConsumerPolicy = config.slowConsumerPolicy;
  if (config.maxConflationKeys !== undefined) options.maxConflationKeys = config.maxConflationKeys;
  if (config.maxConflationBytes !== undefined) options.maxConflationBytes = config.maxConflationBytes;
  if (config.defaultMaxRate !== undefined) options.defaultMaxRate = config.defaultMaxRate;
  if (config.maxRateCap !== undefined) options.maxRateCap = config.maxRateCap;
  return options;
}

/** A role's key: its own, else the shared `--jwt-key`, else the JWKS URL; likewise its algorithm. */
function roleKey(
  key: string | undefined,
  algorithm: string | undefined,
  config: ServeConfig,
): JwtKeyOptions | undefined {
  const chosenKey = key ?? config.jwtKey;
  const chosenAlgorithm = algorithm ?? config.jwtAlgorithm;
  if (chosenKey !== undefined) {
    return chosenAlgorithm === undefined
      ? { key: chosenKey }
      : { key: chosenKey, algorithm: chosenAlgorithm };
  }
  if (config.jwksUrl !== undefined) {
    return chosenAlgorithm === undefined
      ? { jwksUrl: config.jwksUrl }
      : { jwksUrl: config.jwksUrl, algorithm: chosenAlgorithm };
  }
  return undefined;
}

/**
 * Where resumable streams are kept: `--stream-store` when given, else beside the history: in
 * memory for `memory`, in a file of their own next to the SQLite file (`X.db` → `X.streams.db`),
 * in the same Redis (and prefix) for Redis, so that every hub of the group serves every stream.
 */
export function streamStoreSpec(config: ServeConfig): string {
  if (config.streamStore !== undefined) return config.streamStore;
  const store = config.store;
  if (!store.startsWith('sqlite:')) return store;
  const path = store.slice('sqlite:'.length);
  const dot = path.lastIndexOf('.');
  const slash = path.lastIndexOf('/');
  return dot > slash + 1
    ? `sqlite:${path.slice(0, dot)}.streams${path.slice(dot)}`
    : `sqlite:${path}.streams`;
}

/** The store's retention: the flags given, else `defaults` (the stores' `DEFAULT_RETENTION`). */
export function toRetention(config: ServeConfig, defaults: Retention): Retention {
  return {
    maxCount: config.historySize ?? defaults.maxCount,
    maxAgeMs: config.historyMaxAgeMs ?? defaults.maxAgeMs,
    maxBytes: config.historyMaxBytes ?? defaults.maxBytes,
  };
}
