/**
 * The hub's options: a plain data object (what `herald serve` builds from flags, environment and a
 * config file) plus two instances, the store and the logger. Checked once, by
 * {@link resolveHubOptions}, which fills in the defaults below and throws {@link HubOptionError}
 * naming the option, the value and the fix.
 */
import type { Logger } from 'pino';
import { HeraldError } from '../errors.js';
import type { ResumableStore } from '../server/index.js';
import {
  DEFAULT_MAX_CONFLATION_BYTES,
  DEFAULT_MAX_CONFLATION_KEYS,
  DEFAULT_HEARTBEAT_MS as SERVER_HEARTBEAT_MS,
  DEFAULT_RETRY_MS as SERVER_RETRY_MS,
} from '../server/index.js';
import { AuthConfigError, checkJwtKey } from './auth/index.js';
import { MIN_METRICS_TOKEN_LENGTH } from './http/metrics-access.js';
import type { Store } from './stores/store.js';
import type { Presence } from './subscribers/presence.js';
import { WIRE_FORMATS, type WireFormat } from './subscribers/wire-format.js';

/**
 * A way subscribers connect: `sse` (an event stream, Mercure's own), `ws` (WebSocket on the hub URL)
 * or `poll` (long polling, `?transport=poll`). See docs/transports.md.
 */
export type Transport = WireFormat;

/** A key that verifies JWTs: an HMAC secret or a PEM public key, with its algorithm. */
export interface JwtKeyOptions {
  /** HMAC secret (HS*) or PEM-encoded public key (RS*, PS*, ES*, EdDSA). */
  key?: string;
  /** JWS algorithm; defaults to `HS256` (Mercure's default). */
  algorithm?: string;
  /** A JWKS URL to fetch keys from instead of (or besides) `key`. */
  jwksUrl?: string;
}

/** Options of {@link createHub}. Every field is optional; see the `DEFAULT_*` constants. */
export interface HubOptions {
  /** Where updates are kept and relayed. Default: an in-memory store with the default retention. */
  store?: Store;
  /** A pino logger. Default: silent. */
  logger?: Logger;
  /** Who else holds subscribers, for the subscriptions API. Default: this process only. */
  presence?: Presence;
  /**
   * Where resumable streams are kept (see docs/resumable-streams.md). Default: this process's memory.
   * Use `openResumableStore('redis://…')` so readers on any node follow a producer on another.
   */
  resumableStore?: ResumableStore;
  /** Limits of resumable streams: chunk and stream sizes, expiry after the end, abort after silence. */
  resumable?: {
    maxChunkBytes?: number;
    maxStreamBytes?: number;
    expireAfterMs?: number;
    abortAfterMs?: number;
    /** Most streams open at once (default 10,000); past it a `start` is refused with 503. 0: none. */
    maxOpenStreams?: number;
    /** Most chunk bytes all kept streams hold (default 512 MiB); past it, 503. 0: none. */
    maxHeldBytes?: number;
  };

  /** Key for both publisher and subscriber tokens, unless one of the two below is given. */
  jwt?: JwtKeyOptions;
  /** Key for publisher tokens (Mercure `publisher_jwt`). */
  publisherJwt?: JwtKeyOptions;
  /** Key for subscriber tokens (Mercure `subscriber_jwt`). */
  subscriberJwt?: JwtKeyOptions;
  /** The `aud` that 1.0 (`typ: at+jwt`) tokens must carry: the hub's resource identifier. */
  audience?: string;
  /** The `iss` that 1.0 tokens must carry. */
  issuer?: string;
  /** Name of the cookie holding a token (draft-07). Default `mercureAuthorization`. */
  cookieName?: string;

  /** Let subscribers without a token receive public updates. Default false. */
  anonymous?: boolean;
  /** Serve the subscriptions API and publish subscription events. Default false. */
  subscriptions?: boolean;
  /** Origins allowed by CORS (`*` for any). Default none. */
  corsOrigins?: string[];
  /** Origins allowed to publish with a cookie token (CSRF check; `*` for any). Default none. */
  publishOrigins?: string[];
  /** The hub URL advertised in `Link: <...>; rel="mercure"`. Default `/.well-known/mercure`, relative. */
  hubUrl?: string;
  /** Serve `/metrics` (Prometheus text format). Default true. */
  metrics?: boolean;
  /**
   * A secret a scrape of `/metrics` must send as `Authorization: Bearer <token>` (at least 16
   * characters); without it the metrics are public. They show private publish counts and the
   * Node.js version: set it, or turn `metrics` off, on a hub reachable from the internet.
   */
  metricsToken?: string;

