import { decodeProtectedHeader, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import { DEFAULT_SELECTOR_BASE_URL, LruCache } from '../topics/index.js';
import { type Claims, claimsFrom10, claimsFromDraft07 } from './claims.js';
import { AuthConfigError, AuthError } from './errors.js';
import { type KeySource, remoteKeySource, staticKeySource, type VerifierKey } from './key-source.js';

export type { VerifierKey };

export interface VerifierOptions {
  /** A static key. Give `key`, `jwksUrl` or both. */
  key?: VerifierKey;
  /** A JWK Set URL; fetched on demand, cached, refetched for an unknown `kid` (jose's remote set). */
  jwksUrl?: string | URL;
  /** Algorithms accepted from the JWK Set; default every asymmetric algorithm (never HS*, never none). */
  jwksAlgorithms?: string[];
  /**
   * The hub's resource identifier(s). 1.0 tokens must list one in `aud`; a draft-07 token that has
   * an `aud` must list one too. Mercure's conformance suite uses `https://localhost/.well-known/mercure`.
   */
  audience?: string | string[];
  /**
   * Trusted issuer(s). 1.0 tokens must carry one as `iss`; a draft-07 token that has an `iss` must
   * carry one too. Mercure's conformance suite uses `https://localhost`.
   */
  issuer?: string | string[];
  /** Leeway for `exp` and `nbf`, in seconds (clocks of issuer and hub drift). Default 5. */
  clockToleranceSec?: number;
  /** Longest token accepted, in bytes, checked before any parsing. Default `DEFAULT_MAX_TOKEN_BYTES`. */
  maxTokenBytes?: number;
  /** Accept draft-07 tokens (no `typ: at+jwt`, `mercure` claim). Default true. */
  acceptDraft07?: boolean;
  /**
   * Verified tokens remembered, so that a publisher posting many updates with one token, or a
   * subscriber reconnecting, is not verified again; `exp` and `nbf` are still checked on every use.
   * Default `DEFAULT_VERIFIED_TOKEN_CACHE_SIZE`; 0 or 1 turns it off.
   */
  cacheSize?: number;
  /** Base URL for relative URL-pattern grants: the hub's URL (see `compileSelector`). */
  baseUrl?: string;
}

/** Verifies access tokens; create it once, at startup (keys are imported then). */
export interface Verifier {
  /**
   * Resolves the token's claims, or rejects with `AuthError`: `invalid_token` (401) for any token
   * that fails validation, 503 when the JWK Set cannot be fetched.
   */
  verify(token: string): Promise<Claims>;
  /**
   * The claims of a token verified before and still valid (its key still trusted, `exp` and `nbf`
   * checked now), without waiting; `undefined` otherwise, and then `verify` decides. Lets a caller
   * that sees the same token on every request (a keep-alive publisher) skip a promise per request.
   */
  cached?(token: string): Claims | undefined;
}

/**
 * 8 KiB: a token travels in a header or a cookie, which servers commonly cap at 8 KiB, and a
 * token of 100 grants of long URLs stays well under it. Larger input is refused before it is
 * decoded, so a client cannot make the hub base64-decode and parse megabytes per request.
 */
export const DEFAULT_MAX_TOKEN_BYTES = 8192;

/**
 * Verified tokens kept by default: 1,000 tokens of at most 8 KiB is at most 8 MiB, and a hub rarely
 * sees more distinct publisher tokens than that within a token's lifetime.
 */
export const DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 1000;

/**
 * How long a token verified with a key from a JWK Set is remembered (jose's default cache age of a
 * fetched set): a key the issuer removes from its set stops being honoured through the cache too,
 * as soon as the set itself would be fetched again.
 */
export const REMOTE_VERIFIED_TOKEN_TTL_MS = 600_000;

/** A remembered verification: the claims, and until when (ms) the key that verified it is trusted. */
interface Verified {
  claims: Claims;
  keyTrustedUntil: number;
  /** For a JWK Set: the source, and the set it was verified against (see `KeySource.generation`). */
  source?: KeySource;
  generation?: unknown;
}

/** Default leeway for `exp` and `nbf`, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_SEC = 5;

/** Compact JWS: three base64url segments (RFC 7515 §7.1). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Creates a token verifier for the hub.
 *
 * Rules it enforces (RFC 8725, RFC 9068, Mercure draft-07 and 1.0 "Token Validation"):
 * - the algorithm comes from the configuration or the key's type, never from the token: `none` is
 *   never accepted, and an HS256 token signed with an RSA public key as its secret is refused;
 * - `exp` and `nbf` are honoured, with `clockToleranceSec` of leeway;
 * - a `typ: at+jwt` token is 1.0: `iss`, `aud` and `exp` are required and checked, grants come from
 *   `authorization_details`; any other token is draft-07, grants from the `mercure` claim;
 * - tokens over `maxTokenBytes` are refused unread; malformed grants void the whole token.
 *
 * Throws `AuthConfigError` at once for unusable options.
 *
 * @example
 * const verifier = createVerifier({ key: { key: process.env.JWT_KEY! }, audience, issuer });
 * const claims = await verifier.verify(token); // throws AuthError
 * if (!canPublish(topics, claims.publishSelectors)) throw AuthError.insufficientScope('…');
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const sources: KeySource[] = [];
  if (options.key !== undefined) sources.push(staticKeySource(options.key));
  if (options.jwksUrl !== undefined) sources.push(remoteKeySource(options.jwksUrl, options.jwksAlgorithms));
  if (sources.length === 0) {
    throw new AuthConfigError('createVerifier needs a `key` (secret or PEM) or a `jwksUrl` to verify tokens');
  }
  const audience = toList(options.audience);
  const issuer = toList(options.issuer);
  const clockTolerance = options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
  if (!(clockTolerance >= 0)) {
    throw new AuthConfigError(
      `clockToleranceSec must be a non-negative number of seconds (got ${clockTolerance})`,
    );
  }
  const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < 64) {
    throw new AuthConfigError(`maxTokenBytes must be an integer of at least 64 (got ${maxTokenBytes})`);
  }
  const acceptDraft07 = options.acceptDraft07 ?? true;
  const baseUrl = options.baseUrl ?? DEFAULT_SELECTOR_BASE_URL;
  const cacheSize = options.cacheSize ?? DEFAULT_VERIFIED_TOKEN_CACHE_SIZE;
  if (!Number.isInteger(cacheSize) || cacheSize < 0) {
    throw new AuthConfigError(`cacheSize must be a non-negative integer (got ${cacheSize})`);
  }
  // A signature verified once stays verified; only the validity window depends on the time, so it is
  // checked again on every use. Each verifier has its own cache: one key (or key set), one cache, so
  // a token verified with the subscriber key never passes for a publisher. Only successes are kept.
  const verified = cacheSize >= 2 ? new LruCache<string, Verified>(cacheSize) : undefined;

  /** The remembered claims of `token` when its key is still trusted and it is valid now. */
  const cached = (token: string): Claims | undefined => {
    const known = verified?.get(token);
    if (
      known !== undefined &&
      // A static key's trust never ends: no clock read then (this runs once per publish).
      (known.keyTrustedUntil === Number.POSITIVE_INFINITY || Date.now() < known.keyTrustedUntil) &&
      (known.source?.generation === undefined || known.source.generation() === known.generation) &&
      withinValidity(known.claims.raw, clockTolerance)
    ) {
      return known.claims;
    }
    return undefined;
  };

  return {
    cached,
    async verify(token: string): Promise<Claims> {
      // Tokens are base64url and dots, so characters are bytes; anything else fails the shape check.
      if (typeof token !== 'string' || token.length > maxTokenBytes) {
        throw AuthError.invalidToken(
          `the access token is larger than maxTokenBytes (${String(token?.length)} > ${maxTokenBytes} bytes)`,
        );
      }
      const known = cached(token);
      // Otherwise (unknown, expired, or no longer valid after a clock step back) verified afresh:
      // an invalid token is refused by jose, as a fresh one would be, with its reason.
      if (known !== undefined) return known;
      if (!COMPACT_JWS.test(token)) {
        throw AuthError.invalidToken('the access token is not a compact JWS (three base64url parts)');
      }
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(token);
      } catch (cause) {
        throw AuthError.invalidToken('the access token header is not valid base64url JSON', { cause });
      }
      const alg = header.alg;
      const candidates = sources.filter((s) => typeof alg === 'string' && s.algorithms.includes(alg));
      if (candidates.length === 0) {
        throw AuthError.invalidToken(
          `the access token is signed with ${JSON.stringify(alg)}, which this hub does not accept ` +
            `(accepted: ${sources.flatMap((s) => s.algorithms).join(', ')})`,
        );
      }
      const is10 = isAccessTokenType(header.typ);
      if (!is10 && !acceptDraft07) {
        throw AuthError.invalidToken(
          'the access token lacks `typ: at+jwt` and draft-07 tokens are not accepted',
        );
      }
      const verifyOptions: JWTVerifyOptions = { clockTolerance };
      if (is10) {
        if (audience === undefined || issuer === undefined) {
          throw AuthError.invalidToken(
            'a 1.0 (at+jwt) token was presented but the hub has no `audience` and `issuer` configured ' +
              'to check it against; configure both',
          );
        }
        verifyOptions.audience = audience;
        verifyOptions.issuer = issuer;
        verifyOptions.requiredClaims = ['exp', 'iss', 'aud'];
      }
      // Read before verifying: if the set is fetched again meanwhile, the next use checks again.
      const generations = candidates.map((s) => s.generation?.());
      const { payload, source, index } = await verifyWithAny(token, candidates, verifyOptions);
      const remote = source.remote;
      if (!is10) checkOptionalClaims(payload, audience, issuer);
      const claims = is10 ? claimsFrom10(payload, baseUrl) : claimsFromDraft07(payload, baseUrl);
      verified?.set(token, {
        claims,
        keyTrustedUntil: remote ? Date.now() + REMOTE_VERIFIED_TOKEN_TTL_MS : Number.POSITIVE_INFINITY,
        ...(source.generation !== undefined && { source, generation: generations[index] }),
      });
      return claims;
    },
  };
}

