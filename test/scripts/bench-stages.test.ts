// bench/load/stages.ts, the per-stage breakdown of a paced fan-out run: the figures the bench
// report's "Where the time goes" table shows for every system.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stageQuantiles, stages } from '../../bench/load/stages.js';

test('the publisher stages: pacing lag from due to written, round trip from written to answered', () => {
  const s = stages(
    { dueUs: [1000, 2000, 3000], writtenUs: [1500, 2200, 0], answeredUs: [2500, 2600, 0] },
    [],
  );
  // The third request never went out: it counts in neither stage.
  assert.deepEqual(s.pacingLagMs, { p50: 0.2, p99: 0.5 });
  assert.deepEqual(s.publishRoundTripMs, { p50: 0.4, p99: 1 });
  assert.equal(s.firstReceiveMs, undefined);
});

test('the subscriber stages merge generators: the earliest first read, the latest last read', () => {
  const s = stages(undefined, [
    { dueUs: [1000, 2000], firstUs: [1300, 2100], lastUs: [1900, 2400] },
    // This generator read event 0 first and event 1 last; it never read event 2.
    { dueUs: [1000, 2000, 3000], firstUs: [1100, 2200, 0], lastUs: [1500, 3200, 0] },
  ]);
  // Event 0: first at 1100 (0.1 ms after due), spread 1900 - 1100; event 1: first 2100, last 3200.
  assert.deepEqual(s.firstReceiveMs, { p50: 0.1, p99: 0.1 });
  assert.deepEqual(s.spreadMs, { p50: 0.8, p99: 1.1 });
});

test('percentiles are nearest-rank over the events', () => {
  const us = Array.from({ length: 100 }, (_, i) => (i + 1) * 1000);
  assert.deepEqual(stageQuantiles(us), { p50: 50, p99: 99 });
  assert.equal(stageQuantiles([]), undefined);
});
