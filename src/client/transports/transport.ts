/**
 * The one interface between an `EventSource` and the wire it reads from. The source owns what the
 * HTML standard gives it (readyState, the last event ID, the reconnection time, backoff) and the
 * choice between transports; a transport owns one connection: it opens it, turns what arrives into
 * messages, and says how it ended. One file per transport beside this one.
 */
import type { EventSourceErrorEventInit } from '../error-event.js';
import type { EventSourceOptions } from '../options.js';

/** The wire formats a source can read: the event stream, a WebSocket, or long polling. */
export type TransportName = 'sse' | 'websocket' | 'poll';

/** Every transport name, in the order of the default fallback list. */
export const TRANSPORT_NAMES: readonly TransportName[] = ['sse', 'websocket', 'poll'];

/** Why a connection ended, as the `error` event will tell it. */
export type EndReason = Omit<EventSourceErrorEventInit, keyof EventInit>;

/** What a transport needs to open one connection. */
export interface TransportRequest {
  /** The resolved URL of the source (http: or https:). */
  readonly target: URL;
  /** The last event ID to resume after; empty for none. */
  readonly lastEventId: string;
  readonly options: EventSourceOptions;
  readonly withCredentials: boolean;
}

/**
 * What a transport reports about one connection. Reports after the source stopped the connection
 * are ignored, so a transport need not guard against them.
 */
export interface TransportEvents {
  /** The connection is established (response accepted, socket open); `origin` of the final URL. */
  opened(origin: string): void;
  /**
   * Bytes of the stream itself arrived (an event, a comment, a poll answer): the path delivers and
   * no buffering proxy holds it back. Until then the source may fall back to the next transport.
   */
  delivering(): void;
  /** One message event; `lastEventId` is the source's last event ID from now on. */
  message(type: string, data: string, lastEventId: string): void;
  /**
   * The last event ID changed without a message (an SSE event with an id and no data, or the
   * server's resume cursor: where the subscription stands before its first update).
   */
  lastEventId(id: string): void;
  /**
   * The server's answer to a resume after `requested` shows updates may be missing (its cursor
   * differs, or it says it did not resume); reported before the updates of that answer.
   */
  gap(requested: string, cursor: string): void;
  /** The server set the reconnection time (`retry`). */
  retry(ms: number): void;
  /** The connection broke off or ended: the source reconnects. */
  lost(reason: EndReason): void;
  /** The server refused in a way retrying will not fix: the source closes (or falls back). */
  failed(reason: EndReason): void;
}

/** One open or opening connection. */
export interface TransportConnection {
  /** Ends the connection; nothing is reported after. */
  close(): void;
}

/** Opens one connection; reports go to `events`, never synchronously from inside this call. */
export type Transport = (request: TransportRequest, events: TransportEvents) => TransportConnection;

/** A message of the error in `error`, with its cause's. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
