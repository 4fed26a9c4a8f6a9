/**
 * herald/server/http2: event streams on node:http2, core API (`'stream'` events) or compat API.
 *
 * @example
 * import http2 from 'node:http2';
 * import { http2Handler } from 'herald/server/http2';
 * const server = http2.createSecureServer({ key, cert });
 * server.on('stream', http2Handler((stream) => stream.send({ data: 'hello' })));
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { type CreateStreamOptions, createHttp2Stream, type SseStream } from '../index.js';

export {
  type CreateStreamOptions,
  createHttp2Stream,
  createStream,
  SseServer,
  type SseStream,
} from '../index.js';

/** Called with each new stream and the request headers (`:path` included). */
export type Http2StreamHandler = (stream: SseStream, headers: IncomingHttpHeaders) => void;

/** A listener for `Http2Server`'s `'stream'` event that opens an event stream for every request. */
export function http2Handler(
  onStream: Http2StreamHandler,
  options?: CreateStreamOptions,
): (h2: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  return (h2, headers) => {
    onStream(createHttp2Stream(h2, headers, options), headers);
  };
}
