/**
 * Routing benchmark: the hub's fan-out decision without sockets. 10,000 subscribers on 100 distinct
 * URI-template selectors (100 each, as many clients of one app subscribing to the same patterns),
 * a third of them with one of 10 tokens' grant sets; updates to topics those templates match, public
 * and private. Measures the CPU of `registry.deliver(update)` per update (selector matching, the
 * private-update check, one write per matching stream into a stream that only counts).
 *
 *   npm run bench:routing [-- --subs 10000 --selectors 100 --updates 2000 --rounds 5]
 *
 * In-process and single-threaded: on a shared machine the absolute figures move with the load, so
 * compare runs made back to back (the report prints the load average).
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { HubMetrics } from '../../src/hub/metrics/hub-metrics.js';
import { SubscriberRegistry } from '../../src/hub/subscribers/registry.js';
import {
  NO_PRIVATE_ACCESS,
  type PrivateAccess,
  type SubscribedSelector,
  Subscriber,
  type SubscriberStream,
} from '../../src/hub/subscribers/subscriber.js';
import { compileSelector, SelectorSet } from '../../src/hub/topics/index.js';
import type { Update } from '../../src/hub/update.js';

const { values } = parseArgs({
  options: {
    subs: { type: 'string', default: '10000' },
    selectors: { type: 'string', default: '100' },
    grants: { type: 'string', default: '10' },
    updates: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
  },
});
const SUBS = Number(values.subs);
const SELECTORS = Number(values.selectors);
const GRANTS = Number(values.grants);
const UPDATES = Number(values.updates);
const ROUNDS = Number(values.rounds);

const template = (k: number) => `https://example.com/feeds/${k}/{item}`;
const topic = (k: number, i: number) => `https://example.com/feeds/${k}/item-${i}`;

let writes = 0;
const stream: SubscriberStream = {
  closed: false,
  queuedBytes: 0,
  write: () => {
    writes++;
    return true;
  },
  close: () => {},
  whenDrained: () => Promise.resolve(),
};

const registry = new SubscriberRegistry(new HubMetrics(false), undefined, 1 << 20, () => {});
// Grant set g reads the private updates of feeds whose number is g modulo GRANTS.
const grantSets: PrivateAccess[] = [];
for (let g = 0; g < GRANTS; g++) {
  const sources: string[] = [];
  for (let k = g; k < SELECTORS; k += GRANTS) sources.push(template(k));
  grantSets.push(SelectorSet.from(sources, 'template'));
}
for (let n = 0; n < SUBS; n++) {
  const k = n % SELECTORS;
  const compiled = compileSelector(template(k), 'template');
  const selector: SubscribedSelector = {
    source: compiled.source,
    syntax: 'topic',
    kind: compiled.kind,
    matcher: compiled,
  };
  const access = n % 3 === 0 ? grantSets[n % GRANTS]! : NO_PRIVATE_ACCESS;
  const s = new Subscriber(`s${n}`, [selector], access, undefined, undefined);
  registry.add(s);
  s.stream = stream;
  s.state = 'live';
}

// 1,000 distinct topics, visited in a fixed pseudo-random order.
let seed = 42;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const updates = (isPrivate: boolean): Update[] =>
  Array.from({ length: UPDATES }, (_, i) => ({
    id: `u${i}`,
    topics: [topic(Math.floor(random() * SELECTORS), Math.floor(random() * 10))],
    private: isPrivate,
    data: 'x'.repeat(100),
    time: 0,
  }));
const cases = { public: updates(false), private: updates(true) };

function measure(list: Update[]): { usPerUpdate: number; writesPerUpdate: number } {
  writes = 0;
  const cpu0 = process.cpuUsage();
  for (const u of list) registry.deliver(u);
  const cpu = process.cpuUsage(cpu0);
  return { usPerUpdate: (cpu.user + cpu.system) / list.length, writesPerUpdate: writes / list.length };
}

// Warm up (JIT, match cache), then rounds; the median of each case is reported.
for (const list of Object.values(cases)) measure(list);
const results: Record<string, number[]> = { public: [], private: [] };
let perUpdate: Record<string, number> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, list] of Object.entries(cases)) {
    const m = measure(list);
    results[name]!.push(m.usPerUpdate);
    perUpdate = { ...perUpdate, [name]: m.writesPerUpdate };
  }
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
console.log(
  `routing: ${SUBS} subscribers, ${SELECTORS} template selectors, ${GRANTS} grant sets; ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
);
for (const name of Object.keys(results)) {
  console.log(
    `${name.padEnd(8)} ${median(results[name]!).toFixed(1).padStart(8)} µs CPU per update ` +
      `(median of ${ROUNDS} rounds of ${UPDATES}), ${perUpdate[name]!.toFixed(0)} writes per update`,
  );
}
