import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { PrimaryConnection } from '../../../src/hub/cluster/ipc-store.js';
import type { IpcPort } from '../../../src/hub/cluster/messages.js';
import { startHerald } from '../../cli/herald-process.js';
import { listeningUrl, openStream, publisherToken } from '../../cli/streams.js';
import { retryUntil } from '../../support/retry.js';

const HUB = '/.well-known/mercure';
const SECRET = 'cluster-stall-secret-key-of-32-bytes';
const TOPIC = 'https://example.com/stall';
const BOUND = 1024 * 1024;

/** Requests on one kept-alive connection: they all reach the worker that accepted it. */
function pinnedClient(base: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    new Promise<{ status: number; body: string; worker: string }>((resolve, reject) => {
      const req = http.request(`${base}${path}`, { method, agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            worker: String(res.headers['x-herald-worker']),
          }),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  return { call, close: () => agent.destroy() };
}

function publishOn(client: ReturnType<typeof pinnedClient>, token: string, fields: Record<string, string>) {
  const body = new URLSearchParams(fields).toString();
  return client.call(
    'POST',
    HUB,
    { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  );
}

const ids = (text: string) => [...text.matchAll(/^id: (.*)$/gm)].map((m) => m[1]);

test('a worker that stops reading is killed past the backlog bound and replaced; the others miss nothing', {
  timeout: 120_000,
}, async (t) => {
  const herald = startHerald(
    [
      'serve',
      '--workers',
      '2',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--anonymous',
      '--worker-backlog',
      String(BOUND),
    ],
    { HERALD_JWT_KEY: SECRET },
  );
  t.after(() => herald.kill());
  const base = await listeningUrl(herald);
  const client = pinnedClient(base);
  t.after(() => client.close());
  const healthy = (await client.call('GET', '/healthz')).worker;

  // A subscriber on each worker.
  const streams: Awaited<ReturnType<typeof openStream>>[] = [];
  t.after(() => {
    for (const s of streams) s.close();
  });
  await retryUntil(
    async () => {
      streams.push(await openStream(`${base}${HUB}?topic=${encodeURIComponent(TOPIC)}`));
      return new Set(streams.map((s) => String(s.headers['x-herald-worker']))).size === 2 || undefined;
    },
    'a subscriber on each of the two workers',
    { everyMs: 0 },
  );
  const stalled = String(
    streams.find((s) => String(s.headers['x-herald-worker']) !== healthy)!.headers['x-herald-worker'],
  );
  process.kill(Number(stalled), 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(Number(stalled), 'SIGCONT');
    } catch {}
  });

  // 4 MiB of updates: four times what the primary may hold for the stopped worker.
  const token = await publisherToken(SECRET);
  const data = 'x'.repeat(16 * 1024);
  const published: string[] = [];
  for (let i = 0; i < 256; i++) {
    const res = await publishOn(client, token, { topic: TOPIC, id: `s-${i}`, data });
    assert.equal(res.status, 200, res.body);
    published.push(`s-${i}`);
  }

  const [line] = await herald.waitForOutput(/\{[^\n]*worker stopped reading the relay[^\n]*\}/);
  const report = JSON.parse(line) as { pid: number; backlogBytes: number; level: number };
  assert.equal(String(report.pid), stalled);
  assert.ok(report.level >= 50, 'logged as an error');
  // Cut off as soon as it passed the bound: what the primary held stayed within it plus one batch.
  assert.ok(
    report.backlogBytes > BOUND && report.backlogBytes < BOUND + 64 * 1024,
    String(report.backlogBytes),
  );
  await herald.waitForOutput(/worker exited; starting a replacement/);

  // Subscribers of the healthy worker got everything, in order; those of the stopped one were cut.
  const onHealthy = streams.filter((s) => String(s.headers['x-herald-worker']) === healthy);
  await Promise.all(onHealthy.map((s) => s.waitFor(/^id: s-255$/m)));
  for (const s of onHealthy) assert.deepEqual(ids(s.text()), published);
  await Promise.all(streams.filter((s) => !onHealthy.includes(s)).map((s) => s.ended));

  // They resume from history on whichever worker takes them, the replacement included.
  const resumed = await openStream(`${base}${HUB}?topic=${encodeURIComponent(TOPIC)}&lastEventID=s-250`);
  streams.push(resumed);
  await resumed.waitFor(/^id: s-255$/m);
  assert.deepEqual(ids(resumed.text()), published.slice(251));

  const metrics = (await client.call('GET', '/metrics')).body;
  assert.match(metrics, /^herald_cluster_workers_stalled_total\{worker="primary"\} 1$/m);
  herald.child.kill('SIGTERM');
  await herald.exited;
});

test('a worker fails its requests with a 503 when the primary stops answering, and recovers when it answers again', {
  timeout: 60_000,
}, async (t) => {
  const herald = startHerald(
    [
      'serve',
      '--workers',
      '2',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--anonymous',
      '--primary-timeout',
      '1s',
    ],
    { HERALD_JWT_KEY: SECRET },
  );
  t.after(() => herald.kill());
  const base = await listeningUrl(herald);
  const client = pinnedClient(base);
  t.after(() => client.close());
  const token = await publisherToken(SECRET);
  assert.equal((await publishOn(client, token, { topic: TOPIC, data: 'before' })).status, 200);

  const primary = herald.child.pid!;
  process.kill(primary, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(primary, 'SIGCONT');
    } catch {}
  });
  const refused = await publishOn(client, token, { topic: TOPIC, data: 'during' });
  assert.equal(refused.status, 503, refused.body);
  assert.match(refused.body, /retry later/);
  await herald.waitForOutput(/the cluster primary did not answer \\"append\\" within 1000 ms/);

  process.kill(primary, 'SIGCONT');
  const res = await publishOn(client, token, { topic: TOPIC, data: 'after' });
  assert.equal(res.status, 200, res.body);
  herald.child.kill('SIGTERM');
  await herald.exited;
});

test('requests waiting for the primary are bounded: past the bound they fail at once', async () => {
  // A primary that never answers: the port takes messages and drops them.
  const silent: IpcPort = { send() {}, onMessage: () => () => {} };
  const connection = new PrimaryConnection(silent);
  connection.timeoutMs = 0;
  const waiting = Array.from({ length: 10_000 }, () => connection.request({ herald: 'lastId' }));
  await assert.rejects(
    connection.request({ herald: 'lastId' }),
    /10000 requests already wait for the cluster primary/,
  );
  assert.equal(connection.pending, 10_000);
  connection.lost('test over');
  const settled = await Promise.allSettled(waiting);
  assert.ok(settled.every((s) => s.status === 'rejected'));
  connection.close();
});
