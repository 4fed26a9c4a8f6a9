/**
 * Redis with Sentinel, for real: a master, a replica and three sentinels on loopback ports of the
 * test's own (test/support/redis-server.ts). The master is killed; the sentinels promote the
 * replica; the store follows it. What an acknowledged append is worth across that failover depends on
 * the acknowledgement mode: on the master alone (`waitReplicas: 0`), or after a replica has it
 * (`waitReplicas: 1`, WAIT). The replica is paused (SIGSTOP) before the kill so that replication
 * lags, as it does under load or a slow link: what was acknowledged meanwhile shows each mode's loss.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreUnavailableError } from '../../src/hub/stores/errors.js';
import { createRedisStore, type RedisStatus } from '../../src/hub/stores/redis.js';
import type { Update } from '../../src/hub/update.js';
import { redisSentinelMissing, startSentinelGroup } from '../support/redis-server.js';
import { requirePart } from '../support/requirements.js';

function update(id: string): Update {
  return { id, topics: ['/failover'], data: id, private: false, time: Date.now() } as Update;
}

/**
 * Appends until one is acknowledged (the store refuses while no master is reachable), a new ID each
 * try (a refused append may still have been stored); bounded. Returns the acknowledged ID.
 */
async function appendWhenBack(store: ReturnType<typeof createRedisStore>, id: string): Promise<string> {
  for (let i = 0; i < 300; i++) {
    try {
      await store.append(update(`${id}-try${i}`));
      return `${id}-try${i}`;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`append ${id} never succeeded after the failover`);
}

for (const waitReplicas of [0, 1]) {
  test(`Sentinel failover, acknowledged ${waitReplicas === 0 ? 'by the master' : 'after a replica has it'}: the store follows the new master; lost acknowledged updates: ${waitReplicas === 0 ? 'those not yet replicated' : 'none'}`, async (t) => {
    if (!requirePart(t, 'redis-sentinel', redisSentinelMissing())) return;
    const group = await startSentinelGroup();
    t.after(() => group.stop());
    const statuses: { status: RedisStatus; error?: Error }[] = [];
    const store = createRedisStore(
      group.url,
      { maxCount: 1000, maxAgeMs: 0 },
      {
        prefix: `herald-test-failover-${waitReplicas}`,
        waitReplicas,
        waitReplicasTimeoutMs: 300,
        onStatus: (status, error) => statuses.push({ status, error }),
      },
    );
    t.after(() => store.close());
    await store.ready();
    const live: string[] = [];
    store.subscribe((u) => live.push(u.id));

    const acknowledged: string[] = [];
    const refused: string[] = [];
    const publishAll = async (ids: string[]) => {
      for (const id of ids) {
        try {
          await store.append(update(id));
          acknowledged.push(id);
        } catch (error) {
          if (!(error instanceof StoreUnavailableError)) throw error;
          refused.push(id);
        }
      }
    };
    await publishAll(Array.from({ length: 10 }, (_, i) => `before-${i}`));
    assert.deepEqual(refused, [], 'every append is acknowledged while the replica keeps up');

    // Replication stalls; the master still takes writes.
    const stalled = await group.stallReplication();
    await publishAll(Array.from({ length: 5 }, (_, i) => `lagging-${i}`));
    // The reader has read whatever the master acknowledged, so the rollback is this node's to see.
    if (waitReplicas === 0) {
      const readBy = Date.now() + 10_000;
      while (!live.includes('lagging-4') && Date.now() < readBy) await new Promise((r) => setTimeout(r, 20));
      assert.ok(live.includes('lagging-4'), `the reader read the lagging updates: ${live.join(' ')}`);
    }
    group.master.kill('SIGKILL');
    stalled.resume();
    const killedAt = Date.now();
    await group.waitForFailover();
    acknowledged.push(await appendWhenBack(store, 'after-0'));
    const recoveredMs = Date.now() - killedAt;
    await publishAll(Array.from({ length: 4 }, (_, i) => `after-${i + 1}`));

    // The store's reader follows the new master: live listeners get what is appended after the
    // failover, and nothing read before it twice. (Waited for before reading history: until the
    // reader has reconnected, a history read answers StoreUnavailableError.)
    const deadline = Date.now() + 10_000;
    while (!live.includes('after-4') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      live.includes('after-4'),
      `live listeners got the updates after the failover: ${live.join(' ')}`,
    );
    assert.equal(new Set(live).size, live.length, `no update delivered twice: ${live.join(' ')}`);
    const { updates } = await store.after('earliest', 1000);
    const kept = new Set(updates.map((u) => u.id));
    const lost = acknowledged.filter((id) => !kept.has(id));
    t.diagnostic(
      `waitReplicas ${waitReplicas}: recovered ${recoveredMs} ms after the kill; acknowledged ${acknowledged.length}, ` +
        `refused ${refused.length}, lost ${lost.length} acknowledged (${lost.join(' ') || 'none'})`,
    );
    if (waitReplicas === 0) {
      // Acknowledged by the master alone: what it had not replicated is gone, and the store said so.
      assert.deepEqual(
        lost,
        Array.from({ length: 5 }, (_, i) => `lagging-${i}`),
      );
      assert.ok(
        statuses.some((s) => s.status === 'lost' && /rolled back/.test(s.error?.message ?? '')),
        'the rollback is reported',
      );
    } else {
      // Acknowledged only once replicated: the lagging appends were refused, nothing acknowledged is lost.
      assert.deepEqual(
        refused,
        Array.from({ length: 5 }, (_, i) => `lagging-${i}`),
      );
      assert.deepEqual(lost, []);
    }
  });
}
