/**
 * The hub's operational pages, outside the Mercure routes: `/healthz`, `/metrics` and the RFC 9728
 * protected resource metadata.
 */
import type { ServerResponse } from 'node:http';
import { MERCURE_AUTHORIZATION_DETAIL_TYPE } from '../auth/index.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { ResolvedHubOptions } from '../options.js';
import type { RepeatedErrors } from '../repeated-errors.js';
import type { Store } from '../stores/store.js';
import { HubHttpError } from './errors.js';

/** `/healthz`: 200 `ok`, 503 `closing` once the hub closes, 503 error while the store cannot answer. */
export async function handleHealth(
  res: ServerResponse,
  store: Store,
  closing: () => boolean,
  repeatedErrors: RepeatedErrors | undefined,
): Promise<void> {
  try {
    // Whether the store takes appends where it can tell (a full disk, a deleted SQLite file), else that it answers.
    await (store.health ? store.health() : store.lastId());
  } catch (error) {
    repeatedErrors?.log('warn', error, {}, 'health check: store unavailable');
    throw new HubHttpError(503, 'HERALD_ERR_STORE_UNAVAILABLE', 'store unavailable');
  }
  const body = closing() ? 'closing\n' : 'ok\n';
  res.writeHead(closing() ? 503 : 200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/** Mercure 1.0 "Protected Resource Metadata" (RFC 9728) of this hub. */
export function handleResourceMetadata(res: ServerResponse, options: ResolvedHubOptions): void {
  const document: Record<string, unknown> = {
    resource: options.audience,
    authorization_details_types_supported: [MERCURE_AUTHORIZATION_DETAIL_TYPE],
    bearer_methods_supported: ['header'],
    mercure_cookie: options.cookieName,
  };
  if (options.subscriptions) document.mercure_subscriptions = true;
  const body = JSON.stringify(document);
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'max-age=3600',
  });
  res.end(body);
}

/** `/metrics`: the Prometheus text of the hub's counters. */
export async function handleMetrics(res: ServerResponse, metrics: HubMetrics): Promise<void> {
  const { contentType, body } = await metrics.render();
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
