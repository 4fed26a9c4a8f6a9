import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { test } from 'node:test';
import { startHerald } from './herald-process.js';
import { listeningUrl, openStream, publish, publisherToken } from './streams.js';

const HUB = '/.well-known/mercure';

test('--demo prints a publish command whose token works, and the subscribe URL it names', async (t) => {
  const herald = startHerald(['serve', '--demo', '--port', '0', '--host', '127.0.0.1']);
  t.after(() => herald.kill());
  const [, url, token] = await herald.waitForOutput(
    /publish {5}curl -X POST '([^']+)' -H 'Authorization: Bearer ([\w.-]+)'/,
  );
  const [, subscribeUrl] = await herald.waitForOutput(/subscribe {3}curl -N '([^']+)'/);
  assert.equal(new URL(url!).pathname, HUB);
  const [, page] = await herald.waitForOutput(/open {8}(http:\/\/127\.0\.0\.1:\d+\/)/);
  const index = await fetch(page!);
  assert.equal(index.status, 200, 'the demo pages are mounted');
  assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
  await index.arrayBuffer();

  // Anonymous subscribe is on in demo mode; the printed token publishes.
  const stream = await openStream(subscribeUrl!);
  assert.equal(stream.status, 200);
  const topic = new URL(subscribeUrl!).searchParams.get('topic')!;
  const result = await publish(url!, token!, { topic, data: 'hello from the demo', id: 'demo-1' });
  assert.equal(result.status, 200, result.body);
  assert.equal(result.body, 'demo-1');
  await stream.waitFor(/id: demo-1\ndata: hello from the demo\n\n/);
  stream.close();

  herald.child.kill('SIGTERM');
  assert.equal(await herald.exited, 0);
});

test('SIGTERM: connected subscribers get the retry hint, their streams end, the process exits 0', async (t) => {
  const key = 'sigterm-test-secret-key-of-32-bytes!';
  const herald = startHerald(
    ['serve', '--port', '0', '--host', '127.0.0.1', '--anonymous', '--shutdown-retry', '1500ms'],
    { HERALD_JWT_KEY: key },
  );
  t.after(() => herald.kill());
  const base = await listeningUrl(herald);
  const streams = await Promise.all(
    [1, 2, 3].map(() => openStream(`${base}${HUB}?topic=${encodeURIComponent('https://example.com/s')}`)),
  );
  t.after(() => {
    for (const s of streams) s.close();
  });
  for (const s of streams) assert.equal(s.status, 200);
  // Prove delivery works before the shutdown, so that the end is the shutdown's doing.
  const sent = await publish(`${base}${HUB}`, await publisherToken(key), {
    topic: 'https://example.com/s',
    data: 'before',
  });
  assert.equal(sent.status, 200);
  await Promise.all(streams.map((s) => s.waitFor(/data: before\n\n/)));

  herald.child.kill('SIGTERM');
  await Promise.all(streams.map((s) => s.ended));
  for (const s of streams) {
    assert.ok(s.text().startsWith(': ok\nretry: 3000\n\n'), 'streams open with the default retry hint');
    assert.match(s.text(), /data: before\n\n(?:.*\n)*retry: 1500\n/);
  }
  assert.equal(await herald.exited, 0);
  assert.match(herald.stdout(), /"msg":"stopped"/);
});

test('--retry sets the retry hint streams open with', async (t) => {
  const herald = startHerald(
    ['serve', '--port', '0', '--host', '127.0.0.1', '--anonymous', '--retry', '5s'],
    {
      HERALD_JWT_KEY: 'retry-test-secret-key-of-32-bytes!!',
    },
  );
  t.after(() => herald.kill());
  const base = await listeningUrl(herald);
  const stream = await openStream(`${base}${HUB}?topic=${encodeURIComponent('https://example.com/r')}`);
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  await stream.waitFor(/^: ok\nretry: \d+\n\n/);
  assert.ok(stream.text().startsWith(': ok\nretry: 5000\n\n'), JSON.stringify(stream.text()));
  herald.child.kill('SIGTERM');
  assert.equal(await herald.exited, 0);
});

test('--demo listens on this machine only unless --host says otherwise', async (t) => {
  const herald = startHerald(['serve', '--demo', '--port', '0']);
  t.after(() => herald.kill());
  const [, page] = await herald.waitForOutput(/open {8}(http:\/\/localhost:(\d+)\/)/);
  const { port } = new URL(page!);
  const index = await fetch(page!);
  assert.equal(index.status, 200, 'reachable on localhost');
  await index.arrayBuffer();
  // Any address of this machine that is not loopback must not answer.
  const outside = Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && !address.internal && address.family === 'IPv4');
  if (outside === undefined) {
    t.diagnostic('no non-loopback IPv4 address on this machine: only the localhost half was checked');
  } else {
    await assert.rejects(
      fetch(`http://${outside.address}:${port}/`),
      (error: Error & { cause?: { code?: string } }) => error.cause?.code === 'ECONNREFUSED',
      `the demo must not answer on ${outside.address}`,
    );
  }
  herald.child.kill('SIGTERM');
  assert.equal(await herald.exited, 0);
});

test('--demo with --host listens where told', async (t) => {
  const outside = Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && !address.internal && address.family === 'IPv4');
  if (outside === undefined) return t.skip('no non-loopback IPv4 address on this machine');
  const herald = startHerald(['serve', '--demo', '--port', '0', '--host', '0.0.0.0']);
  t.after(() => herald.kill());
  const [, port] = await herald.waitForOutput(/open {8}http:\/\/localhost:(\d+)\//);
  const index = await fetch(`http://${outside.address}:${port}/`);
  assert.equal(index.status, 200);
  await index.arrayBuffer();
  herald.child.kill('SIGTERM');
  assert.equal(await herald.exited, 0);
});

test('--demo prints a publish token that lives one hour', async (t) => {
  const herald = startHerald(['serve', '--demo', '--port', '0', '--host', '127.0.0.1']);
  t.after(() => herald.kill());
  const [, token] = await herald.waitForOutput(/-H 'Authorization: Bearer ([\w.-]+)'/);
  const claims = JSON.parse(Buffer.from(token!.split('.')[1]!, 'base64url').toString()) as {
    iat: number;
    exp: number;
  };
  assert.equal(claims.exp - claims.iat, 3600);
  herald.child.kill('SIGTERM');
  assert.equal(await herald.exited, 0);
});
