/**
 * Sentinel and Cluster addresses: what `redis+sentinel://` parses to, the mistakes it refuses with
 * the fix, and Redis Cluster refused by its scheme and, for a `redis://` address, by the node itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { StoreConfigError } from '../../../src/hub/stores/errors.js';
import { createRedisStore } from '../../../src/hub/stores/redis.js';
import { parseStoreSpec } from '../../../src/hub/stores/spec.js';
import { spawnRedisServer } from '../../support/redis-server.js';
import { requirePart } from '../../support/requirements.js';
import { freePort } from './redis-support.js';

test('redis+sentinel:// names the sentinels (26379 by default), the master and the database', () => {
  assert.deepEqual(parseStoreSpec('redis+sentinel://:pw@10.0.0.1:26380,10.0.0.2,[::1]:26381/mymaster?db=3'), {
    kind: 'redis',
    url: 'redis+sentinel://:pw@10.0.0.1:26380,10.0.0.2,[::1]:26381/mymaster?db=3',
    tls: false,
    host: '10.0.0.1',
    port: 26380,
    db: 3,
    display: 'sentinel mymaster@10.0.0.1:26380,10.0.0.2:26379,::1:26381/3',
    sentinels: [
      { host: '10.0.0.1', port: 26380 },
      { host: '10.0.0.2', port: 26379 },
      { host: '::1', port: 26381 },
    ],
    masterName: 'mymaster',
  });
  assert.equal((parseStoreSpec('redis+sentinel://h/m') as { db: number }).db, 0);
});

test('bad Sentinel addresses and Cluster addresses are refused with StoreConfigError naming the fix', () => {
  const refused: [string, RegExp][] = [
    ['redis+sentinel://10.0.0.1:26379', /needs sentinels and a master name/],
    ['redis+sentinel:///mymaster', /bad sentinel address ""/],
    ['redis+sentinel://h:99999/mymaster', /bad sentinel address "h:99999"/],
    ['redis+sentinel://h/mymaster?db=x', /takes only \?db=N/],
    ['redis+sentinel://h/mymaster?prefix=x', /takes only \?db=N/],
    ['redis+cluster://h:7000,h:7001', /Redis Cluster is not supported.*use Redis Sentinel/],
  ];
  for (const [spec, message] of refused) {
    assert.throws(
      () => parseStoreSpec(spec),
      (error: unknown) => {
        assert.ok(error instanceof StoreConfigError, spec);
        assert.match((error as Error).message, message);
        return true;
      },
    );
  }
});

test('a redis:// address of a Redis Cluster node: ready() rejects with StoreConfigError, not an endless outage', async (t) => {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (!requirePart(t, 'redis-server', found.status === 0 ? null : 'no redis-server binary on PATH')) return;
  const port = await freePort();
  const dir = `/tmp/herald-cluster-node-${port}`;
  const node = await spawnRedisServer(port, [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    `${dir}.conf`,
  ]);
  t.after(() => {
    node.kill('SIGKILL');
    spawnSync('rm', ['-f', `${dir}.conf`]);
  });
  const store = createRedisStore(
    `redis://127.0.0.1:${port}`,
    { maxCount: 10, maxAgeMs: 0 },
    { onStatus: () => {} },
  );
  t.after(() => store.close());
  await assert.rejects(store.ready(), (error: unknown) => {
    assert.ok(error instanceof StoreConfigError);
    assert.match((error as Error).message, /is a Redis Cluster node, and Redis Cluster is not supported/);
    return true;
  });
});
