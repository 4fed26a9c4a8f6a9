import { createMemoryResumableStore } from '../../../src/server/index.js';
import { resumableSuite } from './suite.js';

resumableSuite('memory', async (t) => {
  const store = createMemoryResumableStore();
  t.after(() => store.close());
  return store;
});