  /** Comment sent on idle streams so proxies keep them open, in ms; 0 disables. Default 15 000. */
  heartbeatMs?: number;
  /**
   * Reconnection time sent when a stream opens (`retry:`), in ms. Default 3000 (herald/server's
   * `DEFAULT_RETRY_MS`, what browsers assume anyway, now said so every client agrees); null sends none.
   */
  retryMs?: number | null;
  /** Bytes queued for one slow subscriber before it is dropped (it resumes with Last-Event-ID). */
  maxQueuedBytes?: number;
  /**
   * What happens to a subscriber past `maxQueuedBytes`. `'close'` (default): its stream ends and
   * it resumes with Last-Event-ID. `'conflate'`: it keeps its stream; keyed updates (`herald.key`)
   * replace the unsent one of their key, so it gets the latest of each when it reads again; a
   * keyless update past the budget, or more than `maxConflationKeys` keys, still closes it.
   */
  slowConsumerPolicy?: SlowConsumerPolicy;
  /** Under `'conflate'`, most distinct keys a subscriber past its budget may hold (default 10,000). */
  maxConflationKeys?: number;
  /**
   * Under `'conflate'`, most bytes a subscriber past its budget may hold, all keys together; a keyed
   * update that would pass it closes the stream (it resumes). Default 8 MiB.
   */
  maxConflationBytes?: number;
  /**
   * Updates per second sent to a subscriber that does not ask (`maxRate` query parameter); between
   * sends keyed updates are conflated, keyless ones batched. Default: no limit.
   */
  defaultMaxRate?: number;
  /** Highest `maxRate` a subscriber may ask; past it, 400. Default: no cap. */
  maxRateCap?: number;
  /**
   * Send each update to an HTTP/1.x subscriber at once in a TCP segment of its own. Default false:
   * Nagle's algorithm batches updates that follow one another within a round trip, for about a
   * third less CPU per delivery on busy topics (see `tcpNoDelay` in herald/server).
   */
  tcpNoDelay?: boolean;
  /** Most topic selectors in one subscription (`topic`/`match*` parameters); past it, 400. */
  maxSelectors?: number;
  /**
   * Units per second each client address may spend compiling topic selectors the hub has not
   * compiled yet (about one unit per compiled instruction, ~10 us; 50 more per selector); a bucket holds one second of it.
   * Past it, 429 with `Retry-After`. 0: no limit per address (one request may still spend at most
   * `MAX_REQUEST_SELECTOR_COST`, one selector `MAX_SELECTOR_COST`). Default 10,000.
   */
  selectorCompileBudget?: number;
  /** Most `topic` fields in one update; past it, 400. */
  maxTopicsPerUpdate?: number;
  /** Largest publish body in bytes; past it, 413. */
  maxBodyBytes?: number;
  /**
   * Updates read from the store per page when replaying history. Replay pages on until it meets the
   * live feed, so what a subscriber can get back is bounded by the store's retention, not by this.
   */
  historyPageSize?: number;
  /**
   * Most concurrent subscribers and resumable-stream readers on this process, together; past it,
   * 503. 0: no limit.
   */
  maxSubscribers?: number;
  /**
   * Most concurrent subscriber streams from one client address (the socket's peer); past it, 429
   * with `Retry-After`, so one host cannot take every socket of the process. Behind a proxy every
   * client shares the proxy's address: leave it off there (0, the default) or set it high.
   */
  maxConnectionsPerAddress?: number;
  /**
   * Longest life of a subscriber stream in ms, whatever its token says; the client reconnects and
   * presents its token again (Mercure 1.0 recommends it: `exp` alone cannot revoke a stream). Each
   * stream gets 80-100% of it, so streams opened together do not all reconnect together. 0: none.
   */
  maxConnectionMs?: number;
  /**
   * The transports subscribers may use, any of `sse`, `ws`, `poll`. Default all three. A request for
   * one that is off gets 404 naming the ones that are on.
   */
  transports?: Transport[];
  /**
   * How long a long-poll request waits for an update before it returns an empty list, in ms.
   * Default {@link DEFAULT_POLL_TIMEOUT_MS}.
   */
  pollTimeoutMs?: number;
}

