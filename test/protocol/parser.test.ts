/**
 * Conformance of the parser to the WHATWG "interpret an event stream" algorithm (HTML, section 9.2.6),
 * one test per rule, with cases after the web-platform-tests `eventsource/format-*` tests.
 *
 * Unless a test is about chunk boundaries, each stream is parsed four ways (whole text, whole bytes,
 * one character at a time, one byte at a time) and all four must report the same thing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferOverflowError, createParser, type ParsedEvent } from '../../src/protocol/index.js';
import { bytes, events, type Output, parse, record, splitBytes } from './recorder.js';

function parseAllWays(text: string): Output[] {
  const whole = parse([text]);
  const asBytes = bytes(text);
  assert.deepEqual(parse([asBytes]), whole, 'whole bytes');
  assert.deepEqual(parse([...text]), whole, 'one code point at a time');
  assert.deepEqual(parse(Array.from(asBytes, (b) => Uint8Array.of(b))), whole, 'one byte at a time');
  return whole;
}

function eventsOf(text: string): Array<[string, string, string]> {
  return events(parseAllWays(text));
}

test('one leading BOM is stripped, from text and from bytes', () => {
  assert.deepEqual(eventsOf('\uFEFFdata: 1\n\n'), [['message', '1', '']]);
  // The BOM bytes split across chunks.
  assert.deepEqual(events(parse(splitBytes('\uFEFFdata: 1\n\n', [1, 2]))), [['message', '1', '']]);
});

test('only one BOM is stripped: a second one makes the field name unknown', () => {
  // format-bom-2: the second BOM is part of the field name "\uFEFFdata", which is ignored.
  assert.deepEqual(eventsOf('\uFEFF\uFEFFdata: 1\n\ndata: 2\n\n'), [['message', '2', '']]);
  // format-bom: a BOM later in the stream is not stripped either.
  assert.deepEqual(eventsOf('\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n'), [
    ['message', '1', ''],
    ['message', '3', ''],
  ]);
});

test('a BOM not at the very start of the stream is not stripped', () => {
  assert.deepEqual(events(parse(['data: 1\n\n', '\uFEFFdata: 2\n\n'])), [['message', '1', '']]);
});

test('lines end with CR, LF or CRLF, mixed freely', () => {
  assert.deepEqual(eventsOf('data: a\rdata: b\ndata: c\r\ndata: d\r\r\ndata: e\n\r'), [
    ['message', 'a\nb\nc\nd', ''],
    ['message', 'e', ''],
  ]);
  // LF CR is two line ends, CR LF one.
  assert.deepEqual(eventsOf('data: x\n\rdata: y\r\n\r\n'), [
    ['message', 'x', ''],
    ['message', 'y', ''],
  ]);
});

test('a CR ending a chunk dispatches at once, without waiting for the next chunk', () => {
  const { parser, outputs } = record();
  parser.feed('data: 1\r');
  assert.deepEqual(events(outputs), []);
  parser.feed('\r');
  assert.deepEqual(events(outputs), [['message', '1', '']]);

  const other = record();
  other.parser.feed('data: 2\n\r');
  assert.deepEqual(events(other.outputs), [['message', '2', '']]);
});

test('an LF opening the chunk after a chunk-final CR is part of that CRLF, not a blank line', () => {
  // If the LF were a second line end, "data: 2" would be dispatched on its own.
  assert.deepEqual(events(parse(['data: 1\r', '\ndata: 2\n\n'])), [['message', '1\n2', '']]);
  assert.deepEqual(events(parse(['data: 1\r', '\n', 'data: 2\r', '\n', '\r', '\n'])), [
    ['message', '1\n2', ''],
  ]);
  // Empty chunks in between do not lose the pending CR.
  assert.deepEqual(events(parse(['data: 1\r', '', new Uint8Array(0), '\ndata: 2\n\n'])), [
    ['message', '1\n2', ''],
  ]);
  // Only one LF belongs to the CR: a second one is a blank line.
  assert.deepEqual(events(parse(['data: 1\r', '\n\n'])), [['message', '1', '']]);
});

test('CRLF split across chunks, as text and as bytes', () => {
  const text = 'data: a\r\ndata: b\r\n\r\n';
  for (let cut = 0; cut <= text.length; cut++) {
    const expected = [['message', 'a\nb', '']];
    assert.deepEqual(events(parse([text.slice(0, cut), text.slice(cut)])), expected, `text cut at ${cut}`);
    assert.deepEqual(events(parse(splitBytes(text, [cut]))), expected, `bytes cut at ${cut}`);
  }
});

test('bytes split in the middle of a UTF-8 character are decoded whole', () => {
  const text = 'data: é€𝄞\n\n'; // 2, 3 and 4 bytes
  const length = bytes(text).length;
  for (let a = 0; a <= length; a++) {
    for (let b = a; b <= length; b++) {
      assert.deepEqual(events(parse(splitBytes(text, [a, b]))), [['message', 'é€𝄞', '']], `cuts ${a},${b}`);
    }
  }
});

test('invalid UTF-8 becomes U+FFFD, as the UTF-8 decode algorithm says', () => {
  assert.deepEqual(events(parse([Uint8Array.of(100, 97, 116, 97, 58, 0xff, 10, 10)])), [
    ['message', '\uFFFD', ''],
  ]);
});

test('a line starting with a colon is a comment: ignored, reported to onComment', () => {
  const outputs = parseAllWays(': hello\n:\n:  two spaces\n:no space\ndata: x\n: between\n\n');
  assert.deepEqual(outputs, [
    { kind: 'comment', comment: 'hello' },
    { kind: 'comment', comment: '' },
    { kind: 'comment', comment: ' two spaces' },
    { kind: 'comment', comment: 'no space' },
    { kind: 'comment', comment: 'between' },
    { kind: 'event', type: 'message', data: 'x', lastEventId: '' },
  ]);
  // format-comments: comments between data lines, long ones, with NUL or a field-like text.
  const long = 'x'.repeat(2048);
  assert.deepEqual(eventsOf(`data:1\r:\0\n:\r\ndata:2\n:${long}\rdata:3\n:data:fail\r:${long}\ndata:4\n\n`), [
    ['message', '1\n2\n3\n4', ''],
  ]);
});

test('a line without a colon is a field name with an empty value', () => {
  // "data" alone appends an empty line; "event" alone resets the type to the default.
  assert.deepEqual(eventsOf('data\ndata\n\nevent: a\nevent\ndata: x\n\n'), [
    ['message', '\n', ''],
    ['message', 'x', ''],
  ]);
});

test('exactly one space after the colon is stripped', () => {
  assert.deepEqual(eventsOf('data:x\n\ndata: x\n\ndata:  x\n\ndata:\tx\n\ndata: \n\n'), [
    ['message', 'x', ''],
    ['message', 'x', ''],
    ['message', ' x', ''],
    ['message', '\tx', ''],
    ['message', '', ''],
  ]);
  assert.deepEqual(eventsOf('event:  spaced\ndata: 1\n\n'), [[' spaced', '1', '']]);
});

test('the field name is everything before the first colon; the value may hold colons', () => {
  assert.deepEqual(eventsOf('data: a: b:c\n\n'), [['message', 'a: b:c', '']]);
});

test('unknown fields and differently cased names are ignored', () => {
  // format-field-parsing, from the web-platform-tests.
  const stream =
    'data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n';
  assert.deepEqual(eventsOf(stream), [['message', '\0\n 2\n1\n3\n\n4', '']]);
  assert.deepEqual(eventsOf('foo: bar\nDATA: no\nEvent: no\nID: no\ndata: yes\n\n'), [
    ['message', 'yes', ''],
  ]);
});

test('data lines are joined with LF and the final LF is removed', () => {
  assert.deepEqual(eventsOf('data: a\ndata: b\ndata\ndata: c\n\n'), [['message', 'a\nb\n\nc', '']]);
  assert.deepEqual(eventsOf('data: a\ndata:\n\n'), [['message', 'a\n', '']]);
});

test('a line after a data line that opens like one but is another field adds no LF to the data', () => {
  assert.deepEqual(eventsOf('data: a\ndog: x\n\n'), [['message', 'a', '']]);
  assert.deepEqual(eventsOf('data: a\nd\ndata: b\n\n'), [['message', 'a\nb', '']]);
  assert.deepEqual(eventsOf('data: a\ndatum\ndata\n\n'), [['message', 'a\n', '']]);
  assert.deepEqual(eventsOf('data: a\ndata: b\ndx\nid: 3\n\n'), [['message', 'a\nb', '3']]);
  assert.deepEqual(events(parse(['data: a\nd', 'ata: b\nd', 'og\n\n'])), [['message', 'a\nb', '']]);
});

test('an event whose data is the empty string is dispatched', () => {
  assert.deepEqual(eventsOf('data:\n\n'), [['message', '', '']]);
  assert.deepEqual(eventsOf('data\n\n'), [['message', '', '']]);
});

test('a blank line with no data line dispatches nothing', () => {
  assert.deepEqual(eventsOf('\n\n\nevent: a\n\nid: 1\n\nretry: 5\n\n: c\n\n'), []);
  // ...and the event type set before it does not leak into the next event.
  assert.deepEqual(eventsOf('event: a\n\ndata: x\n\n'), [['message', 'x', '']]);
});

test('the type defaults to "message", is set by event, and resets after each dispatch', () => {
  assert.deepEqual(
    eventsOf('event: price\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\nevent: a\nevent: b\ndata: 4\n\n'),
    [
      ['price', '1', ''],
      ['message', '2', ''],
      ['message', '3', ''],
      ['b', '4', ''],
    ],
  );
});

test('the last event ID persists across events and is reported with each', () => {
  const { parser, outputs } = record();
  assert.equal(parser.lastEventId, '');
  parser.feed('id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n');
  assert.deepEqual(events(outputs), [
    ['message', 'a', '1'],
    ['message', 'b', '1'],
    ['message', 'c', '2'],
  ]);
  assert.equal(parser.lastEventId, '2');
  // The id may come after the data in the same event.
  assert.deepEqual(eventsOf('data: a\nid: 7\n\n'), [['message', 'a', '7']]);
  // An id value keeps its spaces, multibyte text, colons (format-field-id-2 uses "…").
  assert.deepEqual(eventsOf('id:  a:b …\ndata: x\n\n'), [['message', 'x', ' a:b …']]);
});

test('an id holding NUL is ignored', () => {
  assert.deepEqual(eventsOf('id: 1\ndata: a\n\nid: 2\0\ndata: b\n\nid: \0\ndata: c\n\n'), [
    ['message', 'a', '1'],
    ['message', 'b', '1'],
    ['message', 'c', '1'],
  ]);
});

test('an id with no data updates lastEventId at the blank line, without an event', () => {
  const { parser, outputs } = record();
  parser.feed('id: 5\n');
  assert.equal(parser.lastEventId, '', 'not before the blank line');
  parser.feed('\n');
  assert.equal(parser.lastEventId, '5');
  assert.deepEqual(outputs, []);
  parser.feed('data: x\n\n');
  assert.deepEqual(events(outputs), [['message', 'x', '5']]);
});

test('an id line with no colon, or an empty id, resets the last event ID', () => {
  assert.deepEqual(eventsOf('id: 1\ndata: a\n\nid\ndata: b\n\nid: 3\n\nid:\ndata: c\n\n'), [
    ['message', 'a', '1'],
    ['message', 'b', ''],
    ['message', 'c', ''],
  ]);
});

test('the lastEventId option seeds the last event ID', () => {
  const { parser, outputs } = record({ lastEventId: 'seed' });
  assert.equal(parser.lastEventId, 'seed');
  parser.feed('data: a\n\nid: 2\ndata: b\n\n');
  assert.deepEqual(events(outputs), [
    ['message', 'a', 'seed'],
    ['message', 'b', '2'],
  ]);
});

test('retry is reported only when its value is ASCII digits', () => {
  const outputs = parseAllWays(
    'retry: 1000\nretry:250\nretry: 1x\nretry: -1\nretry: \nretry\nretry:  5\nretry: 1.5\nretry: ٣\nretry: 007\n\n',
  );
  assert.deepEqual(outputs, [
    { kind: 'retry', retry: 1000 },
    { kind: 'retry', retry: 250 },
    { kind: 'retry', retry: 7 },
  ]);
  // format-field-retry-empty: an empty retry changes nothing else.
  assert.deepEqual(eventsOf('retry\ndata:test\n\n'), [['message', 'test', '']]);
});

test('retry has no upper bound: a huge value is reported as the number it spells', () => {
  assert.deepEqual(parse([`retry: 86400000000\nretry: ${'9'.repeat(400)}\n`]), [
    { kind: 'retry', retry: 86_400_000_000 },
    { kind: 'retry', retry: Number.POSITIVE_INFINITY },
  ]);
});

test('an incomplete event at the end of the stream is discarded', () => {
  const { parser, outputs } = record();
  parser.feed('data: complete\n\nid: 9\nevent: x\ndata: incomplete\n');
  parser.reset();
  parser.feed('data: next\n\n');
  assert.deepEqual(events(outputs), [
    ['message', 'complete', ''],
    ['message', 'next', ''],
  ]);
  assert.equal(parser.lastEventId, '', 'the unfinished id never reached a dispatch');
  // An unfinished line is discarded too (format-data-before-final-empty-line).
  const other = record();
  other.parser.feed('data: 1\n\ndata: 2');
  other.parser.reset();
  other.parser.feed('\n\n');
  assert.deepEqual(events(other.outputs), [['message', '1', '']]);
});

test('reset() expects a new stream: its one BOM is stripped again', () => {
  const { parser, outputs } = record();
  parser.feed('\uFEFFdata: 1\n\n');
  parser.reset();
  parser.feed(bytes('\uFEFFdata: 2\n\n'));
  assert.deepEqual(events(outputs), [
    ['message', '1', ''],
    ['message', '2', ''],
  ]);
});

test('reset() forgets a half-decoded UTF-8 character', () => {
  const { parser, outputs } = record();
  parser.feed(Uint8Array.of(0x64, 0x61, 0x74, 0x61, 0x3a, 0xe2, 0x82)); // "data:" and two bytes of "€"
  parser.reset();
  // Were the two bytes kept, they would turn into U+FFFD before "data", an unknown field.
  parser.feed(bytes('data: 2\n\n'));
  assert.deepEqual(events(outputs), [['message', '2', '']]);
});

test('reset({ lastEventId }) sets the last event ID; reset() keeps it', () => {
  const { parser, outputs } = record();
  parser.feed('id: 1\ndata: a\n\n');
  parser.reset();
  assert.equal(parser.lastEventId, '1');
  parser.feed('data: b\n\n');
  parser.reset({ lastEventId: 'x' });
  assert.equal(parser.lastEventId, 'x');
  parser.feed('data: c\n\n');
  parser.feed('id: 2\n');
  parser.reset({ lastEventId: 'y' }); // the undispatched id 2 is forgotten
  parser.feed('data: d\n\n');
  assert.deepEqual(events(outputs), [
    ['message', 'a', '1'],
    ['message', 'b', '1'],
    ['message', 'c', 'x'],
    ['message', 'd', 'y'],
  ]);
});

test('reset() from a handler stops parsing the rest of the chunk', () => {
  const seen: string[] = [];
  const parser = createParser({
    onEvent(e: ParsedEvent) {
      seen.push(e.data);
      if (e.data === 'stop') parser.reset();
    },
  });
  parser.feed('data: 1\n\ndata: stop\n\ndata: lost\n\ndata: partial');
  parser.feed('data: 2\n\n');
  assert.deepEqual(seen, ['1', 'stop', '2']);
  // The same from onComment and onRetry, and with bytes.
  const log: string[] = [];
  const other = createParser({
    onComment: (c) => {
      log.push(`comment ${c}`);
      other.reset();
    },
    onRetry: (r) => {
      log.push(`retry ${r}`);
      other.reset();
    },
    onEvent: (e) => log.push(`event ${e.data}`),
  });
  other.feed(bytes('data: a\n: c\n\ndata: lost\n\n'));
  other.feed(bytes('retry: 5\ndata: lost\n\n'));
  other.feed(bytes('data: b\n\n'));
  assert.deepEqual(log, ['comment c', 'retry 5', 'event b']);
});

test('a handler that throws leaves the parser usable for the next chunk', () => {
  let fail = true;
  const seen: string[] = [];
  const parser = createParser({
    onEvent(e) {
      if (fail) {
        fail = false;
        throw new Error('handler failed');
      }
      seen.push(e.data);
    },
  });
  assert.throws(() => parser.feed('data: 1\n\n'), /handler failed/);
  parser.feed('data: 2\n\n');
  assert.deepEqual(seen, ['2']);
});

test('maxBufferSize: an unfinished line larger than the limit throws BufferOverflowError', () => {
  const { parser, outputs } = record({ maxBufferSize: 100 });
  parser.feed('data: ok\n\n');
  const error = captureThrow(() => {
    for (let i = 0; i < 20; i++) parser.feed('x'.repeat(10)); // one line, never ended
  });
  assert.ok(error instanceof BufferOverflowError);
  assert.equal(error.code, 'HERALD_ERR_BUFFER_OVERFLOW');
  assert.equal(error.maxBufferSize, 100);
  assert.match(error.message, /maxBufferSize/);
  // The parser reset itself: the rest of the huge line is not taken for a field.
  parser.feed('data: after\n\n');
  assert.deepEqual(events(outputs), [
    ['message', 'ok', ''],
    ['message', 'after', ''],
  ]);
});

test('maxBufferSize: an event whose data lines add up past the limit throws BufferOverflowError', () => {
  const { parser, outputs } = record({ maxBufferSize: 100 });
  const line = `data: ${'y'.repeat(30)}\n`;
  // Every line is short and ends in its chunk; only the data buffer grows.
  const error = captureThrow(() => {
    for (let i = 0; i < 5; i++) parser.feed(line);
  });
  assert.ok(error instanceof BufferOverflowError);
  assert.deepEqual(outputs, []);
  parser.feed('data: after\n\n');
  assert.deepEqual(events(outputs), [['message', 'after', '']]);
  // The same in one chunk.
  assert.throws(() => parse([line.repeat(5)], { maxBufferSize: 100 }), BufferOverflowError);
});

test('maxBufferSize: data up to the limit passes, byte input counts characters', () => {
  const text = `data: ${'é'.repeat(100)}\n\n`;
  // The longest unfinished line is "data: " and 100 characters.
  assert.deepEqual(events(parse(splitBytes(text, [50, 100, 150]), { maxBufferSize: 106 })), [
    ['message', 'é'.repeat(100), ''],
  ]);
});

test('without maxBufferSize, long lines and events are accepted', () => {
  const big = 'z'.repeat(1 << 20);
  assert.deepEqual(events(parse([`data: ${big.slice(0, 10)}`, `${big}\ndata: ${big}\n\n`])), [
    ['message', `${big.slice(0, 10)}${big}\n${big}`, ''],
  ]);
});

function captureThrow(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected a throw');
}
