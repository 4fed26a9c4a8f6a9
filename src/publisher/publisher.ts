/**
 * A Node publisher for Mercure hubs (herald/hub or any other): `POST` form updates over a pool of
 * keep-alive connections (undici `Pool`), bearer token per request, typed errors.
 */
import { Pool } from 'undici';
import { type BatchAnswer, Batcher, type BatchOptions, batchBounds } from './batcher.js';
import { InvalidPublishError, PublishConnectionError, PublishError, PublisherClosedError } from './errors.js';
import { encodeUpdateForm, encodeUpdateJson, type PublishInit } from './update-form.js';

/** Connections the pool may open to the hub; more only pays when many publishes are in flight at once. */
export const DEFAULT_PUBLISHER_CONNECTIONS = 8;

/** How long a publish waits for the hub's answer before it fails with `PublishConnectionError`. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 30_000;

/** Options of {@link createPublisher}; checked once, at construction. */
export interface PublisherOptions {
  /** The hub's publish URL, e.g. `https://hub.example.com/.well-known/mercure`. */
  hubUrl: string | URL;
  /** A publisher JWT, sent as `Authorization: Bearer <token>`. Give this or `getToken`, not both. */
  token?: string;
  /**
   * Called before every publish, so a short-lived token can be renewed; cache inside it if costly.
   * When it throws or rejects, the publish rejects with that error and nothing is sent.
   */
  getToken?: () => string | Promise<string>;
  /** At most this many connections to the hub. Default {@link DEFAULT_PUBLISHER_CONNECTIONS}. */
  connections?: number;
  /**
   * `true` (default) reuses connections. `false` sends `Connection: close` and opens one connection
   * per publish; it exists to measure what keep-alive saves, or for hubs behind proxies that need it.
   */
  keepAlive?: boolean;
  /** Fail a publish whose answer takes longer. Default {@link DEFAULT_PUBLISH_TIMEOUT_MS}. */
  timeoutMs?: number;
  /**
   * Gather publishes into batch requests (Herald hubs only: the JSON batch publish, which a
   * Mercure hub refuses with 415). `true` for the default bounds, or the bounds. Each `publish()`
   * still resolves with its own ID; an update the hub refuses fails alone (the hub stores nothing
   * of a refused batch, so the others are sent again). Off by default.
   */
  batch?: BatchOptions | true;
  /**
   * Requests sent on one connection before the first answer (HTTP/1.1 pipelining). Default 1,
   * or {@link DEFAULT_BATCH_PIPELINING} with `batch`; the hub answers them in order.
   */
  pipelining?: number;
}

/** Requests in flight per connection when batching: the next batch is on the wire while one is stored. */
export const DEFAULT_BATCH_PIPELINING = 4;

