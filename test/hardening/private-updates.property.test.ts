/**
 * Private updates never leak: random topics, subscriber selectors (exact, `*`, URI templates),
 * token claims (none, or draft-07 `subscribe` selectors) and private flags, run against a real hub
 * and compared with a model of Mercure's rule written here, apart from the hub's code:
 *
 * - a subscriber receives an update when one of its selectors matches one of the update's topics;
 * - a private update also needs one of the token's subscribe selectors to match one of its topics
 *   (draft-07 and 1.0 "Subscribers"); no token, no private update.
 *
 * Checked live, on history replay (`lastEventID=earliest`), and for the subscriptions API (a token
 * reads a subscriptions URL only when one of its subscribe selectors matches it). Subscribers are
 * spread over the three transports (SSE, WebSocket, long polling), each subscriber on one transport
 * live and another on replay, so every rule is checked on each. Fixed seed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { publish, signDraft07, startHub, type TestHub } from '../support/hub.js';
import { type Feed, openFeed, TRANSPORTS, type TransportName } from '../support/transports.js';

const SEED = 20261125;
const BASE = 'https://ex.com';
const SUBS = '/.well-known/mercure/subscriptions';
const END = `${BASE}/end`;
const SEGMENT_A = ['a', 'b', 'c'];
const SEGMENT_N = ['1', '2', '3'];
const TOPICS = SEGMENT_A.flatMap((a) => SEGMENT_N.map((n) => `${BASE}/${a}/${n}`)).concat([
  `${BASE}/a/1/deep`,
  `${BASE}/a`,
]);
const SELECTORS = [
  '*',
  ...TOPICS,
  `${BASE}/{x}/1`,
  `${BASE}/a/{n}`,
  `${BASE}/{x}/{n}`,
  `${BASE}/{x}`,
  `${BASE}/b{/n}`,
  `${BASE}/nothing`,
];

/** The model: `*` matches all, a template's `{v}` / `{/v}` one non-empty path segment, else equality. */
function modelMatches(selector: string, topic: string): boolean {
  if (selector === '*') return true;
  if (!selector.includes('{')) return selector === topic;
  const source = selector
    .split(/(\{\/?\w+\})/)
    .map((part) => {
      if (part.startsWith('{/')) return '/[^/?#]+';
      if (part.startsWith('{')) return '[^/?#]+';
      return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`).test(topic);
}

interface Scenario {
  subscribers: { selectors: string[]; claims: string[] | null }[];
  updates: { topics: string[]; private: boolean }[];
}

function modelReceives(sub: Scenario['subscribers'][number], update: Scenario['updates'][number]): boolean {
  const routed = sub.selectors.some((s) => update.topics.some((t) => modelMatches(s, t)));
  if (!routed) return false;
  if (!update.private) return true;
  return sub.claims?.some((c) => update.topics.some((t) => modelMatches(c, t))) === true;
}

const selectorArb = fc.constantFrom(...SELECTORS);
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  subscribers: fc.array(
    fc.record({
      selectors: fc.uniqueArray(selectorArb, { minLength: 1, maxLength: 3 }),
      claims: fc.option(fc.uniqueArray(selectorArb, { minLength: 0, maxLength: 3 }), { nil: null }),
    }),
    { minLength: 20, maxLength: 20 },
  ),
  updates: fc.array(
    fc.record({
      topics: fc.uniqueArray(fc.constantFrom(...TOPICS), { minLength: 1, maxLength: 3 }),
      private: fc.boolean(),
    }),
    { minLength: 150, maxLength: 150 },
  ),
});

async function subscribe(
  hub: TestHub,
  sub: Scenario['subscribers'][number],
  fromStart: boolean,
  transport: TransportName,
): Promise<Feed> {
  const url = new URL(hub.hubUrl);
  for (const s of sub.selectors) url.searchParams.append('topic', s);
  url.searchParams.append('topic', END);
  const headers: Record<string, string> =
    sub.claims === null ? {} : { authorization: `Bearer ${await signDraft07({ subscribe: sub.claims })}` };
  // A live poll starts from the (empty) history's start, so what is published before its first
  // request reaches the hub is not missed: polls resume by cursor, not by connection.
  const from = fromStart || transport === 'poll' ? 'earliest' : undefined;
  return openFeed(transport, url.toString(), headers, from);
}

/** Ids received before the end marker `endId`. */
async function receivedUntil(feed: Feed, endId: string): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const update = await feed.next();
    if (update.id === endId) return ids;
    ids.push(update.id);
  }
}

/** Subscriber `i` on one transport live and on the next one for the replay. */
const transportOf = (i: number, replay: boolean): TransportName => TRANSPORTS[(i + (replay ? 1 : 0)) % 3]!;

test('private updates reach exactly the subscribers the spec allows: live, replayed, API', async () => {
  const publisher = await signDraft07({ publish: ['*'] });
  let checked = 0;
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (scenario) => {
      const hub = await startHub({ anonymous: true, subscriptions: true });
      try {
        const live = await Promise.all(
          scenario.subscribers.map((s, i) => subscribe(hub, s, false, transportOf(i, false))),
        );
        const ids: string[] = [];
        for (const [i, update] of scenario.updates.entries()) {
          const id = `u-${i}`;
          const fields: Record<string, string | string[]> = { topic: update.topics, id, data: id };
          if (update.private) fields.private = 'on';
          const res = await publish(hub, fields, publisher);
          assert.equal(res.status, 200, res.body);
          ids.push(id);
        }
        assert.equal((await publish(hub, { topic: END, id: 'end', data: '' }, publisher)).status, 200);

        const expected = scenario.subscribers.map((sub) =>
          scenario.updates.flatMap((u, i) => (modelReceives(sub, u) ? [ids[i]!] : [])),
        );
        const got = await Promise.all(live.map((s) => receivedUntil(s, 'end')));
        for (const [i, sub] of scenario.subscribers.entries()) {
          assert.deepEqual(
            got[i],
            expected[i],
            `live over ${transportOf(i, false)}, subscriber ${JSON.stringify(sub)}`,
          );
        }
        // History: the same subscribers again, from the start, see the same updates, in order.
        const replayed = await Promise.all(
          scenario.subscribers.map((s, i) => subscribe(hub, s, true, transportOf(i, true))),
        );
        const again = await Promise.all(replayed.map((s) => receivedUntil(s, 'end')));
        for (const [i, sub] of scenario.subscribers.entries()) {
          assert.deepEqual(
            again[i],
            expected[i],
            `replay over ${transportOf(i, true)}, subscriber ${JSON.stringify(sub)}`,
          );
        }
        for (const s of [...live, ...replayed]) s.close();

        // Subscriptions API: readable exactly when a subscribe claim matches the requested path.
        for (const sub of scenario.subscribers.slice(0, 8)) {
          if (sub.claims === null) continue;
          const token = await signDraft07({ subscribe: sub.claims });
          for (const path of [SUBS, `${SUBS}/${encodeURIComponent(sub.selectors[0]!)}`]) {
            const res = await fetch(`${hub.origin}${path}`, {
              headers: { authorization: `Bearer ${token}` },
            });
            await res.text();
            const allowed = sub.claims.some((c) => modelMatches(c, path));
            assert.equal(
              res.status,
              allowed ? 200 : 403,
              `API ${path} with claims ${JSON.stringify(sub.claims)}`,
            );
          }
        }
        checked += scenario.subscribers.length * scenario.updates.length * 2;
      } finally {
        await hub.close();
      }
    }),
    { seed: SEED, numRuns: 4, endOnFailure: true },
  );
  assert.ok(checked >= 20_000, `checked ${checked} subscriber/update pairs`);
});
