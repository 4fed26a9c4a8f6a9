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
      /**
       * Set for `redis+sentinel://`: the sentinels to ask where the master named `masterName` is
       * (`host`/`port` are then the first sentinel's). The client follows the master across failovers.
       */
      sentinels?: { host: string; port: number }[];
      masterName?: string;
    };

const SPEC_HELP =
  "use 'memory', 'sqlite:PATH' (e.g. sqlite:./data/herald.db), redis://[user:pass@]host:port[/db] " +
  'or redis+sentinel://[user:pass@]host:port[,host:port…]/MASTER[?db=N]';

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
  if (spec.startsWith('redis+sentinel://')) return parseSentinelUrl(spec);
  if (/^rediss?\+cluster:/.test(spec)) {
    throw new StoreConfigError(
      `Redis Cluster is not supported (got ${redact(spec)}): Herald's history is one stream and one ` +
        'ID set appended together by one script, which must live on one node; for a store without a ' +
        'single point of failure use Redis Sentinel: redis+sentinel://host:26379,host2:26379/MASTER',
    );
  }
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

/**
 * `redis+sentinel://[user:pass@]host:port[,host:port…]/MASTER[?db=N]`: the sentinels (port 26379
 * when omitted), the name they monitor the master by, and the database. The credentials are the
 * master's (and its replicas'); the sentinels are asked without any. Parsed by hand: a list of hosts
 * is not a URL authority `new URL` accepts.
 */
function parseSentinelUrl(spec: string): StoreLocation {
  const HELP = 'use e.g. redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster?db=0';
  const match = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^/?#]*)\/([^/?#]+)\/?(?:\?([^#]*))?$/.exec(spec);
  if (match === null) {
    throw new StoreConfigError(
      `redis sentinel URL needs sentinels and a master name (got ${redact(spec)}); ${HELP}`,
    );
  }
  const [, , hostList, name, query] = match;
  const sentinels: { host: string; port: number }[] = [];
  for (const item of hostList!.split(',')) {
    const hostPort = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(item.trim());
    const port = hostPort?.[2] === undefined ? 26379 : Number(hostPort[2]);
    if (hostPort === null || port < 1 || port > 65535) {
      throw new StoreConfigError(
        `redis sentinel URL has a bad sentinel address ${JSON.stringify(item)} (got ${redact(spec)}); ${HELP}`,
      );
    }
    sentinels.push({ host: hostPort[1]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  let db = 0;
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    if (key !== 'db' || !/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new StoreConfigError(
        `redis sentinel URL takes only ?db=N, a database number (got ${JSON.stringify(`${key}=${value}`)}); ${HELP}`,
      );
    }
    db = Number(value);
  }
  const masterName = decodeURIComponent(name!);
  const first = sentinels[0]!;
  return {
    kind: 'redis',
    url: spec,
    tls: false,
    host: first.host,
    port: first.port,
    db,
    display: `sentinel ${masterName}@${sentinels.map((s) => `${s.host}:${s.port}`).join(',')}/${db}`,
    sentinels,
    masterName,
  };
}

/** The URL without its password, for messages. */
export function redact(spec: string): string {
  return JSON.stringify(spec.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@'));
}
