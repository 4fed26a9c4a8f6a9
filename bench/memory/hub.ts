/**
 * The hub under measurement: `createHub` behind the same HTTP listener `herald serve` uses
 * (anonymous subscribers, memory store), in its own process. The parent drives it over IPC:
 * `{ cmd: 'sample' }` forces a GC (the process runs with --expose-gc) and answers with
 * `process.memoryUsage()`; `{ cmd: 'snapshot', path }` writes a heap snapshot.
 */
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { createHttpListener } from '../../src/cli/http-listener.js';
import { createHub } from '../../src/hub/index.js';

const hub = createHub({ anonymous: true });
const listener = createHttpListener(undefined, (req, res) => hub.handle(req, res));
const address = await listener.listen(0, '0.0.0.0');

type Command = { cmd: 'sample' } | { cmd: 'snapshot'; path: string } | { cmd: 'stop' };

process.on('message', async (message: Command) => {
  if (message.cmd === 'sample') {
    // Two passes: the first may leave weakly held objects and finalizers for the second.
    for (let i = 0; i < 2; i++) {
      globalThis.gc?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]),
    ) as Record<string, number>;
    process.send!({ memory: process.memoryUsage(), spaces, subscribers: hub.subscriberCount });
  } else if (message.cmd === 'snapshot') {
    process.send!({ snapshot: writeHeapSnapshot(message.path) });
  } else {
    await hub.close();
    listener.stopAccepting();
    await listener.finish(0);
    process.exit(0);
  }
});
process.send!({ port: address.port });
