/**
 * The documents that describe subscriptions (Mercure "Active Subscriptions"), in the two shapes:
 *
 * - draft-07, for `topic=` subscriptions: JSON-LD, topic
 *   `/.well-known/mercure/subscriptions/{topic}/{subscriber}`, `type: "Subscription"`;
 * - 1.0, for `match=` / `match_urlpattern=` subscriptions: JSON, topic
 *   `/.well-known/mercure/subscriptions/{match_type}/{match}/{subscriber}`, `type: "subscription"`,
 *   dispatched with the reserved SSE event type `mercure`.
 *
 * The same documents are the subscription events and the subscriptions API's items, so an event's
 * `id` is the API URL of that subscription.
 */
import { HUB_PATH } from '../options.js';
import type { RecordedSelector, SelectorSyntax, SubscriberRecord } from './presence.js';

/** The subscriptions API root, and the prefix of every subscription event topic. */
export const SUBSCRIPTIONS_PATH = `${HUB_PATH}/subscriptions`;
/** JSON-LD context of draft-07 documents. */
export const JSONLD_CONTEXT = 'https://mercure.rocks/';
/** SSE event type of 1.0 subscription events, reserved to the hub. */
export const SUBSCRIPTION_EVENT_TYPE = 'mercure';

/** Which protocol shape a document takes. */
export type Shape = 'draft-07' | '1.0';

/**
 * Percent-encodes everything but RFC 3986 unreserved characters, once, as RFC 6570 simple
 * expansion does (`encodeURIComponent` would leave `!'()*` as they are).
 */
export function expandVariable(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The shape a selector's subscription takes: the shape of the parameter the subscriber used. */
export function shapeOf(syntax: SelectorSyntax): Shape {
  return syntax === 'topic' ? 'draft-07' : '1.0';
}

/** 1.0 matcher type name of a selector syntax. */
export function matchType(syntax: SelectorSyntax): 'exact' | 'urlpattern' {
  return syntax === 'match_urlpattern' ? 'urlpattern' : 'exact';
}

/** One subscription document (event payload, API item). */
export type SubscriptionDocument = Record<string, unknown> & { id: string };

/** The document of one selector of one subscriber. */
export function subscriptionDocument(
  record: SubscriberRecord,
  selector: RecordedSelector,
  active: boolean,
  withContext: boolean,
): SubscriptionDocument {
  if (selector.syntax === 'topic') {
    const doc: SubscriptionDocument = {
      id: `${SUBSCRIPTIONS_PATH}/${expandVariable(selector.source)}/${expandVariable(record.id)}`,
      type: 'Subscription',
      topic: selector.source,
      subscriber: record.id,
      active,
    };
    const payload = selector.payload ?? record.payload;
    if (payload !== undefined) doc.payload = payload;
    return withContext ? { '@context': JSONLD_CONTEXT, ...doc } : doc;
  }
  const type = matchType(selector.syntax);
  const doc: SubscriptionDocument = {
    id: `${SUBSCRIPTIONS_PATH}/${type}/${expandVariable(selector.source)}/${expandVariable(record.id)}`,
    type: 'subscription',
    match_type: type,
    match: selector.source,
    subscriber: record.id,
    active,
  };
  const payload = selector.payload ?? record.payload;
  if (payload !== undefined) doc.payload = payload;
  return doc;
}
