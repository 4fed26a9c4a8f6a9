/**
 * The least a Node server on node:net does per keep-alive request: find where each request ends
 * (its head, then `Content-Length` bytes) and write a fixed 200 answer of the size of the hub's.
 * No routing, no token, no store. `bench/publish/hub-ab.ts --with node-net` runs it beside the hub
 * and nchan: its CPU per request is the part of a publish's cost that is Node's own socket, stream
 * and event-loop machinery, which no code above node:net can remove.
 *
 *   node --import tsx bench/publish/node-net-floor.ts PORT
 */
import net from 'node:net';

const ANSWER =
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 45\r\n' +
  'Cache-Control: no-store\r\nDate: Mon, 07 Dec 2026 18:00:00 GMT\r\nConnection: keep-alive\r\n' +
  'Keep-Alive: timeout=5\r\n\r\nurn:uuid:00000000-0000-4000-8000-000000000000';
const HEAD_END = Buffer.from('\r\n\r\n');
const LENGTH = /\r\ncontent-length: *([0-9]+)/i;

const port = Number(process.argv[2]);
net
  .createServer((socket) => {
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf(HEAD_END);
        if (end === -1) return;
        const length = Number(LENGTH.exec(pending.toString('latin1', 0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        pending = pending.subarray(end + 4 + length);
        socket.write(ANSWER);
      }
    });
    socket.on('error', () => socket.destroy());
  })
  .listen(port, '127.0.0.1');
