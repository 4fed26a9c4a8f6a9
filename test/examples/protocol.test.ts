import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startExample } from './example-process.js';

test('examples/protocol.ts: encodes an event and parses it back from one-byte chunks', async (t) => {
  const example = startExample('protocol.ts');
  t.after(() => example.kill());
  assert.equal(await example.exited, 0, example.stderr());
  assert.equal(
    example.stdout(),
    'encoded: "event: price\\nid: 42\\ndata: {\\"symbol\\":\\"ACME\\",\\"price\\":12.5}\\n\\n"\n' +
      'parsed: price {"symbol":"ACME","price":12.5} 42\n',
  );
});
