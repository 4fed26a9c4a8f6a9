/**
 * Parser throughput: herald's parser against eventsource-parser 3.x on the same inputs, in one run.
 *
 *   npm run bench:parser                      # full run, writes bench/results/raw/parser.md
 *   npm run bench:parser -- --update          # the same, replacing the committed bench/results/parser.md
 *   BENCH_ROUNDS=5 BENCH_ONLY=small npm run bench:parser -- --no-write   # a quick look while developing
 *
 * Each contender has one parser (a long-lived connection); a pass resets it and feeds it every chunk
 * of a fixture. (A new parser per pass gives eventsource-parser, whose methods are closures made per
 * parser, fresh functions each pass, which V8 recompiled inside the timed windows: seen with
 * --check-jit; herald's methods live on a class.) A measurement repeats passes for at least BENCH_MS
 * milliseconds of process CPU time (the machine may be shared: CPU time is not inflated by waiting for
 * a core), after one warm-up and no forced GC; rounds
 * interleave the parsers (in rotating order) so a noisy neighbour hurts all of them alike; the
 * figures are medians over rounds. Both parsers are fed strings, since eventsource-parser takes only
 * strings; herald is also measured on Uint8Array chunks (decoding included).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
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

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
// Each case runs in this many processes of its own, one after the other (see combine()).
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 3);
const MIN_MS = Number(process.env.BENCH_MS ?? 40);
// Untimed rounds before the first timed one, run like the timed ones: enough for V8 to settle on
// optimised code for every parser on this input (`--check-jit` verifies no compilation is left for
// the timed windows).
const WARM_ROUNDS = Number(process.env.BENCH_WARM_ROUNDS ?? 10);
// What the last --check-jit run found, quoted in the report.
const JIT_CHECK_NOTE = process.env.BENCH_JIT_NOTE ?? 'not run with this report';
const ONLY = process.env.BENCH_ONLY?.split(',');
const FIXTURE_BYTES = Number(process.env.BENCH_BYTES ?? 1 << 20);
const WRITE = !process.argv.includes('--no-write');

const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    throw new Error('run with node --expose-gc (npm run bench:parser does)');
  });

type Pass = () => number; // parses the whole fixture once, returns the events seen

/**
 * What every contender's event handler does with the data: read a character of it, as any consumer
 * (JSON.parse, a UI) would. Data a parser hands over as a rope of joined pieces is flattened (copied)
 * by that first read, so the copy a parser saves by not flattening still counts, in its own window.
 */
let sink = 0;
function use(data: string): void {
  if (data.length > 0) sink = (sink + data.charCodeAt(data.length - 1)) | 0;
}

interface Contender {
  name: string;
  pass: Pass;
}

function oursOn(chunks: ReadonlyArray<string | Uint8Array>): Pass {
  let events = 0;
  const parser = createOurs({
    onEvent: (event) => {
      events++;
      use(event.data);
    },
  });
  return () => {
    events = 0;
    parser.reset();
    for (const c of chunks) parser.feed(c);
    return events;
  };
}

function theirsOn(chunks: readonly string[]): Pass {
  let events = 0;
  const parser = createTheirs({
    onEvent: (event) => {
      events++;
      use(event.data);
    },
  });
  return () => {
    events = 0;
    parser.reset();
    for (const c of chunks) parser.feed(c);
    return events;
  };
}

/**
 * The floor: the string operations any parser must make on these fixtures and nothing else. One
 * indexOf per line, one slice per value, data lines joined with LF, an event object per dispatch,
 * unfinished lines carried over by concatenation; the field is told by its first character alone
 * (the fixtures hold only `id`, `event` and `data` lines with one space after the colon, LF ends). Not a
 * parser (it checks nothing): a bound for what a parser doing the same operations can reach.
 */
