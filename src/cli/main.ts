#!/usr/bin/env node
/**
 * The `herald` command: `herald serve [options]` runs the Mercure hub. Bad usage prints one line
 * naming the problem and exits with status 2, before any port or file is opened.
 */
import { readFileSync } from 'node:fs';
import { MAIN_HELP, serveHelp } from './help.js';
import { resolveServeConfig } from './serve-config.js';
import { USAGE_EXIT_CODE, UsageError } from './usage-error.js';

function version(): string {
  // Two levels up from both src/cli/main.ts and dist/cli/main.js.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

async function main(argv: string[]): Promise<void> {
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
  process.stderr.write('herald: the hub is not built yet\n');
  process.exitCode = 1;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`herald: ${error.message}\n`);
    process.exitCode = USAGE_EXIT_CODE;
    return;
  }
  process.stderr.write(
    `herald: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
