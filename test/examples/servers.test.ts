/**
 * The server examples (examples/server-*.ts): each serves price events on a real port, and SIGTERM
 * ends the streams with a retry hint and lets the process exit by itself.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { test } from 'node:test';
import { createParser, type ParsedEvent } from '../../src/protocol/index.js';
import { openStream } from '../support/hub.js';
import { listeningOn, startExample } from './example-process.js';

for (const file of [
  'server-node.ts',
  'server-express.ts',
  'server-fastify.ts',
  'server-hono.ts',
  'server-fetch.ts',
]) {
  test(`examples/${file}: streams price events; SIGTERM ends them with a retry hint and the process exits 0`, async (t) => {
    const example = startExample(file, ['0']);
    t.after(() => example.kill());
    const url = (await listeningOn(example)).replace('localhost', '127.0.0.1');
    const stream = await openStream(url);
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    if (file === 'server-fastify.ts') assert.equal(stream.headers['x-example'], 'fastify');
    const event = await stream.next();
    assert.equal(event.type, 'price');
    assert.match(event.data, /^\d+(\.\d+)?$/);
    assert.match(event.lastEventId, /^\d+$/);

    example.child.kill('SIGTERM');
    await stream.ended;
    assert.match(stream.text, /retry: \d+\n\n$/, 'the stream ends with the retry hint');
    // The example exits by itself: with the server still listening it would hang here until the
    // test timeout.
    assert.equal(await example.exited, 0);
  });
}

test('examples/server-http2.ts: streams over HTTP/2; SIGTERM ends them and closes the sessions', async (t) => {
  const example = startExample('server-http2.ts', ['0']);
  t.after(() => example.kill());
  const url = (await listeningOn(example)).replace('localhost', '127.0.0.1');
  const session = http2.connect(url);
  t.after(() => session.destroy());
  const request = session.request({ ':path': '/' });
  const events: ParsedEvent[] = [];
  let text = '';
  const firstEvent = new Promise<void>((resolve) => {
    const parser = createParser({
      onEvent(event) {
        events.push(event);
        resolve();
      },
    });
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
      parser.feed(chunk);
    });
  });
  const [headers] = (await new Promise((resolve) => request.once('response', (h) => resolve([h])))) as [
    http2.IncomingHttpHeaders,
  ];
  assert.equal(headers[':status'], 200);
  await firstEvent;
  assert.equal(events[0]!.type, 'price');

  const ended = new Promise<void>((resolve) => request.on('end', resolve));
  request.resume();
  example.child.kill('SIGTERM');
  await ended;
  assert.match(text, /retry: \d+\n\n$/);
  assert.equal(await example.exited, 0);
});
