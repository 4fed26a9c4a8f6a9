/**
 * Who may read `/metrics`. Its series tell more than a public page should: how many private updates
 * were published, how many subscribers each transport holds, the Node.js version (a map of which
 * known flaws apply). With `metricsToken` set, a scrape must send it as a bearer token, as
 * Prometheus does with `authorization: { credentials_file: … }`; anything else gets 401.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The shortest `metricsToken` accepted: 16 bytes of randomness are beyond guessing online. */
export const MIN_METRICS_TOKEN_LENGTH = 16;

/**
 * True when the request may read the metrics; otherwise answers 401 (`HERALD_ERR_HUB_METRICS_TOKEN`,
 * with a Bearer challenge) and returns false. `token` undefined: public, as without the option.
 */
export function guardMetrics(req: IncomingMessage, res: ServerResponse, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization;
  const presented = typeof header === 'string' && /^Bearer /i.test(header) ? header.slice(7).trim() : '';
  // Compared as digests, in constant time: neither the token's length nor its prefix leaks.
  if (presented !== '' && timingSafeEqual(digest(presented), digest(token))) return true;
  const body =
    'the metrics of this hub need its metrics token: send "Authorization: Bearer <token>" ' +
    '(HERALD_ERR_HUB_METRICS_TOKEN)\n';
  res.writeHead(401, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'WWW-Authenticate':
      presented === '' ? 'Bearer realm="metrics"' : 'Bearer realm="metrics", error="invalid_token"',
  });
  res.end(body);
  return false;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
