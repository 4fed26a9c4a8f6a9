/**
 * herald/server/fetch: event streams as Fetch `Response`s, for any server built on web `Request` /
 * `Response` (Bun- and Deno-style `fetch` handlers, @hono/node-server, undici-based frameworks). The
 * stream closes when the request's signal aborts or the server cancels the body.
 *
 * @example
 * import { fetchHandler } from 'herald/server/fetch';
 * export default { fetch: fetchHandler((stream) => stream.send({ data: 'hello' })) };
 */
import { type CreateStreamOptions, createFetchStream, type SseStream } from '../index.js';

export {
  type CreateStreamOptions,
  createFetchStream,
  type FetchStream,
  SseServer,
  type SseStream,
} from '../index.js';

/** Called with each new stream and the request that opened it. */
export type FetchStreamHandler = (stream: SseStream, request: Request) => void;

/** A `(request) => Response` handler that answers every request with an event stream. */
export function fetchHandler(
  onStream: FetchStreamHandler,
  options?: CreateStreamOptions,
): (request: Request) => Response {
  return (request) => {
    const { stream, response } = createFetchStream(request, options);
    onStream(stream, request);
    return response;
  };
}