function floorOn(chunks: readonly string[]): Pass {
  let events = 0;
  let data = '';
  let hasData = false;
  let type = '';
  let id = '';
  const onEvent = (event: { type: string; data: string; lastEventId: string }) => {
    events++;
    use(event.data);
  };
  const line = (text: string, start: number, end: number) => {
    if (end === start) {
      if (hasData) onEvent({ type: type === '' ? 'message' : type, data, lastEventId: id });
      data = '';
      hasData = false;
      type = '';
      return;
    }
    const c0 = text.charCodeAt(start);
    const value = text.slice(c0 === 100 ? start + 6 : c0 === 105 ? start + 4 : start + 7, end);
    if (c0 === 100) {
      data = hasData ? `${data}\n${value}` : value;
      hasData = true;
    } else if (c0 === 105) id = value;
    else type = value;
  };
  return () => {
    events = 0;
    data = '';
    hasData = false;
    type = '';
    id = '';
    let pending = '';
    for (const chunk of chunks) {
      let start = 0;
      if (pending !== '') {
        // Only the unfinished line is joined to the chunk's start, not the whole chunk.
        const end = chunk.indexOf('\n');
        if (end === -1) {
          pending += chunk;
          continue;
        }
        const joined = pending + chunk.slice(0, end);
        pending = '';
        line(joined, 0, joined.length);
        start = end + 1;
      }
      for (let end = chunk.indexOf('\n', start); end !== -1; end = chunk.indexOf('\n', start)) {
        line(chunk, start, end);
        start = end + 1;
      }
      if (start < chunk.length) pending = chunk.slice(start);
    }
    return events;
  };
}

/**
 * eventsource-parser on bytes, the way its users must feed it: through a streaming `TextDecoder`, one
 * per connection (what `TextDecoderStream` in front of it amounts to).
 */
function theirsOnBytes(chunks: readonly Uint8Array[]): Pass {
  let events = 0;
  const parser = createTheirs({
    onEvent: (event) => {
      events++;
      use(event.data);
    },
  });
  return () => {
    events = 0;
    parser.reset();
    const decoder = new TextDecoder();
    for (const c of chunks) parser.feed(decoder.decode(c, { stream: true }));
    return events;
  };
}

// BENCH_BASELINE=<path of another build of parser.ts> adds it as a contender on strings, measured in
// the same rounds: a before/after comparison of a change, immune to the drift of a shared machine.
const BASELINE = process.env.BENCH_BASELINE;
const BASELINE_LABEL = process.env.BENCH_BASELINE_LABEL ? `: ${process.env.BENCH_BASELINE_LABEL}` : '';
const createBaseline: typeof createOurs | undefined =
  BASELINE === undefined ? undefined : (await import(BASELINE)).createParser;

function baselineOn(chunks: readonly string[]): Pass {
  let events = 0;
  const parser = createBaseline!({
    onEvent: (event) => {
      events++;
      use(event.data);
    },
  });
  return () => {
    events = 0;
    parser.reset();
    for (const c of chunks) parser.feed(c);
    return events;
  };
}

/** Process CPU microseconds (user + system): unlike wall time, not inflated while other work has the core. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

// BENCH_TRACE=1 (set by `--check-jit`) marks each timed window on stdout, where V8 writes its
// --trace-opt/--trace-deopt lines, so a compilation or deoptimisation inside a window can be seen.
const TRACE = process.env.BENCH_TRACE === '1';
const mark = (text: string) => {
  if (TRACE) writeSync(1, `${text}\n`);
};

/**
 * CPU seconds per pass: passes repeated for at least MIN_MS of process CPU time. No forced GC here:
 * V8 drops optimised code's feedback on a full GC often enough that the passes after one recompile,
 * and that compilation (billed to the process) would land in the timed window. Garbage the passes
 * make is collected as it would be in a client, inside the window of the parser that made it.
 */
function measure(pass: Pass, expectedEvents: number, name: string, timed = true): number {
  if (timed) mark(`[bench: timed ${name} start]`);
  let passes = 0;
  const start = cpuMicros();
  let elapsed = 0;
  do {
    const events = pass();
    if (events !== expectedEvents) throw new Error(`expected ${expectedEvents} events, got ${events}`);
    passes++;
    elapsed = cpuMicros() - start;
  } while (elapsed < MIN_MS * 1000);
  if (timed) mark(`[bench: timed ${name} end]`);
  return elapsed / 1e6 / passes;
}

/**
 * Untimed rounds, the timed rounds' code path included: every contender in turn, WARM_ROUNDS times,
 * so V8 has compiled the parsers and the harness before the first timed round.
 */
