/**
 * The hub as a library: a Mercure hub on node:http next to your own routes, keeping its history in
 * SQLite, publishing from this process every second, and shutting down cleanly on SIGTERM.
 *
 * Run: JWT_KEY=<at least 32 bytes> node --import tsx examples/hub.ts [port]
 * then: curl -N 'http://localhost:3000/.well-known/mercure?topic=https://example.com/books/1'
 * or a WebSocket on the same URL (ws://localhost:3000/.well-known/mercure?topic=…).
 */

import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHub, DEFAULT_RETENTION, openStore } from 'herald/hub';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const database = join(mkdtempSync(join(tmpdir(), 'herald-example-')), 'herald.db');

const hub = createHub({
  store: await openStore(`sqlite:${database}`, DEFAULT_RETENTION),
  jwt: { key: process.env.JWT_KEY! },
  anonymous: true,
});

function serveMyPages(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`my page at ${req.url}\n`);
}

// Event streams, long polling and WebSocket upgrades on the hub URL; every other path to the app.
const server = hub
  .attach(http.createServer(), serveMyPages)
  .listen(port, () =>
    console.log(`listening on http://localhost:${(server.address() as { port: number }).port}/`),
  );

// In-process publish (no token): one update, encoded once, written to every matching subscriber.
let edition = 0;
const publishing = setInterval(() => {
  void hub.publish({
    topics: ['https://example.com/books/1'],
    data: JSON.stringify({ title: 'Dune', edition: ++edition }),
  });
}, 1000);

process.on('SIGTERM', async () => {
  clearInterval(publishing);
  server.close(); // stop accepting; the process exits once the last connection is gone
  await hub.close({ retryMs: 1000 + Math.random() * 4000 }); // streams end with a retry hint, then the store closes
});
