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
 *
 * A leader that hangs without closing (a stuck script, a frozen tab) keeps its lock, so the browser
 * hands it to nobody. Members that heard nothing from the leader for a while ask it (`ping`); a live
 * leader answers at once (`beat`), from its message handler, which timer throttling in background
 * tabs does not delay. Without an answer in time, a member steals the lock (`steal: true`) and
 * leads with a higher term: within about 1.2 × `leaderTimeoutMs` while a member's page is visible,
 * about 5.6 × with every page hidden (see {@link LeaderWatch}, which also keeps the wake-ups of an
 * idle hidden group below those of as many plain tabs). When the old leader wakes up, its lock request has
 * been rejected and the new leader's messages carry a higher term: either tells it that it was
 * deposed, and it closes its connection and follows. Members ignore messages of an older term, so
 * what it relays on waking, before it notices, reaches nobody.
 */
import { EventSourceErrorEvent } from '../error-event.js';
import { InvalidEventSourceOptionError } from '../errors.js';
import { EventSource } from '../event-source.js';
import { EventSourceBase, type ReadyState, resolveEventSourceUrl } from '../event-source-base.js';
import { GapEvent } from '../gap-event.js';
import { checkOptions, type EventSourceOptions, toOptionsDictionary } from '../options.js';
import { groupName } from './group-name.js';
import { LeaderWatch } from './leader-watch.js';
import { RecentIds } from './recent-ids.js';
import type { ErrorMessage, RelayMessage } from './relay-message.js';

/** What an error event says, as it crosses the channel. */
type ErrorDetail = Omit<ErrorMessage, 'kind' | 'readyState' | 'term'>;

/** How long a silent leader may leave a ping unanswered before a member takes over, by default. */
export const DEFAULT_LEADER_TIMEOUT_MS = 10_000;

/** Options of {@link SharedEventSource}: those of `EventSource`, plus the group name. */
export interface SharedEventSourceOptions extends EventSourceOptions {
  /**
   * Members with the same group share one connection. Default: derived from the resolved URL and
   * `withCredentials`. Set it when tabs differ in something else that changes the stream (headers).
   * Only the leader's options are used for the connection.
   */
  group?: string;
  /**
   * A member whose page is visible and that heard nothing from the leader for half this long asks it
   * whether it is alive; if no answer comes within about the other half, it takes over the
   * connection (the leader's tab hangs): about 1.2 × this in all. A hidden page asks after 4.5 × this
   * (about 5.6 × in all), and at once when it is shown again.
   * Default {@link DEFAULT_LEADER_TIMEOUT_MS}. Lower detects a hung leader sooner; too low deposes a
   * leader busy with a long task, which costs a reconnect (nothing is lost or repeated).
   */
  leaderTimeoutMs?: number;
}

