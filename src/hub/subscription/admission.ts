/**
 * Admission of a subscription, the first state of its lifecycle (lifecycle.ts): the query read
 * (selectors, rate, resume point), the token checked, the subscriber registered (live updates wait
 * in its pending list) and its first page of history read. Shared by every transport.
 *
 * Order matters for "no gap, no duplicate": the subscriber joins the index first, history is read
 * from the store after, and the cursor the client is told comes from that read.
 */
import type { HubContext, Req } from '../context.js';
import { requestCompileBudget } from '../http/compile-budget.js';
import { badRequest, missingToken } from '../http/errors.js';
import { connectionExpiresAt } from '../subscribers/expiry-queue.js';
import type { SelectorSyntax } from '../subscribers/presence.js';
import { NO_PRIVATE_ACCESS, type SubscribedSelector, Subscriber } from '../subscribers/subscriber.js';
import type { WireFormat } from '../subscribers/wire-format.js';
import {
  type CompileBudget,
  compileSelector,
  MAX_SELECTOR_LENGTH,
  SelectorCostError,
  SelectorError,
} from '../topics/index.js';
import type { Update } from '../update.js';
import { randomUrnUuid } from '../urn-uuid.js';
import { decodeHeaderValue } from './cursor-header.js';

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
  // Browsers (and herald/client) send a non-ASCII ID as its UTF-8 bytes, which node:http reads as Latin-1.
  if (typeof header === 'string' && header !== '') return decodeHeaderValue(header);
  const value = query.get('last_event_id') || query.get('lastEventID');
  return value || undefined;
}

/**
 * A subscription admitted: checked, authorized, registered (live updates wait in its pending list)
 * and its first page of history read. What every transport does before opening its stream.
 */
export interface Admitted {
  readonly subscriber: Subscriber;
  /**
   * The first page of history: after the requested ID, or from the oldest kept when that ID is not
   * kept (a lossy resume); empty when none was asked.
   */
  history: Update[];
  /**
   * The resume cursor to tell the client, never the ID of an update it may not read (Mercure 1.0,
   * "Reconnection"): the requested ID when resumed from it; `earliest` after a lossy resume; without
   * a requested ID, the newest public update this process delivered (or `earliest`), on every
   * transport, so that every client can resume from where its subscription started: one that falls
   * back from an event stream a proxy holds back has seen no event, and loses nothing by it.
   */
  readonly cursor: string;
  /**
   * False for a lossy resume: the requested ID is not kept (never seen, past retention) or is a
   * private update this subscriber may not read (answered alike, so a guessed ID tells nothing).
   * History is then sent from the oldest kept, as for `earliest`, and updates may be missing.
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
  ctx.capacity.check();
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
    randomUrnUuid(),
    selectors,
    claims?.subscribeSelectors ?? NO_PRIVATE_ACCESS,
    claims?.payload,
    lastEventId,
  );
  subscriber.format = format;
  subscriber.expiresAt = connectionExpiresAt(subscriber.since, claims?.expiresAt, hub.maxConnectionMs);
  if (format === 'poll')
    subscriber.expiresAt = Math.min(subscriber.expiresAt, subscriber.since + hub.pollTimeoutMs);

  // Without an ID, the cursor is told below. Before this process delivered a public update (just
  // restarted) it comes from the store: read before joining, so that every update up to it reached
  // this process (or was kept before it started) before this subscriber joined.
  // A store that cannot answer does not keep subscribers out (a hub whose Redis is down at start
  // serves them, and they get updates once it is back): they are told `earliest`, as the hub knows
  // no better, and the next subscription asks the store again. CursorSeed logs the failure.
  if (lastEventId === undefined && !ctx.cursorSeed.ready) await ctx.cursorSeed.wait().catch(() => {});
  // Join before reading history: what is published from now on waits in `pending`.
  registry.add(subscriber);
  ctx.metrics.wire.open(subscriber, req);
  let history: Update[] = [];
  let cursor: string;
  let resumed = true;
  try {
    if (lastEventId !== undefined) {
      let page = await ctx.store.after(lastEventId, hub.historyPageSize);
      if (!page.found || !registry.mayResumeFrom(subscriber, lastEventId)) {
        // Past history, never seen, or private to others: send what the hub still holds for the
        // subscribed topics, as `earliest` does, and say so with the cursor. A lossy resume.
        resumed = false;
        ctx.metrics.lossyResumes++;
        page = await ctx.store.after(EARLIEST, hub.historyPageSize);
      }
      history = page.found ? page.updates : [];
      // Mercure: the ID preceding the first event sent, `earliest` in every other case.
      cursor = resumed && lastEventId !== EARLIEST ? lastEventId : EARLIEST;
    } else {
      // Mercure asks for a cursor only on a resume; every transport gives one here, so that a client
      // that saw no update yet has a position too. Known after joining: every update up to it was
      // delivered before the subscriber joined (or kept by the store before this process started,
      // see CursorSeed), and every later one reaches it from now on (or its history), so resuming
      // from it loses nothing. Public: every subscriber may read it, where the store's newest may
      // be someone's private one. `earliest` only when the store keeps no public update.
      cursor = registry.newestPublicId ?? EARLIEST;
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
