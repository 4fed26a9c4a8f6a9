/**
 * The other end of the publish benchmark: a node:http endpoint that answers like a Mercure hub's
 * publish route (form body parsed, bearer token and topic required, 200 text/plain with a fresh ID)
 * and does nothing else, so the figures measure the publisher and its connections, not a hub.
 * Prints `{"port":N}` on stdout once listening; exits when stdin closes.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    if (!req.headers.authorization?.startsWith('Bearer ')) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
      return;
    }
    if (req.method !== 'POST' || form.getAll('topic').length === 0) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad Request: missing topic');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(form.get('id') ?? `urn:uuid:${randomUUID()}`);
  });
});
// Node's default keep-alive timeout (5 s) is longer than any pause in the run; no tuning needed.
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => {
  server.closeAllConnections();
  server.close();
});
