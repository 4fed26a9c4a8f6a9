/**
 * `GET /.well-known/mercure`: a subscriber's event stream (Mercure "Subscription" and
 * "Reconciliation", both drafts), and the steps every transport shares (`admit`, then `serve`
 * once the transport opened its stream: WebSocket and long polling differ only there).
 *
 * Order matters for "no gap, no duplicate": the subscriber joins the index first (live updates
 * wait in its pending list), history is read from the store, the response headers go out with the
 * resume cursor, history is written, then the pending updates not already sent, then it is live.
 */
import { randomUUID } from 'node:crypto';
import { connectionExpiresAt } from '../subscribers/expiry-queue.js';
import type { SelectorSyntax } from '../subscribers/presence.js';
import {
  type AttachableStream,
  NO_PRIVATE_ACCESS,
  type SubscribedSelector,
  Subscriber,
} from '../subscribers/subscriber.js';
import type { WireFormat } from '../subscribers/wire-format.js';
import {
  type CompileBudget,
  compileSelector,
  MAX_SELECTOR_LENGTH,
  SelectorCostError,
  SelectorError,
} from '../topics/index.js';
import type { Update } from '../update.js';
import { requestCompileBudget } from './compile-budget.js';
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

/** A selector parameter read from the query but not compiled yet. */
export interface SelectorRequest {
  readonly name: string;
  readonly value: string;
  readonly param: SelectorParam;
}

/**
 * Reads the selector parameters of a subscribe query without compiling any: throws 400 on an
 * unknown `match*` name, on none, on more than `max`, or on one longer than `MAX_SELECTOR_LENGTH`.
 * Cheap on purpose: it runs before the token is checked, so that a request nobody authorized costs
 * no more than reading its URL (compiling a URL pattern may cost far more, see `compileSelectors`).
 */
export function readSelectorParams(query: URLSearchParams, max: number): SelectorRequest[] {
  const requests: SelectorRequest[] = [];
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
    if (requests.length === max) {
      throw badRequest(
        `a subscription may have at most ${max} topic selectors; subscribe with fewer or raise maxSelectors`,
        'HERALD_ERR_HUB_TOO_MANY_SELECTORS',
      );
    }
    if (value.length > MAX_SELECTOR_LENGTH) {
      throw badRequest(
        `a topic selector may hold at most ${MAX_SELECTOR_LENGTH} characters (got ${value.length}); use a shorter pattern`,
        'HERALD_ERR_HUB_BAD_SELECTOR',
      );
    }
    requests.push({ name, value, param });
  }
  if (requests.length === 0) {
    throw badRequest(
      'a subscription needs at least one "topic" (draft-07) or "match" / "match_urlpattern" (1.0) parameter',
      'HERALD_ERR_HUB_BAD_SELECTOR',
    );
  }
  return requests;
}

/**
 * Compiles selectors read by `readSelectorParams`; throws 400 on one that does not compile or costs
 * more than `MAX_SELECTOR_COST`, and whatever `budget` throws (413, 429) when they cost too much.
 */
export function compileSelectors(
  requests: readonly SelectorRequest[],
  baseUrl?: string,
  budget?: CompileBudget,
): SubscribedSelector[] {
  const options = baseUrl === undefined && budget === undefined ? undefined : { baseUrl, budget };
  return requests.map(({ value, param }) => {
    let compiled: ReturnType<typeof compileSelector>;
    try {
      compiled = compileSelector(value, param.compileAs, options);
    } catch (error) {
      if (error instanceof SelectorCostError)
        throw badRequest(error.message, 'HERALD_ERR_HUB_SELECTOR_TOO_COSTLY');
      if (error instanceof SelectorError) throw badRequest(error.message, 'HERALD_ERR_HUB_BAD_SELECTOR');
      throw error;
    }
    // The compiled selector is cached and shared: its copy of the source string is too, where a
    // string parsed from this request's URL would be one more copy per subscriber.
    const source = compiled.source === value ? compiled.source : value;
    return { source, syntax: param.syntax, kind: compiled.kind, matcher: compiled };
  });
}

