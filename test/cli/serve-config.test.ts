import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { formatDuration, parseDuration } from '../../src/cli/duration.js';
import { type ConfigSources, resolveServeConfig } from '../../src/cli/serve-config.js';
import type { ServeConfig } from '../../src/cli/serve-options.js';
import { UsageError } from '../../src/cli/usage-error.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An HMAC secret long enough for HS256 (32 bytes, RFC 7518 section 3.2). */
const SECRET = 'a-test-secret-of-at-least-32-bytes';
const KEY = ['--jwt-key', SECRET];
const EC_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;
const RSA_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;

function resolve(argv: string[], env: Record<string, string> = {}, cwd = dir): ServeConfig {
  const request = resolveServeConfig({ argv, env, cwd } satisfies ConfigSources);
  assert.equal(request.help, false);
  return (request as { config: ServeConfig }).config;
}

function refuses(argv: string[], env: Record<string, string>, message: RegExp): void {
  assert.throws(
    () => resolveServeConfig({ argv, env, cwd: dir }),
    (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.equal(error.code, 'HERALD_ERR_USAGE');
      assert.match(error.message, message);
      return true;
    },
  );
}

function configFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

test('durations take a unit; sums and 0 are accepted', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('15s'), 15_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1.5s'), 1_500);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['15', '', 's', '1x', '1s ms', '-1s', '1s2'])
    assert.equal(parseDuration(bad), undefined, bad);
  assert.equal(formatDuration(15_000), '15s');
  assert.equal(formatDuration(1_500), '1500ms');
});

test('defaults apply when nothing is given', () => {
  const config = resolve(KEY);
  assert.equal(config.port, 3000);
  assert.equal(config.store, 'memory');
  assert.equal(config.workers, 1);
  assert.equal(config.anonymous, false);
  assert.equal(config.tcpNoDelay, false, 'Nagle batches updates on busy streams');
  assert.deepEqual(config.corsOrigins, []);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.heartbeatMs, undefined);
  assert.equal(config.shutdownTimeoutMs, 10_000);
});

test('precedence: flag over environment over config file over default', () => {
  const file = configFile('precedence.json', {
    port: 4001,
    host: '127.0.0.1',
    heartbeat: undefined,
    workers: 3,
  });
  const env = {
    HERALD_CONFIG: file,
    HERALD_PORT: '4002',
    HERALD_WORKERS: '2',
    HERALD_JWT_KEY: `from-env-${SECRET}`,
  };
  const fromAll = resolve(['--port', '4003'], env);
  assert.equal(fromAll.port, 4003, 'flag wins');
  assert.equal(fromAll.workers, 2, 'env wins over file');
  assert.equal(fromAll.host, '127.0.0.1', 'file wins over default');
  assert.equal(fromAll.jwtKey, `from-env-${SECRET}`);
  assert.equal(fromAll.logLevel, 'info', 'default when no source');
  assert.equal(resolve(['--config', file, ...KEY]).port, 4001, '--config names the file too');
  assert.equal(resolve([...KEY], { HERALD_PORT: '' }).port, 3000, 'an empty variable counts as unset');
});

test('every kind of value is read from each source', () => {
  const file = configFile('kinds.json', {
    anonymous: true,
    corsOrigins: ['https://a.example', 'http://localhost:8080'],
    historyMaxAge: '2m',
    historySize: 50,
    store: 'sqlite:data/h.db',
    jwtKey: '@secret.txt',
  });
  writeFileSync(join(dir, 'secret.txt'), `file-${SECRET}\n`);
  const config = resolve(['--config', file]);
  assert.equal(config.anonymous, true);
  assert.deepEqual(config.corsOrigins, ['https://a.example', 'http://localhost:8080']);
  assert.equal(config.historyMaxAgeMs, 120_000);
  assert.equal(config.historySize, 50);
  assert.equal(config.store, `sqlite:${join(dir, 'data/h.db')}`, 'relative to the config file');
  assert.equal(config.jwtKey, `file-${SECRET}`, 'key read from @file, final newline dropped');

  const flags = resolve([
    ...KEY,
    '--anonymous',
    '--cors-origins',
    'https://a.example, *',
    '--heartbeat=1m30s',
    '--no-subscriptions',
    '--tcp-nodelay',
    '--store',
    'redis://127.0.0.1:6379',
  ]);
  assert.equal(flags.anonymous, true);
  assert.deepEqual(flags.corsOrigins, ['https://a.example', '*']);
  assert.equal(flags.heartbeatMs, 90_000);
  assert.equal(flags.subscriptions, false);
  assert.equal(flags.tcpNoDelay, true);
  assert.equal(flags.store, 'redis://127.0.0.1:6379');

  const env = resolve([], {
    HERALD_JWT_KEY: SECRET,
    HERALD_ANONYMOUS: 'yes',
    HERALD_SUBSCRIPTIONS: '0',
    HERALD_TCP_NODELAY: '1',
  });
  assert.equal(env.anonymous, true);
  assert.equal(env.tcpNoDelay, true);
  assert.equal(env.subscriptions, false);
  // A flag turns off what the environment turned on.
  assert.equal(
    resolve(['--no-anonymous'], { HERALD_JWT_KEY: SECRET, HERALD_ANONYMOUS: 'true' }).anonymous,
    false,
  );
});

