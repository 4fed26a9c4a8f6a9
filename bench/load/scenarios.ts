/**
 * The cases `npm run bench` measures. Every case connects `subscribers` first (that phase gives the
 * memory per idle subscriber), then publishes `events` at `rate` per second to the shared topic, or
 * measures publish throughput.
 */

export interface Scenario {
  key: string;
  title: string;
  subscribers: number;
  /** Each subscriber on the shared topic only, or on one of its own as well. */
  topics: 'shared' | 'own+shared';
  /** Events published at `rate`/s after connecting; 0: idle only. */
  events: number;
  rate: number;
  /**
   * Publish-throughput cases: requests, in flight at once, keep-alive or a connection each, and
   * requests sent first and not counted (`warmup`).
   */
  throughput?: { requests: number; concurrency: number; keepAlive: boolean; warmup?: number };
  /**
   * Batch-publish case (Herald's JSON batch; systems without it sit it out): each of `rate`
   * batches per second holds one update for each subscriber's own topic, so every subscriber gets
   * `events` updates and the hub takes `subscribers x rate` updates/s. `events` counts per subscriber.
   */
  batch?: true;
  /**
   * Every system is expected to keep up with the offered load (`subscribers x rate` deliveries/s):
   * a run in which one did not is disturbed (the machine or the generator, not the system, set the
   * pace), and the report draws no verdict from the case. Saturation cases (1k x 1,000/s, 10k x
   * 100/s) measure how far each gets, so they are not paced.
   */
  paced?: true;
  /** Worker processes for the systems that scale (hub, nchan); 1 otherwise. */
  workers: number;
  /** Seconds to wait past the last publish for the last deliveries. */
  graceS: number;
  /**
   * Runs in a full run when `--runs` is not given: 3, except the 100k broadcast (1), a capacity
   * proof whose connecting alone takes about a minute per system (the whole run must stay under
   * 20 minutes).
   */
  runs: number;
}

const idle = (subscribers: number, label: string): Scenario => ({
  key: `idle-${label}`,
  title: `idle ${label} subscribers`,
  subscribers,
  topics: 'shared',
  events: 0,
  rate: 0,
  workers: 1,
  graceS: 0,
  runs: 3,
});

const fanout = (subscribers: number, label: string, events: number, rate: number, graceS = 15): Scenario => ({
  key: `fanout-${label}-${rate}`,
  title: `${label} subs x ${events.toLocaleString('en-US')} msgs at ${rate.toLocaleString('en-US')}/s`,
  subscribers,
  topics: 'shared',
  events,
  rate,
  workers: 1,
  graceS,
  runs: 3,
});

const throughput = (keepAlive: boolean, requests: number, warmup = 0): Scenario => ({
  key: keepAlive ? 'publish-keepalive' : 'publish-new-connection',
  title: `publish throughput, ${keepAlive ? 'keep-alive' : 'a new connection per request'} (8 in flight)`,
  subscribers: 0,
  topics: 'shared',
  events: 0,
  rate: 0,
  throughput: { requests, concurrency: 8, keepAlive, warmup },
  workers: 1,
  graceS: 0,
  runs: 3,
});

/** 1,000 subscribers, each on a topic of its own, and batches of one update per topic. */
const batch = (events: number, rate: number): Scenario => ({
  key: `batch-1k-topics-${rate}`,
  title: `batch publish: 1k topics x 1 sub, ${(1000 * rate).toLocaleString('en-US')} updates/s in ${rate} batches/s`,
  subscribers: 1000,
  topics: 'own+shared',
  events,
  rate,
  batch: true,
  workers: 1,
  graceS: 15,
  runs: 3,
  paced: true,
});

export function scenarios(quick: boolean): Scenario[] {
  if (quick) {
    return [
      idle(1000, '1k'),
      { ...fanout(1000, '1k', 300, 100, 10), paced: true },
      fanout(1000, '1k', 1000, 1000, 10),
      {
        ...fanout(1000, '1k', 100, 100, 10),
        key: 'topics-1k',
        title: '1k subs on own topic + shared, 100 msgs at 100/s',
        topics: 'own+shared',
      },
      throughput(true, 500),
      throughput(false, 500),
      batch(200, 100),
    ];
  }
  // Memory per idle subscriber is read in every case before it publishes: the 1k and 10k figures come
  // from the fan-out cases, so only 19k (one process's most) needs an idle case of its own.
  return [
    idle(19_000, '19k'),
    // 100k: past one process's file limit, so the hub and nchan run 6 workers; then one broadcast
    // of 10 events at 10/s proves every subscriber is live.
    { ...fanout(100_000, '100k', 10, 10, 60), key: 'broadcast-100k', workers: 6, runs: 1 },
    { ...fanout(1000, '1k', 400, 20), paced: true },
    { ...fanout(1000, '1k', 1000, 100), paced: true },
    fanout(1000, '1k', 1000, 1000),
    fanout(10_000, '10k', 200, 100),
    {
      ...fanout(10_000, '10k', 200, 100),
      key: 'topics-10k',
      title: '10k subs each on its own topic + 1 shared, 200 msgs at 100/s',
      topics: 'own+shared',
    },
    // Enough requests for a few seconds each: with 1,000 the run lasted 0.3 s, mostly JIT warm-up.
    // Keep-alive: measured after 30,000 requests of warm-up (the JIT), as a long-running hub runs.
    // 5,000 were not enough on Node 24: the hub's CPU per publish still fell by a quarter between
    // 10,000 counted after them (65 µs) and 60,000 counted after 30,000 (47-54 µs), nchan's not.
    throughput(true, 60_000, 30_000),
    throughput(false, 5_000),
    // 100,000 updates/s for 5 s.
    batch(500, 100),
  ];
}
