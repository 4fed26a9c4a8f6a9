/**
 * SIGTERM while a publisher holds an idle keep-alive connection: a publish it sends on that
 * connection right then is answered 503 (not a connection reset, which would leave the publisher
 * unable to tell whether it was taken). Both readers of a keep-alive publisher are covered: the
 * hub's own publish reader, which takes a connection whose first request is a plain publish, and
 * node:http, which keeps one whose first request carries a header that reader leaves to it.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { startHerald } from './herald-process.js';
import { listeningUrl, publisherToken } from './streams.js';

const KEY = 'shutdown-keepalive-test-key-32-bytes';

function post(agent: http.Agent, url: string, token: string, id: string, extra: Record<string, string>) {
  return new Promise<{ status: number; body: string; reused: boolean; connection: string | undefined }>(
    (resolve, reject) => {
      const body = new URLSearchParams({ topic: 'https://example.com/k', data: id, id }).toString();
      const req = http.request(url, {
        method: 'POST',
        agent,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': Buffer.byteLength(body),
          ...extra,
        },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            reused: req.reusedSocket,
            connection: res.headers.connection,
          }),
        );
      });
      req.on('error', reject);
      req.end(body);
    },
  );
}

const readers: { name: string; headers: Record<string, string> }[] = [
  { name: "the hub's publish reader", headers: {} },
  // A header outside the few the publish reader takes leaves the connection to node:http.
  { name: 'node:http', headers: { 'X-Request-Id': 'shutdown-keepalive' } },
];

for (const { name, headers } of readers) {
  test(`a publish on a reused keep-alive connection (read by ${name}) right after SIGTERM gets 503 (the hub is closing), not a connection reset`, async (t) => {
    const herald = startHerald(['serve', '--port', '0', '--host', '127.0.0.1'], { HERALD_JWT_KEY: KEY });
    t.after(() => herald.kill());
    const hub = `${await listeningUrl(herald)}/.well-known/mercure`;
    const token = await publisherToken(KEY);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const first = await post(agent, hub, token, 'before', headers);
    assert.equal(first.status, 200, first.body);

    herald.child.kill('SIGTERM');
    await herald.waitForOutput(/"msg":"shutting down"/);
    const during = await post(agent, hub, token, 'during', headers);
    assert.equal(during.reused, true, 'sent on the connection kept alive from the first publish');
    assert.equal(during.status, 503, during.body);
    assert.match(during.body, /shutting down/);
    assert.equal(during.connection, 'close', 'the connection is not offered for reuse');
    assert.equal(await herald.exited, 0);
  });
}
