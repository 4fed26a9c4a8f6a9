/**
 * What the hub's Redis clients (the store's writer and reader, the presence) share: checking the URL
 * and key prefix, and the connection settings that make them fail fast and reconnect politely.
 */
import { isIP } from 'node:net';
import { StoreConfigError } from './errors.js';
import type { RedisOptions } from './ioredis.js';
import { parseStoreSpec, redact, type StoreLocation } from './spec.js';

export type RedisLocation = Extract<StoreLocation, { kind: 'redis' }>;

/** `role` names the client in messages: `store`, `presence`. */
export function redisLocation(role: string, url: string): RedisLocation {
  const location = parseStoreSpec(url);
  if (location.kind !== 'redis') {
    throw new StoreConfigError(
      `redis ${role} URL must start with redis://, rediss:// or redis+sentinel:// (got ${redact(url)})`,
    );
  }
  return location;
}

/** The key prefix, `herald` by default. */
export function redisPrefix(role: string, prefix: string | undefined): string {
  const value = prefix ?? 'herald';
  if (typeof value !== 'string' || value === '') {
    throw new StoreConfigError(
      `redis ${role} prefix must be a non-empty string (got ${JSON.stringify(value)}); use e.g. 'herald'`,
    );
  }
  return value;
}

/** A duration option: a positive integer of milliseconds, or `fallback` when not given. */
export function positiveMs(role: string, name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new StoreConfigError(
      `redis ${role} ${name} must be a positive integer of milliseconds (got ${String(value)}); e.g. ${fallback}`,
    );
  }
  return value;
}

/** A prefix as a CLIENT SETNAME value: printable ASCII without spaces. */
export function connectionName(prefix: string): string {
  return prefix.replace(/[^\x21-\x7e]/g, '_');
}

/**
 * Where to connect and how to behave while Redis is away: fail fast instead of queueing, and
 * reconnect forever, backing off to 2 s, with jitter so a fleet of nodes does not stampede.
 */
export function baseRedisOptions(location: RedisLocation): RedisOptions {
  const credentials = /^[a-z+]+:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?/i.exec(location.url);
  const username = credentials?.[1] ? decodeURIComponent(credentials[1]) : undefined;
  const password = credentials?.[2] ? decodeURIComponent(credentials[2]) : undefined;
  const backoff = (times: number) =>
    Math.min(50 * 2 ** Math.min(times, 6), 2000) + Math.floor(Math.random() * 100);
  const where: RedisOptions =
    location.sentinels === undefined
      ? { host: location.host, port: location.port }
      : {
          // Asks the sentinels where the master is on every (re)connect: a dead master's socket
          // closes, and a demoted one answers writes with READONLY (below); either way the client
          // reconnects to the master the sentinels name then.
          sentinels: location.sentinels,
          name: location.masterName,
          role: 'master',
          // All sentinels unreachable: keep asking, as for the master itself (null would give up).
          sentinelRetryStrategy: backoff,
          // A demoted master answers writes with READONLY: reconnect, asking the sentinels again.
          reconnectOnError: (error) => /^READONLY/.test(error.message),
        };
  return {
    ...where,
    db: location.db,
    username,
    password,
    // SNI carries host names only (RFC 6066 section 3), never an IP address.
    tls: location.tls ? (isIP(location.host) ? {} : { servername: location.host }) : undefined,
    // On close the client ends its socket and destroys it if still open after this long; it also
    // arms that timer for a socket already closed by a failed connect, which would keep the
    // process alive for the default 2 s after close().
    disconnectTimeout: 200,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: backoff,
  };
}
