/**
 * The hub's counters, exposed in the Prometheus text format by `/metrics`.
 *
 * The hot path only bumps plain numbers; prom-client reads them at scrape time through `collect`,
 * so a delivered event costs an integer increment, not a metric call. The latency histogram is
 * observed once per update and node (the worst local subscriber: the last write of the fan-out),
 * not once per delivery, which would cost more than the write itself at large fan-outs.
 */
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import { WIRE_FORMATS, type WireFormat } from '../subscribers/wire-format.js';
import { LatencyHistogram } from './latency-histogram.js';
import { WireMeter } from './wire-meter.js';

/** The counters of one transport (`transport` label on `/metrics`). */
export interface TransportCounters {
  /** Open subscribers (gauge). */
  connections: number;
  /** Updates written to its subscribers, history included. */
  delivered: number;
  /** Update bytes queued to its subscribers (no HTTP chunk framing, no heartbeats). */
  bytes: number;
  /** Subscribers closed as slow consumers. */
  dropped: number;
}

/** What the hub counts. Numbers are totals since the hub started, except the two gauges. */
export class HubMetrics {
  /** Open subscriber streams (gauge). */
  connections = 0;
  /** Topic selectors of open streams (gauge). */
  subscriptions = 0;
  /** Updates accepted by this node (HTTP publishes and `hub.publish`). */
  published = 0;
  /** Events written to subscriber streams, history replays included. */
  delivered = 0;
  /** Subscribers closed because their queue went over `maxQueuedBytes`. */
  slowClientsDropped = 0;
  /**
   * Keyed updates not sent to a subscriber because a newer one of the same key replaced them in its
   * queue, or superseded them in the history it resumed from (one per subscriber and update).
   */
  updatesConflated = 0;
  /** Open subscriber streams with a rate limit (`maxRate`) in force (gauge). */
  rateLimited = 0;
  /** Subscriptions refused: auth failures, bad selectors, limits. */
  subscribeRejected = 0;
  /** Publishes refused (4xx) or failed (5xx). */
  publishRejected = 0;
  /**
   * Resumes from an ID the hub does not hold (past history, never seen, or private to others):
   * answered with what it still holds and the `earliest` cursor; updates may be missing.
   */
  lossyResumes = 0;
  /**
   * Subscribers closed because a history page after the first could not be read (a store error, or
   * its start trimmed meanwhile): they resume from the last ID they got instead of skipping a page.
   */
  historyFailures = 0;
  /** Deliveries skipped because the update cannot be encoded in the subscriber's wire format. */
  updatesUnencodable = 0;
  /**
   * Times the store reported updates lost (Redis: trimmed from the stream during an outage before
   * this node read them, or rolled back by a failover to a replica that lacked them). Set by whoever
   * receives the store's reports (the CLI does, from `onStatus('lost')`).
   */
  storeLosses = 0;

  /** The same figures split by transport. */
  readonly transports: Record<WireFormat, TransportCounters> = {
    sse: { connections: 0, delivered: 0, bytes: 0, dropped: 0 },
    ws: { connections: 0, delivered: 0, bytes: 0, dropped: 0 },
    poll: { connections: 0, delivered: 0, bytes: 0, dropped: 0 },
  };

  /** Socket bytes per transport, both directions (off unless turned on: the demo does). */
  readonly wire = new WireMeter();

  readonly registry: Registry;
  readonly #latency: LatencyHistogram;
  readonly #withProcess: boolean;

