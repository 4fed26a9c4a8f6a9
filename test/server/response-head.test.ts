/**
 * node:http keeps an HTTP/1.1 response's head on `res._header` for as long as the response lasts,
 * built with one `+=` per piece: a rope of ~30 cons strings, ~0.9 KB per idle subscriber. A stream
 * swaps it for one flat copy of the same bytes, on every Node line: on Node 24 and 26 the head is
 * still corked when the stream starts (it goes out on the next tick), and the copy is made then too.
 *
 * Whether a string is flat is not visible from JavaScript; V8's `%HaveSameMap` tells a rope from a
 * flat string (different maps), and the test checks that it does on the running Node first.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInThisContext } from 'node:vm';
import { SseServer } from '../../src/server/index.js';
import { listen, RawClient } from './helpers.js';

setFlagsFromString('--allow-natives-syntax');
const haveSameMap = runInThisContext('(function (a, b) { return %HaveSameMap(a, b); })') as (
  a: string,
  b: string,
) => boolean;

/** A sequential one-byte string with the bytes of `text`: what a flat head is. */
function flatCopy(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

function isFlat(text: string): boolean {
  return haveSameMap(text, flatCopy('HTTP/1.1 200 OK\r\n'));
}

test('the probe tells a rope from a flat string on this Node', () => {
  let rope = 'HTTP/1.1 200 OK\r\n';
  for (const piece of [
    'Content-Type: text/event-stream',
    'Cache-Control: no-cache',
    'Connection: keep-alive',
  ]) {
    rope += `${piece}\r\n`;
  }
  assert.equal(isFlat(rope), false, 'a string built with += is a rope');
  assert.equal(isFlat(flatCopy(rope)), true, 'its copy is flat');
});

for (const detachConnections of [false, true]) {
  test(`a stream's response keeps its head as one flat string, the bytes it sent (detachConnections: ${detachConnections})`, async (t) => {
    const sse = new SseServer({ heartbeatMs: 0, detachConnections });
    let response: http.ServerResponse | undefined;
    const { port, close } = await listen((req, res) => {
      response = res;
      sse.stream(req, res);
    });
    const client = new RawClient(port);
    t.after(async () => {
      sse.closeAll();
      client.close();
      await close();
    });
    await client.until((c) => c.body().includes('retry:'));

    const head = (response as unknown as { _header: unknown })._header;
    assert.equal(typeof head, 'string');
    assert.equal(head, `${client.head()}\r\n\r\n`, 'the head kept is the head sent');
    assert.equal(isFlat(head as string), true, 'the head is flat, not the rope node:http built');
    assert.equal(response!.headersSent, true);
  });
}
