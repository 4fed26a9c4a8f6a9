#!/usr/bin/env node
// Runs every test file under test/ with node's own test runner, TypeScript loaded by tsx.
// Node 20's runner does not expand globs, so the files are listed here.
// Usage: node scripts/test.mjs [path-substring ...]   (filters test files by substring)
//
// Each file runs in a runner of its own (`node --test <file>`), two at a time, under a wall-clock
// bound: a file whose handles keep its process alive (a socket nobody closed, a wait that never
// ends) would otherwise hold `node --test` forever. Past its bound the file's process group is
// killed and the file fails by name. A file's output is printed in one piece once it ends, so two
// files running side by side do not interleave their reports.
//
// HERALD_TEST_FILE_TIMEOUT_S replaces every file's bound (seconds); HERALD_TEST_JOBS the pool size;
// HERALD_TEST_ROOT the folder searched for *.test.ts (default test/; the runner's own test uses it).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A file's bound, in seconds: 5 min; 10 for the Chromium suites, which drive many pages in one file
 * and slow down most on a busy machine; more for the suites whose own tests may take 10 min.
 */
const BOUNDS = [
  ['test/scaleout/', 1300],
  ['test/e2e/', 600],
];
const DEFAULT_BOUND_S = 300;
const JOBS = Number(process.env.HERALD_TEST_JOBS) || 2;
/** After SIGTERM, how long a timed-out file may take to exit before SIGKILL. */
const KILL_GRACE_MS = 5000;
/** How much of a failed file's report is repeated at the end of the run. */
const TAIL_LINES = 80;

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

function boundOf(file) {
  const override = Number(process.env.HERALD_TEST_FILE_TIMEOUT_S);
  if (override > 0) return override;
  return BOUNDS.find(([prefix]) => file.startsWith(prefix))?.[1] ?? DEFAULT_BOUND_S;
}

/** Signals a file's whole process group: the runner, its test process and what the tests spawned. */
function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

const running = new Set();

/** Runs one file; resolves with { file, status: 'passed' | 'failed' | 'timed out', seconds }. */
function runFile(file) {
  const boundS = boundOf(file);
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=120000', file],
    // Its own process group, so that a timeout reaches the processes its tests started too.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, FORCE_COLOR: colour } },
  );
  running.add(child);
  const output = [];
  child.stdout.on('data', (chunk) => output.push(chunk));
  child.stderr.on('data', (chunk) => output.push(chunk));
  let timedOut = false;
  let killer;
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup(child, 'SIGTERM');
    killer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS);
  }, boundS * 1000);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      running.delete(child);
      // Whatever the file left running (a hub, a redis-server) goes with it.
      signalGroup(child, 'SIGKILL');
      const seconds = (Date.now() - started) / 1000;
      const status = timedOut ? 'timed out' : code === 0 ? 'passed' : 'failed';
      process.stdout.write(`\n# ${file} (${seconds.toFixed(1)} s)\n`);
      process.stdout.write(Buffer.concat(output));
      if (timedOut) {
        process.stdout.write(`\n# TIMED OUT: ${file} was still running after ${boundS} s and was killed\n`);
      } else if (status === 'failed') {
        process.stdout.write(`\n# FAILED: ${file} (exit ${code ?? signal})\n`);
      }
      resolve({ file, status, seconds, output: status === 'passed' ? null : Buffer.concat(output) });
    });
  });
}

const filters = process.argv.slice(2);
const files = collect(process.env.HERALD_TEST_ROOT ?? 'test', [])
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const colour = process.env.FORCE_COLOR ?? (process.stdout.isTTY ? '1' : '0');

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of running) signalGroup(child, 'SIGKILL');
    process.exit(1);
  });
}

const queue = [...files];
const results = [];
await Promise.all(
  Array.from({ length: Math.min(JOBS, files.length) }, async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift())
      results.push(await runFile(file));
  }),
);

const bad = results.filter((r) => r.status !== 'passed').sort((a, b) => a.file.localeCompare(b.file));
const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 5);
console.log(`\n# files ${results.length}, passed ${results.length - bad.length}, failed ${bad.length}`);
console.log(`# slowest: ${slowest.map((r) => `${r.file} ${r.seconds.toFixed(0)} s`).join(', ')}`);
// A CI log is often read from its tail: the end of each failed file's report (where the spec
// reporter lists the failing tests with their errors) is printed again here, next to the verdict.
for (const r of bad) {
  const lines = r.output.toString().trimEnd().split('\n');
  console.log(
    `\n# ${r.status.toUpperCase()}: ${r.file}; the last ${Math.min(TAIL_LINES, lines.length)} lines of its report:`,
  );
  console.log(lines.slice(-TAIL_LINES).join('\n'));
}
for (const r of bad) console.log(`# ${r.status.toUpperCase()}: ${r.file}`);
process.exit(bad.length === 0 ? 0 : 1);