/** Reads and compiles the selectors of a subscribe query (`readSelectorParams`, then `compileSelectors`). */
export function parseSelectors(query: URLSearchParams, max: number, baseUrl?: string): SubscribedSelector[] {
  return compileSelectors(readSelectorParams(query, max), baseUrl);
}

/**
 * node:http parses `req.headers` from `req.rawHeaders` on first read and keeps the object for the
 * life of the request, which for a stream is the connection. Setting it back to null only drops
 * that cache: a later read parses it again. HTTP/2 compat requests hold plain objects; left alone.
 */
function releaseParsedHeaders(req: Req): void {
  if (req.httpVersionMajor === 1) (req as unknown as { headers: unknown }).headers = null;
}

/** The subscribe query parameter asking for a rate limit (a Herald extension; Mercure hubs ignore it). */
export const MAX_RATE_PARAM = 'maxRate';
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * The rate limit of a subscription, in updates per second: the `maxRate` parameter, else the hub's
 * default; undefined for none. Throws 400 on a value that is not a positive number or is above the
 * hub's cap.
 */
export function parseMaxRate(
  query: URLSearchParams,
  defaultRate: number | undefined,
  cap: number | undefined,
): number | undefined {
  const values = query.getAll(MAX_RATE_PARAM);
  if (values.length === 0) return defaultRate;
  if (values.length > 1) {
    throw badRequest(
      `${MAX_RATE_PARAM} may be given once (got ${values.length} values); keep one`,
      'HERALD_ERR_HUB_BAD_RATE',
    );
  }
  const text = values[0]!;
  const rate = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(rate) || rate <= 0) {
    throw badRequest(
      `${MAX_RATE_PARAM} must be a positive number of updates per second, such as 1 or 0.5 (got ${JSON.stringify(text)})`,
      'HERALD_ERR_HUB_BAD_RATE',
    );
  }
  if (cap !== undefined && rate > cap) {
    throw badRequest(
      `${MAX_RATE_PARAM} may be at most ${cap} updates per second on this hub (got ${text}); ask for ${cap} or less`,
      'HERALD_ERR_HUB_BAD_RATE',
    );
  }
  return rate;
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

/**
 * A subscription admitted: checked, authorized, registered (live updates wait in its pending list)
 * and its first page of history read. What every transport does before opening its stream.
 */
export interface Admitted {
  readonly subscriber: Subscriber;
  /** The first page of history after the requested ID (empty when none was asked or it is unknown). */
  history: Update[];
  /**
   * The resume cursor to tell the client: the ID preceding the first update it will get.
   * `earliest` when an unknown ID was asked; for `ws` and `poll` the store's last ID (or `earliest`)
   * when none was asked, so every client of those transports can resume.
   */
  readonly cursor: string | undefined;
  /**
   * False when the requested ID was unknown (never seen, or past retention): the subscription then
   * starts from now. For `ws` and `poll` the cursor is then the store's last ID, not `earliest`.
   */
  readonly resumed: boolean;
  /** Which draft's cursor header(s) the request speaks: draft-07 `Last-Event-ID`, 1.0 `Mercure-Last-Event-ID`. */
  readonly draft07: boolean;
  readonly v1: boolean;
  /** Most sends per second (`maxRate`, else the hub's default); undefined for no limit. */
  readonly maxRate: number | undefined;
}

/**
 * Checks a subscribe request (selectors, token, limits), makes its subscriber in `format`, registers
 * it and reads its first history page. Throws `HubHttpError` (or an auth error) to refuse it; nothing
 * is left registered then.
 */
