/**
 * When in a run the late events fall: reads a file `npm run bench -- --per-event DIR` wrote and
 * prints the stages of bench/load/stages.ts per block of events (100 by default), so a tail made
 * by a burst (the first events after start, a stall) reads apart from one spread over the run.
 *
 *   node --import tsx bench/per-event-summary.ts <DIR/system-scenario-run.json> [--block 100]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type PublisherTimes, type ReceiveTimes, type StageQuantiles, stages } from './load/stages.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { block: { type: 'string', default: '100' } },
});
const file = positionals[0];
if (file === undefined) throw new Error('usage: per-event-summary.ts <per-event file> [--block 100]');
const { publisher, generators } = JSON.parse(readFileSync(file, 'utf8')) as {
  publisher?: PublisherTimes;
  generators: ReceiveTimes[];
};
const block = Number(values.block);
const events = Math.max(publisher?.dueUs.length ?? 0, ...generators.map((g) => g.firstUs.length));
const slice = <T extends object>(times: T, from: number, to: number): T =>
  Object.fromEntries(Object.entries(times).map(([k, v]) => [k, (v as number[]).slice(from, to)])) as T;
const pair = (q: StageQuantiles | undefined) =>
  q === undefined ? '–' : `${q.p50.toFixed(2)} / ${q.p99.toFixed(1)}`;
console.log(`${file}: p50 / p99 ms per block of ${block} events`);
console.log(
  '| events | pacing lag | publish round trip | due → first subscriber | first → last subscriber |',
);
console.log('| --- | ---: | ---: | ---: | ---: |');
for (let from = 0; from < events; from += block) {
  const to = Math.min(events, from + block);
  const s = stages(
    publisher && slice(publisher, from, to),
    generators.map((g) => slice(g, from, to)),
  );
  console.log(
    `| ${from}-${to - 1} | ${pair(s.pacingLagMs)} | ${pair(s.publishRoundTripMs)} | ${pair(s.firstReceiveMs)} | ${pair(s.spreadMs)} |`,
  );
}
