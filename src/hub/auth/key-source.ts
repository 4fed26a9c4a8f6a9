import { createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
import { createRemoteJWKSet, type JWKSCacheInput, type JWTVerifyGetKey, jwksCache } from 'jose';
import { AuthConfigError } from './errors.js';

/** A static key configured by the operator; the token never chooses it nor its algorithm. */
export interface VerifierKey {
  /**
   * An HMAC secret, or a PEM: SPKI public key (`BEGIN PUBLIC KEY`), PKCS#1 RSA public key, X.509
   * certificate, or a private key (its public half is used).
   */
  key: string;
  /**
   * The one algorithm accepted. By default every algorithm of the key's family: HS256/384/512 for a
   * secret, RS* and PS* for RSA, ES256/384/512 by curve, EdDSA for Ed25519.
   */
  algorithm?: string;
}

/** Where signatures are checked, and the only algorithms that may be used with it. */
export interface KeySource {
  key: JWTVerifyGetKey;
  algorithms: string[];
  /** A JWK Set fetched over the network: failing to read it is the hub's problem, not the token's. */
  remote: boolean;
  /**
   * For a JWK Set: the set as last fetched, a new value each time it is fetched again. A token
   * verified against one set is trusted from cache only while that set is current: once the issuer
   * removed the key that signed it, the next fetch ends that trust at once (it lasted up to the
   * cache's 10 minutes after the fetch).
   */
  generation?: () => unknown;
}

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
/**
 * The shortest HMAC secret each algorithm takes, in bytes: the size of its hash (RFC 7518 section
 * 3.2, "a key of the same size as the hash output or larger MUST be used"). A shorter secret can be
 * guessed offline from any one token it signed.
 */
export const HMAC_MIN_KEY_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
/** Every asymmetric JWS algorithm jose verifies; `Ed25519` is RFC 9864's name for EdDSA on Ed25519. */
export const ASYMMETRIC_ALGORITHMS = [...RSA_ALGORITHMS, 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const EC_ALGORITHM_BY_CURVE: Record<string, string> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/**
 * A configured secret or PEM as a key source. Throws `AuthConfigError` for a key that cannot be read
 * or an `algorithm` that does not fit it (e.g. HS256 with an RSA key: the algorithm-confusion attack
 * needs exactly that pairing, so it is refused at configuration).
 */
export function staticKeySource(config: VerifierKey): KeySource {
  const checked = checkStaticKey(config);
  if (checked.secret !== undefined) {
    return { key: cryptoKeys(checked.secret, 'raw'), algorithms: checked.algorithms, remote: false };
  }
  const der = checked.publicKey!.export({ type: 'spki', format: 'der' });
  return { key: cryptoKeys(der, 'spki'), algorithms: checked.algorithms, remote: false };
}

/** True when `key` is PEM text (a key or certificate), false for an HMAC secret. */
export function isPemKey(key: string): boolean {
  return key.trimStart().startsWith('-----BEGIN');
}

/**
 * The one check of a configured key and algorithm, for the hub and the command line alike: a PEM
 * that reads, an algorithm that fits the key (HS* only with a secret, RS* and PS* with RSA, ES* by
 * curve...), and a secret at least as long as its algorithm's hash. Throws `AuthConfigError`
 * naming the rule, the value and the fix; returns the algorithms the key may verify.
 */
export function checkJwtKey(config: VerifierKey): string[] {
  return checkStaticKey(config).algorithms;
}

interface CheckedKey {
  algorithms: string[];
  secret?: Uint8Array;
  publicKey?: KeyObject;
}

function checkStaticKey(config: VerifierKey): CheckedKey {
  if (typeof config.key !== 'string' || config.key === '') {
    throw new AuthConfigError('key.key must be a non-empty string: an HMAC secret or a PEM key/certificate');
  }
  if (!isPemKey(config.key)) {
    const secret = new TextEncoder().encode(config.key);
    const algorithms = hmacAlgorithmsFor(secret.byteLength, config.algorithm);
    return { algorithms, secret };
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(config.key);
  } catch (cause) {
    throw new AuthConfigError(
      `key.key looks like PEM but is not a readable public key, private key or certificate (${(cause as Error).message})`,
      { cause },
    );
  }
  const algorithms = narrow(
    algorithmsForKey(publicKey),
    config.algorithm,
    `this ${publicKey.asymmetricKeyType} key`,
  );
  return { algorithms, publicKey };
}

/**
 * The HMAC algorithms a secret of `bytes` may verify: the one asked for if the secret is long
 * enough for it, else (no algorithm given) those it is long enough for, HS256 at the least.
 */
function hmacAlgorithmsFor(bytes: number, algorithm: string | undefined): string[] {
  const allowed = narrow(HMAC_ALGORITHMS, algorithm, 'an HMAC secret (a PEM key would fit it)');
  const long = allowed.filter((alg) => bytes >= HMAC_MIN_KEY_BYTES[alg]!);
  if (long.length > 0) return long;
  const alg = allowed[0]!;
  const min = HMAC_MIN_KEY_BYTES[alg]!;
  throw new AuthConfigError(
    `an HMAC secret for ${alg} must be at least ${min} bytes, the size of its hash (RFC 7518 section 3.2); ` +
      `this one has ${bytes}: use a random secret of ${min} bytes or more, such as the output of ` +
      `\`openssl rand -base64 ${min}\``,
  );
}

/** A JWK Set URL as a key source (jose's remote set: fetched on demand, cached, cooled down). */
export function remoteKeySource(url: string | URL, algorithms: string[] | undefined): KeySource {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new AuthConfigError(`jwksUrl must be an absolute URL (got ${JSON.stringify(String(url))})`, {
      cause,
    });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new AuthConfigError(`jwksUrl must be an http(s) URL (got ${parsed.protocol})`);
  }
  const accepted = algorithms ?? ASYMMETRIC_ALGORITHMS;
  for (const alg of accepted) {
    if (!ASYMMETRIC_ALGORITHMS.includes(alg)) {
      throw new AuthConfigError(
        `jwksAlgorithms may only hold asymmetric algorithms (got ${JSON.stringify(alg)}); ` +
          `use some of ${ASYMMETRIC_ALGORITHMS.join(', ')}`,
      );
    }
  }
  // jose writes a fetched set into this object in the same step as it starts verifying with it, so
  // its `jwks` field changes exactly when the keys in use do.
  const fetched: { uat?: number; jwks?: unknown } = {};
  return {
    key: createRemoteJWKSet(parsed, { [jwksCache]: fetched as JWKSCacheInput }),
    algorithms: accepted,
    remote: true,
    generation: () => fetched.jwks,
  };
}

/**
 * Hands jose a WebCrypto key imported once per algorithm. Given raw bytes, jose imports the key
 * again on every verification: an HS256 verification then cost about 1.8 times as much (best of 15
 * rounds: 193 us against 104 us of CPU on a loaded 2-core machine). The token's `alg` is one the
 * key source allows (checked before), so the map holds at most one key per allowed algorithm.
 */
function cryptoKeys(material: Uint8Array, format: 'raw' | 'spki'): JWTVerifyGetKey {
  const byAlgorithm = new Map<string, Promise<webcrypto.CryptoKey>>();
  return (header) => {
    const alg = header.alg ?? '';
    let key = byAlgorithm.get(alg);
    if (key === undefined) {
      key = webcrypto.subtle.importKey(format, material, importParams(alg), false, ['verify']);
      byAlgorithm.set(alg, key);
    }
    return key;
  };
}

/** WebCrypto import parameters for a JWS algorithm (RFC 7518 §3.1 names to WebCrypto names). */
function importParams(
  alg: string,
): webcrypto.AlgorithmIdentifier | webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams {
  const hash = `SHA-${alg.slice(2)}`;
  switch (alg.slice(0, 2)) {
    case 'HS':
      return { name: 'HMAC', hash };
    case 'RS':
      return { name: 'RSASSA-PKCS1-v1_5', hash };
    case 'PS':
      return { name: 'RSA-PSS', hash };
    case 'ES':
      return { name: 'ECDSA', namedCurve: alg === 'ES512' ? 'P-521' : `P-${alg.slice(2)}` };
    default:
      return { name: 'Ed25519' };
  }
}

/** Every algorithm the key's type can verify: the token's `alg` must be one of them. */
function algorithmsForKey(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return RSA_ALGORITHMS;
    case 'ec': {
      const alg = EC_ALGORITHM_BY_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (alg === undefined) {
        throw new AuthConfigError(
          `unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve}; use P-256, P-384 or P-521`,
        );
      }
      return [alg];
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      // Ed448 and RSA-PSS-only keys included: jose cannot verify with them.
      throw new AuthConfigError(
        `unsupported key type ${key.asymmetricKeyType}; use RSA, EC (P-256/384/521) or Ed25519`,
      );
  }
}

function narrow(allowed: string[], algorithm: string | undefined, what: string): string[] {
  if (algorithm === undefined) return allowed;
  if (!allowed.includes(algorithm)) {
    throw new AuthConfigError(
      `algorithm ${JSON.stringify(algorithm)} cannot be used with ${what} (use one of ${allowed.join(', ')})`,
    );
  }
  return [algorithm];
}
