/**
 * Presence: which subscriptions are active on every hub node, for the subscriptions API.
 *
 * A hub process knows its own subscribers; when several nodes share a store (workers, Redis) the
 * subscriptions API must still list all of them. The hub reports each local subscriber through
 * `join`/`leave`, and answers the API from `list`. The default implementation is in-process; a
 * shared one (Redis hash with a heartbeat per node, IPC to a primary) implements the same interface.
 */

/** How a subscriber named one topic selector: the parameter it used. */
export type SelectorSyntax = 'topic' | 'match' | 'match_urlpattern';

/** One selector of a subscriber, with the token payload shown for it. */
export interface RecordedSelector {
  source: string;
  syntax: SelectorSyntax;
  /** The payload for this subscription (1.0: per grant, see `Claims.payloadFor`), if any. */
  payload?: unknown;
}

/** One subscriber connection, as the subscriptions API describes it. */
export interface SubscriberRecord {
  /** The subscriber's IRI, unique across nodes (`urn:uuid:<uuid v4>`). */
  id: string;
  /** The selectors it subscribed with, in request order, each with the parameter that carried it. */
  selectors: RecordedSelector[];
  /** The `payload` of its token (draft-07 `mercure.payload`, or 1.0's equivalent), if any. */
  payload?: unknown;
  /** The event ID it resumed from, if it asked for history. */
  lastEventId?: string;
  /** When it connected, in ms since the epoch. */
  since: number;
}

/** Where the hub reports and reads the set of active subscribers. */
export interface Presence {
  /** A subscriber connected to this node. */
  join(record: SubscriberRecord): void;
  /** The subscriber with this ID disconnected from this node. */
  leave(id: string): void;
  /** Every active subscriber, on every node sharing this presence. */
  list(): Promise<SubscriberRecord[]>;
  /** Stops reporting; what this node reported is withdrawn. */
  close(): Promise<void>;
}

/** Presence for a single process: a Map of the local subscribers. */
export function createLocalPresence(): Presence {
  const records = new Map<string, SubscriberRecord>();
  return {
    join(record) {
      records.set(record.id, record);
    },
    leave(id) {
      records.delete(id);
    },
    async list() {
      return [...records.values()];
    },
    async close() {
      records.clear();
    },
  };
}
