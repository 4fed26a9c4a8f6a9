import { HeraldError } from '../errors.js';

/**
 * The command line, an environment variable or the config file asked for something the hub cannot
 * do. `herald` prints the message and exits with status 2 (the usual status for bad usage), before
 * opening any port or file.
 */
export class UsageError extends HeraldError {
  constructor(message: string) {
    super('HERALD_ERR_USAGE', message);
  }
}

/** The exit status for bad usage (as `getopt`-style tools and Bash builtins use). */
export const USAGE_EXIT_CODE = 2;
