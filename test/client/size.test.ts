// scripts/client-size.mjs: each import of herald/client stays within its gzipped bound, as an app's
// bundler tree-shakes it (the package declares which of its files have side effects, so an app that
// imports readStream alone does not get EventSource).
import assert from 'node:assert/strict';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs script, without declarations
import { measure } from '../../scripts/client-size.mjs';

interface Row {
  name: string;
  minified: number;
  gzip: number;
  maxGzip: number;
}

test('each import of herald/client costs no more than its bound, gzipped', async (t) => {
  const rows = (await measure()) as Row[];
  for (const row of rows) {
    t.diagnostic(`${row.name}: ${row.minified} B minified, ${row.gzip} B gzipped (bound ${row.maxGzip})`);
    assert.ok(
      row.gzip <= row.maxGzip,
      `${row.name}: ${row.gzip} B gzipped, over its bound of ${row.maxGzip}`,
    );
  }
  const all = rows.find((r) => r.name.startsWith('everything'))!;
  const readStream = rows.find((r) => r.name === '{ readStream }')!;
  assert.ok(readStream.gzip < all.gzip * 0.4, 'readStream alone leaves EventSource and the transports out');
});
