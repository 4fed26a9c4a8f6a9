/**
 * The JSON form of one update, shared by the WebSocket and long-polling transports: the fields of
 * an event-stream event as an object, `{"id","type"?,"data","retry"?}` (docs/transports.md).
 */

/** One update as a WebSocket frame or a long-poll answer carries it. */
export interface JsonUpdate {
  id?: string;
  type?: string;
  data: string;
  retry?: number;
}

/**
 * Checks one decoded value; returns the rule it breaks, or null when it is a valid update. Kept
 * strict: a field of the wrong type means the client and the server disagree on the format, and
 * guessing would deliver something else than what was published.
 */
export function invalidUpdate(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'an update must be an object';
  const { id, type, data, retry } = value as Record<string, unknown>;
  if (typeof data !== 'string') return 'an update needs a string "data"';
  if (id !== undefined && typeof id !== 'string') return '"id" must be a string';
  if (type !== undefined && (typeof type !== 'string' || type === ''))
    return '"type" must be a non-empty string';
  if (retry !== undefined && !(typeof retry === 'number' && Number.isInteger(retry) && retry >= 0))
    return '"retry" must be a non-negative integer';
  return null;
}

/** The URL of a WebSocket or poll request: the last event ID as a query parameter (no headers there). */
export function resumeUrl(target: URL, lastEventId: string, param: string | undefined): URL {
  const url = new URL(target.href);
  if (lastEventId !== '') url.searchParams.set(param ?? 'lastEventID', lastEventId);
  return url;
}