/** {@link HubOptions} with every default applied; what the hub reads. */
export interface ResolvedHubOptions {
  store: Store | undefined;
  logger: Logger | undefined;
  presence: Presence | undefined;
  resumableStore: ResumableStore | undefined;
  resumable: NonNullable<HubOptions['resumable']>;
  publisherJwt: JwtKeyOptions | undefined;
  subscriberJwt: JwtKeyOptions | undefined;
  audience: string | undefined;
  issuer: string | undefined;
  cookieName: string;
  anonymous: boolean;
  subscriptions: boolean;
  corsOrigins: string[];
  publishOrigins: string[];
  hubUrl: string;
  metrics: boolean;
  metricsToken: string | undefined;
  heartbeatMs: number;
  retryMs: number | null;
  maxQueuedBytes: number;
  slowConsumerPolicy: SlowConsumerPolicy;
  maxConflationKeys: number;
  maxConflationBytes: number;
  defaultMaxRate: number | undefined;
  maxRateCap: number | undefined;
  tcpNoDelay: boolean;
  maxSelectors: number;
  selectorCompileBudget: number;
  maxTopicsPerUpdate: number;
  maxBodyBytes: number;
  historyPageSize: number;
  maxSubscribers: number;
  maxConnectionsPerAddress: number;
  maxConnectionMs: number;
  transports: Transport[];
  pollTimeoutMs: number;
}

export { DEFAULT_MAX_CONFLATION_BYTES, DEFAULT_MAX_CONFLATION_KEYS };

/** What the hub does with a subscriber that reads slower than updates arrive. */
export type SlowConsumerPolicy = 'close' | 'conflate';
export const SLOW_CONSUMER_POLICIES: readonly SlowConsumerPolicy[] = ['close', 'conflate'];

/** The path every Mercure hub answers on (spec: "Discovery"). */
export const HUB_PATH = '/.well-known/mercure';
/** Mercure's default cookie name (draft-07 "Authorization"). */
export const DEFAULT_COOKIE_NAME = 'mercureAuthorization';
/**
 * A comment on idle streams every 15 s: herald/server's default, under the 30 s idle timeout of the
 * strictest common proxies and CDNs (Mercure's own default, 40 s, is not).
 */
export const DEFAULT_HEARTBEAT_MS = SERVER_HEARTBEAT_MS;
/**
 * The `retry:` every stream opens with: herald/server's default, 3 s, what Chromium and Firefox
 * assume without one. Sending it makes other clients (Node, Safari) agree.
 */
export const DEFAULT_RETRY_MS = SERVER_RETRY_MS;
/** 1 MiB: a few hundred typical updates; past it a subscriber is not keeping up. */
export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;
/** Enough for any real client; bounds the per-connection matching work. */
export const DEFAULT_MAX_SELECTORS = 100;
/**
 * Units a second each address may spend compiling new selectors: ~10% of one core, 10,000 at once
 * at most (see `src/hub/http/compile-budget.ts`).
 */
export const DEFAULT_SELECTOR_COMPILE_BUDGET = 10_000;
/** Bounds the index work and the per-update fan-out of one publish. */
export const DEFAULT_MAX_TOPICS_PER_UPDATE = 100;
/** 1 MiB publish bodies. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/**
 * 15 s: under the 20 s idle timeout docs/deploy.md calls safe for proxies (and the 30 s of the
 * strictest CDNs), so a long poll ends with its (empty) answer rather than cut by a proxy with a
 * 504; the same as the heartbeat that keeps event streams open through those proxies.
 */
