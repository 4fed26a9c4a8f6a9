/**
 * `herald serve` on a Sentinel address, for real: two hubs (processes) on a master, two replicas and
 * three sentinels of the test's own, under publish load; the master killed after replication
 * stalled for a few publishes. The hubs follow the new master, their subscribers keep getting
 * updates. Acknowledged by the master (the default), what the master had not replicated is lost
 * from history, logged and counted; with `--redis-wait-replicas 1` those publishes were answered
 * 503 instead, and no acknowledged update is lost.
 * (In a file of its own: each test takes 10-35 s on a busy machine.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOCAL_SERVE, startHerald } from '../cli/herald-process.js';
import { listeningUrl, openStream, publish, publisherToken } from '../cli/streams.js';
import { redisSentinelMissing, startSentinelGroup } from '../support/redis-server.js';
import { requirePart } from '../support/requirements.js';

for (const waitReplicas of [0, 1]) {
  test(`two \`herald serve\` hubs on a Sentinel address (--redis-wait-replicas ${waitReplicas}) follow the new master under publish load; their subscribers get what is published after it; acknowledged updates lost from history: ${waitReplicas === 0 ? 'those the master had not replicated, logged and counted' : 'none (those publishes were answered 503)'}`, async (t) => {
    if (!requirePart(t, 'redis-sentinel', redisSentinelMissing())) return;
    const group = await startSentinelGroup();
    t.after(() => group.stop());
    const KEY = 'sentinel-test-key-of-at-least-32-bytes';
    const TOPIC = 'https://example.com/failover';
    const prefix = `herald-test-cli-failover-${waitReplicas}-${process.pid}`;
    const hubs = [0, 1].map(() =>
      startHerald(
        [
          ...LOCAL_SERVE,
          '--anonymous',
          '--store',
          group.url,
          '--store-prefix',
          prefix,
          '--redis-wait-replicas',
          String(waitReplicas),
          '--redis-wait-timeout',
          '300ms',
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
    // A subscriber on hub A too: it shows when A's reader has read an update.
    const onA = await openStream(`${a}/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`);
    t.after(() => onA.close());

    // Publish load on hub A: one publish after another, each outcome recorded, until told to stop.
    const outcomes: { id: string; status: number; at: number }[] = [];
    let stop = false;
    /** Set while the load is held (between two publishes), cleared by `release`. */
    let held: Promise<void> | undefined;
    let release = () => {};
    let idle: () => void = () => {};
    const load = (async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        if (held !== undefined) {
          idle();
          await held;
        }
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
    // The load is held while replication stalls and while the master is killed, so that no publish
    // is in flight across either step and what the failover takes away is known exactly.
    const hold = async () => {
      const stopped = new Promise<void>((resolve) => {
        idle = resolve;
      });
      held = new Promise<void>((resolve) => {
        release = resolve;
      });
      await stopped;
    };
    const resume = () => {
      held = undefined;
      release();
    };
    await hold();
    const stalled = await group.stallReplication();
    const stalledFrom = outcomes.length;
    const acknowledgedBeforeStall = acknowledgedCount();
    resume();
    // Acknowledged by the master, publishes go on during the stall; after a replica, each waits for
    // the wait timeout and is answered 503.
    await waitFor(
      `5 publishes ${waitReplicas === 0 ? 'acknowledged' : 'answered'} while replication stalls`,
      () =>
        waitReplicas === 0
          ? acknowledgedCount() >= acknowledgedBeforeStall + 5
          : outcomes.length >= stalledFrom + 5,
    );
    await hold();
    const lastBeforeKill = outcomes.filter((o) => o.status === 200).at(-1)!.id;
    await Promise.all([stream, onA].map((s) => s.waitFor(new RegExp(`id: ${lastBeforeKill}\\n`))));
    const killedAt = Date.now();
    const beforeKill = outcomes.length;
    group.master.kill('SIGKILL');
    stalled.resume();
    resume();
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
    const duringStall = outcomes.slice(stalledFrom, beforeKill);
    const unreplicated = duringStall.filter((o) => o.status === 200);
    if (waitReplicas === 0) assert.ok(unreplicated.length >= 5, 'publishes acknowledged during the stall');
    else {
      assert.deepEqual(unreplicated, [], 'no publish is acknowledged while no replica confirms it');
      assert.ok(
        duringStall.length >= 5 && duringStall.every((o) => o.status === 503),
        JSON.stringify(duringStall),
      );
    }
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
    // The default loses acknowledged updates: each hub logged the rollback and counted it.
    for (const [i, hub] of waitReplicas === 0 ? hubs.entries() : []) {
      const [line] = await hub.waitForOutput(/\{[^\n]*"msg":"updates lost[^\n]*\}/);
      assert.match(line!, /rolled back from entry/);
      const metrics = await (await fetch(`${[a, b][i]}/metrics`)).text();
      assert.match(metrics, /^herald_hub_store_losses_total 1$/m, `hub ${i}`);
    }
    t.diagnostic(
      `--redis-wait-replicas ${waitReplicas}: publishing resumed ${recovered.at - killedAt} ms after the master was killed; ${refused.length} publishes ` +
        `answered non-200 meanwhile; ${acknowledged.length} acknowledged, ${lostLive} of them not received live ` +
        `on hub B, ${lostFromHistory.length} (acknowledged while replication stalled) lost from history; ` +
        `${duringStall.length - unreplicated.length} answered non-200 during the stall`,
    );
    for (const hub of hubs) hub.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all(hubs.map((hub) => hub.exited)), [0, 0]);
  });
}
