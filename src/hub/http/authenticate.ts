/**
 * Finds and verifies the token of a request, for one role (publisher or subscriber). Where the
 * token may come from and what it grants is the auth module's business; this file decides what a
 * missing token means for each route and applies the publish CSRF rule.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  bearerTokenOf,
  type Claims,
  createVerifier,
  DEFAULT_COOKIE_NAMES,
  extractToken,
  type Verifier,
} from '../auth/index.js';
import { DEFAULT_COOKIE_NAME, type JwtKeyOptions, type ResolvedHubOptions } from '../options.js';
import { HubHttpError } from './errors.js';

/** A verified token and where it came from. */
export interface Authenticated {
  claims: Claims;
  source: 'header' | 'cookie' | 'query';
}

function verifierFor(key: JwtKeyOptions | undefined, options: ResolvedHubOptions): Verifier | undefined {
  if (key === undefined) return undefined;
  return createVerifier({
    key: key.key === undefined ? undefined : { key: key.key, algorithm: key.algorithm },
    jwksUrl: key.jwksUrl,
    audience: options.audience,
    issuer: options.issuer,
  });
}

export class Authenticator {
  readonly #publisher: Verifier | undefined;
  readonly #subscriber: Verifier | undefined;
  readonly #cookieNames: string | readonly string[];
  readonly #publishOrigins: readonly string[];
  /** The last `Authorization` value given to `publisherNow`, and its bearer token. */
  #lastHeader: string | undefined;
  #lastToken: string | undefined;

  constructor(options: ResolvedHubOptions) {
    this.#publisher = verifierFor(options.publisherJwt, options);
    this.#subscriber = verifierFor(options.subscriberJwt, options);
    // The default name also accepts 1.0's recommended `__Secure-mercure_access_token`.
    this.#cookieNames =
      options.cookieName === DEFAULT_COOKIE_NAME ? DEFAULT_COOKIE_NAMES : options.cookieName;
    this.#publishOrigins = options.publishOrigins;
  }

  /** True when any token can be checked. */
  get verifiesAny(): boolean {
    return this.#subscriber !== undefined || this.#publisher !== undefined;
  }

  /** True when subscriber tokens can be checked. */
  get verifiesSubscribers(): boolean {
    return this.#subscriber !== undefined;
  }

  /**
   * The subscriber's verified token, or undefined when it sent none. Tokens are ignored when no
   * subscriber key is configured (an anonymous-only hub). Throws the auth module's errors (401/400).
   */
  async subscriber(headers: IncomingHttpHeaders, url: URL): Promise<Authenticated | undefined> {
    if (this.#subscriber === undefined) return undefined;
    const found = extractToken({ headers, url }, this.#cookieNames);
    if (found === undefined) return undefined;
    return { claims: await this.#subscriber.verify(found.token), source: found.source };
  }

  /** The publisher's verified token. Throws 401 when none, 403 when a cookie comes from a foreign origin. */
  async publisher(headers: IncomingHttpHeaders, url: URL): Promise<Authenticated> {
    if (this.#publisher === undefined) {
      throw new HubHttpError(
        403,
        'HERALD_ERR_HUB_PUBLISH_DISABLED',
        'publishing over HTTP is off on this hub: configure a publisher key (publisherJwt or jwt)',
      );
    }
    const found = extractToken({ headers, url }, this.#cookieNames);
    if (found === undefined) {
      throw new HubHttpError(
        401,
        'HERALD_ERR_HUB_UNAUTHORIZED',
        'publishing requires a token: send "Authorization: Bearer <JWT>"',
      );
    }
    // A cookie rides along with any request the browser makes, including ones forged by another
    // site (CSRF): such a publish must come from an origin the operator listed.
    if (found.source === 'cookie') this.#checkOrigin(headers);
    return { claims: await this.#publisher.verify(found.token), source: found.source };
  }

  /**
   * The claims of a publisher's `Authorization` header whose token was verified before and is still
   * valid, at once; `undefined` when `publisher` must decide (no header, a malformed one, a token not
   * remembered or no longer valid, no publisher key). A header token needs no origin check.
   */
  publisherNow(authorization: string | undefined): Claims | undefined {
    const cached = this.#publisher?.cached;
    if (cached === undefined || authorization === undefined) return undefined;
    // Publishers send the same header request after request: the token string of the last one is
    // reused, so the cache look-up hashes a string whose hash V8 already keeps.
    if (authorization !== this.#lastHeader) {
      this.#lastHeader = authorization;
      this.#lastToken = bearerTokenOf(authorization);
    }
    const token = this.#lastToken;
    return token === undefined ? undefined : cached(token);
  }

  #checkOrigin(headers: IncomingHttpHeaders): void {
    let origin = headers.origin;
    if (origin === undefined && typeof headers.referer === 'string' && URL.canParse(headers.referer)) {
      origin = new URL(headers.referer).origin;
    }
    const allowed = this.#publishOrigins;
    if (origin !== undefined && (allowed.includes('*') || allowed.includes(origin))) return;
    throw new HubHttpError(
      403,
      'HERALD_ERR_HUB_PUBLISH_ORIGIN',
      `a publish authorized by cookie must come from an allowed origin (got ${
        origin === undefined ? 'no Origin or Referer' : JSON.stringify(origin)
      }); add it to publishOrigins or send the token in the Authorization header`,
    );
  }
}
