/**
 * The lifecycle of one subscription, the same on every transport (event stream, WebSocket, long
 * poll): admitting -> replaying -> live -> closed. A transport supplies only its wire format, how its
 * stream opens with the cursor (`SubscriptionTransport.open`) and the form of a refusal (whatever
 * `runSubscription` throws before opening: an HTTP status, a refused upgrade).
 *
 * Every exit answers or closes (Mercure's subscribe.go: a handler that returns has answered):
 * - refused while admitting (bad query, token, limits, the first history page failing, the hub
 *   closing meanwhile): `runSubscription` throws, nothing stays registered;
 * - ended while admitting (its queue overflowed, its token or poll timeout expired: the registry's
 *   `end`): the stream opens with its cursor and closes at once with the reason's form;
 * - ended while replaying or live: `registry.end(subscriber, reason)` closes the stream, and the
 *   stream's close drops the subscriber. A history page that cannot be read ends it (`history`):
 *   it never goes live past an unread page, so its client resumes from the last ID it really got.
 */
import type { HubContext, Req } from '../context.js';
import { HubHttpError } from '../http/errors.js';
import type { AttachableStream } from '../subscribers/subscriber.js';
import type { WireFormat } from '../subscribers/wire-format.js';
import { type Admitted, admit } from './admission.js';

/** What a transport brings to the lifecycle. */
export interface SubscriptionTransport {
  readonly format: WireFormat;
  /** Reported to presence and announced (subscription events); polls are requests, not connections. */
  readonly announce: boolean;
  /** A HEAD request: the stream ends once opened (and announced). */
  readonly headOnly: boolean;
  /**
   * Opens the stream of an admitted subscription, telling the client its cursor (response headers,
   * an opening frame; a poll keeps it for its answer). Null when the client is already gone.
   */
  open(admitted: Admitted): AttachableStream | null;
}

/** The refusal of a subscription admitted while the hub started closing. */
export function closingError(): HubHttpError {
  return new HubHttpError(503, 'HERALD_ERR_HUB_CLOSING', 'the hub is shutting down; retry on another node');
}

/**
 * Runs a subscription from its request to its end. Rejects only before its stream opened (the
 * transport answers the refusal); resolves once live, or ended.
 */
export async function runSubscription(
  ctx: HubContext,
  req: Req,
  url: URL,
  transport: SubscriptionTransport,
  options: { ignoreCookie?: boolean } = {},
): Promise<void> {
  const admitted = await admit(ctx, req, url, transport.format, options);
  const { registry } = ctx;
  const subscriber = admitted.subscriber;
  if (ctx.closing) {
    // The hub's close() already ended the streams it knew of; this one would outlive it.
    registry.end(subscriber, 'shutdown');
    throw closingError();
  }
  let stream: AttachableStream | null;
  try {
    stream = transport.open(admitted);
  } catch (error) {
    registry.end(subscriber, 'gone');
    throw error;
  }
  if (stream === null) {
    registry.end(subscriber, 'gone');
    return;
  }
  if (subscriber.state === 'closed') {
    // Ended while admitting: the client gets its cursor and the close of its transport's form.
    stream.close();
    return;
  }
  try {
    await replayThenLive(ctx, admitted, stream, transport);
  } catch (error) {
    ctx.logger?.error({ err: error, subscriber: subscriber.id }, 'subscription failed');
    registry.end(subscriber, 'history');
  }
}

async function replayThenLive(
  ctx: HubContext,
  admitted: Admitted,
  stream: AttachableStream,
  transport: SubscriptionTransport,
): Promise<void> {
  const { options, registry } = ctx;
  const subscriber = admitted.subscriber;
  // Before anything is written: replay and live updates alike go through the limit. Event streams
  // and WebSocket streams are herald/server streams; a long poll answers once and has no rate.
  if (admitted.maxRate !== undefined && subscriber.format !== 'poll' && !stream.closed)
    stream.maxRate = admitted.maxRate;
  registry.attach(subscriber, stream); // admitting -> replaying
  if (stream.closed) return; // gone already: the stream released (and dropped) it
  if (transport.announce) {
    subscriber.joined = true;
    ctx.logger?.debug(
      {
        subscriber: subscriber.id,
        format: subscriber.format,
        selectors: subscriber.selectors.map((s) => s.source),
        lastEventId: subscriber.lastEventId,
      },
      'subscriber connected',
    );
    ctx.presence.join(subscriber.record());
    ctx.announce(subscriber, true);
  }
  if (transport.headOnly) {
    registry.end(subscriber, 'ended');
    return;
  }

  const sent = new Set<string>();
  let history = admitted.history;
  // Page through history until caught up: a page shorter than asked, or one reaching updates that
  // also arrived live (those are sent from `pending`).
  for (;;) {
    if (!(await registry.replay(subscriber, history, sent))) return;
    if (history.length < options.historyPageSize) break;
    const last = history[history.length - 1]!;
    if (subscriber.pending!.some((f) => f.update.id === last.id)) break;
    let page: Awaited<ReturnType<typeof ctx.store.after>>;
    try {
      page = await ctx.store.after(last.id, options.historyPageSize);
    } catch (error) {
      ctx.logger?.warn({ err: error, subscriber: subscriber.id }, 'history page failed; closing to resume');
      page = { found: false, updates: [] };
    }
    if (subscriber.state !== 'replaying') return;
    if (!page.found) {
      // A store error, or the page's start trimmed since the previous page: going live would skip
      // what lies between. Closed instead, the client resumes from the last ID it got.
      ctx.metrics.historyFailures++;
      registry.end(subscriber, 'history');
      return;
    }
    history = page.updates;
  }
  registry.goLive(subscriber, sent);
}
