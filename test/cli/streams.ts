/**
 * Raw event streams for the CLI tests, over HTTP/1.1 (plain or TLS) and HTTP/2: the bytes as they
 * arrive, and helpers to wait for some of them or for the end. Also a publisher token and a POST.
 */
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { SignJWT } from 'jose';
import { bounded } from '../support/retry.js';

export interface RawStream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Everything received so far, as text. */
  text(): string;
  /** Resolves once the received text matches `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

function track(
  status: number,
  headers: RawStream['headers'],
  body: NodeJS.ReadableStream,
  close: () => void,
): RawStream {
  let text = '';
  const waiters = new Set<() => void>();
  body.setEncoding('utf8');
  body.on('data', (chunk: string) => {
    text += chunk;
    for (const wake of waiters) wake();
  });
  const ended = new Promise<void>((resolve) => {
    body.once('end', resolve);
    body.once('close', resolve);
  });
  let done = false;
  void ended.then(() => {
    done = true;
    for (const wake of waiters) wake();
  });
  return {
    status,
    headers,
    text: () => text,
    ended,
    close,
    waitFor(pattern) {
      let check = () => {};
      const match = new Promise<void>((resolve, reject) => {
        check = () => {
          if (pattern.test(text)) {
            waiters.delete(check);
            resolve();
          } else if (done) {
            waiters.delete(check);
            reject(new Error(`stream ended before ${pattern}; received: ${JSON.stringify(text)}`));
          }
        };
        waiters.add(check);
        check();
      });
      return bounded(match, () => `${pattern} in the stream; received: ${JSON.stringify(text)}`).finally(() =>
        waiters.delete(check),
      );
    },
  };
}

/** Opens a stream over HTTP/1.1 (`http:` or `https:` with `ca`), on a connection of its own. */
export async function openStream(
  url: string,
  options: { ca?: string; headers?: Record<string, string> } = {},
) {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  const req = client.get(target, {
    agent: false,
    headers: { Accept: 'text/event-stream', ...options.headers },
    ...(options.ca === undefined ? {} : { ca: options.ca, ALPNProtocols: ['http/1.1'] }),
  });
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  return track(res.statusCode ?? 0, res.headers, res, () => req.destroy());
}

/** Opens a stream over HTTP/2 (TLS, `ca` trusted) on a session of its own. */
export async function openHttp2Stream(url: string, ca: string) {
  const target = new URL(url);
  const session = http2.connect(target.origin, { ca });
  const req = session.request({ ':path': `${target.pathname}${target.search}`, accept: 'text/event-stream' });
  const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
  const stream = track(Number(headers[':status']), headers, req, () => session.destroy());
  void stream.ended.then(() => session.close());
  return stream;
}

/** A draft-07 publisher token for `key` (HS256), allowed to publish on every topic. */
export function publisherToken(key: string): Promise<string> {
  return new SignJWT({ mercure: { publish: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(key));
}

/** POSTs an update; resolves with the status and body. Works over https with `ca` (HTTP/1.1). */
export async function publish(
  hubUrl: string,
  token: string,
  fields: Record<string, string>,
  ca?: string,
): Promise<{ status: number; body: string }> {
  const target = new URL(hubUrl);
  const body = new URLSearchParams(fields).toString();
  const client = target.protocol === 'https:' ? https : http;
  const req = client.request(target, {
    method: 'POST',
    agent: false,
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      'Content-Length': Buffer.byteLength(body),
    },
    ...(ca === undefined ? {} : { ca }),
  });
  req.end(body);
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk;
  return { status: res.statusCode ?? 0, body: text };
}

/** The URL in herald's "herald listening" log line. */
export async function listeningUrl(proc: { waitForOutput(p: RegExp): Promise<RegExpMatchArray> }) {
  const [line] = await proc.waitForOutput(/\{[^\n]*"msg":"herald listening"[^\n]*\}/);
  return JSON.parse(line).url as string;
}