/** Per-call options of {@link Publisher.publish}. */
export interface PublishOptions {
  /** Abandons the request; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Sends updates to one hub. */
export interface Publisher {
  /**
   * Publishes one update and resolves with its ID as the hub assigned it. Throws at once for an
   * invalid update; rejects with {@link PublishError} when the hub refuses (non-2xx) and with
   * {@link PublishConnectionError} when no answer came.
   */
  publish(update: PublishInit, options?: PublishOptions): Promise<string>;
  /** Waits for publishes in flight, then closes every connection. Idempotent. */
  close(): Promise<void>;
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

/**
 * Creates a publisher bound to one hub.
 *
 * @example
 * const publisher = createPublisher({ hubUrl: 'http://localhost:3000/.well-known/mercure', token });
 * const id = await publisher.publish({ topics: 'https://example.com/books/1', data: '{"title":"Dune"}' });
 * await publisher.close();
 */
export function createPublisher(options: PublisherOptions): Publisher {
  const hubUrl = parseHubUrl(options.hubUrl);
  const connections = options.connections ?? DEFAULT_PUBLISHER_CONNECTIONS;
  if (!Number.isSafeInteger(connections) || connections < 1) {
    throw new InvalidPublishError(
      'connections',
      `connections must be a positive integer (got ${String(connections)}); omit it for ${DEFAULT_PUBLISHER_CONNECTIONS}`,
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
    throw new InvalidPublishError(
      'timeoutMs',
      `timeoutMs must be a positive integer of milliseconds (got ${String(timeoutMs)})`,
    );
  }
  if (options.token !== undefined && options.getToken !== undefined) {
    throw new InvalidPublishError('token', 'give token or getToken, not both; use getToken to renew tokens');
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '')) {
    throw new InvalidPublishError('token', 'token must be a non-empty string (the publisher JWT)');
  }
  const keepAlive = options.keepAlive ?? true;
  const bounds = options.batch === undefined ? undefined : batchBounds(options.batch);
  const pipelining = options.pipelining ?? (bounds === undefined ? 1 : DEFAULT_BATCH_PIPELINING);
  if (!Number.isSafeInteger(pipelining) || pipelining < 1) {
    throw new InvalidPublishError(
      'pipelining',
      `pipelining must be a positive integer (got ${String(pipelining)}); omit it for the default`,
    );
  }
  const pool = new Pool(hubUrl.origin, {
    connections,
    pipelining,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const path = `${hubUrl.pathname}${hubUrl.search}`;
  const hubText = hubUrl.href;
  const staticToken = options.token;
  const getToken = options.getToken;
  let closed = false;
  let closing: Promise<void> | undefined;

  /** One POST; rejects with {@link PublishConnectionError} when no answer came. */
  async function post(
    body: string,
    contentType: string,
    signal: AbortSignal | undefined,
  ): Promise<BatchAnswer> {
    const headers: Record<string, string> = { 'content-type': contentType };
    // undici reads `connection: close` as "do not reuse this socket" (it is the only value it allows).
    if (!keepAlive) headers.connection = 'close';
    const token = getToken === undefined ? staticToken : await getToken();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    try {
      // undici pipelines a request only when marked `idempotent` (it retries nothing by itself)
      // and not `blocking` (which holds the next request until this one's answer starts).
      const response = await pool.request({
        path,
        method: 'POST',
        headers,
        body,
        signal,
        ...(pipelining > 1 && { idempotent: true, blocking: false }),
      });
      const text = await response.body.text();
      const challenge = response.headers['www-authenticate'];
      const index = response.headers['herald-batch-index'];
      return {
        status: response.statusCode,
        text,
        challenge: Array.isArray(challenge) ? challenge.join(', ') : challenge,
        index: Array.isArray(index) ? index[0] : index,
      };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new PublishConnectionError(hubText, err);
    }
  }

  const batcher =
    bounds === undefined ? undefined : new Batcher(bounds, (body) => post(body, JSON_TYPE, undefined));

  async function send(body: string, signal: AbortSignal | undefined): Promise<string> {
    const { status, text, challenge } = await post(body, FORM, signal);
    if (status < 200 || status > 299) throw new PublishError(status, text, challenge);
    // The body is the update ID (Mercure spec, "Publication"); IDs never hold line breaks, so a
    // trailing one is the hub's formatting, not part of the ID.
    return text.replace(/\r?\n$/, '');
  }

  return {
    publish(update, publishOptions) {
      if (closed) throw new PublisherClosedError();
      if (batcher !== undefined) return batcher.add(encodeUpdateJson(update), publishOptions?.signal);
      const body = encodeUpdateForm(update);
      return send(body, publishOptions?.signal);
    },
    close() {
      closed = true;
      closing ??= (async () => {
        await batcher?.drain();
        await pool.close();
      })();
      return closing;
    },
  };
}

function parseHubUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidPublishError(
      'hubUrl',
      `hubUrl must be an absolute http(s) URL (got ${JSON.stringify(String(value))}); e.g. http://localhost:3000/.well-known/mercure`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidPublishError(
      'hubUrl',
      `hubUrl must use http: or https: (got ${url.protocol}); e.g. https://hub.example.com/.well-known/mercure`,
    );
  }
  return url;
}
