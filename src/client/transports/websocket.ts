/**
 * Updates over a WebSocket on the hub's URL: a first frame `{"herald":"open","lastEventID":…}`
 * naming where the subscription starts, then each text frame one JSON update (docs/transports.md). The global `WebSocket` of browsers and Node 22+, or the `WebSocket` option
 * (Node 20: the `ws` package's). The server pings; browsers and `ws` answer by themselves.
 */
import { EARLIEST, isGap } from '../gap-event.js';
import type { WebSocketConstructor, WebSocketLike } from '../options.js';
import { invalidUpdate, type JsonUpdate, resumeUrl } from './message.js';
import {
  describe,
  type EndReason,
  type Transport,
  type TransportConnection,
  type TransportEvents,
  type TransportRequest,
} from './transport.js';

class WebSocketConnection implements TransportConnection {
  readonly #request: TransportRequest;
  readonly #events: TransportEvents;
  #socket: WebSocketLike | null = null;
  #closed = false;
  #open = false;
  #lastEventId: string;

  constructor(request: TransportRequest, events: TransportEvents) {
    this.#request = request;
    this.#events = events;
    this.#lastEventId = request.lastEventId;
    this.#start().catch((error: unknown) =>
      this.#end('lost', {
        code: 'HERALD_ERR_NETWORK',
        message: `WebSocket to ${request.target.href} failed: ${describe(error)}`,
        cause: error,
      }),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const socket = this.#socket;
    this.#socket = null;
    if (socket === null) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    // Closing a socket still connecting makes it report an error (ws throws one nobody listens to).
    socket.onerror = ignore;
    // 1000: the client is done; closing a CONNECTING socket aborts the handshake.
    try {
      socket.close(1000);
    } catch {
      // Already closing.
    }
  }

  async #start(): Promise<void> {
    const { options, target } = this.#request;
    await undefined; // never report from inside the constructor
    if (this.#closed) return;
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof Ctor !== 'function') {
      this.#end('failed', {
        code: 'HERALD_ERR_TRANSPORT_UNAVAILABLE',
        message:
          "EventSource transport 'websocket' needs a WebSocket: this runtime has none (Node 20); pass one as the WebSocket option (the ws package's)",
      });
      return;
    }
    let headers: HeadersInit | undefined;
    try {
      headers = typeof options.headers === 'function' ? await options.headers() : options.headers;
    } catch (error) {
      this.#end('lost', {
        code: 'HERALD_ERR_REQUEST_INIT',
        message: `EventSource headers option failed: ${describe(error)}`,
        cause: error,
      });
      return;
    }
    if (this.#closed) return;
    const url = resumeUrl(target, this.#lastEventId, options.lastEventIdParam);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let socket: WebSocketLike;
    try {
      // Browsers cannot send headers on a WebSocket; Node's (undici) and ws take them this way.
      const entries = headers === undefined ? [] : [...new Headers(headers)];
      socket =
        entries.length === 0
          ? new Ctor(url.href)
          : new (Ctor as unknown as new (url: string, init: object) => WebSocketLike)(url.href, {
              headers: Object.fromEntries(entries),
            });
    } catch (error) {
      this.#end('failed', {
        code: 'HERALD_ERR_TRANSPORT_UNAVAILABLE',
        message:
          `WebSocket to ${url.href} could not be created: ${describe(error)}` +
          (headers === undefined ? '' : '; browsers send no headers on a WebSocket: authorize with a cookie'),
        cause: error,
      });
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      this.#open = true;
      this.#events.opened(target.origin);
      // The upgrade went through: no buffering proxy stands in a WebSocket's way after it.
      if (!this.#closed) this.#events.delivering();
    };
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onerror = () => {
      // The close event that always follows says more (its code); report there.
    };
    socket.onclose = (event) => {
      const what = this.#open ? 'closed' : 'could not open';
      this.#end('lost', {
        code: this.#open ? 'HERALD_ERR_STREAM_ENDED' : 'HERALD_ERR_NETWORK',
        message: `WebSocket to ${url.href} ${what} (code ${event.code}${event.reason ? `: ${event.reason}` : ''}); reconnecting`,
      });
    };
  }

  #onMessage(raw: unknown): void {
    if (this.#closed) return;
    let value: unknown;
    let rule: string | null;
    if (typeof raw !== 'string') rule = 'a frame must be text, not binary';
    else {
      try {
        value = JSON.parse(raw);
        rule = isHubFrame(value) ? null : invalidUpdate(value);
      } catch (error) {
        rule = `a frame must be JSON (${describe(error)})`;
      }
    }
    if (rule !== null) {
      this.#end('lost', {
        code: 'HERALD_ERR_BAD_MESSAGE',
        message: `WebSocket from ${this.#request.target.href} sent a frame Herald cannot read: ${rule}; reconnecting`,
      });
      return;
    }
    if (isHubFrame(value)) {
      if (value.herald === 'open') this.#onOpenFrame(value);
      return;
    }
    const update = value as JsonUpdate;
    if (update.retry !== undefined) this.#events.retry(update.retry);
    if (update.id !== undefined) this.#lastEventId = update.id;
    this.#events.message(update.type ?? 'message', update.data, this.#lastEventId);
  }

  /**
   * The opening frame names where the subscription starts: resuming from there after a drop (or a
   * fallback) before the first update misses nothing published since. `resumed: false`, or a cursor
   * other than the ID asked for, means updates may be missing: reported before the first update.
   */
  #onOpenFrame(frame: { lastEventID?: unknown; resumed?: unknown }): void {
    const requested = this.#lastEventId;
    const cursor = typeof frame.lastEventID === 'string' ? frame.lastEventID : '';
    if (
      requested !== '' &&
      (isGap(requested, cursor) || (frame.resumed === false && requested !== EARLIEST))
    ) {
      this.#events.gap(requested, cursor);
      if (this.#closed) return;
    }
    if (cursor !== '' && cursor !== requested) {
      this.#lastEventId = cursor;
      this.#events.lastEventId(cursor);
    }
  }

  #end(kind: 'lost' | 'failed', reason: EndReason): void {
    if (this.#closed) return;
    this.close();
    this.#events[kind](reason);
  }
}

function ignore(): void {}

/** A frame of the hub's own (`{"herald":"open",…}`): updates never have a `herald` key. */
function isHubFrame(value: unknown): value is { herald: unknown; lastEventID?: unknown; resumed?: unknown } {
  return typeof value === 'object' && value !== null && 'herald' in value;
}

/** Updates as JSON text frames over one WebSocket. */
export const websocketTransport: Transport = (request, events) => new WebSocketConnection(request, events);
