import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSqliteResumableStore } from '../../../src/hub/stores/sqlite-resumable.js';
import { createResumableStreams } from '../../../src/server/index.js';
import { readAll, resumableSuite, serve } from '../../server/resumable/suite.js';

resumableSuite('sqlite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-rs-'));
  const store = createSqliteResumableStore(join(dir, 'streams.db'));
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
});

test('sqlite: a stream outlives a restart of its process; readers resume and see it end', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-rs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'streams.db');
  const before = createSqliteResumableStore(path);
  const streams = createResumableStreams({ store: before });
  const writer = await streams.writer('log');
  for (let i = 0; i < 300; i++) writer.write(`line ${i}\n`);
  await writer.flushed();
  await streams.close();
  await before.close();

  const after = createSqliteResumableStore(path);
  t.after(() => after.close());
  const { url } = await serve(t, after);
  const ids: string[] = [];
  const reading = readAll(url('log'), { onEventId: (id) => ids.push(id) });
  // The restarted producer appends the rest straight to the store and ends it.
  await after.append('log', ['tail\n'], 5, 1_000_000);
  await after.finish('log', 'ended', undefined, 60_000);
  const got = await reading;
  assert.deepEqual(got, [...Array.from({ length: 300 }, (_, i) => `line ${i}\n`), 'tail\n']);
  assert.equal(ids.at(-1)?.endsWith('.301'), true);
});
