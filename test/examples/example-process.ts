/**
 * Runs a file of examples/ as a user would (`node --import tsx examples/<file>`), importing the
 * package by its name (`herald/...`, resolved through package.json `exports` to dist/).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type HeraldProcess, ROOT, startScript } from '../cli/herald-process.js';

const DIST = fileURLToPath(new URL('../../dist/hub/index.js', import.meta.url));

/** Starts `examples/<file>` with `args`; it fails at once if dist/ is missing (`npm ci` builds it). */
export function startExample(
  file: string,
  args: string[] = [],
  env: Record<string, string> = {},
): HeraldProcess {
  if (!existsSync(DIST)) throw new Error('examples import herald/... from dist/: run `npm run build` first');
  return startScript(fileURLToPath(new URL(`../../examples/${file}`, import.meta.url)), args, env, ROOT);
}

/** Waits for the example's `listening on <url>` line and returns the URL. */
export async function listeningOn(example: HeraldProcess): Promise<string> {
  const [, url] = await example.waitForOutput(/listening on (http:\/\/\S+)/);
  return url!;
}
