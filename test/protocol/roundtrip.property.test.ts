/**
 * Property tests of the protocol, with fast-check. The seed is fixed so every run checks the same
 * cases; set FC_SEED to explore others. A failure prints the seed and the shrunk counterexample.
 *
 * (a) Whatever the server sends through the encoder, the parser reads back, however the stream is cut.
 * (b) No input makes `feed` throw, except BufferOverflowError when a limit is set.
 * (c) The parser agrees with a naive reference written line by line from the spec text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  BufferOverflowError,
  type EventInit,
  encodeComment,
  encodeEvent,
  encodeRetry,
} from '../../src/protocol/index.js';
import { type Output, parse, record } from './recorder.js';

const seed = process.env.FC_SEED === undefined ? 20_251_125 : Number(process.env.FC_SEED);

function check<T>(property: fc.IProperty<T>, numRuns: number): void {
  try {
    fc.assert(property, { seed, numRuns });
  } catch (error) {
    if (error instanceof Error) error.message = `FC_SEED=${seed}\n${error.message}`;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries

/** Text rich in what breaks parsers: line breaks of each kind, NUL, BOM, colons, astral characters. */
const trickyText = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    {
      weight: 3,
      arbitrary: fc.constantFrom('\r', '\n', '\r\n', '\n\r', '\0', '\uFEFF', ':', ' ', '𝄞', 'é', '€'),
    },
    { weight: 1, arbitrary: fc.constantFrom('data: x', 'id: 1', 'event: e', 'retry: 5') },
  ),
  maxLength: 40,
});

/** Text that fits on one line (event types). */
const lineText = trickyText.map((s) => s.replace(/[\r\n]/g, ''));
/** Text a reader keeps as an id: no line break, no NUL. */
const idText = lineText.map((s) => s.replace(/\0/g, ''));

type Item =
  | { kind: 'event'; init: EventInit }
  | { kind: 'comment'; text: string }
  | { kind: 'retry'; retry: number };

const eventInit: fc.Arbitrary<EventInit> = fc.record(
  {
    data: trickyText,
    event: lineText,
    id: idText,
    retry: fc.nat(),
    comment: trickyText,
  },
  { requiredKeys: [] },
);

const item: fc.Arbitrary<Item> = fc.oneof(
  { weight: 6, arbitrary: eventInit.map((init) => ({ kind: 'event' as const, init })) },
  { weight: 1, arbitrary: trickyText.map((text) => ({ kind: 'comment' as const, text })) },
  { weight: 1, arbitrary: fc.nat().map((retry) => ({ kind: 'retry' as const, retry })) },
);

/** Cut points as fractions of the input, so one list fits any length. */
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

// ---------------------------------------------------------------------------------------------------
// Helpers

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Splits `input` at the given fractions of its length. */
function cutAt<T extends string | Uint8Array>(input: T, fractions: number[]): T[] {
  const indexes = fractions.map((f) => Math.floor(f * input.length)).sort((a, b) => a - b);
  const pieces: T[] = [];
  let start = 0;
  for (const index of indexes) {
    pieces.push(input.slice(start, index) as T);
    start = index;
  }
  pieces.push(input.slice(start) as T);
  return pieces;
}

/** Every way of cutting `input` in two, or `samples` random ways when it is long. */
function twoPieceCuts(length: number, fractions: number[]): number[] {
  if (length <= 200) return Array.from({ length: length + 1 }, (_, i) => i);
  return fractions.map((f) => Math.floor(f * length));
}

function lines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** What a reader must report for `items`, from the encoder's documented contract. */
function expectedOutputs(items: Item[]): Output[] {
  const out: Output[] = [];
  let lastEventId = '';
  for (const it of items) {
    if (it.kind === 'comment') {
      for (const comment of lines(it.text)) out.push({ kind: 'comment', comment });
    } else if (it.kind === 'retry') {
      out.push({ kind: 'retry', retry: it.retry });
    } else {
      const { data, event, id, retry, comment } = it.init;
      if (comment !== undefined) for (const c of lines(comment)) out.push({ kind: 'comment', comment: c });
      if (id !== undefined) lastEventId = id;
      if (retry !== undefined) out.push({ kind: 'retry', retry });
      if (data !== undefined) {
        const type = event === undefined || event === '' ? 'message' : event;
        out.push({ kind: 'event', type, data: lines(data).join('\n'), lastEventId });
      }
    }
  }
  return out;
}

function encodeItem(it: Item): Uint8Array {
  if (it.kind === 'comment') return encodeComment(it.text);
  if (it.kind === 'retry') return encodeRetry(it.retry);
  return encodeEvent(it.init);
}

