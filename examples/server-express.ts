/**
 * SSE on an Express route: `expressHandler` turns the request into a stream that joins a channel
 * of price events. SIGTERM ends the streams, closes the server and lets the process exit.
 *
 * Run: node --import tsx examples/server-express.ts [port]    then: curl -N http://localhost:3000/events
 */
import express from 'express';
import { encodeEvent } from 'herald/protocol';
import { Channel, SseServer } from 'herald/server';
import { expressHandler } from 'herald/server/express';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const sse = new SseServer();
const prices = new Channel();

const app = express();
app.get(
  '/events',
  expressHandler((stream) => prices.add(stream), { server: sse }),
);
const server = app.listen(port, () =>
  console.log(`listening on http://localhost:${(server.address() as { port: number }).port}/events`),
);

let price = 12.5;
let id = 0;
const ticker = setInterval(() => {
  price = Math.round((price + Math.random() - 0.5) * 100) / 100;
  prices.broadcast(encodeEvent({ event: 'price', id: String(++id), data: String(price) }));
}, 1000);

process.on('SIGTERM', () => {
  clearInterval(ticker);
  server.close(); // stop accepting; the process exits once the last connection is gone
  sse.closeAll({ retryMs: 1000 + Math.random() * 4000 }); // end every stream with a retry hint
  setTimeout(() => server.closeAllConnections(), 1000).unref(); // keep-alive connections left
});
