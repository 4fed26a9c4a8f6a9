/**
 * Where a reconnecting client says what it saw last. Browsers send the `Last-Event-ID` header (WHATWG
 * HTML 9.2.4, "reestablish the connection"); a first connection cannot set headers with `EventSource`,
 * so servers also accept a query parameter (Mercure: `lastEventID`).
 */

/**
 * Picks the last event ID: the header when present and non-empty, else the first listed query
 * parameter present and non-empty in `target` (a path with its query, or a full URL), else null.
 */
export function pickLastEventId(
  header: string | string[] | null | undefined,
  target: string | undefined,
  params: readonly string[],
): string | null {
  if (typeof header === 'string') {
    if (header !== '') return header;
  } else if (Array.isArray(header) && header.length > 0 && header[0] !== '') {
    return header[0]!;
  }
  if (target === undefined || params.length === 0) return null;
  const q = target.indexOf('?');
  if (q === -1) return null;
  const hash = target.indexOf('#', q);
  const query = new URLSearchParams(hash === -1 ? target.slice(q + 1) : target.slice(q + 1, hash));
  for (const name of params) {
    const value = query.get(name);
    if (value !== null && value !== '') return value;
  }
  return null;
}
