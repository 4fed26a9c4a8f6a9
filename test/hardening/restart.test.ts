/**
 * Restart under load with the sqlite store: `herald serve --store sqlite:…` is killed (SIGKILL, no
 * goodbye) while subscribers receive a steady publish stream, then started again on the same port.
 * Subscribers are herald/client EventSources: they reconnect with Last-Event-ID and the history
 * kept in sqlite fills the gap. Each must end up with every sequence number once, in order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventSource } from '../../src/client/index.js';
import { type HeraldProcess, startHerald } from '../cli/herald-process.js';
import { eventually } from '../server/helpers.js';
import { publish, signDraft07 } from '../support/hub.js';
import { retryUntil } from '../support/retry.js';

const KEY = 'restart-test-secret-key-of-32-bytes!';
const TOPIC = 'https://example.com/sequence';
const SUBSCRIBERS = 3;
const BEFORE_KILL = 150;
const AFTER_KILL = 150;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('kill -9 and restart with sqlite under load: clients resume with nothing lost, nothing twice', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-restart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const args = ['serve', '--port', String(port), '--host', '127.0.0.1', '--anonymous'];
  args.push('--store', `sqlite:${join(dir, 'hub.db')}`, '--log-level', 'warn');
  const start = async (): Promise<HeraldProcess> => {
    const proc = startHerald(args, { HERALD_JWT_KEY: KEY });
    t.after(() => proc.kill());
    await retryUntil(
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`);
        await r.text();
        return r.status === 200 || undefined;
      },
      () => `the hub answering /healthz; its stderr: ${proc.stderr()}`,
      { everyMs: 50 },
    );
    return proc;
  };
  let hub = await start();
  const token = await signDraft07({ publish: [TOPIC] }, { key: KEY });
  const hubUrl = `http://127.0.0.1:${port}/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`;

  const received: number[][] = Array.from({ length: SUBSCRIBERS }, () => []);
  const sources = received.map((list) => {
    // Fast, steady reconnects so the test does not wait on backoff.
    const source = new EventSource(hubUrl, { backoff: false });
    source.addEventListener('message', (e) => list.push(Number((e as MessageEvent).data)));
    return source;
  });
  t.after(() => {
    for (const s of sources) s.close();
  });
  await eventually(
    () => sources.every((s) => s.readyState === EventSource.OPEN),
    'every source open',
    30_000,
  );

  const send = (seq: number) =>
    retryUntil(
      async () => {
        const res = await publish(
          `http://127.0.0.1:${port}/.well-known/mercure`,
          { topic: TOPIC, data: String(seq) },
          token,
        );
        return res.status === 200 || undefined;
      },
      `publish ${seq} accepted`,
      { everyMs: 50 },
    );
  for (let seq = 0; seq < BEFORE_KILL; seq++) await send(seq);
  hub.child.kill('SIGKILL');
  await hub.exited;
  hub = await start();
  for (let seq = BEFORE_KILL; seq < BEFORE_KILL + AFTER_KILL; seq++) await send(seq);

  const all = Array.from({ length: BEFORE_KILL + AFTER_KILL }, (_, i) => i);
  for (let i = 0; i < 600 && received.some((list) => list.length < all.length); i++) await sleep(50);
  for (const list of received) assert.deepEqual(list, all);
  for (const s of sources) s.close();
  hub.child.kill('SIGTERM');
  await hub.exited;
});
