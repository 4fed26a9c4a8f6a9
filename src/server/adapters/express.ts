/**
 * herald/server/express: an Express route handler that opens an event stream.
 *
 * Compression: `compression()` leaves these responses alone because they carry
 * `Cache-Control: no-transform`, which it honours; nothing to configure.
 *
 * @example
 * import express from 'express';
 * import { expressHandler } from 'herald/server/express';
 * app.get('/events', expressHandler((stream) => feed.add(stream)));
 */
import type { NextFunction, Request, Response } from 'express';
import { type CreateStreamOptions, createStream, type SseStream } from '../index.js';

export { type CreateStreamOptions, SseServer, type SseStream } from '../index.js';

/** Called with each new stream and the Express request and response. */
export type ExpressStreamHandler = (stream: SseStream, req: Request, res: Response) => unknown;

/**
 * An Express handler: headers and the opening bytes go out at once, then `onStream` runs. A throw or
 * rejection from `onStream` closes the stream and goes to `next` (Express logs it; headers are sent).
 */
export function expressHandler(
  onStream: ExpressStreamHandler,
  options?: CreateStreamOptions,
): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const stream = createStream(req, res, options);
    let result: unknown;
    try {
      result = onStream(stream, req, res);
    } catch (error) {
      stream.close();
      next(error);
      return;
    }
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        stream.close();
        next(error);
      });
    }
  };
}
