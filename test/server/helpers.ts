/**
 * Test helpers for herald/server: servers on port 0 and a raw TCP client that records the exact bytes
 * (and chunks) a stream sends.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { bounded } from '../support/retry.js';

/** Starts a node:http server on port 0; `close()` ends it and every connection. */
export async function listen(
  handler: http.RequestListener,
): Promise<{ server: http.Server; port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Records a socket's setNoDelay calls from now on (true: no delay, false: Nagle on) in `calls`. */
export function spyNoDelay(socket: net.Socket, calls: boolean[] = []): boolean[] {
  const original = socket.setNoDelay.bind(socket);
  socket.setNoDelay = (enable?: boolean) => {
    calls.push(enable !== false);
    return original(enable);
  };
  return calls;
}

/** A raw HTTP/1.1 client: sends one GET and collects the response bytes as they come. */
export class RawClient {
  readonly socket: net.Socket;
  readonly chunks: Buffer[] = [];
  ended = false;
  #waiters: Array<() => void> = [];

  constructor(port: number, path = '/', headers: Record<string, string> = {}, version = '1.1') {
    this.socket = net.connect(port, '127.0.0.1');
    const lines = [`GET ${path} HTTP/${version}`, 'Host: 127.0.0.1', 'Accept: text/event-stream'];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.#wake();
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.#wake();
    });
    this.socket.on('close', () => {
      this.ended = true;
      this.#wake();
    });
    this.socket.on('error', () => {});
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Everything received so far, as text. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** The body so far, with HTTP/1.1 chunked framing removed. */
  body(): string {
    const raw = this.text();
    const start = raw.indexOf('\r\n\r\n');
    if (start === -1) return '';
    return dechunk(raw.slice(start + 4));
  }

  /** The response head (status line and headers). */
  head(): string {
    const raw = this.text();
    return raw.slice(0, raw.indexOf('\r\n\r\n'));
  }

  /**
   * Resolves once `test(this)` holds (checked on every chunk); rejects if the socket ends first, or
   * after retry.ts's bound.
   */
  until(test: (c: RawClient) => boolean): Promise<void> {
    const wait = async () => {
      while (!test(this)) {
        if (this.ended)
          throw new Error(`connection ended before condition held; got ${JSON.stringify(this.text())}`);
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    };
    return bounded(wait(), () => `a condition on the response; got ${JSON.stringify(this.text())}`);
  }

  /** Resolves when the server ends the connection or the response. */
  async untilEnd(): Promise<void> {
    await this.until((c) => c.ended || c.text().endsWith('0\r\n\r\n'));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Removes HTTP/1.1 chunked framing from a complete or partial body. */
export function dechunk(raw: string): string {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const eol = raw.indexOf('\r\n', i);
    if (eol === -1) break;
    const size = Number.parseInt(raw.slice(i, eol), 16);
    if (Number.isNaN(size) || size === 0) break;
    // Sizes count bytes; this helper is used with ASCII payloads.
    out += raw.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
  return out;
}

/** Waits until `test()` holds, polling once per event-loop turn (for server-side state). */
export async function eventually(test: () => boolean, what: string, turns = 5000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (test()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`never happened: ${what}`);
}
