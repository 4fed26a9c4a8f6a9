/**
 * The subscribers of this hub process: the index that routes updates, the fan-out that writes each
 * update's bytes (encoded once) to every matching stream, history replay without gap or duplicate,
 * and the shared expiry of tokens.
 */
import type { Logger } from 'pino';
import type { SseStream } from '../../server/index.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { Update } from '../update.js';
import { ExpiryQueue } from './expiry-queue.js';
import type { Subscriber } from './subscriber.js';
import { SubscriberIndex } from './subscriber-index.js';
import { UpdateFrames } from './update-frames.js';

export { encodeUpdate } from './update-frames.js';

/** Polls a stream's queue during replay; history is not a hot path and the stream has no drain event. */
const REPLAY_POLL_MS = 5;

export class SubscriberRegistry {
  readonly index = new SubscriberIndex();
  readonly #metrics: HubMetrics;
  readonly #logger: Logger | undefined;
  readonly #maxQueuedBytes: number;
  readonly #expiry: ExpiryQueue<Subscriber>;
  readonly #scratch: Subscriber[] = [];
  readonly #onClosed: (subscriber: Subscriber) => void;
  // Shared handlers: one function for every stream, not a closure per subscriber. The subscriber
  // holds its stream (no Map from stream to subscriber: ~80 bytes a subscriber at 10k).
  readonly #streamClosed = (subscriber: Subscriber) => this.drop(subscriber);
  readonly #streamSlow = () => {
    this.#metrics.slowClientsDropped++;
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
      if (subscriber.stream !== null) subscriber.stream.close();
      else this.drop(subscriber);
    });
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
    this.#metrics.subscriptions += subscriber.selectors.length;
  }

  /** Binds the subscriber's open stream; its close (either side, slow, expiry) drops the subscriber. */
  attach(subscriber: Subscriber, stream: SseStream): void {
    subscriber.stream = stream;
    subscriber.onStreamClosed = this.#streamClosed;
    stream.on('slow', this.#streamSlow);
    stream.hold(subscriber);
  }

  /** Forgets a subscriber (idempotent). */
  drop(subscriber: Subscriber): void {
    if (subscriber.state === 'closed') return;
    subscriber.state = 'closed';
    subscriber.pending = null;
    this.index.remove(subscriber);
    this.#expiry.remove(subscriber);
    this.#metrics.connections--;
    this.#metrics.subscriptions -= subscriber.selectors.length;
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
    const matches = this.index.collect(update, this.#scratch);
    const n = matches.length;
    if (n === 0) return;
    const frames = new UpdateFrames(update);
    let delivered = 0;
    for (let i = 0; i < n; i++) {
      const s = matches[i]!;
      matches[i] = undefined as unknown as Subscriber;
      if (update.private && !s.access.matchesAny(update.topics)) continue;
      if (s.state === 'live') {
        let bytes: Uint8Array;
        try {
          bytes = frames.get(s.format);
        } catch (error) {
          this.#logger?.error({ err: error, id: update.id }, 'update cannot be encoded; not delivered');
          matches.length = 0;
          return;
        }
        if (s.stream!.write(bytes)) delivered++;
      } else if (s.state === 'replaying') {
        this.#buffer(s, frames);
      }
    }
    matches.length = 0;
    if (delivered > 0) {
      this.#metrics.delivered += delivered;
      this.#metrics.observeLatency(update.time);
    }
  }

  #buffer(s: Subscriber, frames: UpdateFrames): void {
    const update = frames.update;
    s.pending!.push(frames);
    s.pendingBytes += update.data.length + update.id.length + 16;
    if (s.pendingBytes > this.#maxQueuedBytes) {
      // Replay is slower than the live feed: the same bound as a slow stream applies.
      this.#metrics.slowClientsDropped++;
      if (s.stream !== null) s.stream.close();
      else this.drop(s);
    }
  }

  /**
   * Writes history (already filtered by the store to what follows the requested ID) to a
   * replaying subscriber, waiting for its queue to drain as needed. Returns the IDs written.
   */
  async replay(s: Subscriber, history: Update[], sent: Set<string>): Promise<void> {
    const stream = s.stream!;
    const budget = this.#maxQueuedBytes >> 1;
    for (const update of history) {
      if (s.state !== 'replaying') return;
      if (sent.has(update.id) || !s.wants(update)) continue;
      const bytes = new UpdateFrames(update).get(s.format);
      while (stream.queuedBytes > 0 && stream.queuedBytes + bytes.byteLength > budget && !stream.closed) {
        await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS));
      }
      if (s.state !== 'replaying' || !stream.write(bytes)) return;
      sent.add(update.id);
      this.#metrics.delivered++;
    }
  }

  /** Ends replay: writes what arrived live meanwhile (minus what history already sent), then goes live. */
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
      // The bytes built when the update was delivered live, shared with the live subscribers.
      if (!stream.write(frames.get(s.format))) return;
      this.#metrics.delivered++;
    }
  }

  /** Stops expiry timers (the streams are closed by the server's closeAll). */
  close(): void {
    this.#expiry.clear();
  }
}
