/**
 * One client's event stream, whatever carries it (node:http, node:http2, a Fetch `Response`).
 *
 * Writes go to a per-stream queue; one flush pass per event-loop turn sends each stream's queue as a
 * single buffer (see flush-scheduler.ts). The queue is bounded in bytes: bytes the transport holds over
 * its high-water mark count too, so memory per client never exceeds `maxQueueBytes` plus one write.
 */
import type { EventInit } from '../protocol/index.js';
import { joinChunks } from './coalesce.js';
import { SlowConsumerError } from './errors.js';
import { eventBytes } from './event-bytes.js';
import { scheduleFlush } from './flush-scheduler.js';
import { checkMaxRate, type OverflowAction, type StreamConfig } from './options.js';
import { flushAt, rateClock } from './rate-timer.js';
import type { Sink, SinkOwner } from './sink.js';

/** What a stream tells the registry, channels and heartbeat that hold it. */
export interface StreamHolder {
  /** The stream closed; forget it. Called once. */
  release(stream: SseStream): void;
}

type CloseListener = (stream: SseStream) => void;
type SlowListener = (error: SlowConsumerError, stream: SseStream) => void;

/**
 * Holders and listeners are kept as one value, or an array once there are two: almost every stream
 * has exactly one of each (its server; the hub's close and slow handlers), and at tens of thousands
 * of idle streams an array per list costs ~60 bytes each (a JSArray plus its elements store).
 */
type OneOrMany<T> = T | T[] | null;

function addTo<T>(list: OneOrMany<T>, item: T): OneOrMany<T> {
  if (list === null) return item;
  if (Array.isArray(list)) {
    list.push(item);
    return list;
  }
  return [list, item];
}

function removeFrom<T>(list: OneOrMany<T>, item: T): OneOrMany<T> {
  if (list === item) return null;
  if (!Array.isArray(list)) return list;
  const i = list.indexOf(item);
  if (i !== -1) list.splice(i, 1);
  return list;
}

/** Options of {@link SseStream.send} and `Channel.broadcast`. */
export interface WriteOptions {
  /**
   * Conflation key: while this event waits unsent in the stream's queue, a later event with the
   * same key replaces it in place. Events without a key are never replaced nor reordered.
   */
  key?: string;
}

/**
 * What a stream keeps for conflation and rate limits, allocated on its first keyed write or rate
 * limit: a stream that never sees either (most of them, idle ones above all) pays one null field.
 */
class Conflation {
  /** Key -> index in the queue of the unsent chunk with that key; null while no keyed chunk waits. */
  keys: Map<string, number> | null = null;
  /** Keyed chunks replaced before they were sent. */
  conflated = 0;
  /** Least time between two sends, in ms; 0: no rate limit. */
  intervalMs = 0;
  /** Rate clock time before which the next send waits. */
  nextSendAt = 0;
  /** The stream went over its byte budget and conflates there; reported once, as dropping is. */
  overBudget = false;
}

/**
 * An open `text/event-stream` response. Create one with `createStream()` or an {@link SseServer}
 * method; write pre-encoded events with {@link SseStream.write}, or objects with {@link SseStream.send}.
 *
 * @example
 * const stream = createStream(req, res);
 * stream.send({ event: 'hello', data: 'world' });
 * stream.on('close', () => console.log('gone'));
 */
export class SseStream implements SinkOwner {
  /** The `Last-Event-ID` header, else the first configured query parameter present; null if none. */
  readonly lastEventId: string | null;
  /** Events discarded by the `'drop'` overflow policy. */
  droppedEvents = 0;
  /** True once the stream ended, by either side. Writes are then ignored. */
  closed = false;

  /**
   * @internal Ticks of the shared heartbeat since bytes last went out (see {@link SseStream.beat}).
   * A number rather than a flag costs nothing more per stream (both are one tagged field).
   */
  idleTicks = 0;

  readonly #config: StreamConfig;
  #sink: Sink | null = null;
  /** Allocated on the first queued write: an idle stream never needs one. */
  #queue: Uint8Array[] | null = null;
  #queuedBytes = 0;
  /** Bytes the transport held when it last refused more; they count against the bound until a drain. */
  #heldBytes = 0;
  #blocked = false;
  #dirty = false;
  #holders: OneOrMany<StreamHolder> = null;
  #closeListeners: OneOrMany<CloseListener> = null;
  #slowListeners: OneOrMany<SlowListener> = null;
  #drainWaiters: Array<() => void> | null = null;
  #conflation: Conflation | null = null;

