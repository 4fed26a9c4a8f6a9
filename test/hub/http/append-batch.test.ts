import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HubContext } from '../../../src/hub/context.js';
import { appendBatch } from '../../../src/hub/http/publish.js';
import { DuplicateUpdateIdError } from '../../../src/hub/stores/errors.js';
import { createMemoryStore } from '../../../src/hub/stores/index.js';
import type { Store } from '../../../src/hub/stores/store.js';
import type { Update } from '../../../src/hub/update.js';
import { FaultyStore } from '../../support/faulty-store.js';

const update = (id: string): Update => ({ id, topics: ['t'], private: false, data: id, time: Date.now() });

// Another publisher may take an ID between the batch's look-up and its append: that update alone
// is refused. A store that appends at once and one that is awaited must agree on what is stored
// and counted.
for (const [name, wrap] of [
  ['a store that appends at once (memory)', (store: Store): Store => store],
  ['a store that is awaited (no appendNow)', (store: Store): Store => new FaultyStore(store)],
] as const) {
  test(`appendBatch on ${name}: every update tried, the refused one alone left out, the first refusal thrown`, async () => {
    const store = wrap(createMemoryStore({ maxCount: 100, maxAgeMs: 0 }));
    assert.equal(store.appendNow !== undefined, name.includes('at once'));
    await store.append(update('taken'));
    const metrics = { published: 0 };
    const ctx = { store, metrics } as unknown as HubContext;
    await assert.rejects(
      appendBatch(ctx, [update('a'), update('taken'), update('c'), update('taken')]),
      (error: unknown) => error instanceof DuplicateUpdateIdError && error.message.includes('taken'),
    );
    const { updates } = await store.after('earliest', 100);
    assert.deepEqual(
      updates.map((u) => u.id),
      ['taken', 'a', 'c'],
    );
    assert.equal(metrics.published, 2, 'the stored ones are counted, the refused ones are not');
    await appendBatch(ctx, [update('d'), update('e')]);
    assert.equal(metrics.published, 4);
    await store.close();
  });
}
