/**
 * The request an `EventSource` sends and the check of the response it accepts (HTML "Server-sent
 * events", the `EventSource(url, eventSourceInitDict)` constructor and "reestablish the connection").
 */

/**
 * Encodes a header value as UTF-8 bytes held one per character (a ByteString), the only way `fetch`
 * sends a non-ASCII `Last-Event-ID` as browsers do: as its UTF-8 bytes.
 */
export function toByteString(value: string): string {
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return value;
  const bytes = new TextEncoder().encode(value);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i]!);
  return out;
}

/**
 * Whether a `Content-Type` value is the `text/event-stream` media type: essence compared ASCII
 * case-insensitively, parameters allowed (`text/event-stream; charset=utf-8`), nothing else
 * (`text/event-streamx` is another type).
 */
export function isEventStreamType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const semicolon = contentType.indexOf(';');
  const essence = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim();
  return essence.toLowerCase() === 'text/event-stream';
}

/** Whether `url` is cross-origin to the page this code runs in (false outside a page). */
export function isCrossOriginToPage(url: URL): boolean {
  const location = (globalThis as { location?: { origin?: string } }).location;
  return location?.origin !== undefined && location.origin !== url.origin;
}

/**
 * The headers of one request: `Accept: text/event-stream`, `Cache-Control: no-store`, the
 * caller's headers, then `Last-Event-ID` when the last event ID is not empty.
 *
 * `Cache-Control` is left out of cross-origin requests made from a page: it is not a CORS-safelisted
 * header, so it would turn every connection into a preflighted one; there `cache: 'no-store'` has
 * the browser send its own no-cache headers instead.
 */
export function buildHeaders(url: URL, extra: HeadersInit | undefined, lastEventId: string): Headers {
  const headers = new Headers({ Accept: 'text/event-stream' });
  if (!isCrossOriginToPage(url)) headers.set('Cache-Control', 'no-store');
  if (extra !== undefined) for (const [name, value] of new Headers(extra)) headers.set(name, value);
  if (lastEventId !== '') headers.set('Last-Event-ID', toByteString(lastEventId));
  return headers;
}
