/**
 * What the tabs sharing one connection tell each other over their `BroadcastChannel`. Only plain
 * data crosses: a `MessageEvent` is rebuilt on the other side.
 *
 * Every message a leader sends carries its `term`: each new leader takes a term above every one it
 * has seen, and members ignore messages from an older term. A leader deposed while it hung (its
 * lock stolen) may still send a few messages when it wakes up, before it notices; they are ignored.
 */
import type { EventSourceErrorCode } from '../error-event.js';
import type { ReadyState } from '../event-source-base.js';

/** A new member asks the leader for the group's state. */
export interface HelloMessage {
  kind: 'hello';
  /** The highest leader term the member knows. */
  term: number;
}

/** What every message from a leader carries. */
interface FromLeader {
  /** The leader's term: higher for each new leader. */
  term: number;
}

/** A member asks whether the leader is alive (it has heard nothing from it for a while). */
export interface PingMessage {
  kind: 'ping';
  /** The highest leader term the member knows. */
  term: number;
}

/** The leader's answer to `ping`: it is alive. */
export interface BeatMessage extends FromLeader {
  kind: 'beat';
}

/** The leader's answer to `hello`: its connection state and the last event ID the group delivered. */
export interface StateMessage extends FromLeader {
  kind: 'state';
  readyState: ReadyState;
  lastEventId: string;
}

/** A new leader took over and is connecting (followers go to CONNECTING, quietly). */
export interface ConnectingMessage extends FromLeader {
  kind: 'connecting';
}

/** The leader's connection opened. */
export interface OpenMessage extends FromLeader {
  kind: 'open';
}

/** The leader's connection failed; `readyState` says whether it reconnects (0) or is closed (2). */
export interface ErrorMessage extends FromLeader {
  kind: 'error';
  readyState: ReadyState;
  /** The fields of the leader's `EventSourceErrorEvent`, absent for a plain `error` event. */
  code?: EventSourceErrorCode;
  message?: string;
  status?: number;
  retryDelayMs?: number;
}

/** One event the leader received. `id` is null when the event set no new ID (nothing to dedupe by). */
export interface EventMessage extends FromLeader {
  kind: 'event';
  /** The group's last event ID before this event: a member that is elsewhere missed some. */
  prev: string;
  type: string;
  data: string;
  lastEventId: string;
  origin: string;
  id: string | null;
}

/** The leader's connection reported a gap: updates may be missing before the next event. */
export interface GapMessage extends FromLeader {
  kind: 'gap';
  requested: string;
  cursor: string;
}

export type RelayMessage =
  | HelloMessage
  | PingMessage
  | BeatMessage
  | StateMessage
  | ConnectingMessage
  | OpenMessage
  | ErrorMessage
  | EventMessage
  | GapMessage;
