/**
 * The encoder writes what the WHATWG event-stream format (HTML, section 9.2.5) lets a reader parse
 * back exactly, and refuses values that would change the framing. Assertions are on the bytes, then on
 * what our parser reads from them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertEventId,
  assertEventType,
  assertRetry,
  encodeComment,
  encodeEvent,
  encodeRetry,
  formatEvent,
  InvalidEventError,
} from '../../src/protocol/index.js';
import { events, type Output, parse } from './recorder.js';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

test('an event is written as event, id, retry, data lines and a blank line', () => {
  const bytes = encodeEvent({ event: 'price', id: '42', retry: 3000, data: '{"p":1}' });
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(text(bytes), 'event: price\nid: 42\nretry: 3000\ndata: {"p":1}\n\n');
  assert.equal(formatEvent({ event: 'price', id: '42', retry: 3000, data: '{"p":1}' }), text(bytes));
  assert.deepEqual(parse([bytes]), [
    { kind: 'retry', retry: 3000 },
    { kind: 'event', type: 'price', data: '{"p":1}', lastEventId: '42' },
  ]);
});

test('an empty init is a bare blank line, which dispatches nothing', () => {
  assert.equal(formatEvent({}), '\n');
  assert.deepEqual(parse([encodeEvent({})]), []);
});

test('data is split into one data line per CR, LF or CRLF; the reader sees LF', () => {
  const data = 'a\rb\nc\r\nd\n\re';
  assert.equal(formatEvent({ data }), 'data: a\ndata: b\ndata: c\ndata: d\ndata: \ndata: e\n\n');
  assert.deepEqual(events(parse([encodeEvent({ data })])), [['message', 'a\nb\nc\nd\n\ne', '']]);
  // Leading and trailing breaks are kept as empty lines.
  assert.deepEqual(events(parse([encodeEvent({ data: '\nx\n' })])), [['message', '\nx\n', '']]);
  assert.deepEqual(events(parse([encodeEvent({ data: '\r\n' })])), [['message', '\n', '']]);
});

test('empty data is an event with empty data, which is dispatched', () => {
  assert.equal(formatEvent({ data: '' }), 'data: \n\n');
  assert.deepEqual(events(parse([encodeEvent({ data: '' })])), [['message', '', '']]);
});

test('a data value starting with a space keeps it', () => {
  assert.equal(formatEvent({ data: ' x' }), 'data:  x\n\n');
  assert.deepEqual(events(parse([encodeEvent({ data: ' x\n  y' })])), [['message', ' x\n  y', '']]);
});

test('multibyte text is UTF-8 on the wire and reads back unchanged', () => {
  const data = 'é € 𝄞 日本語 \uFEFF';
  const bytes = encodeEvent({ event: 'ünï', id: '𝄞1', data });
  assert.deepEqual(bytes, new TextEncoder().encode(`event: ünï\nid: 𝄞1\ndata: ${data}\n\n`));
  assert.deepEqual(events(parse([bytes])), [['ünï', data, '𝄞1']]);
});

test('data holding NUL, colons or a field-like text stays data', () => {
  const data = '\0: id: 5\nevent: x\nretry: 1';
  assert.deepEqual(parse([encodeEvent({ data })]), [
    { kind: 'event', type: 'message', data, lastEventId: '' },
  ]);
});

test('an empty id is written as a bare "id" line, which resets the reader\'s last event ID', () => {
  assert.equal(formatEvent({ id: '' }), 'id\n\n');
  const outputs = parse([encodeEvent({ id: '7', data: 'a' }), encodeEvent({ id: '', data: 'b' })]);
  assert.deepEqual(events(outputs), [
    ['message', 'a', '7'],
    ['message', 'b', ''],
  ]);
});

test('an id or event value keeps its leading space', () => {
  assert.deepEqual(events(parse([encodeEvent({ id: ' 1', event: ' t', data: 'x' })])), [[' t', 'x', ' 1']]);
});

for (const [field, value] of [
  ['event', 'a\nb'],
  ['event', 'a\rb'],
  ['event', 'a\r\nb'],
  ['id', 'a\nb'],
  ['id', '\r'],
  ['id', 'a\0b'],
] as const) {
  test(`${field} ${JSON.stringify(value)} is refused with InvalidEventError`, () => {
    const error = captureThrow(() => encodeEvent({ [field]: value, data: 'x' }));
    assert.ok(error instanceof InvalidEventError);
    assert.equal(error.code, 'HERALD_ERR_INVALID_EVENT');
    assert.equal(error.field, field);
    assert.ok(error.message.includes(JSON.stringify(value)), 'the message names the value');
    const check = field === 'id' ? assertEventId : assertEventType;
    assert.throws(() => check(value), InvalidEventError);
  });
}

for (const retry of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '5' as unknown as number]) {
  test(`retry ${String(retry)} is refused with InvalidEventError`, () => {
    const error = captureThrow(() => encodeEvent({ retry }));
    assert.ok(error instanceof InvalidEventError);
    assert.equal(error.code, 'HERALD_ERR_INVALID_EVENT');
    assert.equal(error.field, 'retry');
    assert.match(error.message, /non-negative integer/);
    assert.throws(() => encodeRetry(retry), InvalidEventError);
    assert.throws(() => assertRetry(retry), InvalidEventError);
  });
}

test('non-string fields are refused with InvalidEventError naming the field', () => {
  for (const field of ['event', 'id', 'data'] as const) {
    const error = captureThrow(() => encodeEvent({ [field]: 5 as unknown as string }));
    assert.ok(error instanceof InvalidEventError);
    assert.equal(error.field, field);
  }
});

test('retry 0 and large integers are written as digits', () => {
  assert.equal(text(encodeRetry(0)), 'retry: 0\n\n');
  assert.equal(text(encodeRetry(86_400_000)), 'retry: 86400000\n\n');
  assert.deepEqual(parse([encodeRetry(1500)]), [{ kind: 'retry', retry: 1500 }]);
});

test('a comment is a comment line; its line breaks start new comment lines', () => {
  assert.equal(text(encodeComment()), ': \n');
  assert.equal(text(encodeComment('ping')), ': ping\n');
  assert.equal(text(encodeComment('a\rdata: b\r\nid: c\nd')), ': a\n: data: b\n: id: c\n: d\n');
  const outputs: Output[] = parse([encodeComment('a\rdata: b\r\nid: c\nd'), encodeEvent({ data: 'x' })]);
  assert.deepEqual(outputs, [
    { kind: 'comment', comment: 'a' },
    { kind: 'comment', comment: 'data: b' },
    { kind: 'comment', comment: 'id: c' },
    { kind: 'comment', comment: 'd' },
    { kind: 'event', type: 'message', data: 'x', lastEventId: '' },
  ]);
});

test('an event comment comes before its fields and never becomes one', () => {
  const bytes = encodeEvent({ comment: 'note\ndata: injected', data: 'real' });
  assert.equal(text(bytes), ': note\n: data: injected\ndata: real\n\n');
  assert.deepEqual(events(parse([bytes])), [['message', 'real', '']]);
});

function captureThrow(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected a throw');
}
