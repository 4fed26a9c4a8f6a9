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

/**
 * Publishes the hub's connection count and update rates on the stats topic until the returned
 * function is called. The figures come from `hub.metrics`, the counters `/metrics` exposes; with
 * workers, they are those of the one worker running the demo publishers.
 */
export function startStats(hub: Hub, onError: (error: unknown) => void): () => void {
  const metrics = hub.metrics;
  let published = metrics.published;
  let delivered = metrics.delivered;
  let at = Date.now();
  const tick = () => {
    const now = Date.now();
    const seconds = Math.max(now - at, 1) / 1000;
    const stats: HubStats = {
      connections: metrics.connections,
      publishedPerSecond: Math.round((metrics.published - published) / seconds),
      deliveredPerSecond: Math.round((metrics.delivered - delivered) / seconds),
    };
    published = metrics.published;
    delivered = metrics.delivered;
    at = now;
    hub.publish({ topics: [DEMO_TOPICS.stats], data: JSON.stringify(stats) }).catch(onError);
  };
  const timer = setInterval(tick, STATS_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
