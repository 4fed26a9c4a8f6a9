/**
 * What the tabs sharing one connection tell each other over their `BroadcastChannel`. Only plain
 * data crosses: a `MessageEvent` is rebuilt on the other side.
 */
import type { EventSourceErrorCode } from '../error-event.js';
import type { ReadyState } from '../event-source-base.js';

/** A new member asks the leader for the group's state. */
export interface HelloMessage {
  kind: 'hello';
}

/** The leader's answer to `hello`: its connection state and the last event ID the group delivered. */
export interface StateMessage {
  kind: 'state';
  readyState: ReadyState;
  lastEventId: string;
}

/** A new leader took over and is connecting (followers go to CONNECTING, quietly). */
export interface ConnectingMessage {
  kind: 'connecting';
}

/** The leader's connection opened. */
export interface OpenMessage {
  kind: 'open';
}

/** The leader's connection failed; `readyState` says whether it reconnects (0) or is closed (2). */
export interface ErrorMessage {
  kind: 'error';
  readyState: ReadyState;
  /** The fields of the leader's `EventSourceErrorEvent`, absent for a plain `error` event. */
  code?: EventSourceErrorCode;
  message?: string;
  status?: number;
  retryDelayMs?: number;
}

/** One event the leader received. `id` is null when the event set no new ID (nothing to dedupe by). */
export interface EventMessage {
  kind: 'event';
  type: string;
  data: string;
  lastEventId: string;
  origin: string;
  id: string | null;
}

export type RelayMessage =
  | HelloMessage
  | StateMessage
  | ConnectingMessage
  | OpenMessage
  | ErrorMessage
  | EventMessage;
