import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { LatencyHistogram } from '../../../src/hub/metrics/latency-histogram.js';

const BUCKETS = [0.0001, 0.001, 0.01, 0.1, 1, 5];
// On a bound, between bounds, past the last one, and zero.
const VALUES = [0, 0.0001, 0.00005, 0.002, 0.01, 0.3, 1, 4.99, 5, 7, 120, 0.0005];

function pair(): {
  ours: LatencyHistogram;
  theirs: Histogram;
  oursRegistry: Registry;
  theirsRegistry: Registry;
} {
  const oursRegistry = new Registry();
  const theirsRegistry = new Registry();
  const help = 'From accept to write.';
  const ours = new LatencyHistogram({ name: 'x_seconds', help, buckets: BUCKETS, registers: [oursRegistry] });
  const theirs = new Histogram({ name: 'x_seconds', help, buckets: BUCKETS, registers: [theirsRegistry] });
  return { ours, theirs, oursRegistry, theirsRegistry };
}

test("LatencyHistogram: the same text exposition as prom-client's Histogram for the same observations", async () => {
  const { ours, theirs, oursRegistry, theirsRegistry } = pair();
  assert.equal(await oursRegistry.metrics(), await theirsRegistry.metrics());
  for (const value of VALUES) {
    ours.observe(value);
    theirs.observe(value);
  }
  const text = await oursRegistry.metrics();
  assert.equal(text, await theirsRegistry.metrics());
  assert.match(text, /^x_seconds_bucket\{le="0.01"\} 6$/m);
  assert.match(text, /^x_seconds_count 12$/m);
});

test("LatencyHistogram: workers' copies add up as prom-client's do (cluster /metrics)", async () => {
  const a = pair();
  const b = pair();
  for (const [i, value] of VALUES.entries()) {
    const side = i % 2 === 0 ? a : b;
    side.ours.observe(value);
    side.theirs.observe(value);
  }
  const merged = (registries: Registry[]) =>
    Promise.all(registries.map((r) => r.getMetricsAsJSON())).then((all) =>
      AggregatorRegistry.aggregate(all).metrics(),
    );
  assert.equal(
    await merged([a.oursRegistry, b.oursRegistry]),
    await merged([a.theirsRegistry, b.theirsRegistry]),
  );
});
