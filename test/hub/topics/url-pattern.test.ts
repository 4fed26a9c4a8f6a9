import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { URLPattern } from 'urlpattern-polyfill/urlpattern';
import { compileSelector, SelectorError } from '../../../src/hub/topics/index.js';

const BASE = 'https://hub.example.com/.well-known/mercure';

describe('URL pattern selectors', () => {
  test('Mercure 1.0 examples', () => {
    const books = compileSelector('https://example.com/books/:id', 'urlpattern');
    assert.ok(books.matches('https://example.com/books/1'));
    assert.equal(books.matches('https://example.com/books/1/chapters'), false);
    assert.equal(books.matches('https://example.com/books/'), false);
    assert.equal(books.matches('https://example.org/books/1'), false);
    const own = compileSelector('https://example.com/users/42/*', 'urlpattern');
    assert.ok(own.matches('https://example.com/users/42/books/1'));
    assert.equal(own.matches('https://example.com/users/43/books/1'), false);
    // Conformance suite: `https://example.net/foo/:random`.
    const conformance = compileSelector('https://example.net/foo/:random', 'urlpattern');
    assert.ok(conformance.matches('https://example.net/foo/4c1d5a'));
    assert.equal(conformance.matches('https://example.net/bar/4c1d5a'), false);
  });

  test('relative patterns and relative topics resolve against the hub URL', () => {
    const events = compileSelector(
      '/.well-known/mercure/subscriptions/exact/:topic/:subscriber',
      'urlpattern',
      {
        baseUrl: BASE,
      },
    );
    assert.ok(events.matches('/.well-known/mercure/subscriptions/exact/foo/urn%3Auuid%3A1'));
    assert.ok(events.matches('https://hub.example.com/.well-known/mercure/subscriptions/exact/foo/bar'));
    assert.equal(
      events.matches('https://other.example.com/.well-known/mercure/subscriptions/exact/foo/bar'),
      false,
    );
  });

  test('case matters except in the host', () => {
    const books = compileSelector('https://example.com/Books/:id', 'urlpattern');
    assert.ok(books.matches('https://EXAMPLE.com/Books/1'));
    assert.equal(books.matches('https://example.com/books/1'), false);
  });

  test('regular-expression groups are honoured', () => {
    const numeric = compileSelector('https://example.com/books/:id(\\d+)', 'urlpattern');
    assert.ok(numeric.matches('https://example.com/books/12'));
    assert.equal(numeric.matches('https://example.com/books/twelve'), false);
  });

  test('matches exactly as the URL Pattern polyfill does', () => {
    const patterns = [
      'https://example.com/books/:id',
      'https://example.com/books/:id?',
      'https://example.com/books/:id(\\d+)',
      'https://*.example.com/*',
      'https://example.com/*\\?lang=:lang',
      'https://example.com/a{/b}?/c',
      'http{s}?://example.com/:path+',
      '/relative/:x',
      'urn\\:isbn\\:*',
      '*://*/*',
      'https://user\\:pass@example.com/*',
      'https://example.com:8443/*',
      'https://example.com/*#:section',
      'https://:sub.example.com/books/:id',
      'https://example.com/files/*.:ext',
      'mercure\\:topic/:id',
      'https://example.com/books/:id([a-z]+)-:rev(\\d+)',
      'https://example.com/{:lang/}?about',
    ];
    const topics = [
      'https://example.com/books/1',
      'https://example.com/books',
      'https://example.com/books/',
      'https://example.com/books/1/2',
      'https://example.com/books/abc',
      'https://www.example.com/x/y',
      'https://example.com/page?lang=fr',
      'https://example.com/a/b/c',
      'https://example.com/a/c',
      'http://example.com/x/y/z',
      'https://hub.example.com/relative/7',
      '/relative/7',
      'urn:isbn:0451450523',
      'not a url',
      'foo',
      'https://user:pass@example.com/x',
      'https://example.com:8443/x',
      'https://example.com:443/x',
      'https://example.com/x#intro',
      'https://api.example.com/books/1',
      'https://example.com/files/report.pdf',
      'mercure:topic/9',
      'https://example.com/books/abc-12',
      'https://example.com/fr/about',
      'https://example.com/about',
      'HTTPS://EXAMPLE.COM/books/1',
      'https://example.com/books/%7Bid%7D',
      'https://example.com/café',
    ];
    for (const source of patterns) {
      const ours = compileSelector(source, 'urlpattern', { baseUrl: BASE });
      const reference = new URLPattern(source, BASE);
      for (const topic of topics) {
        let expected: boolean;
        try {
          expected = reference.test(topic, BASE);
        } catch {
          expected = false;
        }
        assert.equal(ours.matches(topic), expected, `${source} against ${topic}`);
      }
    }
  });

  test('property: random topics match as the URL Pattern polyfill says', () => {
    const patterns = [
      'https://example.com/books/:id',
      'https://*.example.com/*',
      'http{s}?://example.com/:a/:b?',
      '/relative/*',
      'https://example.com/:x([a-c]+)/*\\?q=:q',
    ].map((source) => ({
      ours: compileSelector(source, 'urlpattern', { baseUrl: BASE }),
      reference: new URLPattern(source, BASE),
    }));
    const segment = fc
      .array(fc.constantFrom('a', 'b', 'c', 'books', '1', '%2F', 'é', '.', '..', ''), { maxLength: 3 })
      .map((s) => s.join(''));
    const topic = fc
      .tuple(
        fc.constantFrom('https://', 'http://', 'urn:', '', 'HTTPS://'),
        fc.constantFrom('example.com', 'api.example.com', 'EXAMPLE.COM', 'hub.example.com', ''),
        fc.array(segment, { maxLength: 4 }),
        fc.constantFrom('', '?q=1', '?x', '#h', '?q=a#b'),
      )
      .map(([scheme, host, path, tail]) => `${scheme}${host}/${path.join('/')}${tail}`);
    fc.assert(
      fc.property(topic, (t) => {
        const url = URL.canParse(t, BASE) ? new URL(t, BASE) : undefined;
        // The polyfill canonicalizes a path starting `//` as a scheme-relative URL (`//a/a` becomes
        // host `a`, path `/a`); WHATWG URL, which Herald follows, keeps `//a/a`. Not compared.
        fc.pre(url === undefined || !url.pathname.startsWith('//'));
        for (const { ours, reference } of patterns) {
          const expected =
            url !== undefined &&
            reference.test({
              protocol: url.protocol.slice(0, -1),
              username: url.username,
              password: url.password,
              hostname: url.hostname,
              port: url.port,
              pathname: url.pathname,
              search: url.search.slice(1),
              hash: url.hash.slice(1),
            });
          assert.equal(ours.matches(t), expected, `${ours.source} against ${t}`);
        }
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  test('invalid patterns and lookaround are refused with SelectorError', () => {
    for (const source of [
      'https://example.com/(',
      'https://example.com/:id((?=a)a)',
      'https://example.com/:id(\\1)',
    ]) {
      assert.throws(() => compileSelector(source, 'urlpattern'), SelectorError, source);
    }
  });

  test('a pathological pattern is evaluated in linear time', () => {
    const selector = compileSelector('https://example.com/*a*a*a*a*a*a*b', 'urlpattern');
    assert.equal(selector.matches(`https://example.com/${'a'.repeat(20_000)}`), false);
  });

  test('a topic that does not parse as a URL matches no URL pattern, but `*` matches it', () => {
    const selector = compileSelector('*://*', 'urlpattern');
    assert.equal(selector.matches('http://['), false);
    assert.ok(compileSelector('*', 'urlpattern').matches('http://['));
  });
});
