/**
 * Malformed HTTP against a real hub: garbage bytes, huge headers (431), invalid percent-encoding,
 * invalid UTF-8 in the query and the body, huge bodies (413), too many topics and selectors. Each
 * gets a 4xx (or a closed socket for bytes that are not HTTP), and a canary subscriber keeps
 * receiving every event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStream, publish, signDraft07, startHub, type TestHub } from '../support/hub.js';
import { type Canary, openCanary } from './canary.js';
import { rawRequest } from './raw-http.js';

const PATH = '/.well-known/mercure';

describe('malformed HTTP', () => {
  let hub: TestHub;
  let port: number;
  let canary: Canary;
  let token: string;
  before(async () => {
    hub = await startHub({
      anonymous: true,
      maxBodyBytes: 64 * 1024,
      maxTopicsPerUpdate: 10,
      maxSelectors: 10,
    });
    port = Number(new URL(hub.origin).port);
    canary = await openCanary(hub);
    token = await signDraft07({ publish: ['*'], subscribe: ['*'] });
  });
  after(async () => {
    canary.close();
    await hub.close();
  });

  test('garbage bytes: 400 or a closed socket', async () => {
    const inputs: (string | Buffer)[] = [
      Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]),
      'GARBAGE\r\n\r\n',
      `GET ${PATH} HTTP/9.9\r\n\r\n`,
      `GET ${PATH}?topic=x HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n`,
      `GET ${PATH}?topic=x HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n`,
      `GET ${PATH}?topic=x HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n`,
      `POST ${PATH} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `POST ${PATH} HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n`,
      `POST ${PATH} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
      `GET /\u00ff\u00fe HTTP/1.1\r\nHost: a\r\n\r\n`,
    ];
    for (const input of inputs) {
      const { status } = await rawRequest(port, input);
      assert.ok(
        status === 0 || (status >= 400 && status < 500),
        `${JSON.stringify(String(input))}: ${status}`,
      );
    }
    await canary.check();
  });

  test('huge headers: 431', async () => {
    const big = `GET ${PATH}?topic=x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`;
    assert.equal((await rawRequest(port, big)).status, 431);
    const many = `GET ${PATH}?topic=x HTTP/1.1\r\nHost: a\r\n${'X-A: b\r\n'.repeat(5000)}\r\n`;
    assert.equal((await rawRequest(port, many)).status, 431);
    await canary.check();
  });

  test('invalid percent-encoding and invalid UTF-8 in the query: a 4xx or a stream, never a 5xx', async () => {
    const queries = [
      'topic=%',
      'topic=%zz',
      'topic=%C3%28',
      'topic=%FF%FE',
      'topic=%ED%A0%80',
      'topic=x&lastEventID=%E0%80',
    ];
    for (const query of queries) {
      const { status, text } = await rawRequest(port, `GET ${PATH}?${query} HTTP/1.1\r\nHost: a\r\n\r\n`);
      assert.ok(status === 200 || (status >= 400 && status < 500), `${query}: ${status} ${text}`);
    }
    const raw = Buffer.concat([
      Buffer.from(`GET ${PATH}?topic=`),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from(' HTTP/1.1\r\nHost: a\r\n\r\n'),
    ]);
    const { status } = await rawRequest(port, raw);
    assert.ok(status === 0 || status === 200 || (status >= 400 && status < 500), `raw bytes: ${status}`);
    await canary.check();
  });

  test('invalid UTF-8 in a publish body: 400, nothing published', async () => {
    const watcher = await openStream(`${hub.hubUrl}?topic=*`, { authorization: `Bearer ${token}` });
    const bodies = [
      Buffer.from([0x74, 0x6f, 0x70, 0x69, 0x63, 0x3d, 0xff, 0xfe]),
      Buffer.from('topic=a&data=\xc3\x28', 'latin1'),
    ];
    for (const body of bodies) {
      const res = await fetch(hub.hubUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      await res.text();
      assert.equal(res.status, 400);
    }
    // Bad percent-encoding in the body is not bad UTF-8: kept literally (URLSearchParams) or refused.
    const res = await publish(hub, { topic: 'https://example.com/%zz', data: '%' }, token);
    assert.ok(res.status === 200 || res.status === 400, `${res.status}`);
    await publish(hub, { topic: 'https://example.com/marker', data: 'marker' }, token);
    const events = [];
    for (;;) {
      const event = await watcher.next();
      events.push(event);
      if (event.data === 'marker') break;
    }
    assert.ok(events.length <= 2, 'at most the valid percent-literal update and the marker');
    watcher.close();
    await canary.check();
  });

  test('huge bodies: 413 whether announced or streamed', async () => {
    const big = `topic=x&data=${'a'.repeat(200 * 1024)}`;
    const announced = await publish(
      hub,
      { topic: 'https://example.com/x', data: 'a'.repeat(200 * 1024) },
      token,
    );
    assert.equal(announced.status, 413);
    const chunked = await rawRequest(
      port,
      `POST ${PATH} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`,
    );
    assert.equal(chunked.status, 413);
    await canary.check();
  });

  test('too many topics in an update, too many selectors in a subscription: 400', async () => {
    const topics = Array.from({ length: 11 }, (_, i) => `https://example.com/t/${i}`);
    assert.equal((await publish(hub, { topic: topics, data: 'x' }, token)).status, 400);
    const url = new URL(hub.hubUrl);
    for (const topic of topics) url.searchParams.append('topic', topic);
    const sub = await openStream(url.toString());
    sub.close();
    assert.equal(sub.status, 400);
    await canary.check();
  });

  test('many unknown parameters and long URLs: answered, not crashed', async () => {
    const url = `${PATH}?topic=x&${'a=b&'.repeat(3000)}`;
    const { status } = await rawRequest(port, `GET ${url} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.ok(status === 200 || status === 414 || status === 431 || status === 400, `${status}`);
    await canary.check();
  });
});
