import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRedisResumableStore } from '../../../src/hub/stores/redis-resumable.js';
import { createResumableStreams } from '../../../src/server/index.js';
import { readAll, resumableSuite, serve } from '../../server/resumable/suite.js';
import { REDIS_URL, redisPrefix } from './redis-support.js';

resumableSuite(
  'redis',
  async (t) => {
    const prefix = await redisPrefix(t);
    if (prefix === undefined) return undefined;
    const store = createRedisResumableStore(REDIS_URL, { prefix });
    t.after(() => store.close());
    await store.ready();
    return store;
  },
  { checksLimits: false },
);

test('redis: a reader served by one node follows a producer on another', async (t) => {
  const prefix = await redisPrefix(t);
  if (prefix === undefined) return;
  const producerStore = createRedisResumableStore(REDIS_URL, { prefix });
  const readerStore = createRedisResumableStore(REDIS_URL, { prefix });
  t.after(() => Promise.all([producerStore.close(), readerStore.close()]));
  await Promise.all([producerStore.ready(), readerStore.ready()]);
  const producer = createResumableStreams({ store: producerStore });
  t.after(() => producer.close());
  const { url } = await serve(t, readerStore);
  const writer = await producer.writer('gen/7');
  writer.write('Once');
  await writer.flushed();
  const reading = readAll(url('gen/7'));
  const words = Array.from({ length: 500 }, (_, i) => ` word${i}`);
  for (const word of words) writer.write(word);
  await writer.end();
  assert.deepEqual(await reading, ['Once', ...words]);
});
