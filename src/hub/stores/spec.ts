import { isAbsolute, resolve } from 'node:path';
import { StoreConfigError } from './errors.js';

/** Where a store lives, as parsed from an `openStore` spec. */
export type StoreLocation =
  | { kind: 'memory' }
  | { kind: 'sqlite' /** Absolute path of the database file. */; path: string }
  | {
      kind: 'redis';
      /** The URL as given (credentials included): what the client connects to. */
      url: string;
      tls: boolean;
      host: string;
      port: number;
      db: number;
      /** `host:port/db`, without credentials: safe for logs and error messages. */
      display: string;
    };

const SPEC_HELP =
  "use 'memory', 'sqlite:PATH' (e.g. sqlite:./data/herald.db) or redis://[user:pass@]host:port[/db]";

/**
 * Parses a store spec: `memory`, `sqlite:PATH` (relative to `cwd`), `redis://[user:pass@]host:port[/db]`
 * or `rediss://…` (Redis over TLS). Throws `StoreConfigError` naming the fix for anything else.
 */
export function parseStoreSpec(spec: string, cwd: string = process.cwd()): StoreLocation {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new StoreConfigError(
      `store spec must be a non-empty string (got ${JSON.stringify(spec)}); ${SPEC_HELP}`,
    );
  }
  spec = spec.trim();
  if (spec === 'memory') return { kind: 'memory' };
  if (spec.startsWith('sqlite:')) {
    let path = spec.slice('sqlite:'.length);
    // Accept sqlite://PATH too, a common spelling; sqlite:///abs/path keeps its leading slash.
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '' || path === ':memory:') {
      throw new StoreConfigError(
        `sqlite store needs a file path (got ${JSON.stringify(spec)}); use e.g. sqlite:./data/herald.db, or 'memory' for no file`,
      );
    }
    return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) return parseRedisUrl(spec);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(spec)?.[1];
  throw new StoreConfigError(
    `unknown store ${scheme ? `scheme ${JSON.stringify(`${scheme}:`)}` : JSON.stringify(spec)}; ${SPEC_HELP}`,
  );
}

function parseRedisUrl(spec: string): StoreLocation {
  let url: URL;
  try {
    url = new URL(spec);
  } catch (cause) {
    throw new StoreConfigError(`redis store URL is not a valid URL (got ${redact(spec)}); ${SPEC_HELP}`, {
      cause,
    });
  }
  const tls = url.protocol === 'rediss:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') {
    throw new StoreConfigError(
      `redis store URL needs a host (got ${redact(spec)}); use e.g. redis://127.0.0.1:6379`,
    );
  }
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!/^\d*$/.test(dbText) || !Number.isSafeInteger(db)) {
    throw new StoreConfigError(
      `redis store URL path must be a database number (got ${JSON.stringify(url.pathname)}); use e.g. redis://${url.host}/0`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new StoreConfigError(
      `redis store URL takes no query or fragment (got ${redact(spec)}); pass the key prefix as an option`,
    );
  }
  return { kind: 'redis', url: spec, tls, host, port, db, display: `${host}:${port}/${db}` };
}

/** The URL without its password, for messages. */
export function redact(spec: string): string {
  return JSON.stringify(spec.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@'));
}