export async function admit(
  ctx: HubContext,
  req: Req,
  url: URL,
  format: WireFormat,
  options: { ignoreCookie?: boolean } = {},
): Promise<Admitted> {
  const { options: hub, registry } = ctx;
  const query = url.searchParams;
  // Everything cheap first, the token next, compiling last: a URL pattern may cost milliseconds and
  // megabytes to compile, which a request nobody authorized must never get to spend.
  const selectorParams = readSelectorParams(query, hub.maxSelectors);
  const maxRate = parseMaxRate(query, hub.defaultMaxRate, hub.maxRateCap);
  const headers = options.ignoreCookie === true ? { ...req.headers, cookie: undefined } : req.headers;
  const auth = await ctx.auth.subscriber(headers, url);
  if (auth === undefined && !hub.anonymous) throw missingToken('subscribing');
  if (hub.maxSubscribers > 0 && registry.size >= hub.maxSubscribers) {
    const full = new HubHttpError(
      503,
      'HERALD_ERR_HUB_FULL',
      `this hub process holds its maximum of ${hub.maxSubscribers} subscribers; retry later`,
    );
    full.retryAfterSeconds = 1;
    throw full;
  }
  const selectors = compileSelectors(selectorParams, undefined, requestCompileBudget(hub, req));
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
  subscriber.format = format;
  subscriber.expiresAt = connectionExpiresAt(subscriber.since, claims?.expiresAt, hub.maxConnectionMs);
  if (format === 'poll')
    subscriber.expiresAt = Math.min(subscriber.expiresAt, subscriber.since + hub.pollTimeoutMs);

  // Join before reading history: what is published from now on waits in `pending`.
  registry.add(subscriber);
  let history: Update[] = [];
  let cursor: string | undefined;
  let resumed = true;
  try {
    if (lastEventId !== undefined) {
      const page = await ctx.store.after(lastEventId, hub.historyPageSize);
      history = page.found ? page.updates : [];
      resumed = page.found;
      // Mercure: the ID preceding the first event sent, `earliest` when there is none (history
      // asked from the start, or the requested ID unknown or discarded).
      cursor = page.found && lastEventId !== EARLIEST ? lastEventId : EARLIEST;
    }
    if (format !== 'sse' && (lastEventId === undefined || !resumed)) {
      // Read after joining: whatever the store holds up to this ID was delivered before the
      // subscriber joined or reaches it from now on, so resuming from it loses nothing.
      cursor = (await ctx.store.lastId()) ?? EARLIEST;
    }
  } catch (error) {
    registry.drop(subscriber);
    throw error;
  }
  return {
    subscriber,
    history,
    cursor,
    resumed,
    draft07: query.has('lastEventID') || selectors.some((s) => s.syntax === 'topic'),
    v1: query.has('last_event_id') || selectors.some((s) => s.syntax !== 'topic'),
    maxRate,
  };
}

/** Sets the cursor response header(s) of the request's draft(s), as the SSE response does. */
export function setCursorHeaders(res: Res, admitted: Admitted): void {
  const cursor = admitted.cursor;
  if (cursor === undefined) return;
  if (admitted.draft07) res.setHeader('Last-Event-ID', cursor);
  if (admitted.v1) res.setHeader('Mercure-Last-Event-ID', cursor);
}

/**
 * Runs an admitted subscription over its opened stream: binds it, announces it (presence and
 * subscription events, unless `announce` is false), writes history, then goes live. `headOnly`
 * (a HEAD request) ends the stream once announced.
 */
export async function serve(
  ctx: HubContext,
  admitted: Admitted,
  stream: AttachableStream,
  announce = true,
  headOnly = false,
): Promise<void> {
  const { options, registry } = ctx;
  const subscriber = admitted.subscriber;
  let history = admitted.history;
  // Before anything is written: replay and live updates alike go through the limit. Event streams
  // and WebSocket streams are herald/server streams; a long poll answers once and has no rate.
  if (admitted.maxRate !== undefined && subscriber.format !== 'poll' && !stream.closed)
    stream.maxRate = admitted.maxRate;
  registry.attach(subscriber, stream);
  if (stream.closed) return;
  if (announce) {
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
  if (headOnly) {
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

/** `GET /.well-known/mercure` as an event stream. */
export async function handleSubscribe(ctx: HubContext, req: Req, res: Res, url: URL): Promise<void> {
  const admitted = await admit(ctx, req, url, 'sse');
  const { subscriber } = admitted;
  if (subscriber.state === 'closed') return; // expired meanwhile
  setCursorHeaders(res, admitted);
  let stream: ReturnType<typeof ctx.sse.stream>;
  try {
    stream = ctx.sse.stream(req, res, ctx.streamOptions);
  } catch (error) {
    ctx.registry.drop(subscriber);
    throw error;
  }
  releaseParsedHeaders(req);
  await serve(ctx, admitted, stream, true, req.method === 'HEAD');
}
