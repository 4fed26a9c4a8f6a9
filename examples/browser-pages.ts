/**
 * Serves the browser examples (client-browser.html, shared-event-source.html) as a site would: the
 * pages, the prebuilt browser client as /herald-client.js, and a hub on the same origin running the
 * demo publishers (the clock the pages subscribe to). SIGTERM shuts it down.
 *
 * Run: node --import tsx examples/browser-pages.ts [port]
 * then open http://localhost:3000/client-browser.html (in two tabs: /shared-event-source.html)
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createHub, mountDemo } from 'herald/hub';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const pages = new Map(
  ['client-browser.html', 'shared-event-source.html'].map((name) => [
    `/${name}`,
    readFileSync(new URL(name, import.meta.url)),
  ]),
);

const hub = createHub({ jwt: { key: randomBytes(32).toString('base64url') }, anonymous: true });
const demo = await mountDemo(hub); // the clock and ticker publishers, and /herald-client.js

const server = http
  .createServer((req, res) =>
    hub.handle(req, res, () => {
      const page = pages.get(new URL(req.url ?? '/', 'http://localhost').pathname);
      if (page === undefined) return demo.handle(req, res);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
    }),
  )
  .listen(port, () =>
    console.log(`listening on http://localhost:${(server.address() as { port: number }).port}/`),
  );

process.on('SIGTERM', async () => {
  demo.close();
  server.close(); // stop accepting; the process exits once the last connection is gone
  await hub.close({ retryMs: 1000 + Math.random() * 4000 });
});