export const DEFAULT_POLL_TIMEOUT_MS = 15_000;
/** 500 updates of ~1 KiB: a page stays well under the default queue bound of a subscriber. */
export const DEFAULT_HISTORY_PAGE_SIZE = 500;

/** JWT algorithms an option may name (jose's names); the CLI offers the same list. */
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
const KNOWN_ALGORITHMS: ReadonlySet<string> = new Set(JWT_ALGORITHMS);

/** An option is missing, of the wrong type or out of range. */
export class HubOptionError extends HeraldError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('HERALD_ERR_HUB_OPTION', `${option}: ${message}`);
    this.option = option;
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new HubOptionError(name, `must be true or false (got ${show(value)})`);
  return value;
}

function integer(name: string, value: unknown, fallback: number, min: number, orElse = ''): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new HubOptionError(name, `must be an integer >= ${min}${orElse} (got ${show(value)})`);
  }
  return value;
}

function rate(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new HubOptionError(name, `must be a positive number of sends per second (got ${show(value)})`);
  }
  return value;
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new HubOptionError(name, `must be a non-empty string (got ${show(value)})`);
  }
  return value;
}

/** What an origin option must hold, for messages: the rule and an example. */
export const ORIGIN_RULE =
  'must be "*" or an origin such as "https://example.com" (scheme://host[:port], no path)';

/**
 * The origin `value` names, as browsers send it in `Origin` (RFC 6454: scheme://host[:port]), or
 * `*`; a trailing slash is dropped, since `https://example.com/` can only mean that origin.
 * Undefined when `value` is no origin (a path, a query, no scheme, an opaque origin): the one
 * check of the hub's origin lists and of the CLI's flags.
 */
export function parseOrigin(value: unknown): string | undefined {
  if (value === '*') return value;
  if (typeof value !== 'string' || !URL.canParse(value)) return undefined;
  const parsed = new URL(value);
  if (parsed.origin === 'null' || parsed.origin !== value.replace(/\/$/, '')) return undefined;
  return parsed.origin;
}

function origins(name: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new HubOptionError(
      name,
      `must be a list of origins such as ["https://example.com"] (got ${show(value)})`,
    );
  }
  return value.map((origin, i) => {
    const parsed = parseOrigin(origin);
    if (parsed === undefined)
      throw new HubOptionError(`${name}[${i}]`, `${ORIGIN_RULE} (got ${show(origin)})`);
    return parsed;
  });
}

function transports(name: string, value: unknown): Transport[] {
  if (value === undefined) return [...WIRE_FORMATS];
  const list = Array.isArray(value) ? value : undefined;
  const bad = list === undefined ? value : list.find((t) => !WIRE_FORMATS.includes(t as Transport));
  if (list === undefined || bad !== undefined || list.length === 0) {
    throw new HubOptionError(
      name,
      `must be a non-empty list of ${WIRE_FORMATS.map((t) => `"${t}"`).join(', ')} (got ${show(bad === undefined ? value : bad)})`,
    );
  }
  return WIRE_FORMATS.filter((t) => list.includes(t));
}

function jwtKey(name: string, value: unknown): JwtKeyOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HubOptionError(
      name,
      `must be an object { key, algorithm } or { jwksUrl } (got ${show(value)})`,
    );
  }
  const { key, algorithm, jwksUrl } = value as Record<string, unknown>;
  const out: JwtKeyOptions = {};
  if (key !== undefined) out.key = optionalString(`${name}.key`, key);
  if (algorithm !== undefined) {
    if (typeof algorithm !== 'string' || !KNOWN_ALGORITHMS.has(algorithm)) {
      throw new HubOptionError(
        `${name}.algorithm`,
        `must be one of ${JWT_ALGORITHMS.join(', ')} (got ${show(algorithm)})`,
      );
    }
    out.algorithm = algorithm;
  }
  if (jwksUrl !== undefined) {
    const url = optionalString(`${name}.jwksUrl`, jwksUrl)!;
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new HubOptionError(`${name}.jwksUrl`, `must be an http(s) URL (got ${show(url)})`);
    }
    out.jwksUrl = url;
  }
  if (out.key === undefined && out.jwksUrl === undefined) {
    throw new HubOptionError(name, 'needs a key (HMAC secret or PEM public key) or a jwksUrl');
  }
  if (out.key !== undefined) {
    try {
      checkJwtKey({ key: out.key, ...(out.algorithm !== undefined && { algorithm: out.algorithm }) });
    } catch (error) {
      if (!(error instanceof AuthConfigError)) throw error;
      throw new HubOptionError(`${name}.key`, error.message.replace(/^key\.key /, ''));
    }
  }
  return out;
}

