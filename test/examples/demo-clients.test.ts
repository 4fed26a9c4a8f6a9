/**
 * examples/client-node.ts and examples/publisher.ts against the demo hub (`herald serve --demo`, what
 * `npm start` runs), as their headers say to run them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHerald } from '../cli/herald-process.js';
import { openStream } from '../support/hub.js';
import { startExample } from './example-process.js';

async function startDemoHub(t: import('node:test').TestContext) {
  const herald = startHerald(['serve', '--demo', '--port', '0', '--host', '127.0.0.1']);
  t.after(() => herald.kill());
  const [, hubUrl, token] = await herald.waitForOutput(
    /publish {5}curl -X POST '([^']+)' -H 'Authorization: Bearer ([\w.-]+)'/,
  );
  return { hubUrl: hubUrl!, token: token! };
}

test('examples/client-node.ts: prints five batches of the demo ticker, then closes and exits 0', async (t) => {
  const { hubUrl } = await startDemoHub(t);
  const example = startExample('client-node.ts', [hubUrl]);
  t.after(() => example.kill());
  assert.equal(await example.exited, 0, example.stderr());
  const lines = example.stdout().trim().split('\n');
  assert.equal(lines.length, 5, example.stdout());
  for (const line of lines)
    assert.match(line, /^quotes urn:uuid:[\w-]+: [A-Z]+ \d+(\.\d+)?(, [A-Z]+ \d+(\.\d+)?)*$/);
});

test('examples/publisher.ts: publishes to the demo notifications topic with the printed token', async (t) => {
  const { hubUrl, token } = await startDemoHub(t);
  const topic = 'https://example.com/demo/notifications';
  const stream = await openStream(`${hubUrl}?topic=${encodeURIComponent(topic)}`);
  t.after(() => stream.close());
  const example = startExample('publisher.ts', [hubUrl, 'hello from the example'], { HERALD_TOKEN: token });
  t.after(() => example.kill());
  assert.equal(await example.exited, 0, example.stderr());
  const [, id] = example.stdout().match(/^published (\S+)\n$/) ?? [];
  assert.ok(id, example.stdout());
  const event = await stream.next();
  assert.equal(event.lastEventId, id);
  assert.equal((JSON.parse(event.data) as { text: string }).text, 'hello from the example');
});

test('examples/publisher.ts: a refused publish says why and exits 1', async (t) => {
  const { hubUrl } = await startDemoHub(t);
  const example = startExample('publisher.ts', [hubUrl], { HERALD_TOKEN: 'not-a-token' });
  t.after(() => example.kill());
  assert.equal(await example.exited, 1);
  assert.match(example.stderr(), /^refused: 401 /);
});
