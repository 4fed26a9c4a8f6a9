/**
 * SSE on node:http2's core API: every HTTP/2 stream becomes an event stream joining a channel of
 * price events. Browsers speak HTTP/2 over TLS only: there, use
 * `http2.createSecureServer({ key, cert, allowHTTP1: true })` with the same handler; this example
 * serves cleartext HTTP/2 (h2c) so it runs without a certificate.
 * SIGTERM ends the streams, closes every session and lets the process exit.
 *
 * Run: node --import tsx examples/server-http2.ts [port]    then: curl -N --http2-prior-knowledge http://localhost:3000/
 */
import http2 from 'node:http2';
import { encodeEvent } from 'herald/protocol';
import { Channel, SseServer } from 'herald/server';
import { http2Handler } from 'herald/server/http2';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const sse = new SseServer();
const prices = new Channel();

const server = http2.createServer();
server.on(
  'stream',
  http2Handler((stream) => prices.add(stream), { server: sse }),
);
// HTTP/2 has no closeAllConnections(): keep the sessions to close them on shutdown.
const sessions = new Set<http2.ServerHttp2Session>();
server.on('session', (session) => {
  sessions.add(session);
  session.on('close', () => sessions.delete(session));
});
server.listen(port, () =>
  console.log(`listening on http://localhost:${(server.address() as { port: number }).port}/`),
);

let price = 12.5;
let id = 0;
const ticker = setInterval(() => {
  price = Math.round((price + Math.random() - 0.5) * 100) / 100;
  prices.broadcast(encodeEvent({ event: 'price', id: String(++id), data: String(price) }));
}, 1000);

process.on('SIGTERM', () => {
  clearInterval(ticker);
  server.close(); // stop accepting; the process exits once the last session is gone
  sse.closeAll({ retryMs: 1000 + Math.random() * 4000 }); // end every stream with a retry hint
  for (const session of sessions) session.close(); // GOAWAY; closes once its streams have ended
});
