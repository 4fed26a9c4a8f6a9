#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * The `herald` command: `herald serve [options]` runs the Mercure hub. Bad usage prints one line
 * naming the problem and exits with status 2, before any port or file is opened.
 *
 * Node runs it with V8's young generation capped at 2 MB per semi-space (cluster workers inherit the
 * flag). A hub holds thousands of connections whose set-up garbage makes V8 grow that generation
 * to tens of MB, which stay in RSS: on Node 24, 8.9-9.3 KB per idle subscriber at 19k instead of
 * 5.7-5.8 KB. CPU per delivery measured the same at 1k subscribers and within noise (up to ~10% more)
 * at 10k (docs/benchmarks.md). `node dist/cli/main.js` needs the flag given by hand, or in
 * NODE_OPTIONS.
 */
import { readFileSync } from 'node:fs';
import { HeraldError } from '../errors.js';
import { isClusterWorker, reportStartupFailure } from '../hub/index.js';
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

main(process.argv.slice(2)).catch(async (error: unknown) => {
  process.stderr.write(`herald: ${describeFailure(error)}\n`);
  // A worker tells its primary why, so that a cause that outlives restarts stops the group.
  if (isClusterWorker()) await reportStartupFailure(describeFailure(error));
  // Exit now: a store or worker opened before the failure would otherwise keep the process alive.
  process.exit(isUsageFailure(error) ? USAGE_EXIT_CODE : 1);
});

/** Options that later checks refuse (a key that is not a key, a store file that is not Herald's). */
function isUsageFailure(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return (
    error instanceof UsageError ||
    code === 'HERALD_ERR_STORE_CONFIG' ||
    code === 'HERALD_ERR_HUB_OPTION' ||
    code === 'HERALD_ERR_AUTH_CONFIG'
  );
}

function describeFailure(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (isUsageFailure(error)) return (error as Error).message;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    const { address, port } = error as { address?: string; port?: number };
    return `cannot listen on ${address ?? ''}:${port ?? ''} (${code}); choose another --port or --host`;
  }
  // Herald's own errors name the problem and the fix; a stack would only hide that.
  if (error instanceof HeraldError) return error.message;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
