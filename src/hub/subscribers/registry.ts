/**
 * The subscribers of this hub process: the index that routes updates, the fan-out that writes each
 * update's bytes (encoded once) to every matching stream, history replay without gap or duplicate,
 * and the shared expiry of tokens.
 */
import type { Logger } from 'pino';
import type { SlowConsumerError } from '../../server/index.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { Update } from '../update.js';
import { ExpiryQueue } from './expiry-queue.js';
import {
  type AttachableStream,
  type EndReason,
  NO_PRIVATE_ACCESS,
  type PrivateAccess,
  type Subscriber,
} from './subscriber.js';
import { SubscriberIndex } from './subscriber-index.js';
import { streamKey, UpdateFrames } from './update-frames.js';
import type { WireFormat } from './wire-format.js';

export { encodeUpdate } from './update-frames.js';

/**
 * How many private update IDs the registry remembers, with their topics, so that resuming from one
 * a subscriber may not read is answered as an unknown ID (docs/transports.md). ~100 bytes each.
 */
export const REMEMBERED_PRIVATE_IDS = 10_000;

export class SubscriberRegistry {
  readonly index = new SubscriberIndex();
  readonly #metrics: HubMetrics;
  readonly #logger: Logger | undefined;
  readonly #maxQueuedBytes: number;
  readonly #expiry: ExpiryQueue<Subscriber>;
  readonly #scratch: Subscriber[] = [];
  /** Per update: grant set -> may it read the (private) update. */
  readonly #readers = new Map<PrivateAccess, boolean>();
  readonly #onClosed: (subscriber: Subscriber) => void;
  /** Recent private update IDs and their topics, oldest first (bounded by REMEMBERED_PRIVATE_IDS). */
  readonly #privateIds = new Map<string, readonly string[]>();
  /**
   * The ID of the newest public update this process delivered: a cursor any subscriber may be told
   * (the store's newest may be a private update). Until one is delivered, the newest public one the
   * store kept when this process started (`CursorSeed`), or undefined while unknown or none.
   */
  newestPublicId: string | undefined = undefined;
  // Shared handlers: one function for every stream, not a closure per subscriber. The subscriber
  // holds its stream (no Map from stream to subscriber: ~80 bytes a subscriber at 10k).
  readonly #streamClosed = (subscriber: Subscriber) => this.drop(subscriber);
  // One slow handler per transport: the stream does not know its subscriber's format.
  readonly #streamSlow: Record<WireFormat, (error?: SlowConsumerError) => void> = {
    sse: (error) => this.#slow('sse', error),
    ws: (error) => this.#slow('ws', error),
    poll: (error) => this.#slow('poll', error),
  };

  constructor(
    metrics: HubMetrics,
    logger: Logger | undefined,
    maxQueuedBytes: number,
    onClosed: (subscriber: Subscriber) => void,
  ) {
    this.#metrics = metrics;
    this.#logger = logger;
    this.#maxQueuedBytes = maxQueuedBytes;
    this.#onClosed = onClosed;
    this.#expiry = new ExpiryQueue<Subscriber>((subscriber) => {
      // The token expired: Mercure requires closing the connection by then.
      this.#logger?.debug({ subscriber: subscriber.id }, 'subscriber token expired');
      this.end(subscriber, 'expired');
    });
  }

  #slow(format: WireFormat, error?: SlowConsumerError): void {
    // Under the 'conflate' policy a slow subscriber keeps its stream.
    if (error?.action === 'conflate') return;
    this.#metrics.slowClientsDropped++;
    this.#metrics.transports[format].dropped++;
  }

  get size(): number {
    return this.index.size;
  }

  /**
   * Starts routing updates to a subscriber; they wait in its `pending` list until
   * {@link SubscriberRegistry.goLive}. Call before reading history so nothing falls in between.
   */
  add(subscriber: Subscriber): void {
    this.index.add(subscriber);
    if (Number.isFinite(subscriber.expiresAt)) this.#expiry.add(subscriber);
    this.#metrics.connections++;
    this.#metrics.transports[subscriber.format].connections++;
    this.#metrics.subscriptions += subscriber.selectors.length;
  }

  /**
   * Binds the subscriber's open stream (admitting -> replaying); its close (either side, slow,
   * expiry) drops the subscriber.
   */
  attach(subscriber: Subscriber, stream: AttachableStream): void {
    subscriber.stream = stream;
    subscriber.state = 'replaying';
    if (stream.maxRate != null) this.#metrics.rateLimited++;
    subscriber.onStreamClosed = this.#streamClosed;
    stream.on('slow', this.#streamSlow[subscriber.format]);
    stream.hold(subscriber);
  }

  /**
   * The one way a subscriber ends, whatever its state: its stream closes (its transport closes in
   * the form `reason` calls for, and the close drops it), or, still admitting, it is dropped now and
   * its admission answers (lifecycle.ts). Idempotent; the first reason is kept.
   */
  end(subscriber: Subscriber, reason: EndReason): void {
    if (subscriber.state === 'closed') return;
    subscriber.endReason ??= reason;
    if (subscriber.stream !== null) subscriber.stream.close();
    else this.drop(subscriber);
  }

  /**
   * Whether `subscriber` may be told it resumed from `id`: false for a private update it may not
   * read, so that resuming from a guessed private ID is answered as from an unknown one.
   */
  mayResumeFrom(subscriber: Subscriber, id: string): boolean {
    const topics = this.#privateIds.get(id);
    return topics === undefined || subscriber.access.matchesAny(topics);
  }

  #remember(update: Update): void {
    const ids = this.#privateIds;
    if (ids.size >= REMEMBERED_PRIVATE_IDS) ids.delete(ids.keys().next().value!);
    ids.set(update.id, update.topics);
  }

  /** Forgets a subscriber (idempotent). */
  drop(subscriber: Subscriber): void {
    if (subscriber.state === 'closed') return;
    subscriber.state = 'closed';
    subscriber.pending = null;
    if (subscriber.stream?.maxRate != null) this.#metrics.rateLimited--;
    this.index.remove(subscriber);
    this.#expiry.remove(subscriber);
    this.#metrics.connections--;
    this.#metrics.transports[subscriber.format].connections--;
    this.#metrics.subscriptions -= subscriber.selectors.length;
    this.#metrics.wire.close(subscriber);
    this.#onClosed(subscriber);
  }

  /** Every connected subscriber. */
  values(): IterableIterator<Subscriber> {
    return this.index.values();
  }

  /**
   * Fan-out of one update (from the store): encode once per wire format in use, write the same
   * bytes to every match of that format.
   */
  deliver(update: Update): void {
    if (update.private) this.#remember(update);
    else this.newestPublicId = update.id;
    const matches = this.index.collect(update, this.#scratch);
    const n = matches.length;
    if (n === 0) return;
    const frames = new UpdateFrames(update);
    if (update.private) this.#readers.clear();
    const key = frames.streamKey;
    let conflated = 0;
    // Counted per format in locals: the common case (every subscriber on SSE) adds one comparison.
    let sse = 0;
    let ws = 0;
    let poll = 0;
    let unencodable = 0;
    for (let i = 0; i < n; i++) {
      const s = matches[i]!;
      matches[i] = undefined as unknown as Subscriber;
      if (update.private && !this.#mayRead(s.access, update)) continue;
      if (s.state === 'live') {
        let bytes: Uint8Array;
        try {
          bytes = frames.get(s.format);
        } catch (error) {
          // Not in this subscriber's format (SSE field rules): the others still get it.
          if (unencodable++ === 0)
            this.#logger?.error({ err: error, id: update.id, format: s.format }, 'update cannot be encoded');
          continue;
        }
        const stream = s.stream!;
        let written: boolean;
        if (key === undefined) written = stream.write(bytes);
        else {
          const before = stream.conflatedEvents ?? 0;
          written = stream.write(bytes, key);
          conflated += (stream.conflatedEvents ?? 0) - before;
        }
        if (written) {
          const format = s.format;
          if (format === 'sse') sse++;
          else if (format === 'ws') ws++;
          else poll++;
        }
      } else {
        // Admitting or replaying (closed ones left the index): sent when it goes live.
        this.#buffer(s, frames);
      }
    }
    matches.length = 0;
    if (unencodable > 0) this.#metrics.updatesUnencodable += unencodable;
    if (conflated > 0) this.#metrics.updatesConflated += conflated;
    const delivered = sse + ws + poll;
    if (delivered > 0) {
      const metrics = this.#metrics;
      metrics.delivered += delivered;
      if (sse > 0) this.#count('sse', sse, frames);
      if (ws > 0) this.#count('ws', ws, frames);
      if (poll > 0) this.#count('poll', poll, frames);
      metrics.observeLatency(update.time);
    }
  }

  /**
   * Whether a grant set reads a private update, decided once per distinct grant set and update:
   * subscribers of one token share its claims' grant set (the verifier remembers the token), so
   * thousands of subscribers of a few tokens cost a few evaluations. Cleared for each update.
   */
  #mayRead(access: PrivateAccess, update: Update): boolean {
    if (access === NO_PRIVATE_ACCESS) return false;
    let allowed = this.#readers.get(access);
    if (allowed === undefined) {
      allowed = access.matchesAny(update.topics);
      this.#readers.set(access, allowed);
    }
    return allowed;
  }

  #count(format: WireFormat, deliveries: number, frames: UpdateFrames): void {
    const counters = this.#metrics.transports[format];
    counters.delivered += deliveries;
    counters.bytes += deliveries * frames.get(format).byteLength;
  }

  #countOne(format: WireFormat, bytes: Uint8Array): void {
    this.#metrics.delivered++;
    const counters = this.#metrics.transports[format];
    counters.delivered++;
    counters.bytes += bytes.byteLength;
  }

  #buffer(s: Subscriber, frames: UpdateFrames): void {
    const update = frames.update;
    s.pending!.push(frames);
    s.pendingBytes += update.data.length + update.id.length + 16;
    if (s.pendingBytes > this.#maxQueuedBytes) {
      // Replay is slower than the live feed: the same bound as a slow stream applies.
      this.#slow(s.format);
      this.end(s, 'slow');
    }
  }

  /**
   * Writes history (already filtered by the store to what follows the requested ID) to a
   * replaying subscriber, waiting for its queue to drain as needed. Of the keyed updates of a page
   * only the latest per key is written (at its place): a resuming client wants the current value of
   * each key, not every stale one. Adds the IDs written or passed over to `sent`. Resolves true when
   * the whole page went out and the subscriber still replays; false when it ended (a refused write
   * ends it as slow: going on would leave a gap).
   */
  async replay(s: Subscriber, history: Update[], sent: Set<string>): Promise<boolean> {
    const stream = s.stream!;
    const budget = this.#maxQueuedBytes >> 1;
    const latest = latestPerKey(s, history, sent);
    for (const update of history) {
      if (s.state !== 'replaying') return false;
      if (sent.has(update.id) || !s.wants(update)) continue;
      const frames = new UpdateFrames(update);
      const key = frames.streamKey;
      if (key !== undefined && latest!.get(key) !== update) {
        // Superseded later in this page. Marked sent so that go-live does not send it either.
        sent.add(update.id);
        this.#metrics.updatesConflated++;
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = frames.get(s.format);
      } catch (error) {
        // As in deliver: never sendable in this format, so skipped rather than retried forever.
        this.#logger?.error({ err: error, id: update.id, format: s.format }, 'update cannot be encoded');
        this.#metrics.updatesUnencodable++;
        sent.add(update.id);
        continue;
      }
      while (stream.queuedBytes > 0 && stream.queuedBytes + bytes.byteLength > budget && !stream.closed) {
        await stream.whenDrained();
      }
      if (s.state !== 'replaying') return false;
      if (!stream.write(bytes, key)) {
        this.end(s, 'slow');
        return false;
      }
      sent.add(update.id);
      this.#countOne(s.format, bytes);
    }
    return s.state === 'replaying';
  }

  /**
   * Ends replay: writes what arrived live meanwhile (minus what history already sent), then goes
   * live. A refused write ends the subscriber (it resumes from what it got) rather than leave it
   * live past a gap.
   */
  goLive(s: Subscriber, sent: Set<string>): void {
    if (s.state !== 'replaying') return;
    const pending = s.pending!;
    s.pending = null;
    s.pendingBytes = 0;
    s.state = 'live';
    const stream = s.stream!;
    // A client resuming on a node whose store relay trails the node it came from (several hubs on
    // one Redis) may see the updates up to its Last-Event-ID arrive here after it connected: it has
    // them already. Pending is in store order, so skip through that ID.
    let from = 0;
    if (s.lastEventId !== undefined && pending.length > 0)
      from = pending.findIndex((f) => f.update.id === s.lastEventId) + 1;
    for (let i = from; i < pending.length; i++) {
      const frames = pending[i]!;
      if (sent.has(frames.update.id)) continue;
      // The bytes built when the update was delivered live, shared with the live subscribers; keyed
      // ones conflate in the stream's queue (all of these are written in this one turn).
      let bytes: Uint8Array;
      try {
        bytes = frames.get(s.format);
      } catch {
        this.#metrics.updatesUnencodable++; // logged when it was delivered live
        continue;
      }
      if (!stream.write(bytes, frames.streamKey)) {
        this.end(s, 'slow');
        return;
      }
      this.#countOne(s.format, bytes);
    }
  }

  /** Stops expiry timers (the streams are closed by the server's closeAll). */
  close(): void {
    this.#expiry.clear();
  }
}

/** The last update of each stream key in a history page that the subscriber would be sent; null when none is keyed. */
function latestPerKey(s: Subscriber, history: Update[], sent: Set<string>): Map<string, Update> | null {
  let latest: Map<string, Update> | null = null;
  for (const update of history) {
    if (update.key === undefined || sent.has(update.id) || !s.wants(update)) continue;
    latest ??= new Map();
    latest.set(streamKey(update)!, update);
  }
  return latest;
}
