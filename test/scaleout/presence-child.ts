/**
 * A process holding one subscriber in a Redis presence, for the test of a node that dies:
 * `presence-child.ts URL PREFIX TTL_MS ID`. Prints `joined` once the record is in Redis.
 */
import { createRedisPresence } from '../../src/hub/presence/redis-presence.js';

const [url, prefix, ttl, id] = process.argv.slice(2) as [string, string, string, string];
const presence = createRedisPresence(url, { prefix, ttlMs: Number(ttl) });
await presence.ready();
presence.join({ id, selectors: [{ source: '/dying', syntax: 'topic' }], since: Date.now() });
// The join is written on the next turn; once another node lists it, the test kills this process.
setInterval(async () => {
  if ((await presence.list()).some((r) => r.id === id)) process.stdout.write('joined\n');
}, 20);
