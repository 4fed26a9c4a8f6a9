import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  NO_PRIVATE_ACCESS,
  type SubscribedSelector,
  Subscriber,
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
