import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { signDraft07, startHub, type TestHub } from '../../support/hub.js';

const LIMIT = 4096;
const BIG = 4 * 1024 * 1024; // 1,024 times the limit, under the hub's drain bound
const ROUNDS = 20;

/** Sends a publish with `size` body bytes over a raw socket as fast as the socket takes them. */
function rawPublish(
  hub: TestHub,
  size: number,
  headers: string,
): Promise<{ response: string; errorBeforeResponse: Error | undefined }> {
  const { port } = new URL(hub.origin);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let response = '';
    let errorBeforeResponse: Error | undefined;
    const complete = () => {
      const end = response.indexOf('\r\n\r\n');
      if (end === -1) return false;
      const length = /content-length: (\d+)/i.exec(response.slice(0, end));
      return length !== null && Buffer.byteLength(response.slice(end + 4)) >= Number(length[1]);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      response += chunk;
    });
    socket.on('error', (error) => {
      if (!complete()) errorBeforeResponse ??= error;
    });
    socket.on('close', () => resolve({ response, errorBeforeResponse }));
    socket.on('connect', () => {
      socket.write(
        `POST /.well-known/mercure HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n${headers}Content-Length: ${size}\r\n\r\n`,
      );
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < size && !socket.destroyed) {
          const n = Math.min(chunk.length, size - sent);
          sent += n;
          if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
}

describe('publish: a refused body still gets its response read (no EPIPE, no reset)', () => {
  let hub: TestHub;
  let token: string;
  before(async () => {
    hub = await startHub({ anonymous: true, maxBodyBytes: LIMIT });
    token = await signDraft07({ publish: ['*'] });
  });
  after(() => hub.close());

  test(`undici: a ${BIG}-byte body gets 413 with Connection: close, ${ROUNDS} times`, async () => {
    const body = Buffer.alloc(BIG, 'x');
    for (let i = 0; i < ROUNDS; i++) {
      const res = await request(hub.hubUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` },
        body,
      });
      assert.equal(res.statusCode, 413);
      assert.equal(res.headers.connection, 'close');
      assert.match(await res.body.text(), /limited to 4096 bytes/);
    }
  });

  test(`undici: a streamed body without Content-Length gets 413, ${ROUNDS} times`, async () => {
    const chunk = Buffer.alloc(64 * 1024, 'y');
    for (let i = 0; i < ROUNDS; i++) {
      const res = await request(hub.hubUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` },
        body: Readable.from(
          (function* () {
            for (let sent = 0; sent < BIG; sent += chunk.length) yield chunk;
          })(),
        ),
      });
      assert.equal(res.statusCode, 413);
      assert.match(await res.body.text(), /limited to 4096 bytes/);
    }
  });

  test(`raw socket: the 413 is read before any error, ${ROUNDS} times`, async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const { response, errorBeforeResponse } = await rawPublish(
        hub,
        BIG,
        `Authorization: Bearer ${token}\r\n`,
      );
      assert.equal(errorBeforeResponse, undefined, `round ${i}: ${errorBeforeResponse?.message}`);
      assert.match(response, /^HTTP\/1\.1 413 /);
      assert.match(response, /\r\nconnection: close\r\n/i);
      assert.match(response, /limited to 4096 bytes/);
    }
  });

  test('raw socket: a 401 sent before the body is read is read too', async () => {
    for (let i = 0; i < 5; i++) {
      const { response, errorBeforeResponse } = await rawPublish(hub, BIG, '');
      assert.equal(errorBeforeResponse, undefined, `round ${i}: ${errorBeforeResponse?.message}`);
      assert.match(response, /^HTTP\/1\.1 401 /);
    }
  });

  test('the hub still publishes on a new connection afterwards', async () => {
    const res = await request(hub.hubUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` },
      body: 'topic=t&data=ok',
    });
    assert.equal(res.statusCode, 200);
    await res.body.text();
  });
});