// ---------------------------------------------------------------------------------------------------
// (a) round trip

test('(a) any sequence of events encodes and parses back to itself, however it is cut', () => {
  check(
    fc.property(fc.array(item, { maxLength: 8 }), fc.boolean(), cuts, (items, bom, fractions) => {
      const expected = expectedOutputs(items);
      const encoded = concat(items.map(encodeItem));
      const stream = bom ? concat([Uint8Array.of(0xef, 0xbb, 0xbf), encoded]) : encoded;
      const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(stream);

      assert.deepEqual(parse([stream]), expected, 'whole bytes');
      assert.deepEqual(parse([text]), expected, 'whole text');
      for (const i of twoPieceCuts(stream.length, fractions)) {
        assert.deepEqual(parse([stream.subarray(0, i), stream.subarray(i)]), expected, `bytes cut at ${i}`);
      }
      for (const i of twoPieceCuts(text.length, fractions)) {
        assert.deepEqual(parse([text.slice(0, i), text.slice(i)]), expected, `text cut at ${i}`);
      }
      assert.deepEqual(parse(cutAt(stream, fractions)), expected, 'bytes in many pieces');
      assert.deepEqual(parse(cutAt(text, fractions)), expected, 'text in many pieces');
    }),
    150,
  );
});

test('(a) long streams survive one byte and one code unit at a time', () => {
  check(
    fc.property(fc.array(item, { minLength: 20, maxLength: 40 }), (items) => {
      const expected = expectedOutputs(items);
      const stream = concat(items.map(encodeItem));
      const text = new TextDecoder().decode(stream);
      assert.deepEqual(parse(Array.from(stream, (b) => Uint8Array.of(b))), expected, 'byte by byte');
      assert.deepEqual(parse(text.split('')), expected, 'code unit by code unit');
    }),
    30,
  );
});

// ---------------------------------------------------------------------------------------------------
// (b) robustness

function feedsCleanly(chunks: Array<string | Uint8Array>, maxBufferSize: number | undefined): void {
  try {
    parse(chunks, maxBufferSize === undefined ? {} : { maxBufferSize });
  } catch (error) {
    if (maxBufferSize !== undefined && error instanceof BufferOverflowError) return;
    throw error;
  }
}

const limit = fc.option(fc.integer({ min: 0, max: 64 }), { nil: undefined });

test('(b) random bytes never make feed throw, except BufferOverflowError under a limit', () => {
  check(
    fc.property(fc.uint8Array({ maxLength: 600 }), cuts, limit, (stream, fractions, max) => {
      feedsCleanly(cutAt(stream, fractions), max);
    }),
    500,
  );
});

test('(b) random strings never make feed throw, except BufferOverflowError under a limit', () => {
  check(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 300 }),
      trickyText,
      cuts,
      limit,
      (a, b, fractions, max) => {
        feedsCleanly(cutAt(a + b, fractions), max);
      },
    ),
    500,
  );
});

test('(b) without a limit, nothing is thrown even for long unfinished lines', () => {
  check(
    fc.property(fc.string({ unit: 'binary', minLength: 1000, maxLength: 3000 }), cuts, (s, fractions) => {
      feedsCleanly(cutAt(s.replace(/[\r\n]/g, ''), fractions), undefined);
    }),
    20,
  );
});

// ---------------------------------------------------------------------------------------------------
// (c) agreement with a naive reference

/**
 * The WHATWG "interpret an event stream" algorithm (HTML 9.2.6) transcribed the slow, obvious way:
 * decode, strip one BOM, cut into lines, handle each line as the spec lists. Comments are reported
 * with one leading space removed, as our onComment does. An unterminated last line is dropped.
 */
