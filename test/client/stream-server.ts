/**
 * A node:http server on port 0 for client tests: each request is recorded, then answered by the
 * test's handler with its 1-based number. Closed, with every socket, when the test ends.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TestContext } from 'node:test';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The Last-Event-ID header decoded as UTF-8, or null. */
  lastEventId: string | null;
}

export interface StreamServer {
  /** e.g. http://127.0.0.1:40123/ */
  url: string;
  requests: SeenRequest[];
  /** Resolves once `n` requests arrived. */
  waitForRequests(n: number): Promise<void>;
}

export type StreamHandler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

export const EVENT_STREAM_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-store' };

export async function startStreamServer(t: TestContext, handler: StreamHandler): Promise<StreamServer> {
  const requests: SeenRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const lastEventId = req.headers['last-event-id'];
    requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      lastEventId:
        typeof lastEventId === 'string' ? Buffer.from(lastEventId, 'latin1').toString('utf8') : null,
    });
    for (const waiter of waiters.filter((w) => requests.length >= w.n)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    handler(req, res, requests.length);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests,
    waitForRequests(n) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}

/** Resolves with the next event of `type` on `target`. */
export function nextEvent<E extends Event = Event>(target: EventTarget, type: string): Promise<E> {
  return new Promise((resolve) => target.addEventListener(type, (e) => resolve(e as E), { once: true }));
}
