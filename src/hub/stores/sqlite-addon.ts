/**
 * better-sqlite3 is a native addon, compiled by `npm ci` for the ABI of the Node that ran it. On
 * another Node line (a version manager switched lines, a container runs another Node) loading it
 * fails with ERR_DLOPEN_FAILED and a linker message that names neither Herald nor the fix.
 */
import { StoreConfigError } from './errors.js';

/** A StoreConfigError naming the fix when `error` is the addon failing to load, else undefined. */
export function addonLoadError(error: unknown, file: string): StoreConfigError | undefined {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_DLOPEN_FAILED') return undefined;
  const detail = String((error as Error).message).split('\n')[0];
  return new StoreConfigError(
    `sqlite store cannot open ${JSON.stringify(file)}: the SQLite addon (better-sqlite3) does not load on ` +
      `Node ${process.version} (module ABI ${process.versions.modules}), most likely because it was built ` +
      'for another Node version; run `npm rebuild better-sqlite3` with this Node, or use the Node that ran ' +
      `\`npm ci\` (${detail})`,
    { cause: error },
  );
}
