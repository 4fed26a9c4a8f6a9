import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createHub } from '../../../src/hub/index.js';
import { createParser, type ParsedEvent } from '../../../src/protocol/index.js';
import { signDraft07, TEST_KEY } from '../../support/hub.js';

test('subscribe and publish over HTTP/2 (compat API, cleartext)', async (t) => {
  const hub = createHub({ jwt: { key: TEST_KEY }, anonymous: true });
  const server = http2.createServer((req, res) => hub.handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.after(async () => {
    client.close();
    await hub.close();
    server.close();
  });

  const stream = client.request({ ':path': '/.well-known/mercure?topic=h2', 'last-event-id': 'earliest' });
  const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
  assert.equal(headers[':status'], 200);
  assert.equal(headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(headers['last-event-id'], 'earliest');
  const events: ParsedEvent[] = [];
  const received = new Promise<void>((resolve) => {
    const parser = createParser({
      onEvent(event) {
        events.push(event);
        resolve();
      },
    });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => parser.feed(chunk));
  });

  const token = await signDraft07({ publish: ['*'] });
  const post = client.request({
    ':method': 'POST',
    ':path': '/.well-known/mercure',
    authorization: `Bearer ${token}`,
    'content-type': 'application/x-www-form-urlencoded',
  });
  post.end('topic=h2&data=over%20h2&id=h2-1');
  const [postHeaders] = (await once(post, 'response')) as [http2.IncomingHttpHeaders];
  let body = '';
  post.setEncoding('utf8');
  post.on('data', (c: string) => (body += c));
  await once(post, 'end');
  assert.equal(postHeaders[':status'], 200);
  assert.equal(body, 'h2-1');

  await received;
  assert.deepEqual(events[0], { type: 'message', data: 'over h2', lastEventId: 'h2-1' });
  stream.close();
});
