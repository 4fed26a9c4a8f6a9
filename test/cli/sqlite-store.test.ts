/**
 * `herald serve --store sqlite:…` when the file goes wrong: start-up errors that name the cause and
 * the fix, a database deleted while the hub runs, and a full disk. Real processes, real files.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { createSqliteStore } from '../../src/hub/stores/sqlite.js';
import { requirePart } from '../support/requirements.js';
import { retryUntil } from '../support/retry.js';
import { type HeraldProcess, type RunAs, startHerald } from './herald-process.js';
import { listeningUrl, publish, publisherToken } from './streams.js';

const KEY = 'sqlite-store-test-key-of-32-bytes!!';
const HUB = '/.well-known/mercure';
const TOPIC = 'https://example.com/sqlite';
/** The user `nobody`: who meets a read-only file when the tests run as root (root writes anything). */
const NOBODY: RunAs = { uid: 65534, gid: 65534 };

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cli-sqlite-'));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function serve(t: TestContext, store: string, runAs?: RunAs, more: string[] = []): HeraldProcess {
  const herald = startHerald(
    ['serve', '--port', '0', '--host', '127.0.0.1', '--anonymous', '--store', store, ...more],
    { HERALD_JWT_KEY: KEY },
    undefined,
    runAs,
  );
  t.after(() => herald.kill());
  return herald;
}

/** The exit code, or a failure if the process has not exited within `ms` (it then is killed). */
async function exitWithin(herald: HeraldProcess, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, ms, 'late');
  });
  const outcome = await Promise.race([herald.exited, late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    herald.kill();
    assert.fail(
      `herald did not exit within ${ms} ms\nstdout: ${herald.stdout()}\nstderr: ${herald.stderr()}`,
    );
  }
  return outcome;
}

