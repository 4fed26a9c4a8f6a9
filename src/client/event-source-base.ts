/**
 * Everything an `EventSource` is apart from its connection: the URL, `readyState` and its constants,
 * the `onopen`/`onmessage`/`onerror` attributes, and async iteration over its messages. The fetch
 * based {@link EventSource} extends it; so can a source fed by something else (another tab, a test).
 */

import type { EventSourceErrorEvent } from './error-event.js';
import type { EventSourceError } from './errors.js';
import { DEFAULT_MAX_QUEUED, EventQueue } from './event-queue.js';
import type { GapEvent } from './gap-event.js';

/** The states of `readyState`, as in the HTML standard. */
export type ReadyState = 0 | 1 | 2;

// No `this` type: a handler typed for the DOM's EventSource (whose `this` is that class) must fit,
// and this class's private fields would make `this: EventSourceBase` incompatible with it.
type Handler<E extends Event> = ((event: E) => unknown) | null;

interface HandlerSlot {
  handler: (this: EventSourceBase, event: Event) => unknown;
  listener: (event: Event) => void;
}

/** The events every source fires, by type; any other type is a named message event. */
export interface EventSourceEventMap {
  open: Event;
  message: MessageEvent<string>;
  error: Event | EventSourceErrorEvent;
  /** Herald: updates may be missing before the next ones (see {@link GapEvent}). */
  gap: GapEvent;
}

type Listener<E> = ((event: E) => unknown) | { handleEvent(event: E): unknown } | null;

/** Options of {@link EventSourceBase.events}. */
export interface EventIterationOptions {
  /** How many events may wait unread before the iteration fails. Default: {@link DEFAULT_MAX_QUEUED}. */
  maxQueued?: number;
}

/**
 * Resolves `url` as the `EventSource` constructor does: against the page's address when there is
 * one. Throws a `SyntaxError` DOMException when it is not a URL.
 */
export function resolveEventSourceUrl(url: string | URL): URL {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return new URL(String(url), base);
  } catch {
    throw new DOMException(
      `EventSource url must be a valid URL${base === undefined ? ' (absolute: there is no page to resolve it against)' : ''} (got ${JSON.stringify(String(url))})`,
      'SyntaxError',
    );
  }
}

/**
 * The `EventSource` interface without a connection. Subclasses change `readyState` with
 * {@link setReadyState} and deliver messages with {@link dispatchMessage}, the one path every
 * message takes (override it to observe or relay messages).
 */
export abstract class EventSourceBase extends EventTarget {
  static readonly CONNECTING = 0 as const;
  static readonly OPEN = 1 as const;
  static readonly CLOSED = 2 as const;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSED: 2;

  readonly #url: string;
  readonly #withCredentials: boolean;
  #readyState: ReadyState = 0;
  readonly #handlers = new Map<string, HandlerSlot>();
  readonly #queues = new Set<{ queue: EventQueue<MessageEvent>; types: Set<string> | null }>();

  /** `url` must be resolved already (see {@link resolveEventSourceUrl}). */
  protected constructor(url: URL, withCredentials: boolean) {
    super();
    this.#url = url.href;
    this.#withCredentials = withCredentials;
  }

  /** The resolved URL of the stream. */
  get url(): string {
    return this.#url;
  }

  /** Whether cross-origin requests carry cookies and HTTP authentication (browsers only). */
  get withCredentials(): boolean {
    return this.#withCredentials;
  }

  /** `CONNECTING` (0), `OPEN` (1) or `CLOSED` (2). */
  get readyState(): ReadyState {
    return this.#readyState;
  }

  /** Called when a connection opens (each reconnect included), in its place among `open` listeners. */
  get onopen(): Handler<Event> {
    return this.#getHandler('open');
  }
  set onopen(handler: Handler<Event>) {
    this.#setHandler('open', handler);
  }
  /** Called for events of type `message` (no `event:` field); named events need `addEventListener`. */
  get onmessage(): Handler<MessageEvent<string>> {
    return this.#getHandler('message');
  }
  set onmessage(handler: Handler<MessageEvent<string>>) {
    this.#setHandler('message', handler as Handler<Event>);
  }
  /** Receives plain `Event`s from the standard and {@link EventSourceErrorEvent}s from Herald. */
  get onerror(): Handler<Event | EventSourceErrorEvent> {
    return this.#getHandler('error');
  }
  set onerror(handler: Handler<Event | EventSourceErrorEvent>) {
    this.#setHandler('error', handler);
  }

