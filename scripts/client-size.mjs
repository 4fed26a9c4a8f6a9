#!/usr/bin/env node
// What each import of herald/client costs a browser app: the entry points bundled the way an app's
// bundler does (esbuild, ES module, minified, tree-shaken), in bytes minified and gzipped, against
// a bound each. Exits 1 when one is over its bound. test/client/size.test.ts runs it in CI.
// Usage: node scripts/client-size.mjs [--json]
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Each import an app may write, and the most gzipped bytes it may cost. */
export const IMPORTS = [
  {
    name: 'everything (the browser bundle)',
    code: "export * from './src/client/index.ts';",
    maxGzip: 12_500,
  },
  { name: '{ EventSource }', code: "export { EventSource } from './src/client/index.ts';", maxGzip: 9_500 },
  {
    name: '{ SharedEventSource }',
    code: "export { SharedEventSource } from './src/client/index.ts';",
    maxGzip: 11_200,
  },
  { name: '{ readStream }', code: "export { readStream } from './src/client/index.ts';", maxGzip: 4_200 },
];

export async function measure() {
  const rows = [];
  for (const entry of IMPORTS) {
    const result = await build({
      stdin: { contents: entry.code, resolveDir: root, loader: 'ts', sourcefile: 'app.ts' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    const bytes = result.outputFiles[0].contents;
    rows.push({ ...entry, minified: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength });
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await measure();
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
  else {
    for (const r of rows)
      console.log(
        `${r.name.padEnd(34)} ${String(r.minified).padStart(6)} B min  ${String(r.gzip).padStart(6)} B gzip  (bound ${r.maxGzip})${r.gzip > r.maxGzip ? '  OVER' : ''}`,
      );
  }
  process.exitCode = rows.some((r) => r.gzip > r.maxGzip) ? 1 : 0;
}
