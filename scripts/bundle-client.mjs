#!/usr/bin/env node
// Bundles herald/client for browsers: one minified ES module with a source map, served by the hub
// and importable from a page without a build step.
// Usage: node scripts/bundle-client.mjs [outfile]   (default dist/browser/herald-client.js)
import { build } from 'esbuild';

const outfile = process.argv[2] ?? 'dist/browser/herald-client.js';
const result = await build({
  entryPoints: ['src/client/index.ts'],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Private fields, class static blocks and `??=` run natively from here on.
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined)?.bytes;
console.log(`${outfile}: ${bytes} bytes`);