  /** @internal Streams are made by the adapters, which attach a sink with {@link SseStream.attach}. */
  constructor(config: StreamConfig, lastEventId: string | null) {
    this.#config = config;
    this.lastEventId = lastEventId;
    if (config.maxRate !== null) this.maxRate = config.maxRate;
  }

  /** Keyed events replaced in the queue by a newer one of the same key before being sent. */
  get conflatedEvents(): number {
    return this.#conflation?.conflated ?? 0;
  }

  /**
   * Most sends per second to this client, or null for no limit (the default comes from the
   * `maxRate` option). Between sends, keyed events are conflated and keyless ones wait, in order.
   */
  get maxRate(): number | null {
    const c = this.#conflation;
    return c === null || c.intervalMs === 0 ? null : 1000 / c.intervalMs;
  }

  set maxRate(rate: number | null) {
    if (rate === null) {
      if (this.#conflation !== null) this.#conflation.intervalMs = 0;
      return;
    }
    this.#conflation ??= new Conflation();
    this.#conflation.intervalMs = 1000 / checkMaxRate(rate);
  }

  /** @internal Connects the transport and writes the opening bytes (headers are already sent). */
  attach(sink: Sink): void {
    this.#sink = sink;
    this.idleTicks = 0;
    if (!sink.write(this.#config.openBytes)) this.#block(sink);
  }

  /** @internal Registers something to tell on close (registry, channel). */
  hold(holder: StreamHolder): void {
    if (this.closed) {
      holder.release(this);
      return;
    }
    this.#holders = addTo(this.#holders, holder);
  }

  /** @internal Forgets a holder that let go first (a stream removed from a channel). */
  unhold(holder: StreamHolder): void {
    this.#holders = removeFrom(this.#holders, holder);
  }

  /** Bytes waiting for this client: the queue plus what the transport held when it last pushed back. */
  get queuedBytes(): number {
    return this.#queuedBytes + this.#heldBytes;
  }

  /** The options this stream runs with. */
  get config(): StreamConfig {
    return this.#config;
  }

  /**
   * Queues pre-encoded event bytes (from `encodeEvent`); they go out with everything else queued in
   * this event-loop turn, in one write. The buffer is kept, not copied: do not change it afterwards.
   *
   * With a `key`, the event replaces an unsent one queued with the same key, at that one's place in
   * the queue (not at the end): a client that reads slowly, or is rate-limited, gets the latest
   * value of each key, never an older value after a newer one. "Unsent" means still in this
   * stream's queue; bytes already handed to the transport are sent. Keyless events are never
   * replaced and keep their order.
   *
   * Returns false when the stream is closed or the event was dropped by the overflow policy.
   */
  write(chunk: Uint8Array, key?: string): boolean {
    if (this.closed) return false;
    if (key !== undefined) return this.#writeKeyed(chunk, key);
    const size = chunk.byteLength;
    if (this.#queuedBytes + this.#heldBytes + size > this.#config.maxQueueBytes)
      return this.#overflow(chunk, undefined);
    if (this.#queue === null) this.#queue = [chunk];
    else this.#queue.push(chunk);
    this.#queuedBytes += size;
    if (!this.#dirty && !this.#blocked) {
      this.#dirty = true;
      scheduleFlush(this);
    }
    return true;
  }

  #writeKeyed(chunk: Uint8Array, key: string): boolean {
    const c = (this.#conflation ??= new Conflation());
    const at = c.keys?.get(key);
    if (at !== undefined) {
      const queue = this.#queue!;
      const delta = chunk.byteLength - queue[at]!.byteLength;
      if (delta > 0 && this.#queuedBytes + this.#heldBytes + delta > this.#config.maxQueueBytes)
        return this.#overflow(chunk, key);
      this.#replace(c, at, chunk, delta);
      return true;
    }
    if (this.#queuedBytes + this.#heldBytes + chunk.byteLength > this.#config.maxQueueBytes)
      return this.#overflow(chunk, key);
    this.#append(c, chunk, key);
    return true;
  }

  #replace(c: Conflation, at: number, chunk: Uint8Array, delta: number): void {
    this.#queue![at] = chunk;
    this.#queuedBytes += delta;
    c.conflated++;
  }

  #append(c: Conflation, chunk: Uint8Array, key: string): void {
    let queue = this.#queue;
    if (queue === null) queue = this.#queue = [];
    c.keys ??= new Map();
    c.keys.set(key, queue.length);
    queue.push(chunk);
    this.#queuedBytes += chunk.byteLength;
    if (!this.#dirty && !this.#blocked) {
      this.#dirty = true;
      scheduleFlush(this);
    }
  }

  /**
   * Encodes and queues one event; `key` conflates it as {@link SseStream.write} does. Prefer
   * `write` with bytes encoded once when many streams get it.
   */
  send(event: EventInit, options?: WriteOptions): boolean {
    return this.write(eventBytes(event), options?.key);
  }

  /** @internal Called by the flush pass: hands the queue to the transport as one buffer. */
  flush(): void {
    this.#dirty = false;
    const sink = this.#sink;
    const queue = this.#queue;
    if (this.closed || this.#blocked || this.#queuedBytes === 0 || sink === null || queue === null) return;
    const c = this.#conflation;
    if (c !== null) {
      if (c.intervalMs !== 0) {
        const now = rateClock();
        if (now < c.nextSendAt) {
          // Too early: wait on the shared rate timer, still marked dirty so writes meanwhile only
          // queue (and conflate).
          this.#dirty = true;
          flushAt(this, c.nextSendAt);
          return;
        }
        c.nextSendAt = now + c.intervalMs;
      }
      if (c.keys !== null && c.keys.size > 0) c.keys.clear();
    }
    // One copy into one buffer beats cork() + a write per event: with 1,000 events queued per stream
    // the fan-out bench spent 1.0-1.2 s of server CPU per 1M deliveries with concat and 3.9-4.7 s with
    // cork/uncork (each write also gets its own HTTP/1.1 chunk header). The copy is shared between
    // streams with identical queues (see coalesce.ts).
    const chunk = queue.length === 1 ? queue[0]! : joinChunks(queue, this.#queuedBytes);
    queue.length = 0;
    this.#queuedBytes = 0;
    this.idleTicks = 0;
    if (!sink.write(chunk)) this.#block(sink);
    else if (this.#drainWaiters !== null) this.#wakeDrainWaiters();
  }

  /**
   * Resolves once everything queued has been handed to the transport and the transport is under its
   * high-water mark (`queuedBytes === 0`), or the stream closed. For writers with much to send (a
   * history replay) that should pace themselves instead of hitting `maxQueueBytes`.
   */
  whenDrained(): Promise<void> {
    if (this.closed || (this.#queuedBytes === 0 && !this.#blocked)) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.#drainWaiters === null) this.#drainWaiters = [resolve];
      else this.#drainWaiters.push(resolve);
    });
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters!;
    this.#drainWaiters = null;
    for (const resolve of waiters) resolve();
  }

  /**
   * @internal One tick of the shared heartbeat, which ticks several times per interval. A stream
   * that sent nothing for `idleLimit` ticks gets `bytes` (a comment) at once; one that sent
   * something since only counts the tick. Counting ticks, rather than skipping the next tick after
   * any write, is what bounds the silence: a write just after a tick no longer pushes the next
   * comment to almost two intervals later.
   */
  beat(bytes: Uint8Array, idleLimit: number): void {
    if (++this.idleTicks < idleLimit) return;
    // Idle that long: give back the key index (a stream idle since is back to one null field).
    const c = this.#conflation;
    if (c !== null && c.keys !== null && this.#queuedBytes === 0) {
      c.keys = null;
      if (c.intervalMs === 0 && c.conflated === 0) this.#conflation = null;
    }
    const sink = this.#sink;
    // Queued bytes leave in this turn's flush; a blocked transport is still sending earlier bytes.
    // A rate-limited queue may wait longer than a beat (maxRate below one per heartbeat): the
    // comment goes ahead of it, which changes nothing for the events.
    if (this.closed || this.#blocked || sink === null) return;
    if (this.#queuedBytes > 0 && (c === null || c.intervalMs === 0)) return;
    this.idleTicks = 0;
    if (!sink.write(bytes)) this.#block(sink);
  }

  #block(sink: Sink): void {
    this.#blocked = true;
    this.#heldBytes = sink.buffered();
  }

  /** @internal The transport took its buffer; resume flushing. */
  drained(): void {
    if (!this.#blocked) return;
    this.#blocked = false;
    this.#heldBytes = 0;
    if (this.#queuedBytes > 0) {
      if (!this.#dirty && !this.closed) {
        this.#dirty = true;
        scheduleFlush(this);
      }
    } else if (this.#drainWaiters !== null) {
      this.#wakeDrainWaiters();
    }
  }

  /** @internal The peer went away or the transport failed. */
  lost(): void {
    this.#finish();
  }

  #overflow(chunk: Uint8Array, key: string | undefined): boolean {
    const policy = this.#config.overflow;
    const action = typeof policy === 'function' ? policy(this, chunk) : policy;
    if (action === 'drop') {
      // Reported once, when dropping starts: a stuck client may drop thousands of events, and an
      // error object (with its stack trace) per event would cost more than the event.
      if (this.droppedEvents++ === 0) this.#reportSlow(chunk, 'dropping events', 'drop');
      return false;
    }
    if (action === 'conflate' && key !== undefined) {
      // Past the byte budget, the queue grows only by keys: bounded by maxConflationKeys, and by
      // maxConflationBytes however large each key's event is.
      const c = this.#conflation!;
      const at = c.keys?.get(key);
      const grows = at === undefined ? chunk.byteLength : chunk.byteLength - this.#queue![at]!.byteLength;
      const fits = this.#queuedBytes + this.#heldBytes + grows <= this.#config.maxConflationBytes;
      if (fits && (at !== undefined || (c.keys?.size ?? 0) < this.#config.maxConflationKeys)) {
        if (!c.overBudget) {
          c.overBudget = true;
          this.#reportSlow(chunk, 'conflating keyed events', 'conflate');
          if (this.closed) return false; // a slow listener closed it
        }
        if (at !== undefined) this.#replace(c, at, chunk, chunk.byteLength - this.#queue![at]!.byteLength);
        else this.#append(c, chunk, key);
        return true;
      }
    }
    // 'close', and what 'conflate' cannot keep without loss: a keyless event, one key too many,
    // one byte too many.
    this.#finish(this.#reportSlow(chunk, 'closing stream', 'close'));
    return false;
  }

  #reportSlow(chunk: Uint8Array, what: string, action: OverflowAction): SlowConsumerError {
    const error = new SlowConsumerError(
      this.queuedBytes + chunk.byteLength,
      this.#config.maxQueueBytes,
      action,
    );
    this.#config.logger?.warn(
      { code: error.code, queuedBytes: error.queuedBytes, maxQueueBytes: error.maxQueueBytes },
      `slow event-stream client: ${what}`,
    );
    const listeners = this.#slowListeners;
    if (typeof listeners === 'function') listeners(error, this);
    else if (listeners !== null) for (const fn of listeners.slice()) fn(error, this);
    return error;
  }

  /**
   * Ends the stream: what is queued goes out, then `final` if given (e.g. `encodeRetry(ms)`), then the
   * response ends. Does nothing if already closed.
   */
  close(final?: Uint8Array): void {
    if (this.closed) return;
    const sink = this.#sink;
    let tail: Uint8Array | null = null;
    if (sink !== null) {
      const queue = this.#queue ?? [];
      if (final !== undefined) queue.push(final);
      if (queue.length === 1) tail = queue[0]!;
      else if (queue.length > 1) tail = Buffer.concat(queue);
    }
    this.#finish(null, tail);
  }

  #finish(abort: Error | null = null, tail: Uint8Array | null = null): void {
    if (this.closed) return;
    this.closed = true;
    this.#queue = null;
    this.#queuedBytes = 0;
    this.#heldBytes = 0;
    const sink = this.#sink;
    if (sink !== null) {
      sink.detach();
      if (abort !== null) sink.destroy(abort);
      else sink.end(tail);
    }
    const holders = this.#holders;
    this.#holders = null;
    if (Array.isArray(holders)) for (const holder of holders) holder.release(this);
    else if (holders !== null) holders.release(this);
    if (this.#drainWaiters !== null) this.#wakeDrainWaiters();
    const listeners = this.#closeListeners;
    this.#closeListeners = null;
    this.#slowListeners = null;
    if (typeof listeners === 'function') listeners(this);
    else if (listeners !== null) for (const fn of listeners) fn(this);
  }

  /**
   * Listens for `close` (the stream ended, by either side; fires once, at once if already closed) or
   * `slow` (the queue bound was hit, before the overflow policy acts).
   */
  on(event: 'close', listener: CloseListener): this;
  on(event: 'slow', listener: SlowListener): this;
  on(event: 'close' | 'slow', listener: CloseListener | SlowListener): this {
    if (event === 'close') {
      if (this.closed) (listener as CloseListener)(this);
      else this.#closeListeners = addTo(this.#closeListeners, listener as CloseListener);
    } else if (!this.closed) {
      this.#slowListeners = addTo(this.#slowListeners, listener as SlowListener);
    }
    return this;
  }

  /** Removes a listener added with {@link SseStream.on}. */
  off(event: 'close' | 'slow', listener: CloseListener | SlowListener): this {
    if (event === 'close') this.#closeListeners = removeFrom(this.#closeListeners, listener as CloseListener);
    else this.#slowListeners = removeFrom(this.#slowListeners, listener as SlowListener);
    return this;
  }
}
