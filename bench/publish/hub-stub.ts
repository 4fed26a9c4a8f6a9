/**
 * The other end of the publish benchmark: a node:http endpoint that answers like a Mercure hub's
 * publish route (form body parsed, bearer token and topic required, 200 text/plain with a fresh ID)
 * and does nothing else, so the figures measure the publisher and its connections, not a hub.
 * Prints `{"port":N}` on stdout once listening, `{"connections":N}` for each line read on stdin,
 * and exits when stdin closes.
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
// Node closes idle keep-alive sockets after 5 s, shorter than a round of the other mode on a loaded
// machine; hubs behind Caddy keep them for minutes, so keep them here for the whole run.
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
let connections = 0;
server.on('connection', () => connections++);
// Each line on stdin asks for the number of TCP connections accepted so far.
process.stdin.setEncoding('utf8');
process.stdin.on('data', () => {
  process.stdout.write(`${JSON.stringify({ connections })}\n`);
});
process.stdin.on('end', () => {
  server.closeAllConnections();
  server.close();
});
