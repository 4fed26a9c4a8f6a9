/**
 * An `EventSource` whose tabs share one connection. Every tab of an origin that opens the same URL
 * (with the same credentials mode) joins a group; a Web Lock elects the one tab that holds the
 * connection (the leader), which relays each event to the others over a `BroadcastChannel`. When the
 * leader goes away (tab closed, `close()` called) the browser hands the lock to another member, which
 * reconnects with `Last-Event-ID` set to the last event ID it delivered and resumes the stream.
 *
 * Nothing lost: a member follows the relay in order, so its last ID is where the stream resumes; an
 * event the old leader received but did not relay comes again from the server. Nothing duplicated:
 * each member drops an event whose ID it delivered recently (see {@link RecentIds}).
 */
import { EventSourceErrorEvent } from '../error-event.js';
import { EventSource } from '../event-source.js';
import { EventSourceBase, type ReadyState, resolveEventSourceUrl } from '../event-source-base.js';
import { checkOptions, type EventSourceOptions, toOptionsDictionary } from '../options.js';
import { toByteString } from '../request.js';
import { groupName } from './group-name.js';
import { RecentIds } from './recent-ids.js';
import type { ErrorMessage, RelayMessage } from './relay-message.js';

/** What an error event says, as it crosses the channel. */
type ErrorDetail = Omit<ErrorMessage, 'kind' | 'readyState'>;

/** Options of {@link SharedEventSource}: those of `EventSource`, plus the group name. */
export interface SharedEventSourceOptions extends EventSourceOptions {
  /**
   * Members with the same group share one connection. Default: derived from the resolved URL and
   * `withCredentials`. Set it when tabs differ in something else that changes the stream (headers).
   * Only the leader's options are used for the connection.
   */
  group?: string;
}

interface LockManagerLike {
  request(name: string, options: { signal: AbortSignal }, callback: () => Promise<void>): Promise<unknown>;
}

/** Web Locks and BroadcastChannel, when this runtime has both; otherwise sharing is impossible. */
function sharingApis(): LockManagerLike | null {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (locks === undefined || typeof BroadcastChannel !== 'function') return null;
  return locks;
}

/** The leader's connection: an `EventSource` whose messages go to the sharing source, not to listeners. */
class RelayedEventSource extends EventSource {
  readonly #onMessage: (event: MessageEvent) => void;

  constructor(url: string, options: EventSourceOptions, onMessage: (event: MessageEvent) => void) {
    super(url, options);
    this.#onMessage = onMessage;
  }

  protected override dispatchMessage(event: MessageEvent): void {
    this.#onMessage(event);
  }
}

/**
 * An `EventSource` that shares its connection with the other tabs of the origin. Use it where you
 * would use `EventSource`: same constructor, same events, same `readyState`. Where Web Locks or
 * `BroadcastChannel` are missing (Node 20, old browsers) it is a plain connection of its own.
 *
 * Every member mirrors the leader: its `open`, its `error` events (with their code, status and
 * reconnect delay) and its `readyState`. A handover is not an error: members go quietly to
 * `CONNECTING`, then see `open` again when the new leader is connected. Deduplication needs event
 * IDs; events without one are relayed as they come.
 *
 * @example
 * const source = new SharedEventSource('/.well-known/mercure?topic=prices');
 * source.addEventListener('price', (event) => render(JSON.parse(event.data)));
 */
export class SharedEventSource extends EventSourceBase {
  readonly #options: EventSourceOptions;
  readonly #channel: BroadcastChannel | null = null;
  readonly #lockAbort = new AbortController();
  readonly #recent = new RecentIds();
  #releaseLock: (() => void) | null = null;
  #source: RelayedEventSource | null = null;
  #leader = false;
  #closed = false;
  /** The last event ID this member delivered (or learned from the leader on joining). */
  #lastEventId = '';
  /** The last event ID the leader's own connection saw, to tell events that set an ID. */
  #sourceLastEventId = '';