function warmUp(contenders: readonly Contender[], expectedEvents: number): void {
  for (let round = 0; round < WARM_ROUNDS; round++) {
    const times = new Map<string, number[]>();
    for (const c of contenders) times.set(c.name, [measure(c.pass, expectedEvents, c.name, false)]);
    for (const c of contenders) times.get(c.name)!.push(0);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The value below which a fraction `q` of `values` lie (nearest rank). */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
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
  /** The floor's throughput over eventsource-parser's: the most a parser making the same string operations could reach. */
  floorRatio: number;
  /** herald's throughput over the floor's (1 = herald does nothing but the floor's operations). */
  oursOfFloor: number;
  /** herald / eventsource-parser on strings, per round. */
  stringRatios: number[];
  /** The spread of the per-round ratios on strings: first and third quartiles. */
  ratioP25: number;
  ratioP75: number;
}

function runCase(fixture: StreamFixture, chunking: string, chunkSize: number): Row {
  const textChunks = chunkText(fixture.bytes, chunkSize);
  const byteChunks = chunkBytes(fixture.bytes, chunkSize);
  const contenders: Contender[] = [
    { name: 'ours', pass: oursOn(textChunks) },
    { name: 'theirs', pass: theirsOn(textChunks) },
    { name: 'oursBytes', pass: oursOn(byteChunks) },
    { name: 'theirsBytes', pass: theirsOnBytes(byteChunks) },
    { name: 'floor', pass: floorOn(textChunks) },
  ];
  if (createBaseline !== undefined) contenders.push({ name: 'baseline', pass: baselineOn(textChunks) });
  // The harness's own helpers are called once a pass, which on a whole fixture is rarely: call them
  // until V8 has optimised them, so they do not reach the optimiser inside a timed window.
  for (let i = 0; i < 20_000; i++) cpuMicros();
  // One forced GC, before the warm-up, clears the fixture building's garbage; whatever it makes V8
  // recompile is recompiled during the warm-up, not in a timed window.
  gc();
  warmUp(contenders, fixture.events);

  const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(round + k) % contenders.length];
      times.get(c.name)!.push(measure(c.pass, fixture.events, c.name));
    }
  }
  const mb = fixture.bytes.length / 1e6;
  const t = (name: string) => median(times.get(name)!);
  // Each round measures all back to back: the median of per-round ratios is steadier than the ratio
  // of medians when the load of a shared machine drifts.
  const ratios = (slow: string, fast: string) =>
    times.get(fast)!.map((time, round) => times.get(slow)![round] / time);
  const ratio = (slow: string, fast: string) => median(ratios(slow, fast));
  const stringRatios = ratios('theirs', 'ours');
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
    floorRatio: ratio('theirs', 'floor'),
    oursOfFloor: ratio('floor', 'ours'),
    stringRatios,
    ratio: median(stringRatios),
    ratioP25: quantile(stringRatios, 0.25),
    ratioP75: quantile(stringRatios, 0.75),
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
// BENCH_CASE=<fixture>:<chunking> BENCH_PROFILE=ours|theirs|floor runs that one parser alone for a few
// seconds, for a profile of it: node --cpu-prof (or --prof) --import tsx bench/parser/index.ts
const PROFILE = process.env.BENCH_PROFILE;
if (CASE !== undefined && PROFILE !== undefined) {
  const [f, c] = CASE.split(':').map(Number);
  const fixture = fixtures[f];
  const size = chunkingsOf(fixture)[c][1];
  const chunks = chunkText(fixture.bytes, size);
  const pass =
    PROFILE === 'theirs' ? theirsOn(chunks) : PROFILE === 'floor' ? floorOn(chunks) : oursOn(chunks);
  const until = cpuMicros() + Number(process.env.BENCH_PROFILE_MS ?? 4000) * 1000;
  let passes = 0;
  while (cpuMicros() < until) {
    pass();
    passes++;
  }
  console.error(`${PROFILE} on ${fixture.name}: ${passes} passes`);
  process.exit(0);
}
if (CASE !== undefined) {
  const [f, c] = CASE.split(':').map(Number);
  const [label, size] = chunkingsOf(fixtures[f])[c];
  process.stdout.write(`\nRESULT ${JSON.stringify(runCase(fixtures[f], label, size))}\n`);
  if (sink === 0.5) console.error(sink); // keeps the reads observable
  process.exit(0);
}

/**
 * One row from the runs of a case in separate processes. V8 does not compile a parser the same way in
 * every process (seen: the same build 1.0x and 1.3x as fast in two processes), so the per-round ratios
 * of all processes are pooled: the ratio is their median, the spread their quartiles; other figures
 * are medians over the processes.
 */
