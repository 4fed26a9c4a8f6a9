import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OPTION_SPECS } from '../../src/cli/serve-options.js';
import { ROOT, runHerald } from './herald-process.js';

test('herald --help and herald serve --help exit 0 and list every option', async () => {
  const main = await runHerald(['--help']);
  assert.equal(main.code, 0);
  assert.match(main.stdout, /^Usage: herald <command>/);
  const serve = await runHerald(['serve', '--help']);
  assert.equal(serve.code, 0);
  for (const spec of OPTION_SPECS) {
    assert.ok(serve.stdout.includes(`--${spec.flag}`), spec.flag);
    assert.ok(serve.stdout.includes(spec.env), spec.env);
  }
});

test('herald --version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const result = await runHerald(['--version']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `${version}\n`);
});

const BAD_PEM = '-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----';

test('bad usage prints one line on stderr and exits 2', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [[], {}, /^$/],
    [['start'], {}, /^herald: unknown command "start"; the command is "herald serve"/],
    [
      ['serve', '--port', 'abc', '--jwt-key', 'k'.repeat(32)],
      {},
      /^herald: --port must be a whole number from 0 to 65535 \(got "abc"\)\n$/,
    ],
    [
      ['serve'],
      { HERALD_JWT_KEY: 'k'.repeat(32), HERALD_HEARTBEAT: '15' },
      /^herald: HERALD_HEARTBEAT must be a duration/,
    ],
    // Refused by the hub's own checks, before any worker starts.
    [['serve', '--port', '0'], { HERALD_JWT_KEY: BAD_PEM, HERALD_JWT_ALGORITHM: 'RS256' }, /^herald: .*PEM/],
    [
      ['serve', '--port', '0', '--workers', '2'],
      { HERALD_JWT_KEY: BAD_PEM, HERALD_JWT_ALGORITHM: 'RS256' },
      /^herald: .*PEM/,
    ],
  ];
  await Promise.all(
    cases.map(async ([args, env, message]) => {
      const result = await runHerald(args, env);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, message);
    }),
  );
});

test('docs/cli.md documents every option with its variable', () => {
  const doc = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8');
  for (const spec of OPTION_SPECS) {
    assert.ok(doc.includes(`| \`--${spec.flag}`), `--${spec.flag} in docs/cli.md`);
    assert.ok(doc.includes(`\`${spec.env}\``), `${spec.env} in docs/cli.md`);
  }
});