test('PEM keys: from a file, or from a variable with literal \\n', () => {
  writeFileSync(join(dir, 'pub.pem'), EC_PEM);
  const config = resolve(['--publisher-jwt-key', '@pub.pem', '--jwt-algorithm', 'ES256']);
  assert.equal(config.publisherJwtKey, EC_PEM);
  const env = resolve([], { HERALD_JWT_KEY: RSA_PEM.replaceAll('\n', '\\n'), HERALD_JWT_ALGORITHM: 'RS256' });
  assert.equal(env.jwtKey, RSA_PEM);
});

test('--help is recognised anywhere', () => {
  assert.deepEqual(resolveServeConfig({ argv: ['--port', 'x', '--help'], env: {}, cwd: dir }), {
    help: true,
  });
  assert.deepEqual(resolveServeConfig({ argv: ['-h'], env: {}, cwd: dir }), { help: true });
});

test('every validation error names the source, the value and the fix', () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [
      ['--prot', '1', ...KEY],
      {},
      /^unknown option --prot \(did you mean --port\?\); run "herald serve --help"$/,
    ],
    [['--frobnicate', ...KEY], {}, /^unknown option --frobnicate; run/],
    [['extra', ...KEY], {}, /takes no arguments, only options \(got "extra"\)/],
    [[...KEY, '--port'], {}, /^--port needs a value, as in --port <n>$/],
    [['--port', 'abc', ...KEY], {}, /^--port must be a whole number from 0 to 65535 \(got "abc"\)$/],
    [['--port', '70000', ...KEY], {}, /^--port must be a whole number from 0 to 65535 \(got "70000"\)$/],
    [KEY, { HERALD_PORT: '-1' }, /^HERALD_PORT must be a whole number from 0 to 65535 \(got "-1"\)$/],
    [['--workers', '0', ...KEY], {}, /^--workers must be a whole number from 1 to 256 \(got "0"\)$/],
    [['--heartbeat', '15', ...KEY], {}, /^--heartbeat must be a duration with a unit, such as 500ms, 15s/],
    [KEY, { HERALD_HISTORY_MAX_AGE: 'soon' }, /^HERALD_HISTORY_MAX_AGE must be a duration with a unit/],
    [KEY, { HERALD_ANONYMOUS: 'maybe' }, /^HERALD_ANONYMOUS must be true or false .* \(got "maybe"\)$/],
    [['--anonymous=perhaps', ...KEY], {}, /^--anonymous must be true or false/],
    [['--log-level', 'loud', ...KEY], {}, /^--log-level must be one of fatal, error, warn, info, debug/],
    [['--jwt-algorithm', 'none', ...KEY], {}, /^--jwt-algorithm must be one of HS256, .* \(got "none"\)$/],
    [
      ['--store', 'postgres://x', ...KEY],
      {},
      /^--store: unknown store scheme "postgres:"; use 'memory', 'sqlite:PATH'/,
    ],
    [['--store', 'sqlite:', ...KEY], {}, /^--store: sqlite store needs a file path/],
    [
      ['--cors-origins', 'https://a.example/path', ...KEY],
      {},
      /^--cors-origins: each origin must be "\*" or an origin such as "https:\/\/example.com" \(scheme:\/\/host\[:port\], no path\) \(got "https:\/\/a.example\/path"\)$/,
    ],
    [['--publish-origins', 'example.com', ...KEY], {}, /^--publish-origins: each origin must be/],
    [
      ['--transports', 'sse,smtp', ...KEY],
      {},
      /^--transports must list one or more of sse, ws, poll \(got "sse,smtp"\)$/,
    ],
    [KEY, { HERALD_TRANSPORTS: ',' }, /^HERALD_TRANSPORTS must list one or more of sse, ws, poll/],
    [['--poll-timeout', '25', ...KEY], {}, /^--poll-timeout must be a duration with a unit/],
    [['--jwks-url', 'ftp://x', ...KEY], {}, /^--jwks-url must be an http\(s\) URL/],
    [
      ['--tls-cert', 'missing.pem', '--tls-key', 'missing.pem', ...KEY],
      {},
      /^--tls-cert names a file that does not exist/,
    ],
    [
      ['--jwt-key', '@nope.txt'],
      {},
      /^--jwt-key names the key file .*nope\.txt, which cannot be read \(ENOENT\)$/,
    ],
    [
      [],
      {},
      /^the hub needs a way to verify publisher tokens: set --publisher-jwt-key .* or try it out with --demo$/,
    ],
    [
      [...KEY, '--jwt-algorithm', 'RS256'],
      {},
      /^the publisher key \(--publisher-jwt-key or --jwt-key\): algorithm "RS256" cannot be used with an HMAC secret/,
    ],
    [
      ['--jwt-key', EC_PEM, '--jwt-algorithm', 'HS256'],
      {},
      /^the publisher key .*: algorithm "HS256" cannot be used with this ec key \(use one of ES256\)$/,
    ],
    [
      ['--jwt-key', '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----'],
      {},
      /^the publisher key .*: looks like PEM but is not a readable public key/,
    ],
    [
      ['--subscriber-jwt-key', SECRET, '--subscriber-jwt-algorithm', 'ES256', ...KEY],
      {},
      /^the subscriber key .*: algorithm "ES256" cannot be used with an HMAC secret/,
    ],
    [
      ['--jwt-key', 'secret'],
      {},
      /^the publisher key .*: an HMAC secret for HS256 must be at least 32 bytes, the size of its hash \(RFC 7518 section 3.2\); this one has 6: use a random secret of 32 bytes or more/,
    ],
    [
      [...KEY, '--jwt-algorithm', 'HS384'],
      {},
      /an HMAC secret for HS384 must be at least 48 bytes, .* this one has 34/,
    ],
    [
      ['--jwt-key', 'x'.repeat(63), '--jwt-algorithm', 'HS512'],
      {},
      /an HMAC secret for HS512 must be at least 64 bytes, .* this one has 63/,
    ],
    [['--config', 'absent.json', ...KEY], {}, /^cannot read the config file .*absent\.json \(ENOENT\)/],
    [['--config', configFile('bad.json', '{port:'), ...KEY], {}, /is not valid JSON/],
    [
      ['--config', configFile('array.json', [1]), ...KEY],
      {},
      /must hold a JSON object such as \{"port": 3000\}/,
    ],
    [
      ['--config', configFile('typo.json', { prot: 1 }), ...KEY],
      {},
      /^unknown key "prot" in .* \(did you mean "port"\?\)/,
    ],
    [
      ['--config', configFile('type.json', { port: '80x' }), ...KEY],
      {},
      /^"port" in .*type\.json must be a whole number/,
    ],
    [
      ['--config', configFile('list.json', { corsOrigins: [1] }), ...KEY],
      {},
      /"corsOrigins" in .* must be a comma-separated list/,
    ],
  ];
  writeFileSync(join(dir, 'cert.pem'), 'x');
  cases.push([['--tls-cert', 'cert.pem', ...KEY], {}, /^--tls-cert and --tls-key go together/]);
  for (const [argv, env, message] of cases) refuses(argv, env, message);
});

