/**
 * examples/hub.ts: the hub as a library next to the app's own routes, publishing in-process to
 * anonymous subscribers, and shutting down on SIGTERM.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { openStream } from '../support/hub.js';
import { listeningOn, startExample } from './example-process.js';

test('examples/hub.ts: subscribers get its updates, other paths reach the app, SIGTERM exits 0', async (t) => {
  const example = startExample('hub.ts', ['0'], { JWT_KEY: 'an-example-key-of-at-least-32-bytes!' });
  t.after(() => example.kill());
  const base = (await listeningOn(example)).replace('localhost', '127.0.0.1');

  const page = await fetch(new URL('/about', base));
  assert.equal(await page.text(), 'my page at /about\n');

  const topic = 'https://example.com/books/1';
  const stream = await openStream(
    new URL(`/.well-known/mercure?topic=${encodeURIComponent(topic)}`, base).href,
  );
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  const event = await stream.next();
  const book = JSON.parse(event.data) as { title: string; edition: number };
  assert.equal(book.title, 'Dune');
  assert.match(event.lastEventId, /^urn:uuid:/);

  // The same URL serves WebSocket subscribers: the opening frame, then the next update.
  const ws = new WebSocket(
    new URL(`/.well-known/mercure?topic=${encodeURIComponent(topic)}`, base.replace('http', 'ws')),
  );
  t.after(() => ws.terminate());
  const frames: { herald?: string; data?: string }[] = [];
  const wsClosed = new Promise<number>((resolve) => ws.once('close', resolve));
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      frames.push(JSON.parse(data.toString()));
      if (frames.length === 2) resolve();
    });
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`WebSocket closed ${code}: ${JSON.stringify(frames)}`)));
  });
  assert.equal(frames[0]!.herald, 'open');
  assert.equal((JSON.parse(frames[1]!.data!) as { title: string }).title, 'Dune');

  example.child.kill('SIGTERM');
  assert.equal(await wsClosed, 1012);
  await stream.ended;
  assert.match(stream.text, /retry: \d+\n\n$/);
  assert.equal(await example.exited, 0);
});
