import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHerald } from '../../cli/herald-process.js';
import { listeningUrl, openStream, publish, publisherToken } from '../../cli/streams.js';

const HUB = '/.well-known/mercure';
const SECRET = 'cluster-metrics-secret-key-32-bytes';
const TOPIC = 'https://example.com/metrics';

/** Every sample of `name` as `{ labels, value }`. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    const labels: Record<string, string> = {};
    for (const l of (m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

/** Scrapes on a new connection each time, so round-robin spreads the scrapes over the workers. */
async function scrape(base: string): Promise<{ text: string; pid: string }> {
  const res = await fetch(`${base}/metrics`, { headers: { connection: 'close' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  return { text: await res.text(), pid: res.headers.get('x-herald-worker')! };
}

test('--workers 2: /metrics on any worker is one view of the group, a worker label per process', async (t) => {
  const herald = startHerald(
    ['serve', '--workers', '2', '--port', '0', '--host', '127.0.0.1', '--anonymous'],
    {
      HERALD_JWT_KEY: SECRET,
    },
  );
  t.after(() => herald.kill());
  const base = await listeningUrl(herald);
  const streams = await Promise.all(
    Array.from({ length: 10 }, () => openStream(`${base}${HUB}?topic=${encodeURIComponent(TOPIC)}`)),
  );
  t.after(() => {
    for (const s of streams) s.close();
  });
  const token = await publisherToken(SECRET);
  for (let i = 0; i < 6; i++) {
    assert.equal(
      (await publish(`${base}${HUB}`, token, { topic: TOPIC, id: `m-${i}`, data: 'x' })).status,
      200,
    );
  }
  await Promise.all(streams.map((s) => s.waitFor(/^id: m-5$/m)));

  const answeredBy = new Set<string>();
  for (let i = 0; i < 6 && answeredBy.size < 2; i++) {
    const { text, pid } = await scrape(base);
    answeredBy.add(pid);
    const connections = samples(text, 'herald_hub_connections');
    assert.deepEqual(connections.map((s) => s.labels.worker).sort(), ['0', '1'], text);
    assert.equal(
      connections.reduce((sum, s) => sum + s.value, 0),
      10,
    );
    const published = samples(text, 'herald_hub_updates_published_total');
    assert.equal(
      published.reduce((sum, s) => sum + s.value, 0),
      6,
    );
    const delivered = samples(text, 'herald_hub_events_delivered_total');
    assert.equal(
      delivered.reduce((sum, s) => sum + s.value, 0),
      60,
    );
    // The latency histogram keeps its buckets per worker.
    assert.ok(
      samples(text, 'herald_hub_publish_to_write_seconds_bucket').some((s) => s.labels.worker === '1'),
    );
    // Process metrics of each worker and of the primary.
    const memory = samples(text, 'herald_process_resident_memory_bytes');
    assert.deepEqual(memory.map((s) => s.labels.worker).sort(), ['0', '1', 'primary']);
    assert.deepEqual(samples(text, 'herald_cluster_workers'), [{ labels: { worker: 'primary' }, value: 2 }]);
    assert.deepEqual(samples(text, 'herald_cluster_workers_unreported'), [
      { labels: { worker: 'primary' }, value: 0 },
    ]);
    assert.deepEqual(samples(text, 'herald_cluster_relayed_updates_total'), [
      { labels: { worker: 'primary' }, value: 6 },
    ]);
  }
  assert.equal(answeredBy.size, 2, 'scrapes reached both workers');
  herald.child.kill('SIGTERM');
  assert.equal(await herald.exited, 0);
});
