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
import { startHerald } from '../cli/herald-process.js';
import { listeningUrl, openStream, publish, publisherToken } from '../cli/streams.js';
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
    group.master.kill('SIGKILL');
    stalled.resume();
    const killedAt = Date.now();
    await group.waitForFailover();
    acknowledged.push(await appendWhenBack(store, 'after-0'));
    const recoveredMs = Date.now() - killedAt;
    await publishAll(Array.from({ length: 4 }, (_, i) => `after-${i + 1}`));

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
    // The store's reader follows the new master: live listeners get what is appended after the
    // failover, and nothing read before it twice.
    const deadline = Date.now() + 10_000;
    while (!live.includes('after-4') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      live.includes('after-4'),
      `live listeners got the updates after the failover: ${live.join(' ')}`,
    );
    assert.equal(new Set(live).size, live.length, `no update delivered twice: ${live.join(' ')}`);
  });
}

test('two `herald serve` hubs on a Sentinel address follow the new master under publish load; their subscribers get what is published after it; what the master had not replicated is lost from history, logged and counted', async (t) => {
  if (!requirePart(t, 'redis-sentinel', redisSentinelMissing())) return;
  const group = await startSentinelGroup();
  t.after(() => group.stop());
  const KEY = 'sentinel-test-key-of-at-least-32-bytes';
  const TOPIC = 'https://example.com/failover';
  const prefix = `herald-test-cli-failover-${process.pid}`;
  const hubs = [0, 1].map(() =>
    startHerald(
      [
        'serve',
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--anonymous',
        '--store',
        group.url,
        '--store-prefix',
        prefix,
      ],
      { HERALD_JWT_KEY: KEY },
    ),
  );
  for (const hub of hubs) t.after(() => hub.kill());
  const [a, b] = await Promise.all(hubs.map((hub) => listeningUrl(hub)));
  const token = await publisherToken(KEY);
  const stream = await openStream(`${b}/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`);
  t.after(() => stream.close());
  assert.equal(stream.status, 200);

  // Publish load on hub A: one publish after another, each outcome recorded, until told to stop.
  const outcomes: { id: string; status: number; at: number }[] = [];
  let stop = false;
  const load = (async () => {
    for (let i = 0; !stop && i < 5000; i++) {
      const id = `load-${i}`;
      const res = await publish(`${a}/.well-known/mercure`, token, { topic: TOPIC, data: id, id }).catch(
        () => ({
          status: 0,
        }),
      );
      outcomes.push({ id, status: res.status, at: Date.now() });
      if (res.status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const acknowledgedCount = () => outcomes.filter((o) => o.status === 200).length;
  const waitFor = async (what: string, check: () => boolean) => {
    const deadline = Date.now() + 30_000;
    while (!check()) {
      if (Date.now() > deadline) {
        const statuses = outcomes.slice(-5).map((o) => `${o.id}:${o.status}`);
        const logs = hubs.map((hub) => hub.stdout().split('\n').slice(-8).join('\n'));
        throw new Error(
          `timed out waiting for ${what}; last publishes ${statuses.join(' ')}\n${logs.join('\n---\n')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await waitFor('50 acknowledged publishes', () => acknowledgedCount() >= 50);
  // Replication stalls for the last few acknowledged publishes before the master dies: with the
  // default acknowledgement (by the master) those are lost from history, and both hubs say so.
  const stalled = await group.stallReplication();
  const stalledFrom = outcomes.length;
  await waitFor('5 publishes acknowledged while replication stalls', () => acknowledgedCount() >= 55);
  const killedAt = Date.now();
  const beforeKill = outcomes.length;
  group.master.kill('SIGKILL');
  stalled.resume();
  await group.waitForFailover();
  await waitFor('publishes acknowledged again', () =>
    outcomes.slice(beforeKill).some((o) => o.status === 200 && o.at > killedAt),
  );
  const recovered = outcomes.slice(beforeKill).find((o) => o.status === 200)!;
  await waitFor(
    '50 more acknowledged publishes',
    () => acknowledgedCount() >= outcomes.slice(0, beforeKill).length + 50,
  );
  stop = true;
  await load;

  const refused = outcomes.slice(beforeKill).filter((o) => o.status !== 200);
  const after = outcomes.filter((o) => o.status === 200 && o.at >= recovered.at);
  // Hub B's subscriber, connected before the failover, gets every update acknowledged after it.
  const last = after.at(-1)!.id;
  await stream.waitFor(new RegExp(`id: ${last}\\n`));
  const received = new Set([...stream.text().matchAll(/^id: (\S+)$/gm)].map((m) => m[1]));
  const missing = after.filter((o) => !received.has(o.id)).map((o) => o.id);
  assert.deepEqual(
    missing,
    [],
    'every update acknowledged after the failover reached the subscriber on hub B',
  );
  const acknowledged = outcomes.filter((o) => o.status === 200);
  const lostLive = acknowledged.filter((o) => !received.has(o.id)).length;
  // A subscriber that resumes on hub A with Last-Event-ID gets what history kept after its ID.
  const resumed = await openStream(`${a}/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`, {
    headers: { 'Last-Event-ID': recovered.id },
  });
  t.after(() => resumed.close());
  await resumed.waitFor(new RegExp(`id: ${last}\\n`));
  // History lost what was acknowledged during the stall (a resumed stream starts after it), and
  // each hub logged the rollback and counted it in /metrics.
  const unreplicated = outcomes.slice(stalledFrom, beforeKill).filter((o) => o.status === 200);
  const replay = await openStream(`${a}/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`, {
    headers: { 'Last-Event-ID': 'earliest' },
  });
  t.after(() => replay.close());
  await replay.waitFor(new RegExp(`id: ${last}\n`));
  const kept = new Set([...replay.text().matchAll(/^id: (\S+)$/gm)].map((m) => m[1]));
  const lostFromHistory = acknowledged.filter((o) => !kept.has(o.id));
  assert.deepEqual(
    lostFromHistory.map((o) => o.id),
    unreplicated.map((o) => o.id),
    'exactly the updates acknowledged while replication stalled are gone from history',
  );
  for (const [i, hub] of hubs.entries()) {
    const [line] = await hub.waitForOutput(/\{[^\n]*"msg":"updates lost[^\n]*\}/);
    assert.match(line!, /rolled back from entry/);
    const metrics = await (await fetch(`${[a, b][i]}/metrics`)).text();
    assert.match(metrics, /^herald_hub_store_losses_total 1$/m, `hub ${i}`);
  }
  t.diagnostic(
    `publishing resumed ${recovered.at - killedAt} ms after the master was killed; ${refused.length} publishes ` +
      `answered non-200 meanwhile; ${acknowledged.length} acknowledged, ${lostLive} of them not received live ` +
      `on hub B, ${lostFromHistory.length} (acknowledged while replication stalled) lost from history`,
  );
  for (const hub of hubs) hub.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all(hubs.map((hub) => hub.exited)), [0, 0]);
});
