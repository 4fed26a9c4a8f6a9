/**
 * Soak run (`npm run soak`, `npm run soak -- --minutes 120`): a hub in a child process under a
 * steady publish rate and connection churn, for minutes or hours. Steady subscribers (herald/client
 * EventSources, resuming with Last-Event-ID should they be dropped) count sequence numbers; every
 * 30 s the hub's heap, RSS and open file descriptors are printed. Fails (exit 1) on any lost,
 * repeated or reordered update, on a subscriber left behind after churn, or when heap or fds
 * grew from the first to the last sample beyond noise.
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { EventSource } from '../../src/client/index.js';
import { churn, forkHub, measure } from '../hardening/churn-client.js';
import { publish, signDraft07 } from '../support/hub.js';
import { retryUntil } from '../support/retry.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    rate: { type: 'string', default: '200' },
    subscribers: { type: 'string', default: '20' },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const TOPIC = 'https://example.com/churn';
const SAMPLE_MS = 30_000;

const child = forkHub();
const [ready] = (await once(child, 'message')) as [{ port: number }];
const hubUrl = `http://127.0.0.1:${ready.port}/.well-known/mercure`;
const token = await signDraft07({ publish: [TOPIC] });

const received: number[][] = [];
const problems: string[] = [];
const sources = Array.from({ length: Number(values.subscribers) }, (_, i) => {
  const list: number[] = [];
  received.push(list);
  const source = new EventSource(`${hubUrl}?topic=${encodeURIComponent(TOPIC)}`, { backoff: false });
  source.addEventListener('message', (e) => {
    const seq = Number((e as MessageEvent).data);
    const expected = list.length;
    if (seq !== expected && problems.length < 20)
      problems.push(`subscriber ${i}: got ${seq}, expected ${expected}`);
    list.push(seq);
  });
  return source;
});
await retryUntil(
  () => sources.every((s) => s.readyState === EventSource.OPEN) || undefined,
  'every source open',
  {
    ms: 60_000,
  },
);

const endAt = Date.now() + minutes * 60_000;
let published = 0;
const publisher = (async () => {
  const started = Date.now();
  while (Date.now() < endAt) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (published < due) {
      const res = await publish(
        hubUrl,
        { topic: TOPIC, id: `seq-${published}`, data: String(published) },
        token,
      );
      if (res.status !== 200) throw new Error(`publish ${published}: ${res.status} ${res.body}`);
      published++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
})();
let cycles = 0;
const churner = (async () => {
  while (Date.now() < endAt) {
    await churn(ready.port, 1000);
    cycles += 1000;
  }
})();

const samples: { heap: number; rss: number; fds: number }[] = [];
const sampler = (async () => {
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, Math.max(0, endAt - Date.now()))));
    // Measure without waiting for churn to settle: the steady subscribers stay connected.
    const f = await new Promise<{ heap: number; rss: number; fds: number }>((resolve) => {
      const on = (m: { type: string; heap: number; rss: number; fds: number }) => {
        if (m.type !== 'figures') return;
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
      child.send({ type: 'measure', keep: 1 });
    });
    samples.push(f);
    const mb = (n: number) => (n / 1048576).toFixed(1);
    console.log(
      `${new Date().toISOString()} published ${published} churn ${cycles} heap ${mb(f.heap)} MiB rss ${mb(f.rss)} MiB fds ${f.fds}`,
    );
  }
})();

await Promise.all([publisher, churner, sampler]);
for (let i = 0; i < 400 && received.some((l) => l.length < published); i++)
  await new Promise((r) => setTimeout(r, 50));
for (const s of sources) s.close();
const final = await measure(child);
child.disconnect();

for (const [i, list] of received.entries()) {
  if (list.length !== published) problems.push(`subscriber ${i}: ${list.length} of ${published} updates`);
}
if (final.subscribers !== 0) problems.push(`${final.subscribers} subscribers left after the run`);
const first = samples[0];
const last = samples.at(-1);
if (first !== undefined && last !== undefined && samples.length >= 2) {
  if (last.heap - first.heap > 16 * 1048576) problems.push(`heap grew ${first.heap} -> ${last.heap}`);
  if (last.fds - first.fds > 60) problems.push(`fds grew ${first.fds} -> ${last.fds}`);
}
console.log(
  `soak ${minutes} min: ${published} updates to ${received.length} subscribers, ${cycles} churn cycles, ` +
    `hub after settling: heap ${(final.heap / 1048576).toFixed(1)} MiB, fds ${final.fds}`,
);
if (problems.length > 0) {
  console.error(`FAIL\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('OK: zero loss, nothing left behind');
