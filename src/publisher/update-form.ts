/**
 * The body of a Mercure publish request: `application/x-www-form-urlencoded` (Mercure spec,
 * "Publication"), one `topic` field per topic, then `data`, `private`, `id`, `type` and `retry`;
 * and the same update as one item of a Herald batch publish (JSON).
 */
import { assertEventId, assertEventType, assertRetry } from '../protocol/index.js';
import { InvalidPublishError } from './errors.js';

/** One update to publish. */
export interface PublishInit {
  /** The topic IRI, or several: the first is the canonical one. At least one. */
  topics: string | readonly string[];
  /** The payload (the subscriber's `event.data`). Any text; line breaks survive. */
  data?: string;
  /** The event ID. Omit it and the hub generates one, returned by `publish()`. */
  id?: string;
  /** The SSE event type (Mercure `type`); subscribers listen with `addEventListener(type)`. */
  type?: string;
  /** The SSE reconnection time in milliseconds. */
  retry?: number;
  /** Deliver only to subscribers whose token authorizes one of the topics. */
  private?: boolean;
}

/**
 * Checks an update and encodes it as a form body. Throws {@link InvalidPublishError} (or the
 * protocol's `InvalidEventError` for `id`, `type` and `retry`) for values the hub would refuse.
 */
export function encodeUpdateForm(init: PublishInit): string {
  const topics = checkUpdate(init);
  const form = new URLSearchParams();
  for (const topic of topics) form.append('topic', topic);
  if (init.data !== undefined) form.append('data', init.data);
  if (init.private === true) form.append('private', 'on');
  if (init.id !== undefined) form.append('id', init.id);
  if (init.type !== undefined) form.append('type', init.type);
  if (init.retry !== undefined) form.append('retry', String(init.retry));
  return form.toString();
}

/**
 * Checks an update and encodes it as one item of a batch publish (Herald's JSON batch): the form's
 * fields under the same names. Throws as {@link encodeUpdateForm} does.
 */
export function encodeUpdateJson(init: PublishInit): string {
  const topics = checkUpdate(init);
  const item: Record<string, unknown> = { topic: topics.length === 1 ? topics[0] : topics };
  if (init.data !== undefined) item.data = init.data;
  if (init.private === true) item.private = true;
  if (init.id !== undefined) item.id = init.id;
  if (init.type !== undefined) item.type = init.type;
  if (init.retry !== undefined) item.retry = init.retry;
  return JSON.stringify(item);
}

/** The update's topics, once every field is checked. */
function checkUpdate(init: PublishInit): readonly string[] {
  const topics = typeof init.topics === 'string' ? [init.topics] : init.topics;
  if (!Array.isArray(topics) || topics.length === 0) {
    throw new InvalidPublishError(
      'topics',
      `topics must be a non-empty string or array of strings (got ${JSON.stringify(init.topics)}); pass the topic IRI`,
    );
  }
  for (const topic of topics) {
    if (typeof topic !== 'string' || topic === '') {
      throw new InvalidPublishError(
        'topics',
        `each topic must be a non-empty string (got ${JSON.stringify(topic)}); pass the topic IRI`,
      );
    }
  }
  if (init.id !== undefined) assertEventId(init.id);
  if (init.type !== undefined) assertEventType(init.type);
  if (init.retry !== undefined) assertRetry(init.retry);
  return topics;
}