interface LockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal; steal?: boolean },
    callback: () => Promise<void>,
  ): Promise<unknown>;
  query?(): Promise<{ held?: { name?: string; clientId?: string }[] }>;
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
  readonly #onGap: (event: GapEvent) => void;

  constructor(
    url: string,
    options: EventSourceOptions,
    onMessage: (event: MessageEvent) => void,
    onGap: (event: GapEvent) => void,
  ) {
    super(url, options);
    this.#onMessage = onMessage;
    this.#onGap = onGap;
  }

  protected override dispatchMessage(event: MessageEvent): void {
    this.#onMessage(event);
  }

  protected override dispatchGap(event: GapEvent): void {
    this.#onGap(event);
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
  readonly #locks: LockManagerLike | null = null;
  readonly #name: string = '';
  /** Who held the lock when this follower began to wait for a beat (see #takeOver). */
  #suspect: string | undefined = undefined;
  #suspectQuery = 0;
  readonly #leaderTimeoutMs: number;
  readonly #recent = new RecentIds();
  /** Aborts this member's queued lock request (not a held or stolen one). */
  #lockAbort: AbortController | null = null;
  #releaseLock: (() => void) | null = null;
  /** The lock request this member leads under; its rejection while current means a deposition. */
  #heldRequest: object | null = null;
  #source: RelayedEventSource | null = null;
  #leader = false;
  #closed = false;
  /** The highest leader term seen; this member's own while it leads. */
  #term = 0;
  /** Whether the leader hangs, while this member follows; null without sharing. */
  #watch: LeaderWatch | null = null;
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
    const { group, leaderTimeoutMs, ...sourceOptions } = options;
    if (
      leaderTimeoutMs !== undefined &&
      !(typeof leaderTimeoutMs === 'number' && Number.isFinite(leaderTimeoutMs) && leaderTimeoutMs > 0)
    ) {
      throw new InvalidEventSourceOptionError(
        'leaderTimeoutMs',
        `SharedEventSource option leaderTimeoutMs must be a positive number of milliseconds (got ${String(leaderTimeoutMs)})`,
      );
    }
    this.#leaderTimeoutMs = leaderTimeoutMs ?? DEFAULT_LEADER_TIMEOUT_MS;
    this.#options = sourceOptions;
    const locks = sharingApis();
    if (locks === null) {
      this.#lead();
      return;
    }
    this.#locks = locks;
    this.#name = group ?? groupName(resolved, withCredentials);
    this.#channel = new BroadcastChannel(this.#name);
    this.#channel.onmessage = (event: MessageEvent<RelayMessage>) => this.#onRelay(event.data);
    this.#watch = new LeaderWatch(this.#leaderTimeoutMs, {
      ping: () => this.#post({ kind: 'ping', term: this.#term }),
      takeOver: () => void this.#takeOver(),
      waiting: () => void this.#noteSuspect(),
    });
    this.#watch.follow();
    this.#post({ kind: 'hello', term: 0 });
    this.#requestLock(false);
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
    this.#watch?.close();
    this.#source?.close();
    this.#source = null;
    this.#lockAbort?.abort();
    this.#releaseLock?.();
    this.#releaseLock = null;
    this.#channel?.close();
    this.setReadyState(2);
  }

  #post(message: RelayMessage): void {
    this.#channel?.postMessage(message);
  }

  /**
   * Asks for the group's lock: queued behind the holder, or taken from it (`steal`) when it hangs.
   * The lock is held for as long as the callback's promise is pending: until close() or a
   * deposition, or until the browser discards the tab, which releases its locks.
   */
  #requestLock(steal: boolean): void {
    const locks = this.#locks!;
    // A stealing request cannot carry a signal; it is granted at once anyway.
    const abort = steal ? null : new AbortController();
    this.#lockAbort = abort;
    const request = {};
    locks
      .request(this.#name, abort === null ? { steal: true } : { signal: abort.signal }, () => {
        if (this.#closed) return Promise.resolve();
        return new Promise<void>((release) => {
          this.#heldRequest = request;
          this.#releaseLock = release;
          this.#lead();
        });
      })
      .catch(() => {
        // Aborted while queued (close(), or a takeover replacing the request): nothing to do.
        // Rejected while held: another member stole the lock because this one seemed hung.
        if (this.#heldRequest === request && this.#leader && !this.#closed) this.#depose();
      });
  }

  /** The lock holder's client ID, from the query made when the wait for its beat began. */
  async #holder(): Promise<string | undefined> {
    const state = await this.#locks?.query?.().catch(() => undefined);
    return state?.held?.find((lock) => lock.name === this.#name)?.clientId;
  }

  /** Notes which client holds the lock as this member starts to suspect it hangs. */
  async #noteSuspect(): Promise<void> {
    this.#suspect = undefined;
    const asked = ++this.#suspectQuery;
    const holder = await this.#holder();
    if (asked === this.#suspectQuery) this.#suspect = holder;
  }

  async #takeOver(): Promise<void> {
    if (this.#closed || this.#leader) return;
    // Two followers that waited for the same beat may time out a few milliseconds apart, before the
    // first one's 'connecting' reaches the second (a busy machine delays channel messages): without
    // this check the second would depose the fresh leader too, one more connection to the server.
    // When the lock changed hands since the suspicion began, another follower took over: follow it.
    const suspect = this.#suspect;
    if (suspect !== undefined) {
      const holder = await this.#holder();
      if (this.#closed || this.#leader) return;
      if (holder !== undefined && holder !== suspect) {
        this.#watch?.follow();
        return;
      }
    }
    this.#lockAbort?.abort();
    this.#requestLock(true);
  }

  /** The lock was stolen while this member led (it hung): stop the connection, follow the new leader. */
  #depose(): void {
    this.#leader = false;
    this.#heldRequest = null;
    // Settles the lock callback; the lock itself went to the member that stole it.
    this.#releaseLock?.();
    this.#releaseLock = null;
    this.#source?.close();
    this.#source = null;
    this.#watch?.follow();
    if (this.readyState === 1) this.setReadyState(0);
    // The new leader says whether it is open; this member queues to lead again later.
    this.#post({ kind: 'hello', term: this.#term });
    this.#requestLock(false);
  }

  #lead(): void {
    if (this.#closed) return;
    this.#leader = true;
    this.#watch?.pause();
    this.#term++;
    const term = this.#term;
    if (this.readyState !== 0) this.setReadyState(0);
    this.#post({ kind: 'connecting', term });
    // The group resumes where this member stopped, through the source's own resume path: a
    // `Last-Event-ID` header on the event stream, the `lastEventIdParam` query parameter where set,
    // and always the query parameter on a WebSocket or a poll (which send no headers).
    const resumeFrom = this.#lastEventId !== '' ? this.#lastEventId : this.#options.lastEventId;
    const source = new RelayedEventSource(
      this.url,
      resumeFrom === undefined ? this.#options : { ...this.#options, lastEventId: resumeFrom },
      (event) => {
        const id = event.lastEventId !== this.#sourceLastEventId ? event.lastEventId : null;
        this.#sourceLastEventId = event.lastEventId;
        const prev = this.#lastEventId;
        if (!this.#accept(id, event.lastEventId)) return;
        this.#post({
          kind: 'event',
          term,
          prev,
          type: event.type,
          data: event.data as string,
          lastEventId: event.lastEventId,
          origin: event.origin,
          id,
        });
        this.dispatchMessage(event);
      },
      (gap) => {
        this.#post({ kind: 'gap', term, requested: gap.requested, cursor: gap.cursor });
        this.dispatchGap(gap);
      },
    );
    this.#source = source;
    this.#sourceLastEventId = resumeFrom ?? '';
    source.addEventListener('open', () => {
      this.#post({ kind: 'open', term });
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
      this.#post({ kind: 'error', term, readyState, ...detail });
      this.#fail(readyState, detail);
    });
  }

  /** Records a delivered event; false when its ID was delivered already (a replay after a handover). */
  #accept(id: string | null, lastEventId: string): boolean {
    if (id !== null && id !== '' && !this.#recent.add(id)) return false;
    this.#lastEventId = lastEventId;
    return true;
  }

  /**
   * Each relayed event names the group's last event ID before it (`prev`). A member whose own last ID
   * is another one, and that never delivered `prev`, missed relayed events: its page was paused
   * (Chromium drops channel messages to a paused page) or it led and was deposed while it hung. They
   * cannot be fetched again from here: the member says so with a `gap` before the next event.
   */
  #checkChain(prev: string): void {
    const own = this.#lastEventId;
    if (own === '' || prev === '' || prev === own || this.#recent.has(prev)) return;
    this.dispatchGap(new GapEvent({ requested: own, cursor: prev }));
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
    if (message.kind === 'hello' || message.kind === 'ping') {
      // From a member: learn the highest term it knows, so that a takeover goes above it.
      if (!this.#leader) {
        this.#term = Math.max(this.#term, message.term);
        if (message.kind === 'ping') this.#watch?.otherPinged();
      }
    } else {
      // From a leader: an older term is a deposed leader that has not noticed yet; ignore it.
      if (message.term < this.#term) return;
      if (message.term > this.#term) {
        this.#term = message.term;
        // Another member leads with a newer term: this one was deposed while it hung.
        if (this.#leader) this.#depose();
      }
      if (this.#leader) return;
      this.#watch?.heard();
    }
    switch (message.kind) {
      case 'event': {
        this.#checkChain(message.prev);
        if (!this.#accept(message.id, message.lastEventId)) return;
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
          this.#post({
            kind: 'state',
            term: this.#term,
            readyState: this.readyState,
            lastEventId: this.#lastEventId,
          });
        }
        return;
      case 'ping':
        if (this.#leader) this.#post({ kind: 'beat', term: this.#term });
        return;
      case 'beat':
        return;
      case 'gap':
        this.dispatchGap(new GapEvent({ requested: message.requested, cursor: message.cursor }));
        return;
      case 'state':
        if (this.#lastEventId === '') this.#lastEventId = message.lastEventId;
        if (message.readyState === 1) this.#open();
        return;
      case 'connecting':
        if (this.readyState === 1) this.setReadyState(0);
        return;
      case 'open':
        this.#open();
        return;
      case 'error': {
        const { readyState, kind: _, term: __, ...detail } = message;
        this.#fail(readyState, detail);
        return;
      }
    }
  }
}
