/**
 * The TLS port holds nothing for a client that does nothing: a silent TCP connection is dropped at
 * the handshake timeout, stalled headers get 408, so does a body dribbled past the request timeout,
 * an idle HTTP/1.1 keep-alive connection and an idle HTTP/2 session are closed (the session with
 * GOAWAY, its open streams left to finish), and HTTP/2 advertises a limit on concurrent streams,
 * refusing streams past it one by one.
 * (Before: idle sessions and keep-alive connections were open after 310 s, stalled headers got
 * 408 at 90 s, a silent socket was held 120 s; no stream limit was advertised.)
 *
 * Real TLS on a real port, with the listener `herald serve` uses, its timeouts shortened.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import {
  createHttpListener,
  DEFAULT_LISTENER_TIMEOUTS,
  HTTP2_MAX_CONCURRENT_STREAMS,
  type HttpListener,
} from '../../src/cli/http-listener.js';
import { bounded } from '../support/retry.js';
import { selfSigned } from '../support/self-signed.js';

const TIMEOUTS = {
  headersMs: 600,
  requestMs: 2_000,
  keepAliveMs: 400,
  http2IdleMs: 600,
  tlsHandshakeMs: 500,
  checkIntervalMs: 100,
};
/** Bounded waits: each event is due within a second; 10 s is a generous margin on a loaded machine. */
const WAIT_MS = 10_000;

/** `/stream` stays open (writing one chunk); `/upload` answers once its body is in; anything else at once. */
function handler(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) {
  if (req.url === '/upload') {
    req.resume();
    req.on('end', () => (res as http.ServerResponse).end('received\n'));
    return;
  }
  (res as http.ServerResponse).writeHead(200, { 'content-type': 'text/plain' });
  if (req.url === '/stream') (res as http.ServerResponse).write('open\n');
  else (res as http.ServerResponse).end('ok\n');
}

