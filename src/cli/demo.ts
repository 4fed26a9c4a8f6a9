/**
 * `--demo`: a hub someone can try in one command. Without keys, the hub gets a random HMAC key
 * (it lives in this process only, so every token dies with it) and lets anonymous subscribers in;
 * the banner prints what to open and a ready-to-paste publish command with a signed token.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { DEMO_TOPICS, type DemoOptions, HUB_PATH, isPemKey } from '../hub/index.js';

import type { ServeConfig } from './serve-options.js';

/** The topic the printed commands use: the demo's notifications page shows what is published there. */
export const DEMO_TOPIC = DEMO_TOPICS.notifications;

/**
 * The printed token may publish anything: it lives an hour, long enough to try the demo, short
 * enough that one pasted into a chat or a shell history is soon worth nothing.
 */
export const DEMO_TOKEN_LIFETIME_SECONDS = 3600;

/**
 * Where the demo listens unless `--host` says otherwise: this machine only. It lets anonymous
 * subscribers in and prints a publish-anything token, which the network at large has no use for.
 */
export const DEMO_HOST = 'localhost';

/**
 * The config with the demo's choices applied: loopback unless a host was given, and a random key
 * with anonymous subscribers when no key was given.
 */
export function applyDemo(requested: ServeConfig): ServeConfig {
  if (!requested.demo) return requested;
  const config = requested.host === undefined ? { ...requested, host: DEMO_HOST } : requested;
  const keyGiven =
    config.jwtKey !== undefined ||
    config.publisherJwtKey !== undefined ||
    config.subscriberJwtKey !== undefined ||
    config.jwksUrl !== undefined;
  if (keyGiven) return config;
  // 32 random bytes: the HS256 key size RFC 7518 section 3.2 asks for (at least the hash size).
  return { ...config, jwtKey: randomBytes(32).toString('base64url'), jwtAlgorithm: 'HS256', anonymous: true };
}

/**
 * A draft-07 publisher token allowed to publish and subscribe to every topic, or undefined when the
 * publisher key is not an HMAC secret (the hub cannot sign with a public key).
 */
export async function demoPublisherToken(config: ServeConfig): Promise<string | undefined> {
  const key = config.publisherJwtKey ?? config.jwtKey;
  if (key === undefined || isPemKey(key)) return undefined;
  const algorithm = config.publisherJwtAlgorithm ?? config.jwtAlgorithm ?? 'HS256';
  return new SignJWT({ mercure: { publish: ['*'], subscribe: ['*'] } })
    .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(`${DEMO_TOKEN_LIFETIME_SECONDS}s`)
    .sign(new TextEncoder().encode(key));
}

/**
 * What the demo pages need: the HMAC key to sign the notifications page's narrow publisher token
 * (none when the publisher key is a public key), and whether this process runs the demo publishers.
 */
export function demoMountOptions(config: ServeConfig, publishers: boolean): DemoOptions {
  const key = config.publisherJwtKey ?? config.jwtKey;
  const options: DemoOptions = { publishers };
  if (key !== undefined && !isPemKey(key)) {
    options.publisherKey = key;
    options.algorithm = config.publisherJwtAlgorithm ?? config.jwtAlgorithm ?? 'HS256';
  }
  return options;
}

/** The lines printed once the demo hub listens on `baseUrl` (such as `http://localhost:3000`). */
export function demoBanner(baseUrl: string, token: string | undefined): string {
  const hub = `${baseUrl}${HUB_PATH}`;
  const lines = [
    '',
    'Herald demo hub',
    `  open        ${baseUrl}/`,
    `  subscribe   curl -N '${hub}?topic=${encodeURIComponent(DEMO_TOPIC)}'`,
  ];
  if (token === undefined) {
    lines.push('  publish     (sign a publisher token with your key: the hub only holds its public half)');
  } else {
    lines.push(
      `  publish     curl -X POST '${hub}' -H 'Authorization: Bearer ${token}' ` +
        `--data-urlencode 'topic=${DEMO_TOPIC}' --data-urlencode 'data={"text":"hello from curl","at":'$(date +%s000)'}'`,
    );
  }
  lines.push('', '');
  return lines.join('\n');
}
