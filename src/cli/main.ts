#!/usr/bin/env node
/**
 * The `herald` command: `herald serve [options]` runs the Mercure hub. Bad usage prints one line
 * naming the problem and exits with status 2, before any port or file is opened.
 */
import { readFileSync } from 'node:fs';
import { isClusterWorker } from '../hub/cluster/worker.js';
import { MAIN_HELP, serveHelp } from './help.js';
import { resolveServeConfig } from './serve-config.js';
import { USAGE_EXIT_CODE, UsageError } from './usage-error.js';

function version(): string {
  // Two levels up from both src/cli/main.ts and dist/cli/main.js.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

async function main(argv: string[]): Promise<void> {
  // A cluster worker runs the same script; its options come from the primary, already checked.
  if (isClusterWorker()) return (await import('./serve.js')).serveWorker();
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(MAIN_HELP);
    if (command === undefined) process.exitCode = USAGE_EXIT_CODE;
    return;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (command !== 'serve') {
    throw new UsageError(`unknown command "${command}"; the command is "herald serve" (see "herald --help")`);
  }
  const request = resolveServeConfig({ argv: rest, env: process.env, cwd: process.cwd() });
  if (request.help) {
    process.stdout.write(serveHelp());
    return;
  }
  // Loaded on demand: help, version and usage errors need none of the hub.
  const { serve } = await import('./serve.js');
  await serve(request.config);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Options the later checks refuse (a store file that is not Herald's, a hub option) are bad usage too.
  const code = (error as { code?: unknown })?.code;
  if (error instanceof UsageError || code === 'HERALD_ERR_STORE_CONFIG' || code === 'HERALD_ERR_HUB_OPTION') {
    process.stderr.write(`herald: ${(error as Error).message}\n`);
    process.exitCode = USAGE_EXIT_CODE;
    return;
  }
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    const { address, port } = error as { address?: string; port?: number };
    process.stderr.write(
      `herald: cannot listen on ${address ?? ''}:${port ?? ''} (${code}); choose another --port or --host\n`,
    );
    process.exitCode = 1;
    return;
  }
  process.stderr.write(
    `herald: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
