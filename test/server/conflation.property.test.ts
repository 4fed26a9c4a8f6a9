/**
 * Property test of a stream's conflating queue, with fast-check (fixed seed; FC_SEED explores
 * others). Any interleaving of keyed and keyless writes, flushes, transport push-back and drains
 * must give, per key, an increasing subsequence of the values written ending with the latest; every
 * keyless event, in order; and exactly the order of a reference queue written from the rule
 * ("an unsent event with the same key is replaced at its place").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeEvent } from '../../src/protocol/index.js';
import { SseStream } from '../../src/server/index.js';
import { resolveStreamConfig } from '../../src/server/options.js';
import type { Sink } from '../../src/server/sink.js';

const seed = process.env.FC_SEED === undefined ? 20_261_203 : Number(process.env.FC_SEED);

type Op =
  | { op: 'keyed'; key: string }
  | { op: 'keyless' }
  | { op: 'flush' }
  | { op: 'pushBack' }
  | { op: 'drain' };

const ops = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom('a', 'b', 'c', 'd').map((key) => ({ op: 'keyed', key }) as Op) },
    { weight: 3, arbitrary: fc.constant({ op: 'keyless' } as Op) },
    { weight: 2, arbitrary: fc.constant({ op: 'flush' } as Op) },
    { weight: 1, arbitrary: fc.constant({ op: 'pushBack' } as Op) },
    { weight: 1, arbitrary: fc.constant({ op: 'drain' } as Op) },
  ),
  { maxLength: 80 },
);

/** A transport that records what it is given, and refuses more (push-back) when told to. */
class RecordingSink implements Sink {
  readonly written: string[] = [];
  refuse = false;
  write(chunk: Uint8Array): boolean {
    this.written.push(Buffer.from(chunk).toString());
    return !this.refuse;
  }
  buffered(): number {
    return 0;
  }
  end(chunk: Uint8Array | null): void {
    if (chunk !== null) this.written.push(Buffer.from(chunk).toString());
  }
  destroy(): void {}
  detach(): void {}
}

/** The rule, written plainly: an unsent slot with the same key takes the new value in place. */
function reference(list: Op[]): string[] {
  const out: string[] = [];
  let pending: { key?: string; value: string }[] = [];
  let blocked = false;
  let refuse = false;
  let n = 0;
  for (const o of list) {
    if (o.op === 'keyed') {
      const value = `${o.key}${n++}`;
      const slot = pending.find((s) => s.key === o.key);
      if (slot !== undefined) slot.value = value;
      else pending.push({ key: o.key, value });
    } else if (o.op === 'keyless') {
      pending.push({ value: `-${n++}` });
    } else if (o.op === 'flush' && !blocked && pending.length > 0) {
      for (const s of pending) out.push(s.value);
      pending = [];
      blocked = refuse;
    } else if (o.op === 'pushBack') {
      refuse = true;
    } else if (o.op === 'drain') {
      refuse = false;
      blocked = false;
    }
  }
  for (const s of pending) out.push(s.value);
  return out;
}

function run(list: Op[]): string[] {
  const config = resolveStreamConfig({ retryMs: null, maxQueueBytes: 1 << 30 });
  const stream = new SseStream(config, null);
  const sink = new RecordingSink();
  stream.attach(sink);
  sink.written.length = 0; // the opening comment
  let n = 0;
  for (const o of list) {
    if (o.op === 'keyed') stream.write(encodeEvent({ data: `${o.key}${n++}` }), o.key);
    else if (o.op === 'keyless') stream.write(encodeEvent({ data: `-${n++}` }));
    else if (o.op === 'flush') stream.flush();
    else if (o.op === 'pushBack') sink.refuse = true;
    else {
      sink.refuse = false;
      stream.drained();
    }
  }
  stream.close();
  return sink.written
    .join('')
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => e.replace(/^data: /, ''));
}

test('conflating queue: per key the latest last, no older after newer; keyless all, in order', () => {
  try {
    fc.assert(
      fc.property(ops, (list) => {
        const got = run(list);
        // What was written, per key and keyless.
        const written = new Map<string, number[]>();
        const keyless: string[] = [];
        let n = 0;
        for (const o of list) {
          if (o.op === 'keyed') {
            const values = written.get(o.key) ?? [];
            values.push(n++);
            written.set(o.key, values);
          } else if (o.op === 'keyless') keyless.push(`-${n++}`);
        }
        assert.deepEqual(
          got.filter((v) => v.startsWith('-')),
          keyless,
          'every keyless event, in order',
        );
        for (const [key, values] of written) {
          const seen = got.filter((v) => v.startsWith(key)).map((v) => Number(v.slice(1)));
          assert.equal(seen.at(-1), values.at(-1), `key ${key}: the latest value arrives last`);
          for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `key ${key}: in order`);
          for (const v of seen) assert.ok(values.includes(v), `key ${key}: only written values`);
        }
        assert.deepEqual(got, reference(list), 'the order of the reference queue');
      }),
      { seed, numRuns: 2000 },
    );
  } catch (error) {
    if (error instanceof Error) error.message = `FC_SEED=${seed}\n${error.message}`;
    throw error;
  }
});
