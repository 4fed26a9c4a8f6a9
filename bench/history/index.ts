/**
 * History per topic, before and after: memory per retained update and the cost of an append, for
 * the old tree (/work/main's dist, or `--old DIR`: a `dist` of the previous version) and this tree
 * (its `dist`: run `npm run build` first), in one run, alternating old and new per case.
 *
 *   npm run bench:history [-- --old /work/main/dist --rounds 2 --update]
 *
 * Cases, each in a fresh process (`--expose-gc`):
 * - heap per kept update: 100,000 updates of 1 KB (and of 100 B) on 50 topics, all kept
 *   (retention large enough on both), heap used after a forced GC, divided by the count;
 * - append cost once history is full (every append evicts one): the memory store, one topic and
 *   50 topics, 200,000 appends one at a time; the SQLite store, one topic, 20,000 appends 100 in
 *   flight (one transaction per 100). CPU ns per append (the process's user + system time, as the
 *   machine may be shared), median of 7 runs.
 * Writes bench/results/raw/history.md; `--update` writes bench/results/history.md.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resultsFile } from '../results-file.js';

const { values } = parseArgs({
  options: {
    old: { type: 'string', default: '/work/main/dist' },
    rounds: { type: 'string', default: '2' },
    update: { type: 'boolean', default: false },
  },
});
const ROOT = new URL('../../', import.meta.url).pathname;
const trees = {
  old: join(values.old, 'hub/stores/index.js'),
  new: join(ROOT, 'dist/hub/stores/index.js'),
};
const rounds = Number(values.rounds);
const cases = [
  ['heap-1k', 'heap per kept 1 KB update (bytes)'],
  ['heap-100', 'heap per kept 100 B update (bytes)'],
  ['append-memory-1', 'memory store append, 1 topic, history full (CPU ns)'],
  ['append-memory-50', 'memory store append, 50 topics, history full (CPU ns)'],
  ['append-sqlite-1', 'SQLite store append, 1 topic, 100 in flight (CPU ns)'],
] as const;

function measure(tree: string, kind: string): number {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench/history/run-store.ts'), tree, kind],
    { encoding: 'utf8' },
  );
  return (JSON.parse(out.trim().split('\n').at(-1)!) as { result: number }).result;
}

const startLoad = loadavg()[0];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const rows: string[] = [];
for (const [kind, label] of cases) {
  const figures = { old: [] as number[], new: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    figures.old.push(measure(trees.old, kind));
    figures.new.push(measure(trees.new, kind));
  }
  const [before, after] = [median(figures.old), median(figures.new)];
  const row = `| ${label} | ${before.toFixed(0)} | ${after.toFixed(0)} | ${(after / before).toFixed(2)}x |`;
  console.log(row);
  rows.push(row);
}

const report = `# History per topic: before and after

\`npm run bench:history\` (bench/history/index.ts), ${new Date().toISOString().slice(0, 10)}, Node ${process.version},
${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${loadavg()[0].toFixed(2)} at the end.
Old: one history list for all topics (\`${values.old}\`); new: per topic plus a hub-wide byte cap
(this tree's \`dist\`). Each figure is the median of ${rounds} processes per tree, old and new
alternating; append figures are each the median of 7 runs inside the process.

| case | old | new | new / old |
| --- | ---: | ---: | ---: |
${rows.join('\n')}

Heap per kept update includes the update itself (its object and strings: the data, a 45-byte ID)
and the store's bookkeeping (old: a ring slot and a Map entry; new: a list entry, a topic-queue
slot and a Map entry). \`updateBytes\` counts 250 bytes per update on top of its strings
(\`UPDATE_OVERHEAD_BYTES\`): compare with the difference between the rows and their data size.
Load average at the start: ${startLoad.toFixed(2)}; on a shared machine CPU figures move by 2x
from run to run: the ratio within one run is what to read.
`;
const file = resultsFile('history.md', values.update ? ['--update'] : []);
writeFileSync(file, report);
console.log(`wrote ${file}`);
