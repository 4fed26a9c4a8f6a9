/**
 * SSE from a Fetch-style handler, `(request) => Response`, the shape Bun, Deno and undici-based
 * servers call: here on Node through @hono/node-server, which runs any such handler.
 * SIGTERM ends the streams, closes the server and lets the process exit.
 *
 * Run: node --import tsx examples/server-fetch.ts [port]    then: curl -N http://localhost:3000/
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { encodeEvent } from 'herald/protocol';
import { Channel, SseServer } from 'herald/server';
import { fetchHandler } from 'herald/server/fetch';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const sse = new SseServer();
const prices = new Channel();

// Bun or Deno: `export default { fetch: handler }` or `Deno.serve(handler)`.
const handler = fetchHandler((stream) => prices.add(stream), { server: sse });
const server = serve({ fetch: handler, port }, (info) =>
  console.log(`listening on http://localhost:${info.port}/`),
) as Server;

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
