/**
 * Ending a response sent before the request's body was read (413 past `maxBodyBytes`, 401, 415...).
 *
 * Closing the connection at once would leave the client's unsent body bytes arriving at a closed
 * socket: the kernel answers them with a reset, and a client still writing gets EPIPE or
 * ECONNRESET before it reads the response, often discarding the response it had received. So the
 * response goes out with `Connection: close` and its whole body, then the rest of the request body
 * is read and discarded, up to a bound in bytes and in time, and only then is the response ended
 * (node:http closes the connection gracefully once the request is complete). A client that sends
 * more than the bound, or too slowly, is cut off then: it had the response long before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Body bytes read and discarded after a refusal before the connection is closed anyway. */
export const REFUSED_BODY_DRAIN_BYTES = 64 * 1024 * 1024;
/** How long a refused body is read and discarded before the connection is closed anyway. */
export const REFUSED_BODY_DRAIN_MS = 5_000;

/** True when `req` is HTTP/1 and its body is not fully received yet. */
export function hasUnreadBody(req: IncomingMessage | undefined): req is IncomingMessage {
  return req !== undefined && req.httpVersionMajor === 1 && !req.complete && !req.destroyed;
}

/**
 * Writes `body` as the whole response (headers must carry its Content-Length and
 * `Connection: close`), then discards the rest of the request body within the bounds and ends.
 */
export function endAfterDrain(req: IncomingMessage, res: ServerResponse, body: string): void {
  res.write(body);
  let bytes = 0;
  const done = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', done);
    res.off('close', done);
    if (!res.writableEnded && !res.destroyed) res.end();
  };
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > REFUSED_BODY_DRAIN_BYTES) done();
  };
  const timer = setTimeout(done, REFUSED_BODY_DRAIN_MS);
  timer.unref();
  req.on('data', onData);
  req.once('end', done);
  res.once('close', done);
  req.resume();
}
