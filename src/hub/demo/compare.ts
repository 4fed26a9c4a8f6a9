/**
 * What the transport comparison page (web/why-sse.html) measures against: a numbered feed stamped
 * with its publish time, the hub's own per-transport counters, and a button that really ends every
 * subscriber connection. Demo mode only: `mountDemo` is the one caller.
 */
// Both response kinds take writeHead(status, headers); TypeScript cannot call the union's overloads.
import type { ServerResponse } from 'node:http';
import type { NodeRequest, NodeServerResponse } from '../../server/index.js';
import type { Hub } from '../hub.js';
import { DEMO_TOPICS } from './topics.js';

/** Four updates a second: enough for latency and byte figures to settle within seconds. */
export const COMPARE_INTERVAL_MS = 250;
/** The least time between two drops: a held-down button must not keep every subscriber away. */
export const DROP_INTERVAL_MS = 1000;

/** One update of the compare feed: its sequence number (to see gaps and duplicates) and publish time. */
export interface CompareUpdate {
  n: number;
  /** `Date.now()` when the demo published it. */
  t: number;
}

/** Publishes `{n, t}` on the compare topic until the returned function is called. */
export function startComparePublisher(hub: Hub, onError: (error: unknown) => void): () => void {
  let n = 0;
  const tick = () => {
    const update: CompareUpdate = { n: ++n, t: Date.now() };
    hub.publish({ topics: [DEMO_TOPICS.compare], data: JSON.stringify(update) }).catch(onError);
  };
  const timer = setInterval(tick, COMPARE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** The per-transport figures the page shows: the hub's counters, as `/metrics` has them. */
export interface TransportStats {
  /** Open connections (a long poll counts while its request waits). */
  connections: number;
  /** Updates written to subscribers. */
  delivered: number;
  /** Bytes written to subscribers: frames, heartbeats or pings, and response heads. */
  bytes: number;
  /**
   * Bytes on their sockets, both directions (the hub's wire meter, which `mountDemo` turns on):
   * requests, response heads, framing, heartbeats, pongs; HTTP/1.1 subscribers only.
   */
  wireBytes: number;
}

/** This process's counters by transport (`sse`, `ws`, `poll`). */
export function transportStats(hub: Hub): Record<string, TransportStats> {
  const out: Record<string, TransportStats> = {};
  const wire = hub.metrics.wire.totals();
  for (const [name, { connections, delivered, bytes }] of Object.entries(hub.metrics.transports)) {
    out[name] = { connections, delivered, bytes, wireBytes: wire[name as keyof typeof wire] };
  }
  return out;
}

/** What the page shows of the group: every worker's counters summed, and the updates they accepted. */
export interface GroupTransportStats {
  transports: Record<string, TransportStats>;
  published: number;
}

/** This process's figures, as one worker reports them to a group call (`sumTransportStats` adds them up). */
export function ownTransportStats(hub: Hub): GroupTransportStats {
  return { transports: transportStats(hub), published: hub.metrics.published };
}

/** The sum of several processes' figures; a missing report (a worker that did not answer) counts as none. */
export function sumTransportStats(reports: unknown[]): GroupTransportStats {
  const sum: GroupTransportStats = { transports: {}, published: 0 };
  for (const report of reports as (GroupTransportStats | undefined)[]) {
    if (report === undefined || report === null) continue;
    sum.published += report.published;
    for (const [name, stats] of Object.entries(report.transports)) {
      const into = (sum.transports[name] ??= { connections: 0, delivered: 0, bytes: 0, wireBytes: 0 });
      into.connections += stats.connections;
      into.delivered += stats.delivered;
      into.bytes += stats.bytes;
      into.wireBytes += stats.wireBytes;
    }
  }
  return sum;
}

/**
 * `POST /demo/drop`: ends every subscriber connection of this process, or with `dropAll` (workers)
 * of every process of the group. A JSON body is required so
 * that a cross-site form cannot post it (a JSON request from another origin needs a preflight, and
 * the demo paths answer none); at most one drop per {@link DROP_INTERVAL_MS}.
 */
export function createDropHandler(
  hub: Hub,
  now: () => number = Date.now,
  dropAll: () => Promise<number> = async () => hub.disconnectSubscribers(),
) {
  let last = Number.NEGATIVE_INFINITY;
  return (req: NodeRequest, res: NodeServerResponse): void => {
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      (res as ServerResponse).writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        ...headers,
      });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST') {
      answer(405, { error: `use POST on /demo/drop (got ${req.method})` }, { Allow: 'POST' });
      return;
    }
    const type = String(req.headers['content-type'] ?? '');
    if (!/^application\/json\b/i.test(type)) {
      answer(415, { error: `/demo/drop needs Content-Type: application/json (got ${type || 'none'})` });
      return;
    }
    const at = now();
    if (at - last < DROP_INTERVAL_MS) {
      const wait = Math.ceil((DROP_INTERVAL_MS - (at - last)) / 1000);
      answer(
        429,
        { error: `one drop a second at most; retry in ${wait} s` },
        { 'Retry-After': String(wait) },
      );
      return;
    }
    last = at;
    req.resume();
    dropAll().then(
      (dropped) => answer(200, { dropped }),
      (error: unknown) =>
        answer(503, { error: `the drop did not reach every worker: ${(error as Error).message}` }),
    );
  };
}
