/**
 * CORS for browser subscribers and publishers on other origins (Fetch standard, "CORS protocol").
 *
 * An explicit allow-list reflects the request's origin and allows credentials, so `EventSource`
 * with `withCredentials` can carry the hub's cookie. `*` allows any origin but never with
 * credentials: Mercure 1.0 forbids a wildcard or an arbitrary reflected origin on a credentialed
 * endpoint (any site would read the subscriber's updates with its cookie).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Headers a cross-origin script may read: the resume cursors, discovery and auth challenges. */
const EXPOSE = 'Last-Event-ID, Mercure-Last-Event-ID, Link, WWW-Authenticate';
const ALLOW_METHODS = 'GET, HEAD, POST, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type, Cache-Control, Last-Event-ID';
/** Browsers cap this anyway (Chromium: 2 h); 10 min keeps a changed allow-list from lingering. */
const MAX_AGE = '600';

export class Cors {
  readonly #any: boolean;
  readonly #origins: Set<string>;

  constructor(origins: readonly string[]) {
    this.#any = origins.includes('*');
    this.#origins = new Set(origins.filter((o) => o !== '*'));
  }

  get enabled(): boolean {
    return this.#any || this.#origins.size > 0;
  }

  /** Sets the CORS response headers for an allowed origin; returns whether the origin is allowed. */
  apply(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (origin === undefined || !this.enabled) return false;
    if (this.#origins.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    } else if (this.#any) {
      res.setHeader('Access-Control-Allow-Origin', '*');
    } else {
      return false;
    }
    res.setHeader('Access-Control-Expose-Headers', EXPOSE);
    return true;
  }

  /**
   * Who may open a WebSocket on the hub from this request's `Origin` (browsers send it on every
   * upgrade, and the hub's cookie with it: without this check any site could subscribe with a
   * visitor's cookie). `credentials`: no Origin (not a browser), the hub's own origin, or a listed
   * one. `anonymous`: any origin under `*`, but, as CORS never lets `*` carry credentials, the
   * cookie is not read. `refused`: any other origin.
   */
  upgradeAccess(req: IncomingMessage): 'credentials' | 'anonymous' | 'refused' {
    const origin = req.headers.origin;
    if (origin === undefined || this.#origins.has(origin)) return 'credentials';
    const host = req.headers.host;
    if (host !== undefined && URL.canParse(origin) && new URL(origin).host === host.toLowerCase()) {
      return 'credentials';
    }
    return this.#any ? 'anonymous' : 'refused';
  }

  /** Answers a preflight (`OPTIONS` with `Access-Control-Request-Method`). */
  preflight(req: IncomingMessage, res: ServerResponse): void {
    if (this.apply(req, res)) {
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', MAX_AGE);
    }
    res.writeHead(204, { 'Content-Length': '0' });
    res.end();
  }
}
