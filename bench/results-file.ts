/**
 * Where a benchmark writes its report: `bench/results/raw/<name>` (ignored by git) by default, so
 * that a run on a laptop or a busy machine does not rewrite the committed figures;
 * `bench/results/<name>` with `--update`, when the run is meant to replace them.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

/** The path to write `name` to for this run (its folder created), per `--update` in `argv`. */
export function resultsFile(name: string, argv: readonly string[] = process.argv): string {
  const path = argv.includes('--update') ? `${RESULTS}${name}` : `${RESULTS}raw/${name}`;
  mkdirSync(dirname(path), { recursive: true });
  return path;
}
