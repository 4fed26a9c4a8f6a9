/**
 * The WebSocket server a user would write first: a `ws` WebSocketServer on a node:http server, and
 * on each publish `client.send(data)` to every client (ws's own broadcast example). No topics, no
 * history, no resume, no per-client budget; `POST /pub/<topic>` with the data as the body. Any
 * upgrade path subscribes. argv[2]: the port.
 */
import http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url?.startsWith('/pub/')) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const data = Buffer.concat(chunks).toString('utf8');
      for (const client of wss.clients) {
        if (client.readyState === WebSocket.OPEN) client.send(data);
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    return;
  }
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server });
server.keepAliveTimeout = 120_000;
server.listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
