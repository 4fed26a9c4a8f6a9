/**
 * The subscribers of this hub process: the index that routes updates, the fan-out that writes each
 * update's bytes (encoded once) to every matching stream, history replay without gap or duplicate,
 * and the shared expiry of tokens.
 */
import type { Logger } from 'pino';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { Update } from '../update.js';
import { ExpiryQueue } from './expiry-queue.js';
import {
  type AttachableStream,
  NO_PRIVATE_ACCESS,
  type PrivateAccess,
  type Subscriber,
} from './subscriber.js';
import { SubscriberIndex } from './subscriber-index.js';
import { UpdateFrames } from './update-frames.js';
import type { WireFormat } from './wire-format.js';

export { encodeUpdate } from './update-frames.js';

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
  // Shared handlers: one function for every stream, not a closure per subscriber. The subscriber
  // holds its stream (no Map from stream to subscriber: ~80 bytes a subscriber at 10k).
  readonly #streamClosed = (subscriber: Subscriber) => this.drop(subscriber);
  // One slow handler per transport: the stream does not know its subscriber's format.
  readonly #streamSlow: Record<WireFormat, () => void> = {
    sse: () => this.#slow('sse'),
    ws: () => this.#slow('ws'),
    poll: () => this.#slow('poll'),
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

  #slow(format: WireFormat): void {
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

  /** Binds the subscriber's open stream; its close (either side, slow, expiry) drops the subscriber. */
  attach(subscriber: Subscriber, stream: AttachableStream): void {
    subscriber.stream = stream;
    subscriber.onStreamClosed = this.#streamClosed;
    stream.on('slow', this.#streamSlow[subscriber.format]);
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
    this.#metrics.transports[subscriber.format].connections--;
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
    if (update.private) this.#readers.clear();
    // Counted per format in locals: the common case (every subscriber on SSE) adds one comparison.
    let sse = 0;
    let ws = 0;
    let poll = 0;
    for (let i = 0; i < n; i++) {
      const s = matches[i]!;
      matches[i] = undefined as unknown as Subscriber;
      if (update.private && !this.#mayRead(s.access, update)) continue;
      if (s.state === 'live') {
        let bytes: Uint8Array;
        try {
          bytes = frames.get(s.format);
        } catch (error) {
          this.#logger?.error({ err: error, id: update.id }, 'update cannot be encoded; not delivered');
          matches.length = 0;
          return;
        }
        if (s.stream!.write(bytes)) {
          const format = s.format;
          if (format === 'sse') sse++;
          else if (format === 'ws') ws++;
          else poll++;
        }
      } else if (s.state === 'replaying') {
        this.#buffer(s, frames);
      }
    }
    matches.length = 0;
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
        await stream.whenDrained();
      }
      if (s.state !== 'replaying' || !stream.write(bytes)) return;
      sent.add(update.id);
      this.#countOne(s.format, bytes);
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
      const bytes = frames.get(s.format);
      if (!stream.write(bytes)) return;
      this.#countOne(s.format, bytes);
    }
  }

  /** Stops expiry timers (the streams are closed by the server's closeAll). */
  close(): void {
    this.#expiry.clear();
  }
}
