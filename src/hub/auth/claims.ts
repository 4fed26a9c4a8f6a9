import type { JWTPayload } from 'jose';
import { compileSelector, type Selector, SelectorSet, type SelectorSyntax } from '../topics/index.js';
import { AuthError } from './errors.js';

/**
 * What a verified token allows, in one shape for both Mercure drafts.
 *
 * Pass `publishSelectors` to `canPublish` and `subscribeSelectors` to `canReceive`; `publish` and
 * `subscribe` are the same grants as written in the token, for display (subscription events, the
 * subscriptions API).
 */
export interface Claims {
  /** `1.0` for a `typ: at+jwt` token (`authorization_details`), `draft-07` otherwise (`mercure`). */
  version: 'draft-07' | '1.0';
  /** Selectors granting publication, as written; `undefined` when the token grants none. */
  publish?: string[];
  /** Selectors granting private updates, as written; `undefined` when the token grants none. */
  subscribe?: string[];
  /** Draft-07 `mercure.payload`. For 1.0 tokens use `payloadFor`, payloads being per grant. */
  payload?: unknown;
  /** The token's `exp` in ms since the epoch; a subscriber's stream must end by then. */
  expiresAt?: number;
  /** The token's `sub`; Mercure 1.0 derives subscriber identifiers from it. */
  subject?: string;
  /** Compiled publish grants; `SelectorSet.EMPTY` when none. */
  publishSelectors: SelectorSet;
  /** Compiled subscribe grants; `SelectorSet.EMPTY` when none. */
  subscribeSelectors: SelectorSet;
  /**
   * The payload to show for a subscription made with `selector` (its `topic=` / `match*=` value).
   * 1.0 ("Payloads"): the payload of the first subscribe grant one of whose selectors matches the
   * subscription's selector read as a topic. Draft-07: `mercure.payload`.
   */
  payloadFor(selector: string): unknown;
  /** Every claim of the token, verified. */
  raw: JWTPayload;
}

/** Mercure 1.0 "Authorization Details": the `type` of a Mercure authorization detail. */
export const MERCURE_AUTHORIZATION_DETAIL_TYPE = 'https://mercure.rocks/authorization-detail';

/**
 * Most grants a token may carry: Mercure authorization details, and topic selectors summed over
 * them (or per draft-07 list). Each selector may compile a pattern, so an unbounded token would be an
 * unbounded amount of work per request; the Mercure reference hub uses the same bound (100).
 */
export const MAX_TOKEN_GRANTS = 100;

interface Grant {
  selectors: SelectorSet;
  payload: unknown;
}

/** Reads the grants of a verified 1.0 token (`authorization_details`). Throws `invalid_token`. */
export function claimsFrom10(payload: JWTPayload, baseUrl: string): Claims {
  const details = payload.authorization_details;
  if (details === undefined) return build('1.0', payload, [], [], [], undefined);
  if (!Array.isArray(details)) throw invalid('authorization_details must be an array');
  const publish: Selector[] = [];
  const subscribe: Selector[] = [];
  const subscribeGrants: Grant[] = [];
  let detailCount = 0;
  let selectorCount = 0;
  for (const detail of details) {
    if (!isObject(detail)) throw invalid('every authorization_details entry must be an object');
    // RFC 9396 lets other detail types share the claim; they grant nothing here.
    if (detail.type !== MERCURE_AUTHORIZATION_DETAIL_TYPE) continue;
    if (++detailCount > MAX_TOKEN_GRANTS) {
      throw invalid(`more than ${MAX_TOKEN_GRANTS} Mercure authorization details`);
    }
    const { actions, topics } = detail;
    if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === 'string')) {
      throw invalid('a Mercure authorization detail needs `actions`, a non-empty array of strings');
    }
    if (!Array.isArray(topics) || topics.length === 0) {
      throw invalid('a Mercure authorization detail needs `topics`, a non-empty array of matchers');
    }
    selectorCount += topics.length;
    if (selectorCount > MAX_TOKEN_GRANTS) {
      throw invalid(`more than ${MAX_TOKEN_GRANTS} topic matchers in authorization_details`);
    }
    const selectors = topics.map((t) => matcherFromObject(t, baseUrl));
    // Unknown actions grant nothing but do not invalidate the token (1.0: "MUST ignore").
    if (actions.includes('publish')) publish.push(...selectors);
    if (actions.includes('subscribe')) {
      subscribe.push(...selectors);
      subscribeGrants.push({ selectors: new SelectorSet(selectors), payload: detail.payload });
    }
  }
  return build('1.0', payload, publish, subscribe, subscribeGrants, undefined);
}

