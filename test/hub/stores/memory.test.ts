import { createMemoryStore } from '../../../src/hub/stores/index.js';
import { storeContract } from './contract.js';

storeContract('memory', async (t, retention, options) => {
  const store = createMemoryStore(retention, options);
  t.after(() => store.close());
  return store;
});
