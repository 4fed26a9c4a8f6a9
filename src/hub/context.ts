/**
 * What every route of one hub shares. Built once by `createHub`; routes are plain functions of it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SseServer, StreamOptions } from '../server/index.js';
import type { Authenticator } from './http/authenticate.js';
import type { Cors } from './http/cors.js';
import type { HubMetrics } from './metrics/hub-metrics.js';
import type { ResolvedHubOptions } from './options.js';
import type { Store } from './stores/store.js';
import type { Presence } from './subscribers/presence.js';
import type { SubscriberRegistry } from './subscribers/registry.js';
import type { Subscriber } from './subscribers/subscriber.js';
import type { ConnectionCapacity } from './subscription/capacity.js';
import type { CursorSeed } from './subscription/cursor-seed.js';
import type { Update } from './update.js';

/** A request as the routes see it: node:http types (node:http2 compat objects behave the same). */
export type Req = IncomingMessage;
export type Res = ServerResponse;

export interface HubContext {
  readonly options: ResolvedHubOptions;
  readonly store: Store;
  readonly metrics: HubMetrics;
  readonly presence: Presence;
  readonly logger: Logger | undefined;
  readonly registry: SubscriberRegistry;
  /** The hub-wide cap on long-lived connections, subscribers and stream readers together. */
  readonly capacity: ConnectionCapacity;
  /** The cursor of subscribers opened without an ID before this process delivered a public update. */
  readonly cursorSeed: CursorSeed;
  readonly sse: SseServer;
  readonly streamOptions: StreamOptions;
  readonly cors: Cors;
  readonly auth: Authenticator;
  /** True once `close()` started: new requests get 503. */
  readonly closing: boolean;
  /** Appends a checked update to the store (which delivers it); counts it. */
  append(update: Update): Promise<void>;
  /** Publishes the subscription events of a subscriber that connected or left. */
  announce(subscriber: Subscriber, active: boolean): void;
  /**
   * Logs a request the hub failed (a 5xx): the first of a kind in full, repeats counted, whichever
   * path served the request (node:http's routes or the publish reader).
   */
  requestFailed(error: unknown, url: string | undefined): void;
}
