#!/usr/bin/env node
// Builds herald/client as a package of its own, for browser apps that want the client without the
// hub: its code (client, protocol), declarations, the browser bundle, and no dependencies at all.
// The repository's own set-up (npm ci, npm run build) is unchanged; publish or `npm pack` the
// output directory.
// Usage: node scripts/pack-client.mjs [outdir]   (default dist-client)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = resolve(process.argv[2] ?? join(root, 'dist-client'));
const main = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
// The client, the protocol it parses with and the shared error base; compiled without Node's
// types, so a Node API reaching them fails here.
execFileSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.client.json', '--outDir', out],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
execFileSync(
  process.execPath,
  [join(root, 'scripts/bundle-client.mjs'), join(out, 'browser/herald-client.js')],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
const pkg = {
  name: 'herald-client',
  version: main.version,
  description:
    'The browser and Node client of Herald: a WHATWG EventSource on fetch, SharedEventSource, readStream.',
  license: main.license,
  type: 'module',
  sideEffects: false,
  exports: {
    '.': { types: './client/index.d.ts', default: './client/index.js' },
    './browser': { types: './client/index.d.ts', default: './browser/herald-client.js' },
    './package.json': './package.json',
  },
  files: ['client', 'protocol', 'errors.js', 'errors.d.ts', 'browser'],
};
writeFileSync(join(out, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  join(out, 'README.md'),
  '# herald-client\n\n`herald/client` without the hub: `npm install herald-client`, then\n`import { EventSource, SharedEventSource, readStream } from \'herald-client\'`. No dependencies.\nSee the Herald README, section "Client".\n',
);
console.log(`${out}: herald-client ${main.version}`);
