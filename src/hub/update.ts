/**
 * An update as the hub publishes it (Mercure "update"): what a publisher posted, with its final ID.
 * The hub encodes it once to event-stream bytes; stores keep the fields, not the bytes.
 */
export interface Update {
  /** The event ID: the publisher's `id`, or one the hub generated (`urn:uuid:...`). Unique per hub. */
  id: string;
  /** The topics, canonical one first (the first `topic` form field). Never empty. */
  topics: string[];
  /** Private updates reach only subscribers whose token authorizes one of their topics. */
  private: boolean;
  /** The SSE `event` field (Mercure `type`), if any. */
  type?: string;
  /** The SSE `retry` field in milliseconds, if any. */
  retry?: number;
  /** The payload (SSE `data`); may be empty. */
  data: string;
  /**
   * Conflation key (the `herald.key` publish field, a Herald extension): a subscriber's unsent
   * update with the same key and canonical topic may be replaced by this one, and a resuming
   * subscriber gets only the latest update per key. Absent: never conflated.
   */
  key?: string;
  /** When the hub accepted it, in ms since the epoch (retention by age; publish-to-write latency). */
  time: number;
}
