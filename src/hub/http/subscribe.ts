/**
 * `GET /.well-known/mercure`: a subscriber's event stream (Mercure "Subscription" and
 * "Reconciliation", both drafts).
 *
 * Order matters for "no gap, no duplicate": the subscriber joins the index first (live updates
 * wait in its pending list), history is read from the store, the response headers go out with the
 * resume cursor, history is written, then the pending updates not already sent, then it is live.
 */
import { randomUUID } from 'node:crypto';
import type { SelectorSyntax } from '../subscribers/presence.js';
import { NO_PRIVATE_ACCESS, type SubscribedSelector, Subscriber } from '../subscribers/subscriber.js';
import { compileSelector, SelectorError } from '../topics/index.js';
import type { Update } from '../update.js';
import type { HubContext, Req, Res } from './context.js';
import { badRequest, HubHttpError, missingToken } from './errors.js';

/** The reserved last event ID asking for all history (both drafts). */
export const EARLIEST = 'earliest';

interface SelectorParam {
  syntax: SelectorSyntax;
  compileAs: 'template' | 'exact' | 'urlpattern';
}

const PARAMS: Record<string, SelectorParam> = {
  topic: { syntax: 'topic', compileAs: 'template' },
  match: { syntax: 'match', compileAs: 'exact' },
  match_exact: { syntax: 'match', compileAs: 'exact' },
  match_urlpattern: { syntax: 'match_urlpattern', compileAs: 'urlpattern' },
};

/** Reads the selectors of a subscribe query; throws 400 on an unknown `match*` name, a bad selector or too many. */
export function parseSelectors(query: URLSearchParams, max: number, baseUrl?: string): SubscribedSelector[] {
  const selectors: SubscribedSelector[] = [];
  for (const [name, value] of query) {
    const param = PARAMS[name];
    if (param === undefined) {
      // Mercure 1.0 reserves the whole `match` prefix so a misspelt matcher type fails loudly.
      if (name.toLowerCase().startsWith('match')) {
        throw badRequest(
          `unknown topic matcher parameter ${JSON.stringify(name)}: use topic, match, match_exact or match_urlpattern`,
          'HERALD_ERR_HUB_BAD_SELECTOR',
        );
      }
      continue;
    }
    if (selectors.length === max) {
      throw badRequest(
        `a subscription may have at most ${max} topic selectors; subscribe with fewer or raise maxSelectors`,
        'HERALD_ERR_HUB_TOO_MANY_SELECTORS',
      );
    }
    let compiled: ReturnType<typeof compileSelector>;
    try {
      compiled = compileSelector(value, param.compileAs, baseUrl === undefined ? undefined : { baseUrl });
    } catch (error) {
      if (error instanceof SelectorError) throw badRequest(error.message, 'HERALD_ERR_HUB_BAD_SELECTOR');
      throw error;
    }
    // The compiled selector is cached and shared: its copy of the source string is too, where a
    // string parsed from this request's URL would be one more copy per subscriber.
    const source = compiled.source === value ? compiled.source : value;
    selectors.push({ source, syntax: param.syntax, kind: compiled.kind, matcher: compiled });
  }
  if (selectors.length === 0) {
    throw badRequest(
      'a subscription needs at least one "topic" (draft-07) or "match" / "match_urlpattern" (1.0) parameter',
      'HERALD_ERR_HUB_BAD_SELECTOR',
    );
  }
  return selectors;
}

/**
 * node:http parses `req.headers` from `req.rawHeaders` on first read and keeps the object for the
 * life of the request, which for a stream is the connection. Setting it back to null only drops
 * that cache: a later read parses it again. HTTP/2 compat requests hold plain objects; left alone.
 */
function releaseParsedHeaders(req: Req): void {
  if (req.httpVersionMajor === 1) (req as unknown as { headers: unknown }).headers = null;
}

/** The requested resume point: the header wins over either query parameter (both drafts). */
function requestedLastEventId(req: Req, query: URLSearchParams): string | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') return header;
  const value = query.get('last_event_id') || query.get('lastEventID');
  return value || undefined;
}

/**
 * A new subscriber IRI, `urn:uuid:<uuid v4>`, as one flat string. `randomUUID()` joins its hex
 * pieces with `+`, which V8 keeps as a rope of ~15 cons strings (~500 bytes) for as long as the
 * subscriber lives; a copy through a buffer is one 72-byte string.
 */