test('--transports and --poll-timeout reach the hub options from flags, environment and config file', () => {
  assert.deepEqual(resolve(KEY).transports, ['sse', 'ws', 'poll']);
  assert.deepEqual(resolve(['--transports', 'sse, ws', ...KEY]).transports, ['sse', 'ws']);
  assert.deepEqual(resolve(KEY, { HERALD_TRANSPORTS: 'poll' }).transports, ['poll']);
  const file = configFile('transports.json', { transports: ['ws'], pollTimeout: '10s' });
  const fromFile = resolve(['--config', file, ...KEY]);
  assert.deepEqual(fromFile.transports, ['ws']);
  assert.equal(fromFile.pollTimeoutMs, 10_000);
  assert.equal(resolve(['--poll-timeout', '2s', ...KEY]).pollTimeoutMs, 2000);
});

test('--demo needs no key', () => {
  assert.equal(resolve(['--demo']).demo, true);
});

test('origins: a trailing slash names the same origin and is dropped, as the hub does', () => {
  const config = resolve([...KEY, '--cors-origins', 'https://a.example/,http://localhost:8080']);
  assert.deepEqual(config.corsOrigins, ['https://a.example', 'http://localhost:8080']);
});

test('HMAC secrets as long as the hash are accepted, for each algorithm', () => {
  for (const [algorithm, bytes] of [
    ['HS256', 32],
    ['HS384', 48],
    ['HS512', 64],
  ] as const) {
    const config = resolve(['--jwt-key', 'k'.repeat(bytes), '--jwt-algorithm', algorithm]);
    assert.equal(config.jwtKey!.length, bytes);
  }
});

