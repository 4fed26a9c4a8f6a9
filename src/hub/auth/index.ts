// The public face of the hub's authorization: find a token, verify it, read its grants.
export { type Claims, MAX_TOKEN_GRANTS, MERCURE_AUTHORIZATION_DETAIL_TYPE } from './claims.js';
export {
  AuthConfigError,
  AuthError,
  type AuthErrorStatus,
  type BearerChallengeParams,
  type BearerErrorCode,
  bearerChallenge,
} from './errors.js';
export {
  bearerTokenOf,
  DEFAULT_COOKIE_NAMES,
  type ExtractedToken,
  extractToken,
  TOKEN_QUERY_PARAMETER,
  type TokenSource,
} from './extract-token.js';
export { checkJwtKey, HMAC_MIN_KEY_BYTES, isPemKey } from './key-source.js';
export {
  createVerifier,
  DEFAULT_CLOCK_TOLERANCE_SEC,
  DEFAULT_MAX_TOKEN_BYTES,
  DEFAULT_VERIFIED_TOKEN_CACHE_SIZE,
  type Verifier,
  type VerifierKey,
  type VerifierOptions,
} from './verifier.js';