function subscriberId(): string {
  return Buffer.from(`urn:uuid:${randomUUID()}`, 'latin1').toString('latin1');
}

export async function handleSubscribe(ctx: HubContext, req: Req, res: Res, url: URL): Promise<void> {
  const { options, registry } = ctx;
  const query = url.searchParams;
  const selectors = parseSelectors(query, options.maxSelectors);
  const auth = await ctx.auth.subscriber(req.headers, url);
  if (auth === undefined && !options.anonymous) throw missingToken('subscribing');
  if (options.maxSubscribers > 0 && registry.size >= options.maxSubscribers) {
    throw new HubHttpError(
      503,
      'HERALD_ERR_HUB_FULL',
      `this hub process holds its maximum of ${options.maxSubscribers} subscribers; retry later`,
    );
  }
  const lastEventId = requestedLastEventId(req, query);
  const claims = auth?.claims;
  if (claims !== undefined) {
    for (const s of selectors) {
      const payload = claims.payloadFor(s.source);
      if (payload !== undefined) s.payload = payload;
    }
  }
  const subscriber = new Subscriber(
    subscriberId(),
    selectors,
    claims?.subscribeSelectors ?? NO_PRIVATE_ACCESS,
    claims?.payload,
    lastEventId,
  );
  if (claims?.expiresAt !== undefined) subscriber.expiresAt = claims.expiresAt;
  if (options.maxConnectionMs > 0) {
    // 80-100% of the bound, so streams opened together (a deploy, a network blip) spread out.
    const lifetime = options.maxConnectionMs * (0.8 + 0.2 * Math.random());
    subscriber.expiresAt = Math.min(subscriber.expiresAt, subscriber.since + lifetime);
  }

  // Join before reading history: what is published from now on waits in `pending`.
  registry.add(subscriber);
  let history: Update[] = [];
  let cursor: string | undefined;
  if (lastEventId !== undefined) {
    try {
      const page = await ctx.store.after(lastEventId, options.historyPageSize);
      history = page.found ? page.updates : [];
      // Mercure: the ID preceding the first event sent, `earliest` when there is none (history
      // asked from the start, or the requested ID unknown or discarded).
      cursor = page.found && lastEventId !== EARLIEST ? lastEventId : EARLIEST;
    } catch (error) {
      registry.drop(subscriber);
      throw error;
    }
  }
  if (subscriber.state === 'closed') return; // expired meanwhile

  if (cursor !== undefined) {
    const draft07 = query.has('lastEventID') || selectors.some((s) => s.syntax === 'topic');
    const v1 = query.has('last_event_id') || selectors.some((s) => s.syntax !== 'topic');
    if (draft07) res.setHeader('Last-Event-ID', cursor);
    if (v1) res.setHeader('Mercure-Last-Event-ID', cursor);
  }
  let stream: ReturnType<typeof ctx.sse.stream>;
  try {
    stream = ctx.sse.stream(req, res, ctx.streamOptions);
  } catch (error) {
    registry.drop(subscriber);
    throw error;
  }
  registry.attach(subscriber, stream);
  releaseParsedHeaders(req);
  if (stream.closed) return;
  subscriber.joined = true;
  ctx.logger?.debug(
    { subscriber: subscriber.id, selectors: selectors.map((s) => s.source), lastEventId },
    'subscriber connected',
  );
  ctx.presence.join(subscriber.record());
  ctx.announce(subscriber, true);
  if (req.method === 'HEAD') {
    stream.close();
    return;
  }

  const sent = new Set<string>();
  try {
    // Page through history until caught up: a page shorter than asked, or one reaching updates
    // that also arrived live (those are sent from `pending`).
    for (;;) {
      await registry.replay(subscriber, history, sent);
      if (subscriber.state !== 'replaying' || history.length < options.historyPageSize) break;
      const pending = subscriber.pending!;
      const last = history[history.length - 1]!;
      if (pending.some((f) => f.update.id === last.id)) break;
      const page = await ctx.store.after(last.id, options.historyPageSize);
      if (!page.found) break;
      history = page.updates;
    }
  } catch (error) {
    ctx.logger?.warn({ err: error, subscriber: subscriber.id }, 'history replay failed; going live');
  }
  registry.goLive(subscriber, sent);
}
