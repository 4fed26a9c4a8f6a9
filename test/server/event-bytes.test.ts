import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEvent, InvalidEventError } from '../../src/protocol/index.js';
import { eventBytes } from '../../src/server/event-bytes.js';

test('eventBytes: the same bytes as encodeEvent, unicode and multi-line data included', () => {
  const events = [
    { data: 'plain' },
    { id: 'urn:uuid:1', event: 'price', retry: 1500, data: '{"p":1.5}' },
    { data: 'line one\nline two\r\nthree\rfour' },
    { id: 'é✓', data: '😀 ünïcödé' },
    { comment: 'note\nnext', data: '' },
  ];
  for (const event of events) assert.deepEqual(new Uint8Array(eventBytes(event)), encodeEvent(event));
});

test('eventBytes: refuses what encodeEvent refuses, with the same error', () => {
  for (const bad of [{ id: 'a\nb' }, { event: 'x\ry' }, { retry: -1 }]) {
    assert.throws(() => eventBytes(bad), InvalidEventError);
    assert.throws(() => encodeEvent(bad), InvalidEventError);
  }
});
