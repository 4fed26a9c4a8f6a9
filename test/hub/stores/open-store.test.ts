import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_RETENTION,
  openStore,
  parseStoreSpec,
  StoreConfigError,
} from '../../../src/hub/stores/index.js';

test('openStore("memory") gives a working store', async (t) => {
  const store = await openStore('memory', DEFAULT_RETENTION);
  t.after(() => store.close());
  await store.append({ id: 'a', topics: ['t'], private: false, data: 'x', time: Date.now() });
  assert.equal(await store.lastId(), 'a');
});

test('store specs parse to locations; relative sqlite paths resolve from cwd', () => {
  assert.deepEqual(parseStoreSpec('memory'), { kind: 'memory' });
  assert.deepEqual(parseStoreSpec('sqlite:data/h.db', '/srv/app'), {
    kind: 'sqlite',
    path: '/srv/app/data/h.db',
  });
  assert.deepEqual(parseStoreSpec('sqlite:/var/lib/h.db', '/srv'), { kind: 'sqlite', path: '/var/lib/h.db' });
  assert.deepEqual(parseStoreSpec('sqlite:///var/lib/h.db', '/srv'), {
    kind: 'sqlite',
    path: '/var/lib/h.db',
  });
  assert.deepEqual(parseStoreSpec('redis://user:secret@cache.internal:6380/2'), {
    kind: 'redis',
    url: 'redis://user:secret@cache.internal:6380/2',
    tls: false,
    host: 'cache.internal',
    port: 6380,
    db: 2,
    display: 'cache.internal:6380/2',
  });
  const tls = parseStoreSpec('rediss://[::1]');
  assert.ok(tls.kind === 'redis' && tls.tls && tls.host === '::1' && tls.port === 6379 && tls.db === 0);
});

test('unusable specs and retentions are refused with StoreConfigError naming the fix', async () => {
  for (const spec of ['', 'memroy', 'postgres://db/x', 'sqlite:', 'redis://host/abc', 'redis://h:1/0?x=1']) {
    await assert.rejects(openStore(spec, DEFAULT_RETENTION), (err: unknown) => {
      assert.ok(err instanceof StoreConfigError, `${spec}: ${String(err)}`);
      assert.equal(err.code, 'HERALD_ERR_STORE_CONFIG');
      return true;
    });
  }
  await assert.rejects(
    openStore('postgres://db/x', DEFAULT_RETENTION),
    /unknown store scheme "postgres:"; use 'memory'/,
  );
  await assert.rejects(
    openStore('redis://u:hunter2@:1/x', DEFAULT_RETENTION),
    (err: Error) => !err.message.includes('hunter2'),
  );
  await assert.rejects(
    openStore('memory', { maxCount: -1, maxAgeMs: 0 }),
    /maxCount must be a non-negative integer \(got -1\)/,
  );
  await assert.rejects(
    openStore('memory', { maxCount: 10, maxAgeMs: 1.5 }),
    /maxAgeMs must be a non-negative integer/,
  );
});
