import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSelector } from '../../../src/hub/topics/index.js';
import { parseUriTemplate, uriTemplateToRegExpSource } from '../../../src/hub/topics/uri-template.js';

// Every expansion example of RFC 6570 §3.2 (variables of §3.2.1): each template must match what it
// expands to.
const RFC6570_EXAMPLES: Array<[string, string]> = [
  // §3.2.1 variable expansion
  ['{count}', 'one,two,three'],
  ['{count*}', 'one,two,three'],
  ['{/count}', '/one,two,three'],
  ['{/count*}', '/one/two/three'],
  ['{;count}', ';count=one,two,three'],
  ['{;count*}', ';count=one;count=two;count=three'],
  ['{?count}', '?count=one,two,three'],
  ['{?count*}', '?count=one&count=two&count=three'],
  ['{&count*}', '&count=one&count=two&count=three'],
  // §3.2.2 simple string expansion
  ['{var}', 'value'],
  ['{hello}', 'Hello%20World%21'],
  ['{half}', '50%25'],
  ['O{empty}X', 'OX'],
  ['O{undef}X', 'OX'],
  ['{x,y}', '1024,768'],
  ['{x,hello,y}', '1024,Hello%20World%21,768'],
  ['?{x,empty}', '?1024,'],
  ['?{x,undef}', '?1024'],
  ['?{undef,y}', '?768'],
  ['{var:3}', 'val'],
  ['{var:30}', 'value'],
  ['{list}', 'red,green,blue'],
  ['{list*}', 'red,green,blue'],
  ['{keys}', 'semi,%3B,dot,.,comma,%2C'],
  ['{keys*}', 'semi=%3B,dot=.,comma=%2C'],
  // §3.2.3 reserved expansion
  ['{+var}', 'value'],
  ['{+hello}', 'Hello%20World!'],
  ['{+half}', '50%25'],
  ['{base}index', 'http%3A%2F%2Fexample.com%2Fhome%2Findex'],
  ['{+base}index', 'http://example.com/home/index'],
  ['O{+empty}X', 'OX'],
  ['O{+undef}X', 'OX'],
  ['{+path}/here', '/foo/bar/here'],
  ['here?ref={+path}', 'here?ref=/foo/bar'],
  ['up{+path}{var}/here', 'up/foo/barvalue/here'],
  ['{+x,hello,y}', '1024,Hello%20World!,768'],
  ['{+path,x}/here', '/foo/bar,1024/here'],
  ['{+path:6}/here', '/foo/b/here'],
  ['{+list}', 'red,green,blue'],
  ['{+list*}', 'red,green,blue'],
  ['{+keys}', 'semi,;,dot,.,comma,,'],
  ['{+keys*}', 'semi=;,dot=.,comma=,'],
  // §3.2.4 fragment expansion
  ['{#var}', '#value'],
  ['{#hello}', '#Hello%20World!'],
  ['{#half}', '#50%25'],
  ['foo{#empty}', 'foo#'],
  ['foo{#undef}', 'foo'],
  ['{#x,hello,y}', '#1024,Hello%20World!,768'],
  ['{#path,x}/here', '#/foo/bar,1024/here'],
  ['{#path:6}/here', '#/foo/b/here'],
  ['{#list}', '#red,green,blue'],
  ['{#list*}', '#red,green,blue'],
  ['{#keys}', '#semi,;,dot,.,comma,,'],
  ['{#keys*}', '#semi=;,dot=.,comma=,'],
  // §3.2.5 label expansion
  ['{.who}', '.fred'],
  ['{.who,who}', '.fred.fred'],
  ['{.half,who}', '.50%25.fred'],
  ['www{.dom*}', 'www.example.com'],
  ['X{.var}', 'X.value'],
  ['X{.empty}', 'X.'],
  ['X{.undef}', 'X'],
  ['X{.var:3}', 'X.val'],
  ['X{.list}', 'X.red,green,blue'],
  ['X{.list*}', 'X.red.green.blue'],
  ['X{.keys}', 'X.semi,%3B,dot,.,comma,%2C'],
  ['X{.keys*}', 'X.semi=%3B.dot=..comma=%2C'],
  ['X{.empty_keys}', 'X'],
  ['X{.empty_keys*}', 'X'],
  // §3.2.6 path segment expansion
  ['{/who}', '/fred'],
  ['{/who,who}', '/fred/fred'],
  ['{/half,who}', '/50%25/fred'],
  ['{/who,dub}', '/fred/me%2Ftoo'],
  ['{/var}', '/value'],
  ['{/var,empty}', '/value/'],
  ['{/var,undef}', '/value'],
  ['{/var,x}/here', '/value/1024/here'],
  ['{/var:1,var}', '/v/value'],
  ['{/list}', '/red,green,blue'],
  ['{/list*}', '/red/green/blue'],
  ['{/list*,path:4}', '/red/green/blue/%2Ffoo'],
  ['{/keys}', '/semi,%3B,dot,.,comma,%2C'],
  ['{/keys*}', '/semi=%3B/dot=./comma=%2C'],
  // §3.2.7 path-style parameter expansion
  ['{;who}', ';who=fred'],
  ['{;half}', ';half=50%25'],
  ['{;empty}', ';empty'],
  ['{;v,empty,who}', ';v=6;empty;who=fred'],
  ['{;v,bar,who}', ';v=6;who=fred'],
  ['{;x,y}', ';x=1024;y=768'],
  ['{;x,y,empty}', ';x=1024;y=768;empty'],
  ['{;x,y,undef}', ';x=1024;y=768'],
  ['{;hello:5}', ';hello=Hello'],
  ['{;list}', ';list=red,green,blue'],
  ['{;list*}', ';list=red;list=green;list=blue'],
  ['{;keys}', ';keys=semi,%3B,dot,.,comma,%2C'],
  ['{;keys*}', ';semi=%3B;dot=.;comma=%2C'],
  // §3.2.8 form-style query expansion
  ['{?who}', '?who=fred'],
  ['{?half}', '?half=50%25'],
  ['{?x,y}', '?x=1024&y=768'],
  ['{?x,y,empty}', '?x=1024&y=768&empty='],
  ['{?x,y,undef}', '?x=1024&y=768'],
  ['{?var:3}', '?var=val'],
  ['{?list}', '?list=red,green,blue'],
  ['{?list*}', '?list=red&list=green&list=blue'],
  ['{?keys}', '?keys=semi,%3B,dot,.,comma,%2C'],
  ['{?keys*}', '?semi=%3B&dot=.&comma=%2C'],
  // §3.2.9 form-style query continuation
  ['{&who}', '&who=fred'],
  ['{&half}', '&half=50%25'],
  ['?fixed=yes{&x}', '?fixed=yes&x=1024'],
  ['{&x,y,empty}', '&x=1024&y=768&empty='],
  ['{&var:3}', '&var=val'],
  ['{&list}', '&list=red,green,blue'],
  ['{&list*}', '&list=red&list=green&list=blue'],
  ['{&keys}', '&keys=semi,%3B,dot,.,comma,%2C'],
  ['{&keys*}', '&semi=%3B&dot=.&comma=%2C'],
];

