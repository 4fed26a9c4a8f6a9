/**
 * SSE on a Fastify route: `fastifyStream` hijacks the reply (headers set on it before are kept) and
 * the stream joins a channel of price events. SIGTERM ends the streams and closes Fastify.
 *
 * Run: node --import tsx examples/server-fastify.ts [port]    then: curl -N http://localhost:3000/events
 */
import Fastify from 'fastify';
import { encodeEvent } from 'herald/protocol';
import { Channel, SseServer } from 'herald/server';
import { fastifyStream } from 'herald/server/fastify';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const sse = new SseServer();
const prices = new Channel();

const app = Fastify();
app.get('/events', (request, reply) => {
  reply.header('X-Example', 'fastify'); // kept on the event stream
  prices.add(fastifyStream(request, reply, { server: sse }));
});
await app.listen({ port, host: '127.0.0.1' });
console.log(`listening on http://localhost:${(app.server.address() as { port: number }).port}/events`);

let price = 12.5;
let id = 0;
const ticker = setInterval(() => {
  price = Math.round((price + Math.random() - 0.5) * 100) / 100;
  prices.broadcast(encodeEvent({ event: 'price', id: String(++id), data: String(price) }));
}, 1000);

process.on('SIGTERM', async () => {
  clearInterval(ticker);
  sse.closeAll({ retryMs: 1000 + Math.random() * 4000 }); // end every stream with a retry hint
  await app.close(); // stops accepting and closes the connections left idle
});