function reference(stream: string): Output[] {
  const out: Output[] = [];
  const text = stream.startsWith('\uFEFF') ? stream.slice(1) : stream;
  const allLines: string[] = [];
  let line = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\r') {
      allLines.push(line);
      line = '';
      if (text[i + 1] === '\n') i++;
    } else if (c === '\n') {
      allLines.push(line);
      line = '';
    } else line += c;
  }

  let data = '';
  let eventType = '';
  let lastEventIdBuffer = '';
  let lastEventId = '';
  for (const l of allLines) {
    if (l === '') {
      // Dispatch the event.
      lastEventId = lastEventIdBuffer;
      if (data === '') {
        eventType = '';
        continue;
      }
      if (data.endsWith('\n')) data = data.slice(0, -1);
      out.push({ kind: 'event', type: eventType === '' ? 'message' : eventType, data, lastEventId });
      data = '';
      eventType = '';
      continue;
    }
    if (l.startsWith(':')) {
      const comment = l.slice(1);
      out.push({ kind: 'comment', comment: comment.startsWith(' ') ? comment.slice(1) : comment });
      continue;
    }
    let field = l;
    let value = '';
    if (l.includes(':')) {
      field = l.slice(0, l.indexOf(':'));
      value = l.slice(l.indexOf(':') + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    if (field === 'event') eventType = value;
    else if (field === 'data') data += `${value}\n`;
    else if (field === 'id') {
      if (!value.includes('\0')) lastEventIdBuffer = value;
    } else if (field === 'retry') {
      if (/^[0-9]+$/.test(value)) out.push({ kind: 'retry', retry: Number.parseInt(value, 10) });
    }
  }
  return out;
}

/** Streams made of the fragments parsers get wrong. */
const grammarStream = fc
  .array(
    fc.constantFrom(
      'data',
      'data:',
      'data: ',
      ':',
      ' ',
      '\r',
      '\n',
      '\r\n',
      '\n\n',
      'id',
      'id:',
      'event',
      'event:',
      'retry',
      'retry:',
      '0',
      '7',
      '42',
      '-',
      'x',
      // Opens like a data line without being one: the parser reads ahead on a leading 'd'.
      'd',
      '\uFEFF',
      '\0',
      'é',
      '𝄞',
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

test('(c) the parser agrees with a line-by-line reference on grammar-built streams', () => {
  check(
    fc.property(grammarStream, cuts, (stream, fractions) => {
      const expected = reference(stream);
      assert.deepEqual(parse([stream]), expected, 'whole text');
      assert.deepEqual(parse(cutAt(stream, fractions)), expected, 'text in pieces');
      const bytes = new TextEncoder().encode(stream);
      assert.deepEqual(parse(cutAt(bytes, fractions)), expected, 'bytes in pieces');
    }),
    2000,
  );
});

test('(c) the parser agrees with the reference on arbitrary text', () => {
  check(
    fc.property(fc.array(fc.oneof(trickyText, grammarStream), { maxLength: 6 }), cuts, (parts, fractions) => {
      const stream = parts.join('');
      assert.deepEqual(parse(cutAt(stream, fractions)), reference(stream));
    }),
    500,
  );
});

/** Bytes rich in UTF-8 edge cases: sequences of each length, truncated, overlong, surrogates, stray. */
const trickyBytes = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        [0x64, 0x61, 0x74, 0x61, 0x3a], // "data:"
        [0x0a],
        [0x0d],
        [0x3a],
        [0xef, 0xbb, 0xbf], // BOM
        [0xc3, 0xa9], // é
        [0xe2, 0x82, 0xac], // €
        [0xf0, 0x9d, 0x84, 0x9e], // 𝄞
        [0xe2, 0x82], // truncated
        [0xf0, 0x9d], // truncated
        [0xc0, 0xaf], // overlong
        [0xe0, 0x80, 0x80], // overlong
        [0xed, 0xa0, 0x80], // a surrogate
        [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
        [0x80],
        [0xbf],
        [0xff],
      ),
      fc.array(fc.nat(255), { minLength: 1, maxLength: 3 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => Uint8Array.from(parts.flat()));

test('(c) bytes cut anywhere decode as the whole stream does, malformed UTF-8 included', () => {
  const whole = new TextDecoder('utf-8', { ignoreBOM: true });
  check(
    fc.property(trickyBytes, cuts, (stream, fractions) => {
      const expected = reference(whole.decode(stream));
      assert.deepEqual(parse(cutAt(stream, fractions)), expected);
      for (let i = 0; i <= stream.length; i++) {
        assert.deepEqual(parse([stream.subarray(0, i), stream.subarray(i)]), expected, `cut at ${i}`);
      }
    }),
    500,
  );
});

test('(c) streams decoded side by side do not leak bytes into each other', () => {
  const whole = new TextDecoder('utf-8', { ignoreBOM: true });
  check(
    fc.property(trickyBytes, trickyBytes, cuts, cuts, (a, b, cutsA, cutsB) => {
      const first = record();
      const second = record();
      const piecesA = cutAt(a, cutsA);
      const piecesB = cutAt(b, cutsB);
      for (let i = 0; i < Math.max(piecesA.length, piecesB.length); i++) {
        if (i < piecesA.length) first.parser.feed(piecesA[i]);
        if (i < piecesB.length) second.parser.feed(piecesB[i]);
      }
      assert.deepEqual(first.outputs, reference(whole.decode(a)));
      assert.deepEqual(second.outputs, reference(whole.decode(b)));
    }),
    1000,
  );
});
