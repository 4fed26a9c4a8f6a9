/**
 * A hub on a real port for tests, tokens signed like Mercure's own suites, and a raw event-stream
 * reader. Shared by every hub test file.
 *
 * @example
 * const hub = await startHub({ anonymous: true });
 * t.after(() => hub.close());
 * const sub = await openStream(`${hub.hubUrl}?topic=/books/1`);
 * await publish(hub, { topic: '/books/1', data: 'x' }, await signDraft07({ publish: ['*'] }));
 * const event = await sub.next();
 */
import { once } from 'node:events';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { createHub, type Hub, type HubOptions } from '../../src/hub/index.js';
import { createParser, type ParsedEvent } from '../../src/protocol/index.js';
import { bounded } from './retry.js';

/** The key, audience and issuer of Mercure's conformance suite. */
export const TEST_KEY = '!ChangeThisMercureHubJWTSecretKey!';
export const TEST_AUDIENCE = 'https://localhost/.well-known/mercure';
export const TEST_ISSUER = 'https://localhost';
export const HUB_PATH = '/.well-known/mercure';

export interface TestHub {
  hub: Hub;
  server: http.Server;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** `http://127.0.0.1:PORT/.well-known/mercure` */
  hubUrl: string;
  /** Closes the hub (streams end) and the server. */
  close(): Promise<void>;
}

/** Starts a hub keyed with {@link TEST_KEY} (audience and issuer of the conformance suite). */
export async function startHub(options: HubOptions = {}): Promise<TestHub> {
  const hub = createHub({ jwt: { key: TEST_KEY }, audience: TEST_AUDIENCE, issuer: TEST_ISSUER, ...options });
  const server = http.createServer((req, res) => hub.handle(req, res));
  server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  return {
    hub,
    server,
    origin,
    hubUrl: `${origin}${HUB_PATH}`,
    close() {
      closed ??= (async () => {
        await hub.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closed;
    },
  };
}

export interface Draft07Grants {
  publish?: string[];
  subscribe?: string[];
  payload?: unknown;
}

export interface SignOptions {
  key?: string;
  /** Expiry in seconds from now; omitted: no `exp` for draft-07, one hour for 1.0. */
  expiresInSec?: number;
  /** An absolute `exp` (seconds since the epoch). */
  exp?: number;
}

function secret(key: string): Uint8Array {
  return new TextEncoder().encode(key);
}

/** A draft-07 token (`mercure` claim, no `typ`), HS256. */
export async function signDraft07(grants: Draft07Grants, options: SignOptions = {}): Promise<string> {
  const jwt = new SignJWT({ mercure: grants }).setProtectedHeader({ alg: 'HS256' });
  if (options.exp !== undefined) jwt.setExpirationTime(options.exp);
  else if (options.expiresInSec !== undefined)
    jwt.setExpirationTime(Math.floor(Date.now() / 1000) + options.expiresInSec);
  return jwt.sign(secret(options.key ?? TEST_KEY));
}

export interface Grant10 {
  actions: string[];
  topics: { match: string; match_type?: string }[];
  payload?: unknown;
}

/** A 1.0 token (`typ: at+jwt`, `authorization_details`, `aud`, `iss`, `exp`), HS256. */
export async function sign10(grants: Grant10[], options: SignOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const exp = options.exp ?? now + (options.expiresInSec ?? 3600);
  return new SignJWT({
    authorization_details: grants.map((g) => ({ type: 'https://mercure.rocks/authorization-detail', ...g })),
    client_id: 'herald-tests',
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setAudience(TEST_AUDIENCE)
    .setIssuer(TEST_ISSUER)
    .setSubject('tester')
    .setIssuedAt(now)
    .setJti(`urn:uuid:${crypto.randomUUID()}`)
    .setExpirationTime(exp)
    .sign(secret(options.key ?? TEST_KEY));
}

/** A publish over HTTP. `fields` values may repeat (arrays). */
export async function publish(
  target: TestHub | string,
  fields: Record<string, string | string[] | undefined>,
  token: string | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  }
  const url = typeof target === 'string' ? target : target.hubUrl;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body,
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** An open event stream read raw: bytes kept, events parsed with herald/protocol. */
export interface OpenStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** Everything received so far, as text. */
  readonly text: string;
  /** Events received so far. */
  readonly events: ParsedEvent[];
  /**
   * Resolves with the next event not yet returned by `next` (rejects when the stream ends first, or
   * after retry.ts's WAIT_BOUND_MS).
   */
  next(): Promise<ParsedEvent>;
  /** Resolves when the server ends the response. */
  readonly ended: Promise<void>;
  /** True once the response ended. */
  readonly done: boolean;
  close(): void;
}

/**
 * Opens `url` with GET and reads it as an event stream. Resolves once the response headers are in
 * (for any status; the body of a non-200 is in `text` once `ended`).
 */
export function openStream(
  url: string,
  headers: Record<string, string> = {},
  agent?: http.Agent | false,
): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const options = {
      headers: { accept: 'text/event-stream', ...headers },
      ...(agent !== undefined && { agent }),
    };
    const req = http.get(url, options, (res) => {
      const events: ParsedEvent[] = [];
      let text = '';
      let taken = 0;
      let done = false;
      let waiter: { resolve: (e: ParsedEvent) => void; reject: (e: Error) => void } | undefined;
      const parser = createParser({
        onEvent(event) {
          events.push(event);
          if (waiter !== undefined && taken < events.length) {
            const w = waiter;
            waiter = undefined;
            w.resolve(events[taken++]!);
          }
        },
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        parser.feed(chunk);
      });
      const ended = new Promise<void>((resolveEnd) => {
        const finish = () => {
          if (done) return;
          done = true;
          if (waiter !== undefined)
            waiter.reject(new Error(`stream ended before the next event; got: ${text}`));
          waiter = undefined;
          resolveEnd();
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        get text() {
          return text;
        },
        events,
        ended,
        get done() {
          return done;
        },
        next() {
          if (taken < events.length) return Promise.resolve(events[taken++]!);
          if (done) return Promise.reject(new Error(`stream ended; got: ${text}`));
          const wait = new Promise<ParsedEvent>((res2, rej2) => {
            waiter = { resolve: res2, reject: rej2 };
          });
          return bounded(wait, () => `the next event of ${url}; got: ${text}`);
        },
        close() {
          req.destroy();
        },
      });
    });
    req.on('error', reject);
  });
}

/** Builds a subscribe URL from repeated parameters. */
export function subscribeUrl(hub: TestHub, params: [string, string][]): string {
  const url = new URL(hub.hubUrl);
  for (const [name, value] of params) url.searchParams.append(name, value);
  return url.toString();
}
