/**
 * `GET /.well-known/mercure`: a subscriber's event stream (Mercure "Subscription" and
 * "Reconciliation", both drafts). The lifecycle is every transport's (subscription/lifecycle.ts);
 * this is the event stream's part: the cursor in response headers, then a herald/server stream.
 * A refusal is an HTTP error (hub.ts answers what this throws).
 */

import type { HubContext, Req, Res } from '../context.js';
import { setCursorHeaders } from '../subscription/cursor-header.js';
import { runSubscription } from '../subscription/lifecycle.js';

/**
 * node:http parses `req.headers` from `req.rawHeaders` on first read and keeps the object for the
 * life of the request, which for a stream is the connection. Setting it back to null only drops
 * that cache: a later read parses it again. HTTP/2 compat requests hold plain objects; left alone.
 */
function releaseParsedHeaders(req: Req): void {
  if (req.httpVersionMajor === 1) (req as unknown as { headers: unknown }).headers = null;
}

/** `GET /.well-known/mercure` as an event stream. */
export function handleSubscribe(ctx: HubContext, req: Req, res: Res, url: URL): Promise<void> {
  return runSubscription(ctx, req, url, {
    format: 'sse',
    announce: true,
    headOnly: req.method === 'HEAD',
    open(admitted) {
      setCursorHeaders(res, admitted);
      const stream = ctx.sse.stream(req, res, ctx.streamOptions);
      releaseParsedHeaders(req);
      return stream;
    },
  });
}