/** Reads the grants of a verified draft-07 token (`mercure` claim). Throws `invalid_token`. */
export function claimsFromDraft07(payload: JWTPayload, baseUrl: string): Claims {
  // Some publishers namespace the claim as `https://mercure.rocks/` (the reference hub reads both).
  const claim = payload.mercure ?? payload['https://mercure.rocks/'];
  if (claim === undefined) return build('draft-07', payload, [], [], [], undefined);
  if (!isObject(claim)) throw invalid('the mercure claim must be an object');
  const publish = draft07Selectors(claim.publish, 'mercure.publish', baseUrl);
  const subscribe = draft07Selectors(claim.subscribe, 'mercure.subscribe', baseUrl);
  return build(
    'draft-07',
    payload,
    publish.map((s) => s.selector),
    subscribe.map((s) => s.selector),
    subscribe
      .filter((s) => s.payload !== undefined)
      .map((s) => ({
        selectors: new SelectorSet([s.selector]),
        payload: s.payload,
      })),
    claim.payload,
  );
}

interface Draft07Entry {
  selector: Selector;
  payload: unknown;
}

/**
 * A draft-07 list: strings (templates), or, as later reference-hub releases write them, objects
 * `{match, match_type?, payload?}`. An absent list grants nothing; a malformed one voids the token.
 */
function draft07Selectors(value: unknown, name: string, baseUrl: string): Draft07Entry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`${name} must be an array of topic selectors`);
  if (value.length > MAX_TOKEN_GRANTS) throw invalid(`${name} holds more than ${MAX_TOKEN_GRANTS} selectors`);
  return value.map((entry) => {
    if (typeof entry === 'string')
      return { selector: compile(entry, 'template', baseUrl), payload: undefined };
    return {
      selector: matcherFromObject(entry, baseUrl),
      payload: isObject(entry) ? entry.payload : undefined,
    };
  });
}

/** 1.0 "Topic Matcher List": `{match, match_type?}`, `match_type` `exact` (default) or `urlpattern`. */
function matcherFromObject(entry: unknown, baseUrl: string): Selector {
  if (!isObject(entry) || typeof entry.match !== 'string' || entry.match === '') {
    throw invalid('every topic matcher must be an object with a non-empty string `match`');
  }
  const type = entry.match_type ?? 'exact';
  if (type !== 'exact' && type !== 'urlpattern') {
    throw invalid(`unsupported match_type ${JSON.stringify(type)} (supported: exact, urlpattern)`);
  }
  return compile(entry.match, type, baseUrl);
}

function compile(source: string, syntax: SelectorSyntax, baseUrl: string): Selector {
  try {
    return compileSelector(source, syntax, { baseUrl });
  } catch (cause) {
    throw AuthError.invalidToken(`the token holds an unusable topic selector: ${(cause as Error).message}`, {
      cause,
    });
  }
}

function build(
  version: Claims['version'],
  raw: JWTPayload,
  publish: Selector[],
  subscribe: Selector[],
  subscribeGrants: Grant[],
  payload: unknown,
): Claims {
  const publishSelectors = publish.length === 0 ? SelectorSet.EMPTY : new SelectorSet(publish);
  const subscribeSelectors = subscribe.length === 0 ? SelectorSet.EMPTY : new SelectorSet(subscribe);
  const claims: Claims = {
    version,
    publishSelectors,
    subscribeSelectors,
    payloadFor(selector: string): unknown {
      for (const grant of subscribeGrants) if (grant.selectors.matches(selector)) return grant.payload;
      return payload;
    },
    raw,
  };
  if (publish.length > 0) claims.publish = publishSelectors.sources;
  if (subscribe.length > 0) claims.subscribe = subscribeSelectors.sources;
  if (payload !== undefined) claims.payload = payload;
  if (typeof raw.exp === 'number') claims.expiresAt = raw.exp * 1000;
  if (typeof raw.sub === 'string') claims.subject = raw.sub;
  return claims;
}

function invalid(rule: string): AuthError {
  return AuthError.invalidToken(`the token's grants are malformed: ${rule}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