function combine(runs: Row[]): Row {
  const pooled = runs.flatMap((r) => r.stringRatios);
  const mid = (pick: (r: Row) => number) => median(runs.map(pick));
  return {
    ...runs[0],
    oursMBs: mid((r) => r.oursMBs),
    theirsMBs: mid((r) => r.theirsMBs),
    oursBytesMBs: mid((r) => r.oursBytesMBs),
    theirsBytesMBs: mid((r) => r.theirsBytesMBs),
    bytesRatio: mid((r) => r.bytesRatio),
    baselineRatio: runs[0].baselineRatio === undefined ? undefined : mid((r) => r.baselineRatio!),
    oursEventsPerS: mid((r) => r.oursEventsPerS),
    theirsEventsPerS: mid((r) => r.theirsEventsPerS),
    floorRatio: mid((r) => r.floorRatio),
    oursOfFloor: mid((r) => r.oursOfFloor),
    stringRatios: pooled,
    ratio: median(pooled),
    ratioP25: quantile(pooled, 0.25),
    ratioP75: quantile(pooled, 0.75),
  };
}

/**
 * V8 trace lines inside the timed windows of one case's output: compilations (`marking`, `compiling`,
 * `completed`) and deoptimisations (`bailout`, `deoptimizing`) that a window would have paid for.
 */
function jitEventsInWindows(stdout: string): string[] {
  const found: string[] = [];
  let inside = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('[bench: timed ')) inside = line.endsWith(' start]');
    else if (inside && /^\[(marking|compiling|completed|bailout|deoptimiz|optimizing)/.test(line))
      found.push(line);
  }
  return found;
}

// --check-jit: run every case under --trace-opt --trace-deopt and report any compilation or
// deoptimisation that fell inside a timed window (the method's check; figures from it are not kept).
const CHECK_JIT = process.argv.includes('--check-jit');