/** The `exp` and `nbf` checks jose made at verification, made again for a remembered token. */
function withinValidity(payload: JWTPayload, toleranceSec: number): boolean {
  const { exp, nbf } = payload;
  if (typeof exp !== 'number' && typeof nbf !== 'number') return true; // no clock read needed
  const now = Math.floor(Date.now() / 1000);
  if (typeof exp === 'number' && exp <= now - toleranceSec) return false;
  if (typeof nbf === 'number' && nbf > now + toleranceSec) return false;
  return true;
}

/** RFC 9068 §4: `typ` is `at+jwt` or `application/at+jwt`, compared case-insensitively. */
function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  return lower === 'at+jwt' || lower === 'application/at+jwt';
}

/**
 * With a static key and a JWK Set of the same family (an RSA PEM and an RSA JWKS), the token's `alg`
 * fits both: the static key is tried first, then the set. Any error but a signature mismatch ends
 * the search, since trying another key cannot cure an expired token.
 */
async function verifyWithAny(
  token: string,
  sources: KeySource[],
  options: JWTVerifyOptions,
): Promise<{ payload: JWTPayload; source: KeySource; index: number }> {
  for (let i = 0; ; i++) {
    try {
      return { payload: await verifySignature(token, sources[i]!, options), source: sources[i]!, index: i };
    } catch (err) {
      const cause = (err as AuthError).cause as { code?: string } | undefined;
      const signatureMismatch = cause?.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED';
      if (i === sources.length - 1 || !signatureMismatch) throw err;
    }
  }
}

