import { HeraldError } from '../../errors.js';

/** The error codes of RFC 6750 §3.1, carried in the `WWW-Authenticate: Bearer` challenge. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/** HTTP statuses an `AuthError` maps to. */
export type AuthErrorStatus = 400 | 401 | 403 | 503;

const CODES: Record<string, string> = {
  invalid_request: 'HERALD_ERR_AUTH_INVALID_REQUEST',
  invalid_token: 'HERALD_ERR_AUTH_INVALID_TOKEN',
  insufficient_scope: 'HERALD_ERR_AUTH_INSUFFICIENT_SCOPE',
};

/**
 * A request refused for its credentials, ready to be answered (Mercure 1.0 "Error Responses",
 * RFC 6750 §3):
 * - 400 `invalid_request`: the token's presentation is malformed (a non-Bearer `Authorization`
 *   header, two different tokens);
 * - 401 `invalid_token`: the token fails validation (signature, expiry, audience, claims...);
 * - 401 without `error`: a token is required and none was presented (`AuthError.required()`);
 * - 403 `insufficient_scope`: a valid token that does not grant the operation;
 * - 503 without `error`: the signing keys (JWKS) could not be fetched; not the client's fault.
 *
 * `message` says precisely what failed, for logs; `description` is what may be sent to the client
 * as `error_description`. For `invalid_token` it stays generic, because telling an expired token from
 * a forged one helps an attacker and not the client (Mercure 1.0 "Error Responses").
 */
export class AuthError extends HeraldError {
  readonly status: AuthErrorStatus;
  /** The RFC 6750 error code; `undefined` for a missing token and for unavailable keys. */
  readonly error: BearerErrorCode | undefined;
  /** Safe to send as `error_description`. */
  readonly description: string;

  constructor(
    status: AuthErrorStatus,
    error: BearerErrorCode | undefined,
    description: string,
    message: string,
    options?: { cause?: unknown; code?: string },
  ) {
    super(
      options?.code ?? (error === undefined ? 'HERALD_ERR_AUTH_REQUIRED' : CODES[error]!),
      message,
      options,
    );
    this.status = status;
    this.error = error;
    this.description = description;
  }

  /** 401 without error code: the operation needs a token and none was presented. */
  static required(message = 'an access token is required for this operation; present one'): AuthError {
    return new AuthError(401, undefined, 'an access token is required', message);
  }

  /** 400 `invalid_request`: how the token was presented is malformed. */
  static invalidRequest(description: string): AuthError {
    return new AuthError(400, 'invalid_request', description, description);
  }

  /** 401 `invalid_token`; `message` holds the precise reason, for logs only. */
  static invalidToken(message: string, options?: { cause?: unknown }): AuthError {
    return new AuthError(401, 'invalid_token', 'the access token is invalid', message, options);
  }

  /** 403 `insufficient_scope`: the token is valid but does not grant this operation. */
  static insufficientScope(description: string): AuthError {
    return new AuthError(403, 'insufficient_scope', description, description);
  }

  /** 503: the keys to verify the token could not be obtained (JWKS endpoint down or invalid). */
  static keysUnavailable(message: string, options?: { cause?: unknown }): AuthError {
    return new AuthError(503, undefined, 'the token signing keys are unavailable, retry later', message, {
      ...options,
      code: 'HERALD_ERR_AUTH_KEYS_UNAVAILABLE',
    });
  }
}

/** The verifier's options are unusable: no key, a key the algorithm does not fit, a bad URL. */
export class AuthConfigError extends HeraldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HERALD_ERR_AUTH_CONFIG', message, options);
  }
}

/** Optional parameters of a `WWW-Authenticate: Bearer` challenge. */
export interface BearerChallengeParams {
  realm?: string;
  /** RFC 9728 protected resource metadata URL (Mercure 1.0 recommends it on every challenge). */
  resourceMetadata?: string;
  /** Space-separated scopes needed (RFC 6750 §3). */
  scope?: string;
}

/**
 * The `WWW-Authenticate` header value for an error (or, without one, for a request that needs a
 * token): `Bearer realm="…", error="invalid_token", error_description="…"`. Values are quoted and
 * escaped; characters outside printable ASCII are replaced, as RFC 6750 §3 restricts the
 * `error_description` character set.
 *
 * @example
 * res.writeHead(err.status, { 'www-authenticate': bearerChallenge(err, { realm: 'mercure' }) });
 */
export function bearerChallenge(error?: AuthError, params: BearerChallengeParams = {}): string {
  const parts: string[] = [];
  if (params.realm !== undefined) parts.push(`realm=${quote(params.realm)}`);
  if (params.resourceMetadata !== undefined)
    parts.push(`resource_metadata=${quote(params.resourceMetadata)}`);
  if (error?.error !== undefined) {
    parts.push(`error=${quote(error.error)}`);
    parts.push(`error_description=${quote(error.description)}`);
  }
  if (params.scope !== undefined) parts.push(`scope=${quote(params.scope)}`);
  return parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}`;
}

function quote(value: string): string {
  // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E; the rest is replaced, and `"`
  // and `\` are escaped as an RFC 9110 quoted-string requires.
  return `"${value.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&')}"`;
}