test('conflation options: policy, key cap, default rate and cap; bad values name the rule', async () => {
  const config = resolve(
    [...KEY, '--slow-consumer-policy', 'conflate', '--max-rate', '0.5', '--max-conflation-keys', '500'],
    { HERALD_MAX_RATE_CAP: '10' },
  );
  assert.equal(config.slowConsumerPolicy, 'conflate');
  assert.equal(config.defaultMaxRate, 0.5);
  assert.equal(config.maxRateCap, 10);
  assert.equal(config.maxConflationKeys, 500);
  const { toHubOptions } = await import('../../src/cli/hub-options.js');
  const { resolveHubOptions } = await import('../../src/hub/options.js');
  const hub = resolveHubOptions({
    ...toHubOptions(config, undefined as never, undefined as never),
    store: undefined,
    logger: undefined,
  });
  assert.deepEqual(
    [hub.slowConsumerPolicy, hub.defaultMaxRate, hub.maxRateCap, hub.maxConflationKeys],
    ['conflate', 0.5, 10, 500],
  );
  refuses(
    [...KEY, '--slow-consumer-policy', 'drop'],
    {},
    /--slow-consumer-policy must be one of close, conflate \(got "drop"\)/,
  );
  refuses([...KEY, '--max-rate', '0'], {}, /--max-rate must be a positive number of sends per second/);
  refuses([...KEY], { HERALD_MAX_RATE_CAP: 'fast' }, /HERALD_MAX_RATE_CAP must be a positive number/);
  refuses(
    [...KEY, '--max-rate', '20', '--max-rate-cap', '10'],
    {},
    /--max-rate \(20\) must not exceed --max-rate-cap \(10\)/,
  );
  assert.throws(
    () => resolveHubOptions({ defaultMaxRate: 5, maxRateCap: 1 }),
    /defaultMaxRate: must not exceed maxRateCap/,
  );
  assert.throws(
    () => resolveHubOptions({ slowConsumerPolicy: 'drop' as never }),
    /slowConsumerPolicy: must be one of close, conflate/,
  );
  assert.throws(() => resolveHubOptions({ maxRateCap: -1 }), /maxRateCap: must be a positive number/);
});

test('--selector-compile-budget reaches the hub; the hub default otherwise', async () => {
  const { toHubOptions } = await import('../../src/cli/hub-options.js');
  const { resolveHubOptions, DEFAULT_SELECTOR_COMPILE_BUDGET } = await import('../../src/hub/options.js');
  const hubOf = (config: ReturnType<typeof resolve>) =>
    resolveHubOptions({
      ...toHubOptions(config, undefined as never, undefined as never),
      store: undefined,
      logger: undefined,
    });
  assert.equal(hubOf(resolve([...KEY, '--selector-compile-budget', '0'])).selectorCompileBudget, 0);
  assert.equal(hubOf(resolve(KEY, { HERALD_SELECTOR_COMPILE_BUDGET: '2500' })).selectorCompileBudget, 2500);
  assert.equal(hubOf(resolve(KEY)).selectorCompileBudget, DEFAULT_SELECTOR_COMPILE_BUDGET);
});
