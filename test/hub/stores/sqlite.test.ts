import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import Database from 'better-sqlite3';
import { openStore, StoreConfigError, StoreUnavailableError } from '../../../src/hub/stores/index.js';
import { createSqliteStore } from '../../../src/hub/stores/sqlite.js';
import { makeUpdate, storeContract } from './contract.js';

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

storeContract('sqlite', async (t, retention, options) => {
  const store = createSqliteStore(join(scratch(t), 'history.db'), retention, options);
  t.after(() => store.close());
  return store;
});

test('history and after(lastEventId) survive closing and reopening the file', async (t) => {
  const path = join(scratch(t), 'nested', 'dir', 'history.db');
  const retention = { maxCount: 100, maxAgeMs: 0 };
  const first = await openStore(`sqlite:${path}`, retention);
  const published = ['a', 'b', 'c'].map((l) => makeUpdate(l, Date.now(), { type: 'x', retry: 10 }));
  await Promise.all(published.map((u) => first.append(u)));
  await first.close();

  const second = await openStore(`sqlite:${path}`, retention);
  t.after(() => second.close());
  assert.equal(await second.lastId(), published[2].id);
  assert.deepEqual(await second.after(published[0].id, 10), { found: true, updates: published.slice(1) });
  const later = makeUpdate('d');
  await second.append(later);
  assert.deepEqual(await second.after(published[2].id, 10), { found: true, updates: [later] });
});

test('a relative sqlite: path resolves from cwd and its directory is created', async (t) => {
  const dir = scratch(t);
  const store = await openStore('sqlite:data/h.db', { maxCount: 10, maxAgeMs: 0 }, { cwd: dir });
  t.after(() => store.close());
  await store.append(makeUpdate('a'));
  const db = new Database(join(dir, 'data', 'h.db'), { readonly: true, fileMustExist: true });
  // The store holds the file exclusively; a reader in another connection is refused while it is open.
  assert.throws(() => db.prepare('SELECT count(*) FROM updates').get(), /locked/);
  db.close();
});

const topics = ['https://example.com/one-topic'];

test('the file stays bounded: retention deletes rows on disk', async (t) => {
  const path = join(scratch(t), 'bounded.db');
  const store = createSqliteStore(path, { maxCount: 50, maxAgeMs: 0 });
  for (let round = 0; round < 20; round++) {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        store.append(makeUpdate(`r${round}-${i}`, Date.now(), { topics })),
      ),
    );
  }
  await store.close();
  const db = new Database(path, { readonly: true });
  t.after(() => db.close());
  assert.equal((db.prepare('SELECT count(*) AS n FROM updates').get() as { n: number }).n, 50);
});

test('a smaller retention after a restart applies at once, on reads and on disk', async (t) => {
  const path = join(scratch(t), 'shrink.db');
  const big = createSqliteStore(path, { maxCount: 2000, maxAgeMs: 0 });
  await Promise.all(
    Array.from({ length: 2000 }, (_, i) => big.append(makeUpdate(`s${i}`, Date.now(), { topics }))),
  );
  const lastIds = (await big.after('earliest', 2000)).updates.slice(-10).map((u) => u.id);
  await big.close();

  const small = createSqliteStore(path, { maxCount: 10, maxAgeMs: 0 });
  assert.deepEqual(
    (await small.after('earliest', 100)).updates.map((u) => u.id),
    lastIds,
  );
  await small.close();
  const db = new Database(path, { readonly: true });
  t.after(() => db.close());
  assert.equal((db.prepare('SELECT count(*) AS n FROM updates').get() as { n: number }).n, 10);
});

test('a file held by another process or connection fails with StoreUnavailableError', async (t) => {
  const path = join(scratch(t), 'locked.db');
  const owner = createSqliteStore(path, { maxCount: 10, maxAgeMs: 0 });
  t.after(() => owner.close());
  assert.throws(
    () => createSqliteStore(path, { maxCount: 10, maxAgeMs: 0 }, { busyTimeoutMs: 0 }),
    (err: unknown) =>
      err instanceof StoreUnavailableError &&
      err.code === 'HERALD_ERR_STORE_UNAVAILABLE' &&
      /is locked by another process/.test(err.message),
  );
});

test('a corrupt file, or a database of another program, fails with StoreConfigError', async (t) => {
  const dir = scratch(t);
  const garbage = join(dir, 'garbage.db');
  writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
  await assert.rejects(
    openStore(`sqlite:${garbage}`, { maxCount: 10, maxAgeMs: 0 }),
    (err: unknown) => err instanceof StoreConfigError && /is not a database or is corrupt/.test(err.message),
  );

  const foreign = join(dir, 'foreign.db');
  const db = new Database(foreign);
  db.exec('CREATE TABLE invoices (n INTEGER)');
  db.close();
  assert.throws(
    () => createSqliteStore(foreign, { maxCount: 10, maxAgeMs: 0 }),
    (err: unknown) => err instanceof StoreConfigError && /of another program/.test(err.message),
  );
});

test('another process cannot read or write the file while a store holds it', async (t) => {
  const path = join(scratch(t), 'owned.db');
  const store = createSqliteStore(path, { maxCount: 10, maxAgeMs: 0 });
  t.after(() => store.close());
  await store.append(makeUpdate('a'));
  const probe = `
    const Database = require('better-sqlite3');
    try {
      const db = new Database(process.argv[1], { timeout: 0 });
      db.prepare('SELECT count(*) FROM updates').get();
      console.log('opened');
    } catch (error) {
      console.log(error.code);
    }`;
  const answer = execFileSync(process.execPath, ['-e', probe, path], { encoding: 'utf8' }).trim();
  assert.equal(answer, 'SQLITE_BUSY');
});

test('the file and its WAL stay near what retention keeps after a burst of large updates', async (t) => {
  const path = join(scratch(t), 'burst.db');
  const store = createSqliteStore(path, { maxCount: 10, maxAgeMs: 0 });
  t.after(() => store.close());
  const data = 'x'.repeat(900_000);
  // Three bursts of 30 (27 MB each, one transaction each): before, 36 MB of file and 27 MB of WAL.
  for (let burst = 0; burst < 3; burst++) {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        store.append(makeUpdate(`big${burst}-${i}`, Date.now(), { topics, data })),
      ),
    );
  }
  const size = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  // Kept: 10 x 0.9 MB, plus at most 4 MB written since the last vacuum and checkpoint.
  assert.ok(
    size(path) + size(`${path}-wal`) < 14_000_000,
    `file ${size(path)} B + WAL ${size(`${path}-wal`)} B`,
  );
  assert.equal((await store.after('earliest', 100)).updates.length, 10);
});