  constructor(url: string | URL, init?: SharedEventSourceOptions | null) {
    const resolved = resolveEventSourceUrl(url);
    const options = toOptionsDictionary(init);
    const withCredentials = Boolean(options.withCredentials);
    super(resolved, withCredentials);
    checkOptions(options);
    const { group, ...sourceOptions } = options;
    this.#options = sourceOptions;
    const locks = sharingApis();
    if (locks === null) {
      this.#lead();
      return;
    }
    const name = group ?? groupName(resolved, withCredentials);
    this.#channel = new BroadcastChannel(name);
    this.#channel.onmessage = (event: MessageEvent<RelayMessage>) => this.#onRelay(event.data);
    this.#post({ kind: 'hello' });
    // The lock is held for as long as the callback's promise is pending: until close(), or until the
    // browser discards the tab, which releases its locks and lets the next member in.
    locks
      .request(name, { signal: this.#lockAbort.signal }, () => {
        if (this.#closed) return Promise.resolve();
        return new Promise<void>((release) => {
          this.#releaseLock = release;
          this.#lead();
        });
      })
      .catch(() => {
        // Aborted by close() before the lock was granted: nothing to do.
      });
  }

  /** Whether this member holds the group's connection. */
  get isLeader(): boolean {
    return this.#leader;
  }

  /** The last event ID delivered here; a new leader resumes the stream from it. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leader = false;
    this.#source?.close();
    this.#source = null;
    this.#lockAbort.abort();
    this.#releaseLock?.();
    this.#releaseLock = null;
    this.#channel?.close();
    this.setReadyState(2);
  }

  #post(message: RelayMessage): void {
    this.#channel?.postMessage(message);
  }

  #lead(): void {
    if (this.#closed) return;
    this.#leader = true;
    if (this.readyState !== 0) this.setReadyState(0);
    this.#post({ kind: 'connecting' });
    const resumeFrom = this.#lastEventId;
    const userHeaders = this.#options.headers;
    let fromServer = false;
    const source = new RelayedEventSource(
      this.url,
      {
        ...this.#options,
        // The first request resumes where the group stopped; once the connection has seen an event,
        // the source sends its own Last-Event-ID, which wins over this header.
        headers: async () => {
          const headers = new Headers(typeof userHeaders === 'function' ? await userHeaders() : userHeaders);
          if (!fromServer && resumeFrom !== '') headers.set('Last-Event-ID', toByteString(resumeFrom));
          return headers;
        },
      },
      (event) => {
        fromServer = true;
        const id = event.lastEventId !== this.#sourceLastEventId ? event.lastEventId : null;
        this.#sourceLastEventId = event.lastEventId;
        if (!this.#accept(id, event.lastEventId)) return;
        this.#post({
          kind: 'event',
          type: event.type,
          data: event.data as string,
          lastEventId: event.lastEventId,
          origin: event.origin,
          id,
        });
        this.dispatchMessage(event);
      },
    );
    this.#source = source;
    this.#sourceLastEventId = '';
    source.addEventListener('open', () => {
      this.#post({ kind: 'open' });
      this.#open();
    });
    source.addEventListener('error', (event) => {
      const readyState = source.readyState;
      // `cause` stays behind: it may hold what structured cloning cannot carry.
      const detail: ErrorDetail =
        event instanceof EventSourceErrorEvent
          ? {
              code: event.code,
              message: event.message,
              status: event.status,
              retryDelayMs: event.retryDelayMs,
            }
          : {};
      this.#post({ kind: 'error', readyState, ...detail });
      this.#fail(readyState, detail);
    });
  }

  /** Records a delivered event; false when its ID was delivered already (a replay after a handover). */
  #accept(id: string | null, lastEventId: string): boolean {
    if (id !== null && id !== '' && !this.#recent.add(id)) return false;
    this.#lastEventId = lastEventId;
    return true;
  }

  #open(): void {
    if (this.#closed || this.readyState === 1) return;
    this.setReadyState(1);
    this.dispatchEvent(new Event('open'));
  }

  #fail(readyState: ReadyState, detail: ErrorDetail): void {
    if (this.#closed) return;
    if (readyState === 2) {
      // The connection failed for good (bad status, bad content type...): every member closes, as a
      // plain EventSource would, and nobody reconnects.
      this.close();
    } else {
      this.setReadyState(readyState);
    }
    const { code, message } = detail;
    this.dispatchEvent(
      code !== undefined && message !== undefined
        ? new EventSourceErrorEvent('error', { ...detail, code, message })
        : new Event('error'),
    );
  }

  #onRelay(message: RelayMessage): void {
    if (this.#closed) return;
    switch (message.kind) {
      case 'event': {
        if (this.#leader || !this.#accept(message.id, message.lastEventId)) return;
        // Relayed events flow only while the leader is connected: a member still CONNECTING opens.
        this.#open();
        this.dispatchMessage(
          new MessageEvent(message.type, {
            data: message.data,
            lastEventId: message.lastEventId,
            origin: message.origin,
          }),
        );
        return;
      }
      case 'hello':
        if (this.#leader) {
          this.#post({ kind: 'state', readyState: this.readyState, lastEventId: this.#lastEventId });
        }
        return;
      case 'state':
        if (this.#leader) return;
        if (this.#lastEventId === '') this.#lastEventId = message.lastEventId;
        if (message.readyState === 1) this.#open();
        return;
      case 'connecting':
        if (!this.#leader && this.readyState === 1) this.setReadyState(0);
        return;
      case 'open':
        if (!this.#leader) this.#open();
        return;
      case 'error':
        if (!this.#leader) {
          const { readyState, kind: _, ...detail } = message;
          this.#fail(readyState, detail);
        }
        return;
    }
  }
}
