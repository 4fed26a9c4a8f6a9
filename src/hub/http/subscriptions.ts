/**
 * `GET /.well-known/mercure/subscriptions[...]`: the active subscriptions (Mercure "Subscription
 * API"), across every node sharing the presence. Answers in the shape of the token presented: a
 * draft-07 token gets JSON-LD listing `topic=` subscriptions, a 1.0 token gets JSON listing
 * `match*=` subscriptions, so every listed `id` is the topic of that subscription's events.
 */

import type { HubContext, Req, Res } from '../context.js';
import type { SelectorSyntax } from '../subscribers/presence.js';
import {
  JSONLD_CONTEXT,
  matchType,
  type Shape,
  SUBSCRIPTIONS_PATH,
  type SubscriptionDocument,
  shapeOf,
  subscriptionDocument,
} from '../subscribers/subscription-documents.js';
import { encodeHeaderValue } from '../subscription/cursor-header.js';
import { HubHttpError, insufficientScope, missingToken } from './errors.js';

function notFound(path: string): HubHttpError {
  return new HubHttpError(404, 'HERALD_ERR_HUB_NOT_FOUND', `no such subscription or collection: ${path}`);
}

function decode(segment: string, path: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw notFound(path);
  }
}

/** Link target attribute value (RFC 8288 quoted-string). */
function quote(value: string): string {
  return value.replace(/["\\]/g, (c) => `\\${c}`);
}

export async function handleSubscriptions(ctx: HubContext, req: Req, res: Res, url: URL): Promise<void> {
  const auth = await ctx.auth.subscriber(req.headers, url);
  if (auth === undefined) throw missingToken('the subscriptions API');
  // The topic to authorize is the request's path, as sent (Mercure: "the requested URL in relative form").
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (!auth.claims.subscribeSelectors?.matches(path)) {
    throw insufficientScope(`the token does not allow subscribing to ${JSON.stringify(path)}`);
  }
  const shape: Shape = auth.claims.version === '1.0' ? '1.0' : 'draft-07';
  const rest = path
    .slice(SUBSCRIPTIONS_PATH.length)
    .split('/')
    .filter((s, i) => i > 0 || s !== '');
  const segments = rest.map((s) => decode(s, path));

  let selector: { source: string; syntax: SelectorSyntax } | undefined;
  let subscriberId: string | undefined;
  if (shape === 'draft-07') {
    if (segments.length > 2) throw notFound(path);
    if (segments.length >= 1) selector = { source: segments[0]!, syntax: 'topic' };
    subscriberId = segments[1];
  } else {
    if (segments.length === 1 || segments.length > 3) throw notFound(path);
    if (segments.length >= 2) {
      const type = segments[0];
      if (type !== 'exact' && type !== 'urlpattern') throw notFound(path);
      selector = { source: segments[1]!, syntax: type === 'exact' ? 'match' : 'match_urlpattern' };
    }
    subscriberId = segments[2];
  }

  const [records, lastId] = await Promise.all([ctx.presence.list(), ctx.store.lastId()]);
  const lastEventId = lastId ?? 'earliest';
  const docs: SubscriptionDocument[] = [];
  for (const record of records) {
    if (subscriberId !== undefined && record.id !== subscriberId) continue;
    for (const s of record.selectors) {
      if (shapeOf(s.syntax) !== shape) continue;
      if (selector !== undefined) {
        if (s.source !== selector.source) continue;
        if (shape === '1.0' && matchType(s.syntax) !== matchType(selector.syntax)) continue;
      }
      // Items of a collection inherit its @context; a single one gets it below.
      docs.push(subscriptionDocument(record, s, true, false));
    }
  }

  let body: unknown;
  if (subscriberId !== undefined) {
    if (docs.length === 0) throw notFound(path);
    body =
      shape === 'draft-07' ? { '@context': JSONLD_CONTEXT, ...docs[0], lastEventID: lastEventId } : docs[0];
  } else if (shape === 'draft-07') {
    body = {
      '@context': JSONLD_CONTEXT,
      id: path,
      type: 'Subscriptions',
      lastEventID: lastEventId,
      subscriptions: docs,
    };
  } else {
    body = { id: path, type: 'subscriptions', subscriptions: docs };
  }
  const text = JSON.stringify(body);
  const hubLink = `<${ctx.options.hubUrl}>; rel="mercure"`;
  res.writeHead(200, {
    'Content-Type': shape === 'draft-07' ? 'application/ld+json' : 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'must-revalidate',
    ETag: `"${encodeURIComponent(lastEventId)}"`,
    Link:
      shape === 'draft-07'
        ? hubLink
        : `${hubLink}; last-event-id="${quote(encodeHeaderValue(lastEventId))}"; type="mercure"; content-type="application/json"`,
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
