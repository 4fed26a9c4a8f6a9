/**
 * herald/server/fastify: event streams on Fastify routes. The reply is hijacked (Fastify stops
 * managing it) and the stream writes to the raw response; headers set with `reply.header()` before,
 * e.g. by a CORS plugin, are carried over.
 *
 * @example
 * import Fastify from 'fastify';
 * import { fastifyStream } from 'herald/server/fastify';
 * app.get('/events', (request, reply) => {
 *   const stream = fastifyStream(request, reply);
 *   stream.send({ data: 'hello' });
 * });
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type CreateStreamOptions, createStream, type SseStream } from '../index.js';

export { type CreateStreamOptions, SseServer, type SseStream } from '../index.js';

/** Opens an event stream on a Fastify route; do not send anything with `reply` afterwards. */
export function fastifyStream(
  request: FastifyRequest,
  reply: FastifyReply,
  options?: CreateStreamOptions,
): SseStream {
  const raw = reply.raw;
  const headers = reply.getHeaders();
  for (const name in headers) {
    const value = headers[name];
    // Headers that would contradict an endless event stream are not copied.
    if (value !== undefined && name !== 'content-length' && name !== 'content-type') {
      raw.setHeader(name, value);
    }
  }
  reply.hijack();
  return createStream(request.raw, raw, options);
}
