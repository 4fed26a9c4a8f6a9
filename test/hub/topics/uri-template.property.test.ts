import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseTemplate } from 'url-template';
import { compileSelector } from '../../../src/hub/topics/index.js';

// Every expansion a reference RFC 6570 expander produces must match the compiled template: the
// compiler is exact in that direction for any template and any variable values.

type Value = string | string[] | Record<string, string> | undefined;

const literal = fc.constantFrom('https://example.com', '/', 'books', '-', '.', ':', '?x=1', '~', 'é');
const name = fc.constantFrom('a', 'b', 'c', 'long_name', 'x.y');
const varspec = fc.tuple(name, fc.constantFrom('', '*', ':1', ':3', ':10'));
const expression = fc
  .tuple(
    fc.constantFrom('', '+', '#', '.', '/', ';', '?', '&'),
    fc.array(varspec, { minLength: 1, maxLength: 3 }),
  )
  .map(([op, specs]) => ({ op, specs }));
const template = fc.array(fc.oneof(literal, expression), { minLength: 1, maxLength: 4 });

// No lone `%`: the reference expander lets it through `+` and `#` unencoded, where RFC 6570 §3.2.1
// encodes it (only valid triplets pass), so its output would not be an RFC expansion.
const text = fc
  .array(
    fc.constantFrom(
      'a',
      'Z',
      '0',
      '-',
      '.',
      '_',
      '~',
      ' ',
      '/',
      '?',
      '#',
      '&',
      '=',
      ',',
      ';',
      'é',
      '😀',
      '%41',
    ),
    {
      maxLength: 6,
    },
  )
  .map((cs) => cs.join(''));
const value: fc.Arbitrary<Value> = fc.oneof(
  fc.constant(undefined),
  text,
  fc.array(text, { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('k', 'key', 'x'), text, { maxKeys: 3 }),
);

test('property: every RFC 6570 expansion matches its compiled template', () => {
  fc.assert(
    fc.property(template, fc.dictionary(name, value), (parts, context) => {
      let source = '';
      for (const part of parts) {
        if (typeof part === 'string') source += part;
        else source += `{${part.op}${part.specs.map(([n, m]) => n + m).join(',')}}`;
      }
      // A prefix applies to strings only (RFC 6570 §2.4.1): give prefixed variables string values.
      const prefixed = new Set<string>(
        parts.flatMap((p) =>
          typeof p === 'string' ? [] : p.specs.filter(([, m]) => m.startsWith(':')).map(([n]) => n),
        ),
      );
      const values: Record<string, Value> = {};
      for (const [key, v] of Object.entries(context)) {
        if (!prefixed.has(key)) values[key] = v;
        // The reference expander counts prefixes in UTF-16 units, not characters as RFC 6570 does
        // (it fails on a split surrogate pair), and lets a triplet cut by the prefix through
        // unencoded: astral characters and `%` stay out of prefixed values.
        else values[key] = typeof v === 'string' ? v.replace(/[\u{10000}-\u{10ffff}%]/gu, '') : undefined;
      }
      const expansion = parseTemplate(source).expand(
        values as Parameters<ReturnType<typeof parseTemplate>['expand']>[0],
      );
      assert.ok(
        compileSelector(source, 'template').matches(expansion),
        `${source} with ${JSON.stringify(values)} gives ${expansion}`,
      );
    }),
    { seed: 6570, numRuns: 600 },
  );
});