async function status(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

const startUpCases: { name: string; path: (dir: string) => string; cause: RegExp }[] = [
  {
    name: 'a file under a path that is not a folder (/dev/null/x.db)',
    path: () => '/dev/null/herald.db',
    cause: /"\/dev\/null" is not a folder; point sqlite: at a path whose folders are folders/,
  },
  {
    name: 'a folder that cannot be created (under /proc)',
    path: () => '/proc/herald-test/herald.db',
    cause: /folder "\/proc\/herald-test" cannot be created \(ENOENT\); point sqlite: at a writable folder/,
  },
];

for (const { name, path, cause } of startUpCases) {
  test(`start-up with ${name} exits non-zero naming the path and the fix`, async (t) => {
    const store = path(scratch(t));
    const herald = serve(t, `sqlite:${store}`);
    const code = await exitWithin(herald, 20_000);
    assert.notEqual(code, 0);
    assert.match(herald.stderr(), cause);
    assert.ok(herald.stderr().includes(JSON.stringify(store)), herald.stderr());
    assert.doesNotMatch(herald.stdout(), /herald listening/);
  });
}

test('start-up with a read-only database exits non-zero saying it is read-only', async (t) => {
  const dir = scratch(t);
  const path = join(dir, 'herald.db');
  await createSqliteStore(path, { maxCount: 10, maxAgeMs: 0 }).close();
  chmodSync(path, 0o444);
  const asRoot = process.getuid?.() === 0;
  const herald = serve(t, `sqlite:${path}`, asRoot ? NOBODY : undefined);
  const code = await exitWithin(herald, 20_000);
  assert.notEqual(code, 0);
  assert.match(
    herald.stderr(),
    /is read-only for this process; .*make it writable by the user running the hub/,
  );
  assert.ok(herald.stderr().includes(JSON.stringify(path)), herald.stderr());
});

const deletions: { name: string; remove: (dir: string, file: string) => void }[] = [
  { name: 'its folder', remove: (dir) => rmSync(dir, { recursive: true, force: true }) },
  { name: 'its file', remove: (_dir, file) => rmSync(file) },
];

for (const { name, remove } of deletions) {
  test(`the database deleted (${name}) while the hub runs: publishes 503, /healthz not ok, one log line`, async (t) => {
    const dir = join(scratch(t), 'data');
    const file = join(dir, 'herald.db');
    const herald = serve(t, `sqlite:${file}`);
    const base = await listeningUrl(herald);
    const token = await publisherToken(KEY);
    const before = await publish(`${base}${HUB}`, token, { topic: TOPIC, data: 'kept' });
    assert.equal(before.status, 200, before.body);
    assert.equal(await status(`${base}/healthz`), 200);

    remove(dir, file);
    for (let i = 0; i < 3; i++) {
      const refused = await publish(`${base}${HUB}`, token, { topic: TOPIC, data: `after ${i}` });
      assert.equal(refused.status, 503, refused.body);
    }
    assert.equal(await status(`${base}/healthz`), 503);
    // The log comes through a pipe: it may reach this process after the answers did.
    const refusal = /\{[^\n]*"msg":"sqlite store refuses appends[^\n]*\}/g;
    await herald.waitForOutput(refusal);
    const lines = herald.stdout().match(refusal) ?? [];
    assert.equal(lines.length, 1, herald.stdout());
    assert.match(JSON.parse(lines[0]).err.message, /was deleted while the hub ran; .*restart the hub/);
    assert.equal(JSON.parse(lines[0]).err.code, 'HERALD_ERR_STORE_UNAVAILABLE');
  });
}

test('a start that creates the database says it begins a new, empty history; a start on the kept file does not', async (t) => {
  const file = join(scratch(t), 'herald.db');
  const NEW = /"msg":"sqlite store file did not exist: began a new, empty history there/;
  const run = async (): Promise<string> => {
    const herald = serve(t, `sqlite:${file}`);
    await listeningUrl(herald);
    herald.child.kill('SIGTERM');
    assert.equal(await herald.exited, 0);
    return herald.stdout();
  };
  const first = await run();
  assert.match(first, NEW);
  assert.ok(first.includes(JSON.stringify(file)), first);
  assert.doesNotMatch(await run(), NEW);
  rmSync(file);
  assert.match(await run(), NEW, 'a restart after the file was deleted');
});

test('a full disk: publishes 503 and /healthz is not ok', async (t) => {
  const mount = mkdtempSync(join(tmpdir(), 'herald-cli-full-'));
  let herald: HeraldProcess | undefined;
  // One hook, in this order: the hub lets go of the file system before it is unmounted and removed.
  t.after(async () => {
    herald?.kill();
    await herald?.exited;
    if (reason === null) execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
  });
  let reason: string | null = null;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount], { stdio: 'pipe' });
  } catch (error) {
    reason = `cannot mount a 2 MB tmpfs to fill (${(error as Error).message.split('\n')[0]})`;
  }
  if (!requirePart(t, 'tmpfs mount (root)', reason)) return;
  herald = serve(t, `sqlite:${join(mount, 'herald.db')}`);
  const base = await listeningUrl(herald);
  const token = await publisherToken(KEY);
  const data = 'x'.repeat(100_000);
  let refused: { status: number; body: string } | undefined;
  // 2 MB fill up after about 20 of these: each topic keeps its own, so nothing is evicted.
  for (let i = 0; i < 60 && refused === undefined; i++) {
    const answer = await publish(`${base}${HUB}`, token, { topic: `${TOPIC}/${i}`, data });
    if (answer.status !== 200) refused = answer;
  }
  assert.equal(refused?.status, 503, refused?.body);
  assert.equal(await status(`${base}/healthz`), 503);
  const [line] = await herald.waitForOutput(/\{[^\n]*"msg":"sqlite store refuses appends[^\n]*\}/);
  assert.match(JSON.parse(line).err.message, /the disk is full \(SQLITE_FULL\)/);
});

test('bursts of large updates: the file and its WAL shrink back near what --history-size keeps while the hub runs', async (t) => {
  const path = join(scratch(t), 'herald.db');
  const herald = serve(t, `sqlite:${path}`, undefined, ['--history-size', '10']);
  const base = await listeningUrl(herald);
  const token = await publisherToken(KEY);
  const data = 'x'.repeat(900_000);
  // Three bursts of 30 updates of 0.9 MB on one topic: without vacuum and checkpoints the file keeps
  // the largest burst in free pages and the WAL its largest transaction (tens of MB).
  for (let burst = 0; burst < 3; burst++) {
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => publish(`${base}${HUB}`, token, { topic: TOPIC, data })),
    );
    for (const answer of answers) assert.equal(answer.status, 200, answer.body);
  }
  const size = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  const onDisk = () => `file ${size(path)} B + WAL ${size(`${path}-wal`)} B`;
  // Kept: 10 x 0.9 MB, plus what was written since the last vacuum and checkpoint (at most 4 MB).
  await retryUntil(
    () => size(path) + size(`${path}-wal`) < 14_000_000 || undefined,
    () => `the file and its WAL near 9 MB; ${onDisk()}`,
    { ms: 30_000, everyMs: 200 },
  );
  t.diagnostic(onDisk());
});
