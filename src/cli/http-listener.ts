/**
 * The HTTP side of `herald serve`: plain HTTP/1.1, or, with `--tls-cert`/`--tls-key`, TLS with
 * HTTP/2 and HTTP/1.1 on one port (ALPN picks; `allowHTTP1` serves clients that offer only
 * http/1.1, such as `EventSource` over some proxies and `curl --http1.1`). It tracks connections so
 * that a shutdown can end them once the hub has closed its streams.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { UsageError } from './usage-error.js';

/** A request handler for both node:http and the node:http2 compatibility API. */
export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** An HTTP/1.1 `upgrade` handler (WebSocket subscribers: `hub.handleUpgrade`). */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface HttpListener {
  readonly server: http.Server | http2.Http2SecureServer;
  readonly tls: boolean;
  /** Starts listening; resolves with the bound address. */
  listen(port: number, host: string | undefined): Promise<AddressInfo>;
  /** Stops accepting connections; open ones go on. */
  stopAccepting(): void;
  /**
   * Ends the connections left: idle ones and HTTP/2 sessions at once (GOAWAY), busy ones after
   * `graceMs` (they finish what they were doing first). Resolves once all are closed.
   */
  finish(graceMs: number): Promise<void>;
}

/**
 * A client gets 10 s to send its request headers (Node's default, 60 s, lets a slowloris client
 * hold a socket a minute for a few bytes) and 30 s for a whole request with its body; a subscribe
 * request has no body, so its stream is not cut by this.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
/** How often Node checks those timeouts (default 30 s, which would triple the headers bound). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export function createHttpListener(
  tls: { cert: string; key: string } | undefined,
  handler: RequestHandler,
  upgrade?: UpgradeHandler,
): HttpListener {
  let server: http.Server | http2.Http2SecureServer;
  if (tls === undefined) {
    server = http.createServer(
      {
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      },
      handler as http.RequestListener,
    );
  } else {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(tls.cert);
      key = readFileSync(tls.key);
      server = http2.createSecureServer({ cert, key, allowHTTP1: true }, handler as never);
    } catch (error) {
      throw new UsageError(
        `--tls-cert ${tls.cert} and --tls-key ${tls.key} must be a PEM certificate and its private key ` +
          `(${(error as Error).message})`,
      );
    }
  }
  // HTTP/1.1 upgrades, on the TLS listener too (`allowHTTP1`: browsers open WebSockets over
  // HTTP/1.1, as the HTTP/2 listener does not offer RFC 8441's extended CONNECT).
  if (upgrade !== undefined) server.on('upgrade', upgrade);
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  let closed: Promise<void> | undefined;

  return {
    server,
    tls: tls !== undefined,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    stopAccepting() {
      closed ??= new Promise((resolve) => server.close(() => resolve()));
    },
    async finish(graceMs) {
      this.stopAccepting();
      if (server instanceof http.Server) server.closeIdleConnections();
      for (const session of sessions) session.close();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The URL people should open: `localhost` for a wildcard host, brackets around IPv6. */
export function publicUrl(tls: boolean, host: string | undefined, port: number): string {
  const name = host === undefined || host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return `${tls ? 'https' : 'http'}://${name.includes(':') ? `[${name}]` : name}:${port}`;
}
