/**
 * One subscriber connection: its topic selectors (routing), what its token lets it read
 * (private updates), its stream, and its place in the index and the expiry queue.
 */
import type { Update } from '../update.js';
import type { Expiring } from './expiry-queue.js';
import type { SelectorSyntax, SubscriberRecord } from './presence.js';
import type { UpdateFrames } from './update-frames.js';
import type { WireFormat } from './wire-format.js';

/** Anything that says whether a topic matches (a compiled selector). */
export interface TopicMatcher {
  matches(topic: string): boolean;
}

/** One selector of a subscription, as the subscriber sent it, compiled. */
export interface SubscribedSelector {
  source: string;
  syntax: SelectorSyntax;
  /** `exact`: indexed by its source; `wildcard`: `*`; `pattern`: tried on every update. */
  kind: 'exact' | 'wildcard' | 'pattern';
  matcher: TopicMatcher;
  /** The token payload shown for this subscription, if any. */
  payload?: unknown;
}

/**
 * The token's subscribe grants (a `SelectorSet`): a private update reaches the subscriber when one
 * of them matches one of its topics, canonical or alternate.
 */
export interface PrivateAccess {
  matchesAny(topics: readonly string[]): boolean;
}

/**
 * The part of a server stream the hub uses: herald/server's `SseStream`, over an HTTP response
 * (SSE) or a WebSocket sink, so every transport shares one bounded, coalescing queue.
 */
export interface SubscriberStream {
  readonly closed: boolean;
  readonly queuedBytes: number;
  /**
   * Queues pre-encoded bytes (shared between subscribers: never changed). `key` names what the chunk
   * supersedes (conflation): a queued, unsent chunk with the same key may be replaced. False when
   * the stream is closed or the chunk was dropped.
   */
  write(chunk: Uint8Array, key?: string): boolean;
  /** Sends what is queued, then `final` if given, then ends. */
  close(final?: Uint8Array): void;
  /** Resolves once the queue went out (or the stream closed). */
  whenDrained(): Promise<void>;
  /** Keyed chunks replaced before being sent (herald/server streams; absent: never conflates). */
  readonly conflatedEvents?: number;
  /** Most sends per second, null for no limit (herald/server streams; absent: no rate limits). */
  maxRate?: number | null;
}

/** A subscriber stream the registry can bind: it tells its holder when it closes, and when it is slow. */
export interface AttachableStream extends SubscriberStream {
  hold(holder: Subscriber): void;
  on(event: 'slow', listener: () => void): unknown;
}

/** Never reads private updates: anonymous subscribers and tokens without subscribe claims. */
export const NO_PRIVATE_ACCESS: PrivateAccess = { matchesAny: () => false };

/** Shared by every subscriber without a pattern selector (the common case), instead of one each. */
const NO_PATTERNS: readonly SubscribedSelector[] = Object.freeze([]);

/**
 * Where a subscriber is in its lifecycle (subscription/lifecycle.ts): `admitting` (registered, no
 * stream yet), `replaying` (its stream is open, history is written; live updates wait in
 * `pending`), `live`, then `closed` (unregistered), from any state, for an {@link EndReason}.
 */
export type SubscriberState = 'admitting' | 'replaying' | 'live' | 'closed';

/**
 * Why a subscriber ended; each transport tells its client in its own form (docs/transports.md).
 * - `gone`: the client left. `ended`: the hub ended it (a HEAD request, `disconnectSubscribers`).
 * - `expired`: its token `exp`, `maxConnectionMs` or the poll timeout passed.
 * - `slow`: more than `maxQueuedBytes` waited, or its stream refused a write.
 * - `history`: a history page after the first could not be read (a store error, or its start
 *   trimmed meanwhile); it resumes from the last ID it got rather than go live past a gap.
 * - `shutdown`: the hub is closing.
 */
export type EndReason = 'gone' | 'ended' | 'expired' | 'slow' | 'history' | 'shutdown';

export class Subscriber implements Expiring {
  readonly id: string;
  readonly selectors: SubscribedSelector[];
  /** Selectors that are not exact, tried on every update (wildcards included). */
  readonly patterns: readonly SubscribedSelector[];
  readonly access: PrivateAccess;
  /** Token payload shown in subscription events and the subscriptions API. */
  readonly payload: unknown;
  readonly since: number;
  readonly lastEventId: string | undefined;
  /** The bytes this subscriber's stream takes (its transport). */
  format: WireFormat = 'sse';

  stream: SubscriberStream | null = null;
  /** @internal Called once when its stream closes (the subscriber is the stream's holder). */
  onStreamClosed: ((subscriber: Subscriber) => void) | null = null;
  /** True once reported to presence and announced: leaving is then reported too. */
  joined = false;
  state: SubscriberState = 'admitting';
  /** Why it ended (the first reason given); null while it runs, or when its client left. */
  endReason: EndReason | null = null;
  /** Live updates received while history is replayed (with their encoded bytes), sent after it. */
  pending: UpdateFrames[] | null = [];
  /** Bytes of `pending` data, bounded like the stream queue. */
  pendingBytes = 0;
  /** @internal Dispatch sequence number this subscriber was last collected for (dedupe). */
  mark = 0;
  expiresAt = Number.POSITIVE_INFINITY;
  expiryIndex = -1;

  constructor(
    id: string,
    selectors: SubscribedSelector[],
    access: PrivateAccess,
    payload: unknown,
    lastEventId: string | undefined,
    since = Date.now(),
  ) {
    this.id = id;
    this.selectors = selectors;
    const patterns = selectors.filter((s) => s.kind !== 'exact');
    this.patterns = patterns.length === 0 ? NO_PATTERNS : patterns;
    this.access = access;
    this.payload = payload;
    this.lastEventId = lastEventId;
    this.since = since;
  }

  /** @internal The stream closed (it holds the subscriber as a herald/server stream holder): tell the registry, once. */
  release(): void {
    const onClosed = this.onStreamClosed;
    this.onStreamClosed = null;
    onClosed?.(this);
  }

  /** True when a non-exact selector matches one of the topics. */
  matchesPattern(topics: readonly string[]): boolean {
    const patterns = this.patterns;
    for (let i = 0; i < patterns.length; i++) {
      const p = patterns[i]!;
      if (p.kind === 'wildcard') return true;
      for (let j = 0; j < topics.length; j++) if (p.matcher.matches(topics[j]!)) return true;
    }
    return false;
  }

  /** True when any selector (exact or not) routes the update here; used for history replay. */
  routes(update: Update): boolean {
    const topics = update.topics;
    for (const s of this.selectors) {
      if (s.kind !== 'exact') continue;
      for (let j = 0; j < topics.length; j++) if (topics[j] === s.source) return true;
    }
    return this.matchesPattern(topics);
  }

  /** Routing and privacy together. */
  wants(update: Update): boolean {
    return this.routes(update) && (!update.private || this.access.matchesAny(update.topics));
  }

  /** The presence record of this subscriber. */
  record(): SubscriberRecord {
    const record: SubscriberRecord = {
      id: this.id,
      selectors: this.selectors.map((s) =>
        s.payload === undefined
          ? { source: s.source, syntax: s.syntax }
          : { source: s.source, syntax: s.syntax, payload: s.payload },
      ),
      since: this.since,
    };
    if (this.payload !== undefined) record.payload = this.payload;
    if (this.lastEventId !== undefined) record.lastEventId = this.lastEventId;
    return record;
  }
}
