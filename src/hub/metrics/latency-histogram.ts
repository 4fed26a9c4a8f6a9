/**
 * A Prometheus histogram without labels whose `observe` is a bucket search and three additions,
 * registered in a prom-client registry like any of its metrics.
 *
 * Why not prom-client's `Histogram`: its `observe` builds a label object, validates and hashes it
 * and looks the bucket up by a number-keyed property, ~0.5 µs a call. The hub observes its
 * publish-to-write latency once per update, and on a batch publish of 100,000 updates/s that was
 * 3% of the hub's CPU (bench/results/publish-path). The exposition is the same as prom-client's
 * (`_bucket` lines with cumulative counts and `le`, then `_sum` and `_count`; test/hub/metrics).
 */
import type { Metric, MetricValueWithName, Registry } from 'prom-client';

/** A metric as prom-client's registry reads it from `get()`. */
export interface HistogramData {
  name: string;
  help: string;
  type: 'histogram';
  values: MetricValueWithName<string>[];
  aggregator: 'sum';
}

export class LatencyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  /** How a cluster primary merges the workers' copies (prom-client's `AggregatorRegistry`). */
  readonly aggregator = 'sum' as const;
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last one is `+Inf`. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(options: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = options.name;
    this.help = options.help;
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    this.#counts = new Float64Array(this.#bounds.length + 1);
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  /** What prom-client's registry reads (`getMetricsAsJSON`, the text exposition). */
  get(): Promise<HistogramData> {
    const values: MetricValueWithName<string>[] = [];
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i]!;
      values.push({ labels: { le: this.#bounds[i]! }, value: cumulative, metricName: bucket });
    }
    values.push({ labels: { le: '+Inf' }, value: this.#count, metricName: bucket });
    values.push({ labels: {}, value: this.#sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.#count, metricName: `${this.name}_count` });
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }
}
