/**
 * A worker's resumable-stream store goes through the primary: it passes the suite every store
 * passes (errors crossing the channel keep their class, status and fields), and its own failures
 * are clear.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIpcResumableStore } from '../../../src/hub/cluster/ipc-resumable-store.js';
import { PrimaryConnection } from '../../../src/hub/cluster/ipc-store.js';
import { createStoreRelay } from '../../../src/hub/cluster/relay.js';
import { createMemoryStore, DEFAULT_RETENTION } from '../../../src/hub/stores/index.js';
import { createMemoryResumableStore, type ResumableStore } from '../../../src/server/index.js';
import { resumableSuite } from '../../server/resumable/suite.js';
import { createPortPair } from './port-pair.js';

function worker(t: import('node:test').TestContext, streams: ResumableStore | undefined): ResumableStore {
  const history = createMemoryStore(DEFAULT_RETENTION);
  const relay = createStoreRelay(history, streams === undefined ? {} : { resumableStore: streams });
  const [primaryEnd, workerEnd] = createPortPair();
  relay.attach(1, primaryEnd);
  const connection = new PrimaryConnection(workerEnd);
  const store = createIpcResumableStore(connection);
  t.after(async () => {
    await store.close();
    connection.close();
    relay.close();
    await history.close();
    await streams?.close();
  });
  return store;
}

resumableSuite('cluster worker (IPC to a memory store)', async (t) =>
  worker(t, createMemoryResumableStore()),
);

test('a worker whose primary holds no resumable store gets a clear error, not a hang', async (t) => {
  const store = worker(t, undefined);
  await assert.rejects(
    store.read('s', 0, 1),
    /the primary's store failed: the cluster primary holds no resumable-stream store/,
  );
});

test('a closed worker store refuses calls', async (t) => {
  const store = worker(t, createMemoryResumableStore());
  await store.close();
  await assert.rejects(
    store.create('s', 'tag00001'),
    (e: unknown) => (e as { code?: string }).code === 'HERALD_ERR_STORE_CLOSED',
  );
});

test('the primary refuses an operation it does not know', async (t) => {
  const history = createMemoryStore(DEFAULT_RETENTION);
  const streams = createMemoryResumableStore();
  const relay = createStoreRelay(history, { resumableStore: streams });
  const [primaryEnd, workerEnd] = createPortPair();
  relay.attach(1, primaryEnd);
  const connection = new PrimaryConnection(workerEnd);
  t.after(async () => {
    connection.close();
    relay.close();
    await history.close();
    await streams.close();
  });
  await assert.rejects(
    connection.request({ herald: 'rs', op: 'drop' as 'read', args: ['s'] }),
    /unknown resumable store operation "drop"/,
  );
});