  constructor(defaultMetrics: boolean) {
    this.registry = new Registry();
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          // The running total lives in a plain field; mirror it at scrape time.
          this.reset();
          this.inc(read());
        },
      });
    gauge('herald_hub_connections', 'Open subscriber streams.', () => this.connections);
    gauge(
      'herald_hub_subscriptions',
      'Topic selectors of open subscriber streams.',
      () => this.subscriptions,
    );
    counter('herald_hub_updates_published_total', 'Updates accepted by this node.', () => this.published);
    counter(
      'herald_hub_events_delivered_total',
      'Events written to subscriber streams.',
      () => this.delivered,
    );
    counter(
      'herald_hub_slow_clients_dropped_total',
      'Subscribers closed because they read slower than events arrived.',
      () => this.slowClientsDropped,
    );
    counter(
      'herald_hub_updates_conflated_total',
      'Keyed updates replaced by a newer one of the same key before being sent to a subscriber.',
      () => this.updatesConflated,
    );
    gauge(
      'herald_hub_rate_limited_streams',
      'Open subscriber streams with a rate limit (maxRate) in force.',
      () => this.rateLimited,
    );
    counter(
      'herald_hub_subscribe_rejected_total',
      'Subscribe requests refused.',
      () => this.subscribeRejected,
    );
    counter(
      'herald_hub_publish_rejected_total',
      'Publish requests refused or failed.',
      () => this.publishRejected,
    );
    counter(
      'herald_hub_lossy_resumes_total',
      'Resumes from an ID the hub does not hold, answered from its oldest update with the earliest cursor.',
      () => this.lossyResumes,
    );
    counter(
      'herald_hub_history_failures_total',
      'Subscribers closed because a history page after the first could not be read.',
      () => this.historyFailures,
    );
    counter(
      'herald_hub_updates_unencodable_total',
      "Deliveries skipped because the update cannot be encoded in the subscriber's wire format.",
      () => this.updatesUnencodable,
    );
    counter(
      'herald_hub_store_losses_total',
      'Times the store reported updates lost (trimmed during a Redis outage, or rolled back by a failover).',
      () => this.storeLosses,
    );
    const perTransport = (
      name: string,
      help: string,
      kind: 'gauge' | 'counter',
      field: keyof TransportCounters,
    ) => {
      const transports = this.transports;
      const options = {
        name,
        help,
        labelNames: ['transport'],
        registers: [this.registry],
      };
      if (kind === 'gauge') {
        new Gauge({
          ...options,
          collect() {
            for (const t of WIRE_FORMATS) this.set({ transport: t }, transports[t][field]);
          },
        });
      } else {
        new Counter({
          ...options,
          collect() {
            this.reset();
            for (const t of WIRE_FORMATS) this.inc({ transport: t }, transports[t][field]);
          },
        });
      }
    };
    perTransport(
      'herald_hub_transport_connections',
      'Open subscribers, by transport.',
      'gauge',
      'connections',
    );
    perTransport(
      'herald_hub_transport_deliveries_total',
      'Updates written to subscribers, by transport.',
      'counter',
      'delivered',
    );
    perTransport(
      'herald_hub_transport_bytes_total',
      'Update bytes queued to subscribers (no chunk framing, no heartbeats), by transport.',
      'counter',
      'bytes',
    );
    perTransport(
      'herald_hub_transport_dropped_total',
      'Subscribers closed as slow consumers, by transport.',
      'counter',
      'dropped',
    );
    this.#latency = new LatencyHistogram({
      name: 'herald_hub_publish_to_write_seconds',
      help: 'From the hub accepting an update to its write to the last matching local subscriber.',
      // 100 us to 5 s: loopback fan-out sits in the low milliseconds; seconds mean a backlog.
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.#withProcess = defaultMetrics;
  }

  /** Records the publish-to-write latency of one update, `time` being `update.time`. */
  observeLatency(time: number, now = Date.now()): void {
    this.#latency.observe(Math.max(0, now - time) / 1000);
  }

  /** The registry's text exposition (plus the process metrics) and content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    const registry = this.#withProcess ? Registry.merge([this.registry, processRegistry()]) : this.registry;
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** The same metrics as plain objects (`getMetricsAsJSON`), for a cluster primary to gather. */
  async collect(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    const own = await this.registry.getMetricsAsJSON();
    return this.#withProcess ? [...own, ...(await processRegistry().getMetricsAsJSON())] : own;
  }
}

let processMetrics: Registry | undefined;

/**
 * CPU, memory, event-loop lag and GC of this process, collected once per process however many hubs
 * it runs: each collection installs observers that cannot be removed.
 */
export function processRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, prefix: 'herald_' });
  }
  return processMetrics;
}
