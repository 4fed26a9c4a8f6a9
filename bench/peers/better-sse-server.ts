/**
 * A better-sse server as its documentation writes one: a session per request, a `Channel` per topic,
 * `channel.broadcast` on publish. `GET /sub?topic=a&topic=b` subscribes; `POST /pub/<topic>` with the
 * data as the body publishes. No keep-alive comments and an identity serializer (the data is sent as
 * given), so it writes the same bytes as the others. argv[2]: the port.
 */
import http from 'node:http';
import { Channel, createSession } from 'better-sse';

const channels = new Map<string, Channel>();
const channel = (topic: string): Channel => {
  let c = channels.get(topic);
  if (!c) {
    c = new Channel();
    channels.set(topic, c);
  }
  return c;
};
const options = { keepAlive: null, serializer: (d: unknown) => d as string, retry: 3000 };

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://bench');
  if (req.method === 'GET' && url.pathname === '/sub') {
    const topics = url.searchParams.getAll('topic');
    createSession(req, res, options).then(
      (session) => {
        for (const t of topics) channel(t).register(session);
      },
      () => res.destroy(),
    );
    return;
  }
  if (req.method === 'POST' && url.pathname.startsWith('/pub/')) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      channels.get(url.pathname.slice(5))?.broadcast(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    return;
  }
  res.writeHead(404).end();
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
