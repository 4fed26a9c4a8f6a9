/**
 * A reader that resumes on a process whose view of the stream lags the store (another node served
 * it further, and this one's store notification is late or lost) gets what follows its
 * Last-Event-ID, not again the chunks it already has.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryResumableStore, type ResumableStore } from '../../../src/server/index.js';
import { openStream } from '../../support/hub.js';
import { serve, until } from './suite.js';

/** The store as a second process sees it: its change notifications only arrive on `deliver()`. */
function lateNotifications(inner: ResumableStore): ResumableStore & { deliver(): void } {
  const listeners = new Set<() => void>();
  return {
    create: (id, tag) => inner.create(id, tag),
    append: (id, chunks, bytes, max) => inner.append(id, chunks, bytes, max),
    finish: (id, state, reason, expire) => inner.finish(id, state, reason, expire),
    abortIfIdle: (id, idle, reason, expire) => inner.abortIfIdle(id, idle, reason, expire),
    touch: (id) => inner.touch(id),
    read: (id, after, limit) => inner.read(id, after, limit),
    watch: (_id, listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => Promise.resolve(),
    deliver: () => {
      for (const listener of [...listeners]) listener();
    },
  };
}

test('resumable: a reader resuming past what this process has pulled gets no chunk twice', async (t) => {
  const shared = createMemoryResumableStore();
  t.after(() => shared.close());
  const late = lateNotifications(shared);
  // abortAfterMs long: the shared timer's poll (every second) stays out of this test's way.
  const a = await serve(t, shared, { abortAfterMs: 60_000 });
  const b = await serve(t, late, { abortAfterMs: 60_000 });
  const writer = await a.streams.writer('s');
  for (const chunk of ['c1', 'c2', 'c3']) writer.write(chunk);
  await writer.flushed();
  // A first reader on B keeps B's view of the stream alive at 3 chunks.
  const first = await openStream(b.url('s'));
  await until(() => first.events.length === 3);
  // Two more chunks; B hears nothing of them. A second reader got them from A, then resumes on B.
  for (const chunk of ['c4', 'c5']) writer.write(chunk);
  await writer.flushed();
  const resumed = await openStream(b.url('s'), { 'Last-Event-ID': `${writer.tag}.5` });
  await new Promise((resolve) => setImmediate(resolve));
  writer.write('c6');
  await writer.end();
  late.deliver();
  await resumed.ended;
  assert.deepEqual(
    resumed.events.map((e) => [e.type, e.type === 'message' ? e.data : '']),
    [
      ['message', 'c6'],
      ['end', ''],
    ],
  );
  await first.ended;
  assert.deepEqual(first.events.map((e) => e.data).slice(0, 6), ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
});