// Strings no value of the variables can expand to.
const NON_EXPANSIONS: Array<[string, string]> = [
  ['{var}', 'a/b'], // `/` is reserved: simple expansion encodes it
  ['{var}', 'Hello World'], // a space is always encoded
  ['{var}', '50%'], // a bare `%` is always encoded
  ['{var:3}', 'value'], // the prefix bounds the length
  ['{/var}', '/a/b'],
  ['{?x,y}', '?y=768&x=1024'], // variables keep their order
  ['{?x}', '?y=1'],
  ['{;x}', ';y=1'],
  ['{?x}', 'x=1'],
  ['X{.var}', 'Xvalue'],
  ['{#var}', 'value'],
  ['{+path}/here', '/foo/bar/there'],
  ['https://example.com/books/{id}', 'https://example.com/books/1/chapters'],
  ['https://example.com/books/{id}', 'https://example.org/books/1'],
];

describe('RFC 6570 URI templates', () => {
  test('every expansion example of RFC 6570 §3.2 matches its template', () => {
    for (const [template, expansion] of RFC6570_EXAMPLES) {
      const selector = compileSelector(template, 'template');
      assert.equal(selector.kind, 'pattern', template);
      assert.ok(selector.matches(expansion), `${template} should match ${expansion}`);
    }
  });

  test('strings no expansion can produce do not match', () => {
    for (const [template, candidate] of NON_EXPANSIONS) {
      assert.equal(
        compileSelector(template, 'template').matches(candidate),
        false,
        `${template} should not match ${candidate}`,
      );
    }
  });

  test('Mercure draft-07 examples', () => {
    const books = compileSelector('https://example.com/books/{id}', 'template');
    assert.ok(books.matches('https://example.com/books/1'));
    assert.ok(books.matches('https://example.com/books/caf%C3%A9'));
    assert.ok(books.matches('https://example.com/books/café'), 'IRI characters are accepted');
    // draft-07 "Subscribers": the claim selector matching an alternate topic.
    const own = compileSelector('https://example.com/users/foo/{?topic}', 'template');
    assert.ok(own.matches('https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1'));
    assert.equal(own.matches('https://example.com/users/bar/?topic=x'), false);
    const events = compileSelector('/.well-known/mercure/subscriptions/{topic}/{subscriber}', 'template');
    assert.ok(
      events.matches(
        '/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bselector%7D/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6',
      ),
    );
  });

  test('a selector that is not a valid template is compared as a plain string', () => {
    for (const source of [
      '{unclosed',
      'a}b{',
      '{=reserved}',
      '{a b}',
      'with space {x}',
      '{x:0}',
      '{x:10000}',
    ]) {
      assert.equal(parseUriTemplate(source), undefined, source);
      const selector = compileSelector(source, 'template');
      assert.equal(selector.kind, 'exact', source);
      assert.ok(selector.matches(source));
      assert.equal(selector.matches('anything'), false);
    }
  });

  test('non-ASCII: literals match raw or percent-encoded, prefixes count characters not bytes', () => {
    const cafe = compileSelector('https://example.com/café/{id}', 'template');
    assert.ok(cafe.matches('https://example.com/café/1'));
    assert.ok(cafe.matches('https://example.com/caf%C3%A9/1'));
    assert.ok(
      compileSelector('https://example.com/café', 'template').matches('https://example.com/caf%C3%A9'),
    );
    const one = compileSelector('{x:1}', 'template');
    for (const ok of ['a', '%C3%A9', '%F0%9F%98%80', 'é']) assert.ok(one.matches(ok), ok);
    for (const no of ['ab', '%C3%A9%C3%A9', '%C3', 'é%41']) assert.equal(one.matches(no), false, no);
  });

  test('a template without expressions is exact, and a template still matches its own text', () => {
    assert.equal(uriTemplateToRegExpSource('https://example.com/plain'), undefined);
    assert.equal(compileSelector('https://example.com/plain', 'template').kind, 'exact');
    // draft-07 step 2: the identical string matches even when the template cannot expand to it.
    assert.ok(compileSelector('https://example.com/{id}', 'template').matches('https://example.com/{id}'));
  });

  test('adjacent wide variables stay fast on long non-matching input (linear-time engine)', () => {
    const selector = compileSelector('{+a}x{+b}x{+c}x{+d}x{+e}y', 'template');
    assert.equal(selector.matches('x'.repeat(20_000)), false);
  });
});
