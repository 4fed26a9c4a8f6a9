/**
 * Whether `herald serve` is about to begin a new SQLite history: the file its store spec names does
 * not exist yet. Opening creates it empty, which is what a first start wants, but after the file was
 * deleted or moved it means every update kept before is gone; the hub says so at start instead of
 * beginning again without a word.
 */
import { existsSync } from 'node:fs';
import { parseStoreSpec } from '../hub/index.js';

/** The absolute path of the SQLite file `spec` names when no file is there yet; else undefined. */
export function newSqliteFile(spec: string): string | undefined {
  let location: ReturnType<typeof parseStoreSpec>;
  try {
    location = parseStoreSpec(spec);
  } catch {
    return undefined; // openStore reports a bad spec with its fix.
  }
  return location.kind === 'sqlite' && !existsSync(location.path) ? location.path : undefined;
}
