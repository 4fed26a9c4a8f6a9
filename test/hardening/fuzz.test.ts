/**
 * Bounded fuzzing with fast-check (fixed seeds, a few seconds each):
 * - the event-stream parser fed arbitrary bytes (invalid UTF-8, NUL, lone CR, BOMs) in arbitrary
 *   chunks never throws, and however the bytes are split it dispatches the same events;
 * - the publish endpoint fed arbitrary form fields answers 200 or a 4xx, never a 5xx, and every
 *   accepted update reaches a subscriber of every topic with its ID and its data (line breaks as LF).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createParser, type ParsedEvent } from '../../src/protocol/index.js';
import { type OpenStream, openStream, publish, signDraft07, startHub, type TestHub } from '../support/hub.js';
import { type Canary, openCanary } from './canary.js';

const SEED = 424242;

function parseAll(chunks: Uint8Array[]): { events: ParsedEvent[]; retries: number[] } {
  const events: ParsedEvent[] = [];
  const retries: number[] = [];
  const parser = createParser({ onEvent: (e) => events.push({ ...e }), onRetry: (ms) => retries.push(ms) });
  for (const chunk of chunks) parser.feed(chunk);
  return { events, retries };
}

/** Bytes that look like an event stream often enough to reach every branch, garbage otherwise. */
const streamBytes = fc
  .array(
    fc.oneof(
      fc
        .constantFrom(
          'data:',
          'data: ',
          'id:',
          'id: x',
          'event: e',
          'retry: 12',
          'retry: x',
          ':c',
          '\r',
          '\n',
          '\r\n',
          '\uFEFF',
          '\0',
          'é',
          '😀',
        )
        .map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
      // Raw bytes: invalid UTF-8, lone continuation bytes, truncated sequences.
      fc.uint8Array({ maxLength: 6 }),
    ),
    { maxLength: 60 },
  )
  .map((parts) => Buffer.concat(parts))
  .chain((all) => fc.tuple(fc.constant(all), fc.uniqueArray(fc.nat({ max: all.length }), { maxLength: 12 })));

test('parser: arbitrary bytes in arbitrary chunks never throw and parse the same however split', () => {
  fc.assert(
    fc.property(streamBytes, ([bytes, cuts]) => {
      const whole = parseAll([bytes]);
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let from = 0;
      for (const p of points) {
        chunks.push(bytes.subarray(from, p));
        from = p;
      }
      chunks.push(bytes.subarray(from));
      const split = parseAll(chunks);
      assert.deepEqual(split, whole);
      for (const e of whole.events) {
        assert.ok(!e.lastEventId.includes('\0'), 'an id with NUL is ignored (WHATWG)');
        assert.ok(!/[\r\n]/.test(e.type) && !/[\r\n]/.test(e.lastEventId));
      }
    }),
    { seed: SEED, numRuns: 3000 },
  );
});

describe('publish endpoint fuzz', () => {
  let hub: TestHub;
  let canary: Canary;
  let token: string;
  let watcher: OpenStream;
  before(async () => {
    hub = await startHub({ anonymous: true, maxBodyBytes: 16 * 1024 });
    canary = await openCanary(hub);
    token = await signDraft07({ publish: ['*'], subscribe: ['*'] });
    watcher = await openStream(`${hub.hubUrl}?topic=*`, { authorization: `Bearer ${token}` });
  });
  after(async () => {
    watcher.close();
    canary.close();
    await hub.close();
  });

  const value = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom(
      '',
      '*',
      'earliest',
      '#x',
      'mercure',
      '/.well-known/mercure/x',
      'https://example.com/a',
      '123',
      '-1',
    ),
  );
  const field = fc.tuple(
    fc.constantFrom('topic', 'data', 'id', 'type', 'retry', 'private', 'x', 'topic[]'),
    value,
  );
  const form = fc.array(field, { maxLength: 8 });

  test('any form: 200 or 4xx, and what is accepted is delivered intact', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(form, async (fields) => {
        const body = new URLSearchParams(fields);
        const res = await fetch(hub.hubUrl, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
        const text = await res.text();
        assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${res.status} ${text}`);
        if (res.status !== 200) return;
        accepted++;
        const event = await watcher.next();
        assert.equal(event.lastEventId, text);
        assert.equal(event.data, (body.get('data') ?? '').replace(/\r\n?/g, '\n'));
        const type = body.get('type');
        assert.equal(event.type, type === null || type === '' ? 'message' : type);
      }),
      { seed: SEED, numRuns: 400 },
    );
    assert.ok(accepted > 20, `only ${accepted} forms accepted: the generator misses the happy path`);
    // The watcher got exactly the accepted updates and the canary's.
    await canary.check();
    await publish(hub, { topic: 'https://example.com/end', data: 'end' }, token);
    let last = await watcher.next();
    while (last.data.startsWith('canary ')) last = await watcher.next();
    assert.equal(last.data, 'end');
  });
});
