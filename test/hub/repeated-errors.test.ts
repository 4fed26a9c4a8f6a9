import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RepeatedErrors } from '../../src/hub/repeated-errors.js';
import { StoreUnavailableError } from '../../src/hub/stores/errors.js';
import { eventually } from '../server/helpers.js';

function recorder() {
  const lines: { level: string; details: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (details: object, message: string) =>
    lines.push({ level, details: details as Record<string, unknown>, message });
  return { lines, logger: { warn: at('warn'), error: at('error') } };
}

test('the first error of a kind is logged in full, its repeats once per interval with their count', async () => {
  const { lines, logger } = recorder();
  const errors = new RepeatedErrors(logger, 50);
  const down = new StoreUnavailableError('redis store could not append: Redis is unavailable');
  for (let i = 0; i < 5; i++) errors.log('error', down, { url: `/hub?${i}` }, 'hub request failed');
  errors.log('error', new TypeError('a bug'), {}, 'hub request failed'); // another kind: its own line
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.details.err, down);
  assert.equal(lines[0]!.details.url, '/hub?0');
  assert.equal(lines[1]!.details.err instanceof TypeError, true);

  await eventually(() => lines.length === 3, 'the count of the repeats', 5000);
  assert.deepEqual(lines[2], {
    level: 'error',
    details: { repeated: 4, code: 'HERALD_ERR_STORE_UNAVAILABLE', intervalMs: 50 },
    message: 'hub request failed (4 more like it in the last 0 s)',
  });
  // Still failing: counted again, and close() gives the count not yet logged.
  errors.log('error', down, {}, 'hub request failed');
  errors.log('error', down, {}, 'hub request failed');
  errors.close();
  assert.equal(lines.length, 4);
  assert.equal(lines[3]!.details.repeated, 2);
  // Once closed windows are gone: the next error is a first again, logged in full.
  errors.log('warn', down, {}, 'health check: store unavailable');
  assert.equal(lines[4]!.details.err, down);
  errors.close();
});
