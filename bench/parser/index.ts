/**
 * Parser throughput: herald's parser against eventsource-parser 3.x on the same inputs, in one run.
 *
 *   npm run bench:parser                      # full run, writes bench/results/raw/parser.md
 *   npm run bench:parser -- --update          # the same, replacing the committed bench/results/parser.md
 *   BENCH_ROUNDS=5 BENCH_ONLY=small npm run bench:parser -- --no-write   # a quick look while developing
 *
 * Each pass creates a parser (one per connection, as a client does) and feeds it every chunk of a
 * fixture. A measurement repeats passes for at least BENCH_MS milliseconds of process CPU time (the
 * machine may be shared: CPU time is not inflated by waiting for a core) after a forced GC; rounds
 * interleave the parsers (in rotating order) so a noisy neighbour hurts all of them alike; the
 * figures are medians over rounds. Both parsers are fed strings, since eventsource-parser takes only
 * strings; herald is also measured on Uint8Array chunks (decoding included).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createParser as createTheirs } from 'eventsource-parser';
import { createParser as createOurs } from '../../src/protocol/index.js';
import {
  chunkBytes,
  chunkText,
  largeJsonEvents,
  manyLineEvents,
  type StreamFixture,
  smallEvents,
  tokenEvents,
} from '../fixtures/event-streams.js';
import { resultsFile } from '../results-file.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const MIN_MS = Number(process.env.BENCH_MS ?? 60);
// Measured: the first ~50 ms of CPU after a forced GC run at a fraction of the steady speed, for
// every parser; untimed passes absorb that before each measurement.
const SETTLE_MS = 60;
const ONLY = process.env.BENCH_ONLY?.split(',');
const FIXTURE_BYTES = Number(process.env.BENCH_BYTES ?? 1 << 20);
const WRITE = !process.argv.includes('--no-write');

const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    throw new Error('run with node --expose-gc (npm run bench:parser does)');
  });

type Pass = () => number; // parses the whole fixture once, returns the events seen

interface Contender {
  name: string;
  pass: Pass;
}

function oursOn(chunks: ReadonlyArray<string | Uint8Array>): Pass {
  return () => {
    let events = 0;
    const parser = createOurs({
      onEvent: () => {
        events++;
      },
    });
    for (const c of chunks) parser.feed(c);
    return events;
  };
}

function theirsOn(chunks: readonly string[]): Pass {
  return () => {
    let events = 0;
    const parser = createTheirs({
      onEvent: () => {
        events++;
      },
    });
    for (const c of chunks) parser.feed(c);
    return events;
  };
}

/**
 * eventsource-parser on bytes, the way its users must feed it: through a streaming `TextDecoder`, one
 * per connection (what `TextDecoderStream` in front of it amounts to).
 */
function theirsOnBytes(chunks: readonly Uint8Array[]): Pass {
  return () => {
    let events = 0;
    const parser = createTheirs({
      onEvent: () => {
        events++;
      },
    });
    const decoder = new TextDecoder();
    for (const c of chunks) parser.feed(decoder.decode(c, { stream: true }));
    return events;
  };
}

// BENCH_BASELINE=<path of another build of parser.ts> adds it as a contender on strings, measured in
// the same rounds: a before/after comparison of a change, immune to the drift of a shared machine.
const BASELINE = process.env.BENCH_BASELINE;
const createBaseline: typeof createOurs | undefined =
  BASELINE === undefined ? undefined : (await import(BASELINE)).createParser;

function baselineOn(chunks: readonly string[]): Pass {
  const create = createBaseline!;
  return () => {
    let events = 0;
    const parser = create({
      onEvent: () => {
        events++;
      },
    });
    for (const c of chunks) parser.feed(c);
    return events;
  };
}

