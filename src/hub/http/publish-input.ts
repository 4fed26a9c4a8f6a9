/**
 * What a publisher sends, checked and turned into an {@link Update}: the rules of Mercure's
 * "Publication" section that hold whatever the token (both drafts): at least one topic, none
 * addressing the hub's own namespace or equal to `*`, no control or format characters in topics,
 * `id` and `type`, an `id` that is not `earliest` and does not start with `#`, a `type` other than
 * the reserved `mercure`, a `retry` made of digits; and Herald's conflation key (`herald.key`).
 */
import { HUB_PATH } from '../options.js';
import type { Update } from '../update.js';
import { randomUrnUuid } from '../urn-uuid.js';
import { badRequest } from './errors.js';

/** An update as a publisher gives it, before checks (`hub.publish` and the publish route). */
export interface PublishInput {
  /** Canonical topic first, then alternates. */
  topics: string[];
  data?: string;
  private?: boolean;
  id?: string;
  type?: string;
  /** Reconnection time in ms; a string must be digits only (form field). */
  retry?: number | string;
  /**
   * Conflation key (Herald extension, form field {@link KEY_FIELD}): 1 to {@link MAX_KEY_BYTES}
   * bytes of UTF-8, no control or invisible format characters.
   */
  key?: string;
}

/**
 * The publish field carrying the conflation key. Namespaced so it cannot meet a future Mercure
 * field; Mercure hubs and clients ignore fields they do not know, so the update stays a plain
 * Mercure update for them.
 */
export const KEY_FIELD = 'herald.key';

/**
 * Longest conflation key, in UTF-8 bytes. Keys name instruments, rows or users (`EURUSD`, a UUID,
 * a URL path); 256 bytes holds any of them, and bounds what each subscriber's key index keeps.
 */
export const MAX_KEY_BYTES = 256;

// C0, DEL, C1 and Unicode format characters (Cf: bidi and zero-width controls), per Mercure 1.0
// "Terminology": invisible characters enable spoofing, line breaks and NUL would break framing.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\p{Cf}]/u;
const DIGITS = /^[0-9]+$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const RESERVED_TYPE = 'mercure';
const EARLIEST = 'earliest';
// A base for resolving relative topics: only the path is compared, so the host does not matter.
const BASE = 'https://hub.invalid';
const UNRESERVED_ESCAPE = /%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])/g;

/** The longest segment of the hub's path, which any topic resolving into it must spell out. */
const HUB_PATH_MARKER = longestSegment(HUB_PATH);

function longestSegment(path: string): string {
  return path.split('/').reduce((a, b) => (b.length > a.length ? b : a), '');
}

/**
 * A topic cannot resolve into a path it does not spell out: the URL parser only removes (dot
 * segments) or rewrites what `%`, tab, CR and LF stand for. Spares a URL parse per topic and publish.
 */
const MAY_SPELL_OTHERWISE = /[%\t\n\r]/;

/** True when a topic resolves into the hub's reserved path (subscription events, the API). */
export function addressesHubNamespace(topic: string, hubPath = HUB_PATH): boolean {
  const marker = hubPath === HUB_PATH ? HUB_PATH_MARKER : longestSegment(hubPath);
  if (!topic.includes(marker) && !MAY_SPELL_OTHERWISE.test(topic)) return false;
  let path: string;
  try {
    path = new URL(topic, BASE).pathname;
  } catch {
    return false;
  }
  // Decode escapes of unreserved characters (RFC 3986 6.2.2.2) so %6Dercure cannot slip through;
  // the URL parser already removed dot segments, %2e ones included.
  path = path.replace(UNRESERVED_ESCAPE, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  if (path.includes('/.')) {
    try {
      path = new URL(path, BASE).pathname;
    } catch {}
  }
  return path === hubPath || path.startsWith(`${hubPath}/`);
}

function checkField(name: string, value: string): void {
  const bad = FORBIDDEN.exec(value);
  if (bad !== null) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw badRequest(
      `${name} must not contain control or invisible format characters (got U+${code} in ${JSON.stringify(value)})`,
      'HERALD_ERR_HUB_INVALID_UPDATE',
    );
  }
}

/**
 * Topics that passed the checks below, each mapped to one shared copy of itself. Publishers send
 * the same topics over and over: a known topic skips the checks (they depend on the topic alone),
 * and every update of a topic holds the same string, so that history keeps one copy per topic, not
 * one per update, and the look-ups by topic (the subscriber index, the history's topic queues)
 * find its hash already computed. Cleared when full: a bound on memory, not an eviction policy.
 */
const acceptedTopics = new Map<string, string>();
const MAX_ACCEPTED_TOPICS = 10_000;

