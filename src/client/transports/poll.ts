/**
 * Long polling, for paths whose proxies buffer streamed responses: one `fetch` at a time,
 * `GET <hub>?topic=…&transport=poll&lastEventID=…`, asks for the updates after the last event ID;
 * the hub answers at once when there are some, or holds the request a bounded time for the next
 * ones, with `{"lastEventID": "<new position>", "updates": [<update>, …]}` (docs/transports.md).
 * Each answer is a whole response, which every proxy passes on.
 */
import { EARLIEST } from '../gap-event.js';
import type { FetchLike } from '../options.js';
import { invalidUpdate, type JsonUpdate, resumeUrl } from './message.js';
import {
  describe,
  type EndReason,
  type Transport,
  type TransportConnection,
  type TransportEvents,
  type TransportRequest,
} from './transport.js';

/** The query parameter that asks the hub for long polling instead of a stream. */
export const POLL_PARAM = 'transport';

/** Statuses worth asking again (with backoff): the hub is busy or a proxy could not reach it. */
const RETRY_STATUSES = new Set([408, 429, 502, 503, 504]);

interface PollAnswer {
  updates: JsonUpdate[];
  /** Set when the hub answered `"resumed": false`: the ID asked for was past its history. */
  gap: { requested: string; cursor: string } | null;
}

class PollConnection implements TransportConnection {
  readonly #controller = new AbortController();
  readonly #request: TransportRequest;
  readonly #events: TransportEvents;
  #closed = false;
  #lastEventId: string;

  constructor(request: TransportRequest, events: TransportEvents) {
    this.#request = request;
    this.#events = events;
    this.#lastEventId = request.lastEventId;
    this.#run().catch((error: unknown) =>
      this.#end('lost', {
        code: 'HERALD_ERR_NETWORK',
        message: `EventSource poll of ${request.target.href} failed: ${describe(error)}`,
        cause: error,
      }),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.abort();
  }

  async #run(): Promise<void> {
    await undefined; // never report from inside the constructor
    let opened = false;
    while (!this.#closed) {
      const answer = await this.#poll();
      if (answer === null || this.#closed) return;
      if (!opened) {
        opened = true;
        this.#events.opened(this.#request.target.origin);
        if (this.#closed) return;
        this.#events.delivering();
      }
      if (answer.gap !== null) this.#events.gap(answer.gap.requested, answer.gap.cursor);
      const { updates } = answer;
      for (const update of updates) {
        if (this.#closed) return;
        if (update.retry !== undefined) this.#events.retry(update.retry);
        if (update.id !== undefined) this.#lastEventId = update.id;
        this.#events.message(update.type ?? 'message', update.data, this.#lastEventId);
      }
    }
  }

  /**
   * One request; the updates it brought and whether the hub said it could not resume, or null when
   * it ended the connection (reported).
   */
  async #poll(): Promise<PollAnswer | null> {
    const { options, target, withCredentials } = this.#request;
    let headers: Headers;
    try {
      const extra = typeof options.headers === 'function' ? await options.headers() : options.headers;
      headers = new Headers(extra);
      headers.set('Accept', 'application/json');
    } catch (error) {
      this.#end('lost', {
        code: 'HERALD_ERR_REQUEST_INIT',
        message: `EventSource headers option failed: ${describe(error)}`,
        cause: error,
      });
      return null;
    }
    if (this.#closed) return null;
    const url = resumeUrl(target, this.#lastEventId, options.lastEventIdParam);
    url.searchParams.set(POLL_PARAM, 'poll');
    let response: Response;
    let text: string;
    try {
      const fetchImpl: FetchLike = options.fetch ?? globalThis.fetch;
      response = await fetchImpl(url.href, {
        headers,
        cache: 'no-store',
        credentials: withCredentials ? 'include' : 'same-origin',
        mode: 'cors',
        redirect: 'follow',
        signal: this.#controller.signal,
      });
      text = await response.text();
    } catch (error) {
      this.#end('lost', {
        code: 'HERALD_ERR_NETWORK',
        message: `EventSource poll of ${url.href} failed: ${describe(error)}`,
        cause: error,
      });
      return null;
    }
    if (this.#closed) return null;
    const status = response.status;
    if (status !== 200) {
      const retry = RETRY_STATUSES.has(status);
      this.#end(retry ? 'lost' : 'failed', {
        code: 'HERALD_ERR_BAD_STATUS',
        status,
        message: `EventSource poll status must be 200 (got ${status}${text ? `: ${text.slice(0, 200)}` : ''}); ${retry ? 'asking again' : 'the source will not reconnect'}`,
      });
      return null;
    }
    let rule: string | null = null;
    let updates: JsonUpdate[] = [];
    let cursor: string | undefined;
    let resumed = true;
    try {
      const value = JSON.parse(text) as {
        lastEventID?: unknown;
        updates?: unknown;
        resumed?: unknown;
      } | null;
      if (typeof value !== 'object' || value === null || !Array.isArray(value.updates))
        rule = 'the answer must be an object with an "updates" list';
      else if (value.lastEventID !== undefined && typeof value.lastEventID !== 'string')
        rule = '"lastEventID" must be a string';
      else {
        updates = value.updates as JsonUpdate[];
        cursor = value.lastEventID as string | undefined;
        resumed = value.resumed !== false;
        for (const update of updates) {
          rule = invalidUpdate(update);
          if (rule !== null) break;
        }
      }
    } catch (error) {
      rule = `the answer must be JSON (${describe(error)})`;
    }
    if (rule !== null) {
      this.#end('lost', {
        code: 'HERALD_ERR_BAD_MESSAGE',
        status,
        message: `EventSource poll of ${url.href} got an answer Herald cannot read: ${rule}; asking again`,
      });
      return null;
    }
    // The hub did not find the ID asked for (past its history): the updates of this answer may
    // not follow on from the last one delivered.
    const requested = this.#lastEventId;
    const gap =
      !resumed && requested !== '' && requested !== EARLIEST ? { requested, cursor: cursor ?? '' } : null;
    return { updates: this.#advance(cursor, updates), gap };
  }

  /**
   * The answer names the reader's new position (`lastEventID`: the last update sent, or where an
   * empty answer leaves it), so that the next poll misses nothing published meanwhile.
   */
  #advance(cursor: string | undefined, updates: JsonUpdate[]): JsonUpdate[] {
    if (updates.length === 0 && cursor !== undefined && cursor !== '' && cursor !== this.#lastEventId) {
      this.#lastEventId = cursor;
      this.#events.lastEventId(cursor);
    }
    return updates;
  }

  #end(kind: 'lost' | 'failed', reason: EndReason): void {
    if (this.#closed) return;
    this.close();
    this.#events[kind](reason);
  }
}

/** Long polling: repeated `fetch`es, each answered with a JSON array of updates. */
export const pollTransport: Transport = (request, events) => new PollConnection(request, events);
