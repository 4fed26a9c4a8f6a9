/**
 * The response headers of every event stream.
 *
 * - `Cache-Control: no-cache` keeps caches from storing a live stream; `no-transform` tells proxies
 *   and compression middleware (Express `compression` checks it) not to compress or buffer it, which
 *   would hold events back until a compression block fills.
 * - `X-Accel-Buffering: no` turns off nginx's proxy buffering for this response.
 * - No `Content-Length`: the body never ends. HTTP/1.1 then uses chunked encoding.
 * - `Connection: keep-alive` only on HTTP/1.1; HTTP/2 forbids connection-specific headers (RFC 9113
 *   section 8.2.2) and node:http2 rejects them.
 */
export const CONTENT_TYPE = 'text/event-stream; charset=utf-8';
export const CACHE_CONTROL = 'no-cache, no-transform';

/** Headers for HTTP/1.x responses. */
export const HTTP1_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': CONTENT_TYPE,
  'cache-control': CACHE_CONTROL,
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
});

/** Headers for HTTP/1.0 clients: no keep-alive, since the end of the body is the end of the connection. */
export const HTTP10_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': CONTENT_TYPE,
  'cache-control': CACHE_CONTROL,
  'x-accel-buffering': 'no',
});

/** Headers for HTTP/2 and Fetch responses (no connection-specific headers). */
export const STREAM_HEADERS: Readonly<Record<string, string>> = HTTP10_HEADERS;