/** Process CPU microseconds (user + system): unlike wall time, not inflated while other work has the core. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** CPU seconds per pass: passes repeated for at least MIN_MS, after a GC so others' garbage is not billed. */
function measure(pass: Pass, expectedEvents: number): number {
  gc();
  // A forced GC leaves the heap cold (a shrunk young generation, sweeping under way): let the slow
  // first passes after it go untimed.
  const settle = cpuMicros() + SETTLE_MS * 1000;
  while (cpuMicros() < settle) pass();
  let passes = 0;
  const start = cpuMicros();
  let elapsed = 0;
  do {
    const events = pass();
    if (events !== expectedEvents) throw new Error(`expected ${expectedEvents} events, got ${events}`);
    passes++;
    elapsed = cpuMicros() - start;
  } while (elapsed < MIN_MS * 1000);
  return elapsed / 1e6 / passes;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Row {
  fixture: string;
  chunking: string;
  oursMBs: number;
  theirsMBs: number;
  oursBytesMBs: number;
  theirsBytesMBs: number;
  /** herald on bytes / eventsource-parser behind a streaming TextDecoder, median of per-round ratios. */
  bytesRatio: number;
  /** herald / the BENCH_BASELINE build, on strings, median of per-round ratios. */
  baselineRatio?: number;
  oursEventsPerS: number;
  theirsEventsPerS: number;
  ratio: number;
}

function runCase(fixture: StreamFixture, chunking: string, chunkSize: number): Row {
  const textChunks = chunkText(fixture.bytes, chunkSize);
  const byteChunks = chunkBytes(fixture.bytes, chunkSize);
  const contenders: Contender[] = [
    { name: 'ours', pass: oursOn(textChunks) },
    { name: 'theirs', pass: theirsOn(textChunks) },
    { name: 'oursBytes', pass: oursOn(byteChunks) },
    { name: 'theirsBytes', pass: theirsOnBytes(byteChunks) },
  ];
  if (createBaseline !== undefined) contenders.push({ name: 'baseline', pass: baselineOn(textChunks) });
  // Warm-up: let each parser's code reach the optimising compiler on this input shape.
  for (const c of contenders) for (let i = 0; i < 3; i++) measure(c.pass, fixture.events);

  const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(round + k) % contenders.length];
      times.get(c.name)!.push(measure(c.pass, fixture.events));
    }
  }
  const mb = fixture.bytes.length / 1e6;
  const t = (name: string) => median(times.get(name)!);
  // Each round measures all back to back: the median of per-round ratios is steadier than the ratio
  // of medians when the load of a shared machine drifts.
  const ratio = (slow: string, fast: string) =>
    median(times.get(fast)!.map((time, round) => times.get(slow)![round] / time));
  return {
    fixture: fixture.name,
    chunking,
    oursMBs: mb / t('ours'),
    theirsMBs: mb / t('theirs'),
    oursBytesMBs: mb / t('oursBytes'),
    theirsBytesMBs: mb / t('theirsBytes'),
    bytesRatio: ratio('theirsBytes', 'oursBytes'),
    baselineRatio: createBaseline === undefined ? undefined : ratio('baseline', 'ours'),
    oursEventsPerS: fixture.events / t('ours'),
    theirsEventsPerS: fixture.events / t('theirs'),
    ratio: ratio('theirs', 'ours'),
  };
}

const fixtures = [
  smallEvents(FIXTURE_BYTES),
  largeJsonEvents(FIXTURE_BYTES),
  manyLineEvents(FIXTURE_BYTES),
  tokenEvents(FIXTURE_BYTES),
];
const chunkings: Array<[string, number]> = [
  ['1 KB', 1024],
  ['16 KB', 16 * 1024],
  ['whole', Number.POSITIVE_INFINITY],
];
/** Tokens arrive as the model makes them: a read holds one to a few events. */
const tokenChunkings: Array<[string, number]> = [
  ['16 B', 16],
  ['64 B', 64],
  ['1 KB', 1024],
];
const chunkingsOf = (fixture: StreamFixture) => (fixture.name === 'ai-tokens' ? tokenChunkings : chunkings);

// Each case runs in a child process of its own, so the code the JIT optimised for one input shape
// (and the garbage it left) does not tilt the next case.
const CASE = process.env.BENCH_CASE;
if (CASE !== undefined) {
  const [f, c] = CASE.split(':').map(Number);
  const [label, size] = chunkingsOf(fixtures[f])[c];
  process.stdout.write(JSON.stringify(runCase(fixtures[f], label, size)));
  process.exit(0);
}