/**
 * Checks an input and builds the update (its ID generated when absent). Throws a 400
 * `HubHttpError` naming the field and the rule.
 */
export function toUpdate(input: PublishInput, maxTopics: number, now = Date.now()): Update {
  const topics = input.topics;
  if (!Array.isArray(topics) || topics.length === 0) {
    throw badRequest('an update needs at least one "topic" field', 'HERALD_ERR_HUB_INVALID_UPDATE');
  }
  if (topics.length > maxTopics) {
    throw badRequest(
      `an update may have at most ${maxTopics} topics (got ${topics.length}); split it or raise maxTopicsPerUpdate`,
      'HERALD_ERR_HUB_TOO_MANY_TOPICS',
    );
  }
  for (let i = 0; i < topics.length; i++) {
    const topic = topics[i];
    if (typeof topic !== 'string' || topic === '') {
      throw badRequest('topics must be non-empty strings', 'HERALD_ERR_HUB_INVALID_UPDATE');
    }
    const known = acceptedTopics.get(topic);
    if (known !== undefined) {
      topics[i] = known;
      continue;
    }
    checkField('topic', topic);
    if (topic === '*') {
      throw badRequest('"*" is the wildcard selector and cannot be a topic', 'HERALD_ERR_HUB_RESERVED_TOPIC');
    }
    if (addressesHubNamespace(topic)) {
      throw badRequest(
        `topics under ${HUB_PATH} are reserved to the hub (got ${JSON.stringify(topic)})`,
        'HERALD_ERR_HUB_RESERVED_TOPIC',
      );
    }
    if (acceptedTopics.size >= MAX_ACCEPTED_TOPICS) acceptedTopics.clear();
    acceptedTopics.set(topic, topic);
  }
  let id = input.id;
  if (id === undefined || id === '') {
    id = randomUrnUuid();
  } else {
    checkField('id', id);
    if (id.startsWith('#') || id === EARLIEST) {
      throw badRequest(
        `id must not start with "#" nor be "earliest", both reserved (got ${JSON.stringify(id)})`,
        'HERALD_ERR_HUB_INVALID_UPDATE',
      );
    }
  }
  const update: Update = {
    id,
    topics,
    private: input.private === true,
    data: input.data ?? '',
    time: now,
  };
  if (input.type !== undefined && input.type !== '') {
    checkField('type', input.type);
    if (input.type === RESERVED_TYPE) {
      throw badRequest(
        'type "mercure" is reserved to the hub\'s subscription events',
        'HERALD_ERR_HUB_INVALID_UPDATE',
      );
    }
    update.type = input.type;
  }
  if (input.retry !== undefined && input.retry !== '') {
    const retry =
      typeof input.retry === 'string' && DIGITS.test(input.retry) ? Number(input.retry) : input.retry;
    if (typeof retry !== 'number' || !Number.isSafeInteger(retry) || retry < 0) {
      throw badRequest(
        `retry must be a number of milliseconds made of digits only (got ${JSON.stringify(input.retry)})`,
        'HERALD_ERR_HUB_INVALID_UPDATE',
      );
    }
    update.retry = retry;
  }
  if (input.key !== undefined) update.key = checkKey(input.key);
  if (typeof update.data !== 'string')
    throw badRequest('data must be a string', 'HERALD_ERR_HUB_INVALID_UPDATE');
  return update;
}

function checkKey(key: unknown): string {
  const fix = `send 1 to ${MAX_KEY_BYTES} bytes of UTF-8 text, or no ${KEY_FIELD} field for an update never conflated`;
  if (typeof key !== 'string' || key === '') {
    throw badRequest(
      `${KEY_FIELD} must not be empty (got ${JSON.stringify(key)}); ${fix}`,
      'HERALD_ERR_HUB_INVALID_KEY',
    );
  }
  // A lone surrogate (hub.publish) has no UTF-8 form; U+FFFD is what a form body's invalid
  // percent-encoded bytes (%FF) decode to.
  if (LONE_SURROGATE.test(key) || key.includes('\uFFFD')) {
    throw badRequest(
      `${KEY_FIELD} must be valid UTF-8 (got ${JSON.stringify(key)}, with an invalid byte sequence); ${fix}`,
      'HERALD_ERR_HUB_INVALID_KEY',
    );
  }
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES) {
    throw badRequest(
      `${KEY_FIELD} may be at most ${MAX_KEY_BYTES} bytes long (got ${bytes} bytes); ${fix}`,
      'HERALD_ERR_HUB_INVALID_KEY',
    );
  }
  checkField(KEY_FIELD, key);
  return key;
}
