/**
 * The "Cost on the server" figures of the transport comparison page, taken from the results file
 * the transports benchmark writes (`npm run bench -- --only transports` writes
 * bench/results/transports.json), read when asked: the page shows the latest run, never a copy.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This file is at `src/hub/demo/` (tsx) or `dist/hub/demo/` (built), both 3 deep. */
export const BENCH_RESULTS_PATH = join(
  fileURLToPath(new URL('../../../', import.meta.url)),
  'bench',
  'results',
  'transports.json',
);

/** One system's figures in one case of the run. */
export interface BenchFigure {
  scenario: string;
  system: string;
  cpuMicrosPerDelivery: number;
  memoryPerSubscriberBytes: number;
  deliveriesPerSecond: number;
}

/** What `/demo/bench.json` answers: the run, where it came from, and its figures. */
export interface BenchFigures {
  file: string;
  command: string | null;
  started: string;
  finished: string;
  loadAverageAtEnd: number[] | null;
  scenarios: { key: string; title: string }[];
  figures: BenchFigure[];
}

interface ResultsFile {
  command?: string;
  started: string;
  finished: string;
  machine?: { loadAverageAtEnd?: number[] };
  scenarios: { key: string; title: string }[];
  summaries: (BenchFigure & { scenario: string; system: string })[];
}

/** Reads and reduces the results file; rejects when it is missing or is not a results file. */
export async function readBenchFigures(path = BENCH_RESULTS_PATH): Promise<BenchFigures> {
  const results = JSON.parse(await readFile(path, 'utf8')) as ResultsFile;
  if (!Array.isArray(results.summaries) || !Array.isArray(results.scenarios)) {
    throw new Error(`${path} is not a results file of the transports benchmark`);
  }
  return {
    file: 'bench/results/transports.json',
    command: results.command ?? null,
    started: results.started,
    finished: results.finished,
    loadAverageAtEnd: results.machine?.loadAverageAtEnd ?? null,
    scenarios: results.scenarios.map(({ key, title }) => ({ key, title })),
    figures: results.summaries.map((s) => ({
      scenario: s.scenario,
      system: s.system,
      cpuMicrosPerDelivery: s.cpuMicrosPerDelivery,
      memoryPerSubscriberBytes: s.memoryPerSubscriberBytes,
      deliveriesPerSecond: s.deliveriesPerSecond,
    })),
  };
}
