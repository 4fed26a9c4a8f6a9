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
 * The inverse of `toByteString`: a header value read through `fetch` (one character per byte) that
 * holds valid UTF-8, as a hub sends a non-ASCII cursor, gives back the text; anything else is kept
 * as read.
 */
export function fromByteString(value: string): string {
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) return value;
    if (c > 0x7f) ascii = false;
  }
  if (ascii) return value;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return value;
  }
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

/** Whether this code runs in a browser page or worker, where `fetch` applies the cache mode itself. */
function inBrowser(): boolean {
  return (globalThis as { location?: unknown }).location !== undefined;
}

/**
 * The headers of one request: `Accept: text/event-stream`, `Cache-Control: no-cache` and
 * `Pragma: no-cache` (outside browsers), the caller's headers, then `Last-Event-ID` when the last
 * event ID is not empty.
 *
 * The standard sets the request's cache mode to `no-store`, with which Fetch ("HTTP-network-or-cache
 * fetch") adds `Cache-Control: no-cache` and `Pragma: no-cache` unless present. Outside browsers
 * they are set here, so a `fetch` option that ignores cache modes sends them too. In a browser they
 * are left to `fetch`, as for the native EventSource: a script-set `Cache-Control` is not a
 * CORS-safelisted header and would need a preflight on every cross-origin connection, or break a
 * redirect to another origin.
 */
export function buildHeaders(
  extra: HeadersInit | undefined,
  lastEventId: string,
  lastEventIdParam?: string,
): Headers {
  const headers = new Headers({ Accept: 'text/event-stream' });
  if (!inBrowser()) {
    headers.set('Cache-Control', 'no-cache');
    headers.set('Pragma', 'no-cache');
  }
  if (extra !== undefined) for (const [name, value] of new Headers(extra)) headers.set(name, value);
  if (lastEventId !== '' && lastEventIdParam === undefined)
    headers.set('Last-Event-ID', toByteString(lastEventId));
  return headers;
}

/**
 * The URL of one request: `target`, with the last event ID in the `lastEventIdParam` query
 * parameter when that option is set and the ID is not empty (replacing any value there; with no ID
 * the URL goes as given).
 */
export function requestUrl(target: URL, lastEventId: string, lastEventIdParam?: string): string {
  if (lastEventIdParam === undefined || lastEventId === '') return target.href;
  const url = new URL(target.href);
  url.searchParams.set(lastEventIdParam, lastEventId);
  return url.href;
}
