import type { Hub } from '../hub.js';
import { DEMO_TOPICS } from './topics.js';

/** How often the hub's figures go out: once a second, so "per second" needs no smoothing. */
export const STATS_INTERVAL_MS = 1_000;

/** What the front page shows of this hub, published on the stats topic. */
export interface HubStats {
  /** Open subscriber streams of this process. */
  connections: number;
  /** Updates this process accepted in the last interval, per second. */
  publishedPerSecond: number;
  /** Events written to subscribers in the last interval, per second. */
  deliveredPerSecond: number;
}

/** The counters behind `HubStats`, of one process or summed over a group's workers. */
export interface HubCounters {
  connections: number;
  published: number;
  delivered: number;
}

/** This process's counters, from `hub.metrics` (what `/metrics` exposes). */
export function ownCounters(hub: Hub): HubCounters {
  const { connections, published, delivered } = hub.metrics;
  return { connections, published, delivered };
}

/**
 * Publishes the hub's connection count and update rates on the stats topic until the returned
 * function is called. The figures come from `counters`: this process's by default; with workers,
 * the group's, summed (see `DemoOptions.everyWorker`).
 */
export function startStats(
  hub: Hub,
  onError: (error: unknown) => void,
  counters: () => Promise<HubCounters> = async () => ownCounters(hub),
): () => void {
  let last: HubCounters | undefined;
  let at = Date.now();
  const tick = async () => {
    const now = Date.now();
    const seconds = Math.max(now - at, 1) / 1000;
    const current = await counters();
    const before = last ?? current;
    const stats: HubStats = {
      connections: current.connections,
      // A worker replaced meanwhile restarts its counters: never show a negative rate.
      publishedPerSecond: Math.max(0, Math.round((current.published - before.published) / seconds)),
      deliveredPerSecond: Math.max(0, Math.round((current.delivered - before.delivered) / seconds)),
    };
    last = current;
    at = now;
    await hub.publish({ topics: [DEMO_TOPICS.stats], data: JSON.stringify(stats) });
  };
  void counters().then((first) => {
    last ??= first;
  }, onError);
  const timer = setInterval(() => tick().catch(onError), STATS_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