async function verifySignature(
  token: string,
  source: KeySource,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, source.key, {
      ...options,
      algorithms: source.algorithms,
    });
    return payload;
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (
      source.remote &&
      (!code || code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || code === 'ERR_JOSE_GENERIC')
    ) {
      throw AuthError.keysUnavailable(
        `the JWK Set could not be fetched or read (${(cause as Error).message}); check jwksUrl`,
        { cause },
      );
    }
    throw AuthError.invalidToken(`the access token failed verification: ${describeJoseError(cause)}`, {
      cause,
    });
  }
}

function describeJoseError(cause: unknown): string {
  const error = cause as { code?: string; message?: string; claim?: string };
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return 'it has expired (exp)';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `claim ${JSON.stringify(error.claim)} is invalid: ${error.message}`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'its signature does not match the configured key';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no key of the JWK Set matches its header (kid, alg)';
    default:
      return `${error.code ?? 'error'}: ${error.message ?? String(cause)}`;
  }
}

/** Draft-07 tokens need no `aud`/`iss`, but one that names another hub or issuer is refused. */
function checkOptionalClaims(
  payload: JWTPayload,
  audience: string[] | undefined,
  issuer: string[] | undefined,
): void {
  if (audience !== undefined && payload.aud !== undefined) {
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!auds.some((a) => audience.includes(a))) {
      throw AuthError.invalidToken(`the token's aud ${JSON.stringify(payload.aud)} does not name this hub`);
    }
  }
  if (issuer !== undefined && payload.iss !== undefined && !issuer.includes(payload.iss)) {
    throw AuthError.invalidToken(`the token's iss ${JSON.stringify(payload.iss)} is not a trusted issuer`);
  }
}

function toList(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.length === 0 ? undefined : list;
}
