/**
 * herald/server/hono: event streams on Hono routes, on any runtime (the Fetch path). Headers set by
 * middleware after the handler (CORS) apply; `compress()` skips the response because of its
 * `Cache-Control: no-transform`.
 *
 * @example
 * import { Hono } from 'hono';
 * import { serve } from '@hono/node-server';
 * import { honoStream } from 'herald/server/hono';
 * const app = new Hono();
 * app.get('/events', (c) => {
 *   const { stream, response } = honoStream(c);
 *   stream.send({ data: 'hello' });
 *   return response;
 * });
 * serve({ fetch: app.fetch, port: 3000 });
 */
import type { Context } from 'hono';
import { type CreateStreamOptions, createFetchStream, type FetchStream, type SseStream } from '../index.js';

export { type CreateStreamOptions, type FetchStream, SseServer, type SseStream } from '../index.js';

/** Opens an event stream for a Hono context; return `response` from the handler. */
export function honoStream(c: Context, options?: CreateStreamOptions): FetchStream {
  return createFetchStream(c.req.raw, options);
}

/** A Hono handler that answers with an event stream and hands it to `onStream`. */
export function honoHandler(
  onStream: (stream: SseStream, c: Context) => void,
  options?: CreateStreamOptions,
): (c: Context) => Response {
  return (c) => {
    const { stream, response } = createFetchStream(c.req.raw, options);
    onStream(stream, c);
    return response;
  };
}
