/**
 * herald/server/node: event streams on node:http and node:https.
 *
 * @example
 * import http from 'node:http';
 * import { nodeHandler } from 'herald/server/node';
 * http.createServer(nodeHandler((stream) => stream.send({ data: 'hello' }))).listen(3000);
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type CreateStreamOptions, createStream, type SseStream } from '../index.js';

export { type CreateStreamOptions, createStream, SseServer, type SseStream } from '../index.js';

/** Called with each new stream and the request that opened it. */
export type NodeStreamHandler = (stream: SseStream, req: IncomingMessage, res: ServerResponse) => void;

/** A node:http request listener that opens an event stream for every request it gets. */
export function nodeHandler(onStream: NodeStreamHandler, options?: CreateStreamOptions): RequestListener {
  return (req, res) => {
    onStream(createStream(req, res, options), req, res);
  };
}
