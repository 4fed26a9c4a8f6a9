/**
 * Micro-benchmark of publish-body parsing: `URLSearchParams` alone against the strict parse the
 * hub uses (`parseStrictForm`: split and `decodeURIComponent`, or `URLSearchParams` and a check for
 * bytes that are not UTF-8), same bodies, same run, alternating rounds; each reads `data`.
 *
 * Usage: node --import tsx bench/publish/form-parse.ts
 */
import { loadavg } from 'node:os';
import { type FormFields, parseStrictForm } from '../../src/hub/http/strict-form.js';

const json = JSON.stringify({ symbol: 'ACME', price: 12.5, at: '2026-01-01T00:00:00Z' });
const bodies: [string, string][] = [
  [
    'ASCII, escaped URL topic + JSON',
    new URLSearchParams({ topic: 'https://example.com/books/1', data: json }).toString(),
  ],
  [
    'non-ASCII data (é, €)',
    new URLSearchParams({ topic: 'https://example.com/a', data: `${json} café €`.repeat(4) }).toString(),
  ],
  [
    '64 KiB ASCII data',
    new URLSearchParams({ topic: 'https://example.com/a', data: 'x'.repeat(65536) }).toString(),
  ],
];

function run(parse: (text: string) => FormFields, body: string, n: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += parse(body).get('data')!.length;
  const ns = Number(process.hrtime.bigint() - start);
  if (sink === 0) throw new Error('unreachable');
  return ns / n;
}

const plain = (text: string) => new URLSearchParams(text);
const strict = (text: string) => parseStrictForm(text, 'body');
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const [name, body] of bodies) {
  const n = body.length > 10000 ? 2000 : 100000;
  run(plain, body, n / 10);
  run(strict, body, n / 10);
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < 5; round++) {
    a.push(run(plain, body, n));
    b.push(run(strict, body, n));
  }
  const best = (xs: number[]) => Math.min(...xs);
  console.log(
    `${name} (${body.length} B): URLSearchParams ${best(a).toFixed(0)} ns, strict ${best(b).toFixed(0)} ns, ratio ${(best(b) / best(a)).toFixed(3)}`,
  );
}
