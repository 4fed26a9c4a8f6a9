// The shipped deploy files start Herald as docs/cli.md says it must run: on the supported Node line
// (24) and with V8's young generation capped (`--max-semi-space-size=2`, which the `herald`
// command's shebang gives but an explicit `node dist/cli/main.js` does not). No Docker or systemd
// here to run them: their lines are checked as written.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const read = (file: string) => readFileSync(new URL(`../../deploy/${file}`, import.meta.url), 'utf8');

test('deploy/Dockerfile builds and runs on Node 24 and starts node with --max-semi-space-size=2', () => {
  const dockerfile = read('Dockerfile');
  const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(
    bases.map((b) => /^node:24[-.]/.test(b!)),
    [true, true],
    `every stage on Node 24: ${bases.join(', ')}`,
  );
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
  assert.ok(entry, 'an ENTRYPOINT in exec form');
  const argv = JSON.parse(entry[1]!) as string[];
  assert.deepEqual(argv.slice(0, 3), ['node', '--max-semi-space-size=2', 'dist/cli/main.js']);
});

test('deploy/herald.service starts node with --max-semi-space-size=2', () => {
  const exec = /^ExecStart=(.*)$/m.exec(read('herald.service'));
  assert.ok(exec, 'an ExecStart line');
  assert.match(exec[1]!, /^\/usr\/bin\/node --max-semi-space-size=2 \S+\/dist\/cli\/main\.js serve$/);
});
