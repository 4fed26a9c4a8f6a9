/**
 * A proxy that buffers every response whole before passing it on (nginx's proxy_buffering with a
 * large buffer, some corporate proxies): the head goes through at once, the body only once it
 * ended, so an event stream opens and then stays silent. It speaks plain HTTP only, so a WebSocket
 * upgrade through it fails too.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

/** Starts the proxy in front of `upstream` (an http origin); closed by `t.after`. Returns its origin. */
export async function bufferingProxy(t: TestContext, upstream: string): Promise<string> {
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const forward = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        res.flushHeaders();
        const chunks: Buffer[] = [];
        up.on('data', (chunk: Buffer) => chunks.push(chunk));
        up.on('end', () => res.end(Buffer.concat(chunks)));
        res.on('close', () => up.destroy());
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
