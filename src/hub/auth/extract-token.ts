import type { IncomingHttpHeaders } from 'node:http';
import { AuthError } from './errors.js';

/** Where the token was found. A hub may refuse some sources (e.g. `query`) by policy. */
export type TokenSource = 'header' | 'cookie' | 'query';

export interface ExtractedToken {
  token: string;
  source: TokenSource;
}

/**
 * Cookie names read by default: draft-07's `mercureAuthorization` and 1.0's recommended
 * `__Secure-mercure_access_token`, in that order.
 */
export const DEFAULT_COOKIE_NAMES: readonly string[] = [
  'mercureAuthorization',
  '__Secure-mercure_access_token',
];

/** The draft-07 query parameter carrying a token (1.0 drops it; RFC 9700 forbids tokens in URLs). */
export const TOKEN_QUERY_PARAMETER = 'authorization';

/**
 * Finds the access token of a request, or `undefined` when it carries none.
 *
 * Precedence, serving both drafts at once:
 * 1. the `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 9110 §11.1): when
 *    present it is used and both other places are ignored (draft-07 "Authorization"; 1.0 "Presenting
 *    the Access Token": cookies are ambient, so one beside a header is not an error);
 * 2. the `authorization` query parameter (draft-07: used when there is no header, and then "the
 *    content of the cookie must be ignored");
 * 3. the cookie (first name of `cookieName` present).
 *
 * Throws `AuthError` 400 `invalid_request` for a malformed presentation: an `Authorization` header
 * that is not `Bearer` followed by a token, or several different `authorization` query values.
 *
 * @example
 * const found = extractToken({ headers: req.headers, url: new URL(req.url!, 'http://hub') });
 * const claims = found && (await verifier.verify(found.token));
 */
export function extractToken(
  req: { headers: IncomingHttpHeaders; url: URL },
  cookieName: string | readonly string[] = DEFAULT_COOKIE_NAMES,
): ExtractedToken | undefined {
  const authorization = req.headers.authorization;
  if (authorization !== undefined) return { token: bearerToken(authorization), source: 'header' };

  const queryValues = req.url.searchParams.getAll(TOKEN_QUERY_PARAMETER);
  if (queryValues.length > 0) {
    const token = queryValues[0]!;
    if (queryValues.some((v) => v !== token)) {
      throw AuthError.invalidRequest(
        `the request carries ${queryValues.length} different "${TOKEN_QUERY_PARAMETER}" query parameters; send one token`,
      );
    }
    if (token === '')
      throw AuthError.invalidRequest(`the "${TOKEN_QUERY_PARAMETER}" query parameter is empty`);
    return { token, source: 'query' };
  }

  const cookieHeader = req.headers.cookie;
  if (cookieHeader === undefined || cookieHeader === '') return undefined;
  const names = typeof cookieName === 'string' ? [cookieName] : cookieName;
  for (const name of names) {
    const token = readCookie(cookieHeader, name);
    if (token !== undefined && token !== '') return { token, source: 'cookie' };
  }
  return undefined;
}

/** RFC 6750 §2.1: `Bearer` 1*SP b64token; extra spaces around the token are tolerated. */
const BEARER = /^\s*bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i;

/** The token of an `Authorization: Bearer` header value, or `undefined` when it is not one. */
export function bearerTokenOf(header: string): string | undefined {
  return BEARER.exec(header)?.[1];
}

/** As `bearerTokenOf`, but a 400 `invalid_request` saying what is wrong with the header. */
function bearerToken(header: string): string {
  const token = bearerTokenOf(header);
  if (token === undefined) {
    const scheme = header.trim().split(/\s+/, 1)[0] ?? '';
    throw AuthError.invalidRequest(
      /^bearer$/i.test(scheme)
        ? 'the Authorization header holds "Bearer" without a well-formed token; send "Bearer <token>"'
        : `the Authorization header uses the ${JSON.stringify(scheme.slice(0, 20))} scheme; this hub expects "Bearer <token>"`,
    );
  }
  return token;
}

/**
 * The value of the first cookie named `name` (RFC 6265 §5.4: a user agent sends cookies with longer
 * paths first, so the first one is the most specific), unquoted. Tokens need no percent-decoding.
 */
function readCookie(header: string, name: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    if (pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}
