/**
 * An SSE endpoint on node:http: every client gets the price events broadcast to the channel, and
 * SIGTERM ends the streams with a retry hint, closes the server and lets the process exit.
 *
 * Run: node --import tsx examples/server-node.ts [port]    then: curl -N http://localhost:3000/
 */
import http from 'node:http';
import { encodeEvent } from 'herald/protocol';
import { Channel, SseServer } from 'herald/server';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);

const sse = new SseServer({ heartbeatMs: 15_000, maxQueueBytes: 1 << 20, overflow: 'close' });
const prices = new Channel();

const server = http
  .createServer((req, res) => {
    const stream = sse.stream(req, res); // node:http, https, or node:http2 compat (req, res)
    prices.add(stream); // leaves by itself on close
    stream.on('close', () => console.log('gone'));
  })
  .listen(port, () =>
    console.log(`listening on http://localhost:${(server.address() as { port: number }).port}/`),
  );

let price = 12.5;
let id = 0;
const ticker = setInterval(() => {
  price = Math.round((price + Math.random() - 0.5) * 100) / 100;
  prices.broadcast(encodeEvent({ event: 'price', id: String(++id), data: String(price) })); // encoded once, for all
}, 1000);

process.on('SIGTERM', () => {
  clearInterval(ticker);
  server.close(); // stop accepting; the process exits once the last connection is gone
  sse.closeAll({ retryMs: 1000 + Math.random() * 4000 }); // end every stream with a retry hint
  // The ended streams leave keep-alive connections open: close them once the hints are out.
  setTimeout(() => server.closeAllConnections(), 1000).unref();
});