describe('the TLS listener bounds what idle and slow clients hold', () => {
  let dir: string;
  let ca: string;
  let listener: HttpListener;
  let port: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-tls-timeouts-'));
    const files = selfSigned(dir);
    ca = readFileSync(files.cert, 'utf8');
    listener = createHttpListener(files, handler, undefined, TIMEOUTS);
    port = (await listener.listen(0, '127.0.0.1')).port;
  });
  after(async () => {
    await listener.finish(0);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the default timeouts are the documented ones', () => {
    assert.deepEqual(DEFAULT_LISTENER_TIMEOUTS, {
      headersMs: 10_000,
      requestMs: 30_000,
      keepAliveMs: 5_000,
      http2IdleMs: 30_000,
      tlsHandshakeMs: 10_000,
      checkIntervalMs: 1_000,
    });
  });

  test('a TCP connection that never starts its handshake is closed at the handshake timeout', async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const t0 = performance.now();
    await bounded(new Promise((resolve) => socket.once('close', resolve)), 'silent socket closed', WAIT_MS);
    assert.ok(performance.now() - t0 >= TIMEOUTS.tlsHandshakeMs * 0.8);
  });

  test('HTTP/1.1 over TLS: stalled headers get 408 at the headers timeout', async () => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca, ALPNProtocols: ['http/1.1'] });
    await bounded(new Promise((resolve) => socket.once('secureConnect', resolve)), 'handshake', WAIT_MS);
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    await bounded(new Promise((resolve) => socket.once('close', resolve)), 'stalled request closed', WAIT_MS);
    assert.match(answer, /^HTTP\/1\.1 408 /);
  });

  test('HTTP/1.1 over TLS: a body dribbled past the request timeout gets 408', async () => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca, ALPNProtocols: ['http/1.1'] });
    await bounded(new Promise((resolve) => socket.once('secureConnect', resolve)), 'handshake', WAIT_MS);
    let answer = '';
    // Headers complete at once, then one body byte every 200 ms: never idle, never done. The
    // client stops sending once the answer starts, as a real one would; a byte already on its way
    // then meets a closed socket, and the reset that answers it is no failure of the hub.
    let reset: Error | undefined;
    socket.on('error', (error) => {
      reset = error;
    });
    socket.write('POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n');
    const t0 = performance.now();
    const dribble = setInterval(() => socket.write('x'), 200);
    socket.on('data', (chunk) => {
      answer += chunk;
      clearInterval(dribble);
    });
    try {
      await bounded(new Promise((resolve) => socket.once('close', resolve)), 'slow request closed', WAIT_MS);
    } finally {
      clearInterval(dribble);
    }
    assert.match(answer, /^HTTP\/1\.1 408 /, `the 408 (${reset?.message ?? 'no error'})`);
    assert.ok(performance.now() - t0 >= TIMEOUTS.requestMs * 0.8, 'not before the request timeout');
  });

  test('HTTP/1.1 over TLS: an idle keep-alive connection is closed after its timeout', async () => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca, ALPNProtocols: ['http/1.1'] });
    await bounded(new Promise((resolve) => socket.once('secureConnect', resolve)), 'handshake', WAIT_MS);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await bounded(new Promise((resolve) => socket.once('close', resolve)), 'idle keep-alive closed', WAIT_MS);
    assert.match(answer, /^HTTP\/1\.1 200 /);
  });

  test('HTTP/2: an idle session gets GOAWAY; a stream it carries goes on', async () => {
    const idle = http2.connect(`https://127.0.0.1:${port}`, { ca });
    idle.on('error', () => {});
    const done = idle.request({ ':path': '/' });
    done.resume();
    await bounded(new Promise((resolve) => done.once('end', resolve)), 'first answer', WAIT_MS);
    await bounded(
      new Promise((resolve) => idle.once('goaway', resolve)),
      'GOAWAY on an idle session',
      WAIT_MS,
    );
    await bounded(new Promise((resolve) => idle.once('close', resolve)), 'idle session closed', WAIT_MS);

    const busy = http2.connect(`https://127.0.0.1:${port}`, { ca });
    busy.on('error', () => {});
    const stream = busy.request({ ':path': '/stream' });
    let received = '';
    stream.on('data', (chunk) => (received += chunk));
    await bounded(
      new Promise((resolve) => busy.once('goaway', resolve)),
      'GOAWAY on a quiet session',
      WAIT_MS,
    );
    // Graceful: the open stream is not reset; it is still readable until the server ends it.
    assert.equal(stream.closed, false);
    assert.equal(received, 'open\n');
    busy.destroy();
  });

  test('HTTP/2 advertises its stream limit and refuses streams past it one by one', async () => {
    const probe = http2.connect(`https://127.0.0.1:${port}`, { ca });
    await bounded(new Promise((resolve) => probe.once('remoteSettings', resolve)), 'settings', WAIT_MS);
    assert.equal(probe.remoteSettings.maxConcurrentStreams, HTTP2_MAX_CONCURRENT_STREAMS);
    probe.destroy();

    // A client that opens three streams more than the limit at once, before acknowledging it.
    const socket = tls.connect({ port, host: '127.0.0.1', ca, ALPNProtocols: ['h2'] });
    socket.on('error', () => {});
    await bounded(new Promise((resolve) => socket.once('secureConnect', resolve)), 'handshake', WAIT_MS);
    const frames = readFrames(socket);
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    socket.write(frame(4, 0, 0, Buffer.alloc(0)));
    // HPACK: :method GET, :scheme https, :path /stream (literal), :authority a.
    const block = Buffer.concat([
      Buffer.from([0x82, 0x87, 0x44, 7]),
      Buffer.from('/stream'),
      Buffer.from([0x41, 1, 0x61]),
    ]);
    const total = HTTP2_MAX_CONCURRENT_STREAMS + 3;
    const batch: Buffer[] = [];
    for (let i = 0; i < total; i++) batch.push(frame(1, 0x5, 1 + 2 * i, block));
    socket.write(Buffer.concat(batch));
    await bounded(
      (async () => {
        while (frames.responses.size + frames.refused.length < total) await frames.more();
      })(),
      'every stream answered or refused',
      WAIT_MS,
    );
    assert.equal(frames.refused.length, 3, `refused: ${frames.refused.join(', ')}`);
    assert.equal(frames.responses.size, HTTP2_MAX_CONCURRENT_STREAMS);
    assert.equal(frames.goaway, undefined, 'the session stays open');
    for (const id of frames.refused) assert.ok(id > 2 * HTTP2_MAX_CONCURRENT_STREAMS - 1, `stream ${id}`);
    socket.destroy();
  });
});

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** Reads HTTP/2 frames: response HEADERS by stream, RST_STREAM REFUSED_STREAM, GOAWAY. */
function readFrames(socket: tls.TLSSocket) {
  const state = {
    responses: new Set<number>(),
    refused: [] as number[],
    goaway: undefined as number | undefined,
    more: () => new Promise<void>((resolve) => waiters.push(resolve)),
  };
  const waiters: Array<() => void> = [];
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 9) {
      const length = buffer.readUIntBE(0, 3);
      if (buffer.length < 9 + length) break;
      const type = buffer[3]!;
      const id = buffer.readUInt32BE(5) & 0x7fffffff;
      const payload = buffer.subarray(9, 9 + length);
      // Streams past the limit are refused (7); headers answer the others; GOAWAY ends the session.
      if (type === 1) state.responses.add(id);
      else if (type === 3 && payload.readUInt32BE(0) === 7) state.refused.push(id);
      else if (type === 7) state.goaway = payload.readUInt32BE(4);
      buffer = buffer.subarray(9 + length);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on('close', () => {
    for (const wake of waiters.splice(0)) wake();
  });
  return state;
}