const loadStart = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const rows: Row[] = [];
for (const [f, fixture] of fixtures.entries()) {
  if (ONLY !== undefined && !ONLY.includes(fixture.name)) continue;
  for (const c of chunkingsOf(fixture).keys()) {
    const runs: Row[] = [];
    for (let p = 0; p < PROCESSES; p++) {
      const flags = CHECK_JIT ? ['--trace-opt', '--trace-deopt'] : [];
      const child = spawnSync(
        process.execPath,
        [...process.execArgv, ...flags, fileURLToPath(import.meta.url)],
        {
          env: { ...process.env, BENCH_CASE: `${f}:${c}`, BENCH_TRACE: CHECK_JIT ? '1' : '0' },
          encoding: 'utf8',
          maxBuffer: 256 << 20,
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      if (child.status !== 0) throw new Error(`case ${fixture.name} / ${chunkingsOf(fixture)[c][0]} failed`);
      const resultLine = child.stdout.split('\n').find((line) => line.startsWith('RESULT '));
      if (resultLine === undefined) throw new Error(`case ${fixture.name}: no result`);
      const run = JSON.parse(resultLine.slice('RESULT '.length)) as Row;
      runs.push(run);
      if (CHECK_JIT) {
        const events = jitEventsInWindows(child.stdout);
        // Which functions, by name: the parsers' own, or the harness's (cpuMicros, measure...).
        const byFunction = new Map<string, number>();
        for (const e of events) {
          const name = /<JSFunction ([^ (>]+)/.exec(e)?.[1] ?? '(anonymous)';
          byFunction.set(name, (byFunction.get(name) ?? 0) + 1);
        }
        const list = [...byFunction].map(([name, n]) => `${name} ${n}`).join(', ');
        console.error(
          `${run.fixture} / ${run.chunking}: ${events.length} JIT trace lines inside timed windows${list ? ` (${list})` : ''}`,
        );
      }
    }
    const row = combine(runs);
    rows.push(row);
    const vsBaseline =
      row.baselineRatio === undefined ? '' : `, ${row.baselineRatio.toFixed(2)}x the baseline`;
    console.error(
      `${row.fixture} / ${row.chunking}: ${row.ratio.toFixed(2)}x on strings (${row.ratioP25.toFixed(2)}–${row.ratioP75.toFixed(2)}; per process ${runs.map((r) => r.ratio.toFixed(2)).join(' ')}), floor ${row.floorRatio.toFixed(2)}x theirs, ${row.bytesRatio.toFixed(2)}x on bytes${vsBaseline}`,
    );
  }
}

const f1 = (n: number) => n.toFixed(1);
const k0 = (n: number) => `${Math.round(n / 1000).toLocaleString('en-US')}k`;
const GOAL = 1.5;
const header =
  '| fixture | chunks | strings: herald MB/s | strings: eventsource-parser MB/s | strings: ratio | ratio spread (p25–p75) | vs 1.5x | floor / eventsource-parser | herald / floor | herald events/s | eventsource-parser events/s | bytes: herald MB/s | bytes: TextDecoder + eventsource-parser MB/s | bytes: ratio |\n' +
  '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
const body = rows
  .map(
    (r) =>
      `| ${r.fixture} | ${r.chunking} | ${f1(r.oursMBs)} | ${f1(r.theirsMBs)} | **${r.ratio.toFixed(2)}x** | ` +
      `${r.ratioP25.toFixed(2)}–${r.ratioP75.toFixed(2)} | ${r.ratio >= GOAL ? 'met' : 'missed'} | ` +
      `${r.floorRatio.toFixed(2)}x | ${r.oursOfFloor.toFixed(2)}x | ` +
      `${k0(r.oursEventsPerS)} | ${k0(r.theirsEventsPerS)} | ${f1(r.oursBytesMBs)} | ${f1(r.theirsBytesMBs)} | **${r.bytesRatio.toFixed(2)}x** |`,
  )
  .join('\n');
const table = `${header}\n${body}`;
console.log(table);

if (WRITE && !CHECK_JIT) {
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
stream as UTF-8 \`Uint8Array\` chunks (decoding included). MB/s counts UTF-8 bytes of the stream.

Method. Each fixture/chunking pair runs in ${PROCESSES} child processes of its own, one after the other.
Each contender has one parser, as a long-lived connection does; a pass resets it (\`reset()\`) and
feeds it every chunk (with a parser created per pass, V8 recompiled eventsource-parser's per-parser
closures inside the timed windows). After one forced GC (clearing the fixture's construction
garbage), untimed rounds (${WARM_ROUNDS}) run every contender as the timed ones do; then
${ROUNDS} timed rounds each time every contender, in rotating order, for at least ${MIN_MS} ms of process CPU time
(user + system: not inflated while another process has the core). No GC is forced after the warm-up:
a forced GC makes V8 recompile the parsers, and that compilation would fall in the next timed window;
the garbage a parser makes is collected inside its own windows, as it would be in a client.
\`npm run bench:parser -- --check-jit\` runs every case under \`--trace-opt --trace-deopt\` and counts
the compilations and deoptimisations inside the timed windows (${JIT_CHECK_NOTE}).
Figures are medians over the rounds, then over the processes. Ratio: herald / eventsource-parser
throughput on strings, the median of the per-round ratios of all processes pooled (both are measured
back to back in each round; V8 does not compile a parser alike in every process, hence several); its
spread is the first to third quartile of those ratios; the verdict compares the median with 1.5x.
The floor is the string operations alone (one indexOf per line, one slice per value, data lines
joined, an event object per dispatch, no checks; \`floorOn\` in the bench): the most a parser making
the same operations could reach; every handler reads a character of the data, as a consumer would.

Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}
(${cpus().length} cores, shared with other work: compare ratios, not absolute figures, across runs);
load average ${loadStart} at the start, ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at the end.

Fixtures:

${fixtureList}

${table}

The bytes columns measure the pipeline a client runs, bytes from the network in, events out:
herald's \`feed(Uint8Array)\` against eventsource-parser behind a streaming \`TextDecoder\` (one per
connection, what its users must write); their ratio is a separate comparison and does not replace the
one on strings.${
    createBaseline === undefined
      ? ''
      : `\n\nBaseline: herald against an earlier build of its parser (\`BENCH_BASELINE\`${BASELINE_LABEL}), on strings, in the same rounds: ${rows
          .map((r) => `${r.fixture}/${r.chunking} ${r.baselineRatio?.toFixed(2)}x`)
          .join(', ')}.`
  }

What bounds the rows below 1.5x, from CPU profiles of each parser and the floor: \`parser-profile.md\`.

On bytes herald decodes ASCII streams through Node's SIMD UTF-8 path (\`src/protocol/utf8-chunk-decoder.ts\`) and switches to
a streaming \`TextDecoder\` once a stream shows other text (the \`large-json\` fixture has accented letters).
`;
  const out = resultsFile('parser.md');
  writeFileSync(out, md);
  console.error(`wrote ${out}`);
}