  // Typed like the DOM's EventSource: a listener of a named event receives a MessageEvent.
  override addEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: Listener<EventSourceEventMap[K]>,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: Listener<MessageEvent<string>>,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: Listener<never>,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  override removeEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: Listener<EventSourceEventMap[K]>,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: Listener<MessageEvent<string>>,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: Listener<never>,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /** Stops the source for good: `readyState` becomes `CLOSED` and no event fires after. */
  abstract close(): void;

  /**
   * Iterates over message events of the given types (default: every type) until the source closes.
   * Breaking out of the loop closes the source. When the connection fails the loop throws an
   * {@link EventSourceError}; after `close()` it ends normally.
   *
   * @example
   * for await (const event of source.events(['price'])) console.log(event.data);
   */
  events(types?: Iterable<string>, options: EventIterationOptions = {}): AsyncIterableIterator<MessageEvent> {
    const maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    const queue = new EventQueue<MessageEvent>(maxQueued, () => {
      this.#queues.delete(entry);
      this.close();
    });
    const entry = { queue, types: types === undefined ? null : new Set(types) };
    if (this.#readyState === 2) queue.end();
    else this.#queues.add(entry);
    return queue;
  }

  /** `for await (const event of source)`: every message event, whatever its type. */
  [Symbol.asyncIterator](): AsyncIterableIterator<MessageEvent> {
    return this.events();
  }

  /** Sets `readyState`; `CLOSED` also ends async iterations, by throwing `error` when given. */
  protected setReadyState(state: ReadyState, error?: EventSourceError): void {
    this.#readyState = state;
    if (state !== 2) return;
    for (const { queue } of this.#queues) queue.end(error ?? null);
    this.#queues.clear();
  }

  /** Dispatches a message event to listeners, then to async iterations. */
  protected dispatchMessage(event: MessageEvent): void {
    this.dispatchEvent(event);
    for (const { queue, types } of this.#queues) {
      if (types === null || types.has(event.type)) queue.push(event);
    }
  }

  /**
   * Dispatches a `gap` event to listeners, and to the async iterations that asked for `'gap'` by
   * name (an iteration over every type is one of updates: a gap there would read as one).
   */
  protected dispatchGap(event: GapEvent): void {
    this.dispatchEvent(event);
    for (const { queue, types } of this.#queues) if (types?.has('gap')) queue.push(event);
  }

  #getHandler<E extends Event>(type: string): Handler<E> {
    return (this.#handlers.get(type)?.handler ?? null) as Handler<E>;
  }

  // Event handler attributes (HTML "event handlers"): the listener is added when the attribute is
  // first set, keeps its place among other listeners when the handler changes, and is removed when
  // it is set to null, so setting it again moves it last.
  #setHandler(type: string, handler: Handler<Event>): void {
    const slot = this.#handlers.get(type);
    if (typeof handler !== 'function') {
      if (slot !== undefined) {
        this.removeEventListener(type, slot.listener);
        this.#handlers.delete(type);
      }
      return;
    }
    if (slot !== undefined) {
      slot.handler = handler;
      return;
    }
    const newSlot: HandlerSlot = {
      handler,
      listener: (event: Event) => {
        newSlot.handler.call(this, event);
      },
    };
    this.#handlers.set(type, newSlot);
    this.addEventListener(type, newSlot.listener);
  }
}

// The constants live on the prototype, as WebIDL constants do, so every instance has them.
Object.defineProperties(EventSourceBase.prototype, {
  CONNECTING: { value: 0, enumerable: true },
  OPEN: { value: 1, enumerable: true },
  CLOSED: { value: 2, enumerable: true },
});