const KNOWN = new Set<string>([
  'store',
  'resumableStore',
  'resumable',
  'logger',
  'presence',
  'jwt',
  'publisherJwt',
  'subscriberJwt',
  'audience',
  'issuer',
  'cookieName',
  'anonymous',
  'subscriptions',
  'corsOrigins',
  'publishOrigins',
  'hubUrl',
  'metrics',
  'metricsToken',
  'heartbeatMs',
  'retryMs',
  'maxQueuedBytes',
  'slowConsumerPolicy',
  'maxConflationKeys',
  'maxConflationBytes',
  'defaultMaxRate',
  'maxRateCap',
  'tcpNoDelay',
  'maxSelectors',
  'selectorCompileBudget',
  'maxTopicsPerUpdate',
  'maxBodyBytes',
  'historyPageSize',
  'maxSubscribers',
  'maxConnectionsPerAddress',
  'maxConnectionMs',
  'transports',
  'pollTimeoutMs',
]);

/**
 * Checks hub options and applies defaults. Throws {@link HubOptionError} on the first bad option,
 * unknown names included (a typo would otherwise silently keep a default).
 *
 * @example resolveHubOptions({ jwt: { key: process.env.HERALD_JWT_KEY }, anonymous: true })
 */
export function resolveHubOptions(options: HubOptions = {}): ResolvedHubOptions {
  if (typeof options !== 'object' || options === null) {
    throw new HubOptionError('options', `must be an object (got ${show(options)})`);
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) {
      throw new HubOptionError(name, `is not a hub option; known options: ${[...KNOWN].join(', ')}`);
    }
  }
  const o = options as Record<string, unknown>;

  const store = o.store as Store | undefined;
  if (store !== undefined && (typeof store !== 'object' || typeof store?.append !== 'function')) {
    throw new HubOptionError('store', 'must be a Store (see openStore from herald/hub)');
  }
  const logger = o.logger as Logger | undefined;
  if (logger !== undefined && typeof logger?.info !== 'function') {
    throw new HubOptionError('logger', 'must be a pino logger');
  }
  const presence = o.presence as Presence | undefined;
  if (presence !== undefined && typeof presence?.list !== 'function') {
    throw new HubOptionError('presence', 'must be a Presence (join, leave, list, close)');
  }

  const shared = jwtKey('jwt', o.jwt);
  const publisherJwt = jwtKey('publisherJwt', o.publisherJwt) ?? shared;
  const subscriberJwt = jwtKey('subscriberJwt', o.subscriberJwt) ?? shared;

  const hubUrl = optionalString('hubUrl', o.hubUrl) ?? HUB_PATH;
  if (!hubUrl.startsWith('/') && !URL.canParse(hubUrl)) {
    throw new HubOptionError(
      'hubUrl',
      `must be an absolute URL or a path starting with "/" (got ${show(hubUrl)})`,
    );
  }

  const retryMs = o.retryMs === null ? null : integer('retryMs', o.retryMs, DEFAULT_RETRY_MS, 0, ' or null');
  const cookieName = optionalString('cookieName', o.cookieName) ?? DEFAULT_COOKIE_NAME;
  // RFC 6265 cookie-name is an RFC 7230 token.
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) {
    throw new HubOptionError('cookieName', `must be a cookie name token (got ${show(cookieName)})`);
  }

  const slowConsumerPolicy = (o.slowConsumerPolicy ?? 'close') as SlowConsumerPolicy;
  if (!SLOW_CONSUMER_POLICIES.includes(slowConsumerPolicy)) {
    throw new HubOptionError(
      'slowConsumerPolicy',
      `must be one of ${SLOW_CONSUMER_POLICIES.join(', ')} (got ${show(o.slowConsumerPolicy)})`,
    );
  }
  const defaultMaxRate = rate('defaultMaxRate', o.defaultMaxRate);
  const maxRateCap = rate('maxRateCap', o.maxRateCap);
  if (defaultMaxRate !== undefined && maxRateCap !== undefined && defaultMaxRate > maxRateCap) {
    throw new HubOptionError(
      'defaultMaxRate',
      `must not exceed maxRateCap (got ${defaultMaxRate} > ${maxRateCap}); lower it or raise the cap`,
    );
  }
  const resumableStore = o.resumableStore as ResumableStore | undefined;
  if (resumableStore !== undefined && typeof resumableStore?.watch !== 'function') {
    throw new HubOptionError(
      'resumableStore',
      'must be a ResumableStore (see openResumableStore from herald/hub)',
    );
  }
  const resumable = (o.resumable ?? {}) as NonNullable<HubOptions['resumable']>;
  if (typeof resumable !== 'object' || resumable === null) {
    throw new HubOptionError('resumable', `must be an object of limits (got ${show(resumable)})`);
  }

  return {
    store,
    logger,
    presence,
    resumableStore,
    resumable,
    publisherJwt,
    subscriberJwt,
    audience: optionalString('audience', o.audience),
    issuer: optionalString('issuer', o.issuer),
    cookieName,
    anonymous: bool('anonymous', o.anonymous, false),
    subscriptions: bool('subscriptions', o.subscriptions, false),
    corsOrigins: origins('corsOrigins', o.corsOrigins),
    publishOrigins: origins('publishOrigins', o.publishOrigins),
    hubUrl,
    metrics: bool('metrics', o.metrics, true),
    metricsToken: metricsToken(o.metricsToken),
    heartbeatMs: integer('heartbeatMs', o.heartbeatMs, DEFAULT_HEARTBEAT_MS, 0),
    retryMs,
    maxQueuedBytes: integer('maxQueuedBytes', o.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES, 1),
    slowConsumerPolicy,
    maxConflationKeys: integer('maxConflationKeys', o.maxConflationKeys, DEFAULT_MAX_CONFLATION_KEYS, 0),
    maxConflationBytes: integer('maxConflationBytes', o.maxConflationBytes, DEFAULT_MAX_CONFLATION_BYTES, 1),
    defaultMaxRate,
    maxRateCap,
    tcpNoDelay: bool('tcpNoDelay', o.tcpNoDelay, false),
    maxSelectors: integer('maxSelectors', o.maxSelectors, DEFAULT_MAX_SELECTORS, 1),
    selectorCompileBudget: integer(
      'selectorCompileBudget',
      o.selectorCompileBudget,
      DEFAULT_SELECTOR_COMPILE_BUDGET,
      0,
    ),
    maxTopicsPerUpdate: integer('maxTopicsPerUpdate', o.maxTopicsPerUpdate, DEFAULT_MAX_TOPICS_PER_UPDATE, 1),
    maxBodyBytes: integer('maxBodyBytes', o.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 1),
    historyPageSize: integer('historyPageSize', o.historyPageSize, DEFAULT_HISTORY_PAGE_SIZE, 1),
    maxSubscribers: integer('maxSubscribers', o.maxSubscribers, 0, 0),
    maxConnectionsPerAddress: integer('maxConnectionsPerAddress', o.maxConnectionsPerAddress, 0, 0),
    maxConnectionMs: integer('maxConnectionMs', o.maxConnectionMs, 0, 0),
    transports: transports('transports', o.transports),
    pollTimeoutMs: integer('pollTimeoutMs', o.pollTimeoutMs, DEFAULT_POLL_TIMEOUT_MS, 1),
  };
}

function metricsToken(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length < MIN_METRICS_TOKEN_LENGTH || /\s/.test(value)) {
    throw new HubOptionError(
      'metricsToken',
      `must be a string of at least ${MIN_METRICS_TOKEN_LENGTH} characters without spaces (got ` +
        `${typeof value === 'string' ? `${value.length} characters` : typeof value}); use e.g. \`openssl rand -hex 32\``,
    );
  }
  return value;
}