const rows: Row[] = [];
for (const [f, fixture] of fixtures.entries()) {
  if (ONLY !== undefined && !ONLY.includes(fixture.name)) continue;
  for (const c of chunkingsOf(fixture).keys()) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_CASE: `${f}:${c}` },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`case ${fixture.name} / ${chunkingsOf(fixture)[c][0]} failed`);
    const row = JSON.parse(child.stdout) as Row;
    rows.push(row);
    const vsBaseline =
      row.baselineRatio === undefined ? '' : `, ${row.baselineRatio.toFixed(2)}x the baseline`;
    console.error(
      `${row.fixture} / ${row.chunking}: ${row.ratio.toFixed(2)}x on strings, ${row.bytesRatio.toFixed(2)}x on bytes${vsBaseline}`,
    );
  }
}

const f1 = (n: number) => n.toFixed(1);
const k0 = (n: number) => `${Math.round(n / 1000).toLocaleString('en-US')}k`;
const header =
  '| fixture | chunks | strings: herald MB/s | strings: eventsource-parser MB/s | strings: ratio | herald events/s | eventsource-parser events/s | bytes: herald MB/s | bytes: TextDecoder + eventsource-parser MB/s | bytes: ratio |\n' +
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
const body = rows
  .map(
    (r) =>
      `| ${r.fixture} | ${r.chunking} | ${f1(r.oursMBs)} | ${f1(r.theirsMBs)} | **${r.ratio.toFixed(2)}x** | ` +
      `${k0(r.oursEventsPerS)} | ${k0(r.theirsEventsPerS)} | ${f1(r.oursBytesMBs)} | ${f1(r.theirsBytesMBs)} | **${r.bytesRatio.toFixed(2)}x** |`,
  )
  .join('\n');
const table = `${header}\n${body}`;
console.log(table);

if (WRITE) {
  const theirsVersion = (await import('eventsource-parser/package.json', { with: { type: 'json' } })).default
    .version;
  const fixtureList = fixtures
    .map(
      (f) =>
        `- \`${f.name}\`: ${f.description}; ${f.bytes.length.toLocaleString('en-US')} bytes, ${f.events} events`,
    )
    .join('\n');
  const md = `# Parser benchmark

\`npm run bench:parser\` (bench/parser/index.ts). herald's \`createParser\` against
eventsource-parser ${theirsVersion}, both fed the same strings; the last column is herald fed the same
stream as UTF-8 \`Uint8Array\` chunks (decoding included). MB/s counts UTF-8 bytes of the stream. Each
figure is the median of ${ROUNDS} interleaved rounds of at least ${MIN_MS} ms of process CPU time, each
after a forced GC and ${SETTLE_MS} ms of untimed passes; each pass creates a parser and feeds it every
chunk. Each fixture/chunking pair runs in a child process of its own. Ratio: herald / eventsource-parser
throughput on strings, the median of the per-round ratios (both are measured back to back in each round).

Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}
(${cpus().length} cores, shared with other work: compare ratios, not absolute figures, across runs).

Fixtures:

${fixtureList}

${table}

The bytes columns measure the pipeline a client runs, bytes from the network in, events out:
herald's \`feed(Uint8Array)\` against eventsource-parser behind a streaming \`TextDecoder\` (one per
connection, what its users must write); their ratio is a separate comparison and does not replace the
one on strings.${
    createBaseline === undefined
      ? ''
      : `\n\nBaseline: herald against an earlier build of its parser (\`BENCH_BASELINE\`), on strings, in the same rounds: ${rows
          .map((r) => `${r.fixture}/${r.chunking} ${r.baselineRatio?.toFixed(2)}x`)
          .join(', ')}.`
  }

Caveat: each measurement starts with a forced GC, after which V8 recompiles the parsers' optimised
code (both parsers; seen with \`--trace-opt\`); on a loaded machine that compilation, billed to the
process CPU time, can fall inside the timed window and weighs more on the parser with more code.

On bytes herald decodes ASCII streams through Node's SIMD UTF-8 path (\`src/protocol/utf8-chunk-decoder.ts\`) and switches to
a streaming \`TextDecoder\` once a stream shows other text (the \`large-json\` fixture has accented letters).
`;
  const out = resultsFile('parser.md');
  writeFileSync(out, md);
  console.error(`wrote ${out}`);
}
