import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HubMetrics } from '../../../src/hub/metrics/hub-metrics.js';
import { SubscriberRegistry } from '../../../src/hub/subscribers/registry.js';
import {
  NO_PRIVATE_ACCESS,
  type PrivateAccess,
  type SubscribedSelector,
  Subscriber,
  type SubscriberStream,
} from '../../../src/hub/subscribers/subscriber.js';
import { SubscriberIndex } from '../../../src/hub/subscribers/subscriber-index.js';
import type { Update } from '../../../src/hub/update.js';

let evaluations = 0;
function exact(source: string): SubscribedSelector {
  return { source, syntax: 'topic', kind: 'exact', matcher: { matches: (t) => t === source } };
}
function prefix(source: string): SubscribedSelector {
  return {
    source: `${source}{rest}`,
    syntax: 'topic',
    kind: 'pattern',
    matcher: {
      matches(topic) {
        evaluations++;
        return topic.startsWith(source);
      },
    },
  };
}
function update(...topics: string[]): Update {
  return { id: 'u', topics, private: false, data: '', time: 0 };
}
function subscriber(...selectors: SubscribedSelector[]): Subscriber {
  return new Subscriber(`s${Math.random()}`, selectors, NO_PRIVATE_ACCESS, undefined, undefined);
}

test('routing an update costs its matches plus the pattern subscribers, not every subscriber', () => {
  const index = new SubscriberIndex();
  for (let i = 0; i < 20_000; i++) index.add(subscriber(exact(`/items/${i}`)));
  const patterned = [subscriber(prefix('/items/1')), subscriber(prefix('/other/'))];
  for (const s of patterned) index.add(s);
  const out: Subscriber[] = [];

  evaluations = 0;
  const hits = index.collect(update('/items/17'), out);
  assert.equal(hits.length, 2); // the exact subscriber of /items/17 and the /items/1 prefix
  assert.equal(evaluations, 2); // only the two pattern subscribers were evaluated

  evaluations = 0;
  assert.equal(index.collect(update('/nothing'), out).length, 0);
  assert.equal(evaluations, 2);
});

test('a subscriber matching several topics and selectors is collected once; removal is complete', () => {
  const index = new SubscriberIndex();
  const s = subscriber(exact('/a'), exact('/b'), prefix('/a'));
  index.add(s);
  const out: Subscriber[] = [];
  assert.deepEqual(index.collect(update('/a', '/b'), out), [s]);
  index.remove(s);
  assert.equal(index.size, 0);
  assert.deepEqual(index.collect(update('/a', '/b'), out), []);
});

test('wildcard subscribers receive everything without evaluating a pattern', () => {
  const index = new SubscriberIndex();
  const all = subscriber({
    source: '*',
    syntax: 'match',
    kind: 'wildcard',
    matcher: { matches: () => true },
  });
  index.add(all);
  assert.deepEqual(index.collect(update('/anything'), []), [all]);
});

test('subscribers sharing a compiled selector cost one evaluation per update, not one each', () => {
  const index = new SubscriberIndex();
  const shared = prefix('/feeds/1/');
  const other = prefix('/feeds/2/');
  const many = Array.from({ length: 1000 }, () => subscriber(shared));
  for (const s of many) index.add(s);
  const few = Array.from({ length: 10 }, () => subscriber(other));
  for (const s of few) index.add(s);
  assert.equal(index.patternCount, 2);
  const out: Subscriber[] = [];

  evaluations = 0;
  assert.deepEqual(new Set(index.collect(update('/feeds/1/x'), out)), new Set(many));
  assert.equal(evaluations, 2, 'each distinct selector once');

  // An update with two topics matching both selectors reaches everyone once.
  evaluations = 0;
  const both = index.collect(update('/feeds/1/x', '/feeds/2/y'), out);
  assert.equal(both.length, 1010);
  assert.equal(new Set(both).size, 1010);
  assert.ok(evaluations <= 4);

  // The last subscriber of a selector takes it out of the index.
  for (const s of few) index.remove(s);
  assert.equal(index.patternCount, 1);
  evaluations = 0;
  assert.deepEqual(index.collect(update('/feeds/2/y'), out), []);
  assert.equal(evaluations, 1);
});

test('the private-update check runs once per distinct grant set, and only grants that match read it', () => {
  let checks = 0;
  const grants = (prefixOf: string): PrivateAccess => ({
    matchesAny(topics) {
      checks++;
      return topics.some((t) => t.startsWith(prefixOf));
    },
  });
  const readers = grants('/feeds/');
  const others = grants('/elsewhere/');
  const written: string[] = [];
  const stream = (id: string): SubscriberStream => ({
    closed: false,
    queuedBytes: 0,
    write: () => written.push(id) > 0,
    close: () => {},
    whenDrained: () => Promise.resolve(),
  });
  const registry = new SubscriberRegistry(new HubMetrics(false), undefined, 1 << 20, () => {});
  const selector = prefix('/feeds/');
  const make = (id: string, access: PrivateAccess) => {
    const s = new Subscriber(id, [selector], access, undefined, undefined);
    registry.add(s);
    s.stream = stream(id);
    s.state = 'live';
  };
  for (let i = 0; i < 100; i++) make(`reader${i}`, readers);
  for (let i = 0; i < 100; i++) make(`other${i}`, others);
  for (let i = 0; i < 100; i++) make(`anonymous${i}`, NO_PRIVATE_ACCESS);

  registry.deliver({ id: 'p1', topics: ['/feeds/1'], private: true, data: 'secret', time: 0 });
  assert.equal(checks, 2, 'one check per grant set');
  assert.equal(written.length, 100);
  assert.ok(written.every((id) => id.startsWith('reader')));

  // The next update is decided afresh.
  written.length = 0;
  checks = 0;
  registry.deliver({ id: 'p2', topics: ['/feeds/2'], private: true, data: 'secret', time: 0 });
  assert.equal(checks, 2);
  assert.equal(written.length, 100);
  written.length = 0;
  registry.deliver({ id: 'u3', topics: ['/feeds/3'], private: false, data: 'public', time: 0 });
  assert.equal(written.length, 300, 'a public update reaches everyone');
  registry.close();
});
