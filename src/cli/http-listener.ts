/**
 * The HTTP side of `herald serve`: plain HTTP/1.1, or, with `--tls-cert`/`--tls-key`, TLS with
 * HTTP/2 and HTTP/1.1 on one port (ALPN picks; `allowHTTP1` serves clients that offer only
 * http/1.1, such as `EventSource` over some proxies and `curl --http1.1`). It tracks connections so
 * that a shutdown can end them once the hub has closed its streams.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { OWN_SOCKET } from '../hub/index.js';
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
  /**
   * Starts listening; resolves with the bound address. `ownSocket`: a cluster worker's socket of its
   * own on the shared port (`OWN_SOCKET`, `SO_REUSEPORT`).
   */
  listen(port: number, host: string | undefined, ownSocket?: typeof OWN_SOCKET): Promise<AddressInfo>;
  /**
   * Stops accepting connections; open ones go on, idle keep-alive ones included: a request a client
   * sends on one now is answered (by a closing hub, 503) with `Connection: close`, not reset.
   */
  stopAccepting(): void;
  /**
   * Ends the connections left: HTTP/2 sessions at once (GOAWAY); HTTP/1.1 ones as they finish their
   * response (`Connection: close`), idle ones included, and whatever is left after `graceMs`.
   * Resolves once all are closed.
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
/**
 * An idle HTTP/1.1 keep-alive connection is closed after 5 s (node:http's default on the plain
 * listener; the TLS listener's HTTP/1.1 side has none unless set: idle connections were still open
 * after 310 s).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * An HTTP/2 session with no frame either way for this long gets GOAWAY: streams it carries finish
 * on their own (a subscriber's heartbeat, every 15 s by default, keeps its session busy anyway),
 * and it opens no new one. 1,004 idle sessions once held every file descriptor of a hub limited to
 * 1,024 for as long as the client wished.
 */
export const HTTP2_IDLE_TIMEOUT_MS = 30_000;
/** A TLS handshake must be done within this (tls's default, 120 s, let silent sockets pile up). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * Streams one HTTP/2 session may hold at once, advertised in SETTINGS_MAX_CONCURRENT_STREAMS.
 * Advertised none, a client opened ~12,288 (Node's per-session memory, `maxSessionMemory`), then
 * 100 were refused and the session destroyed with every subscription on it. With a limit, clients
 * wait for a free stream (browsers and node:http2 do); streams a client opens past it before it has
 * acknowledged the setting are refused one by one (RST_STREAM REFUSED_STREAM).
 */
export const HTTP2_MAX_CONCURRENT_STREAMS = 1_000;

/** Every timeout of a listener, in ms; the defaults above. Tests shorten them. */
export interface ListenerTimeouts {
  headersMs: number;
  requestMs: number;
  keepAliveMs: number;
  http2IdleMs: number;
  tlsHandshakeMs: number;
  checkIntervalMs: number;
}

export const DEFAULT_LISTENER_TIMEOUTS: ListenerTimeouts = {
  headersMs: HEADERS_TIMEOUT_MS,
  requestMs: REQUEST_TIMEOUT_MS,
  keepAliveMs: KEEP_ALIVE_TIMEOUT_MS,
  http2IdleMs: HTTP2_IDLE_TIMEOUT_MS,
  tlsHandshakeMs: TLS_HANDSHAKE_TIMEOUT_MS,
  checkIntervalMs: TIMEOUT_CHECK_INTERVAL_MS,
};

export function createHttpListener(
  tls: { cert: string; key: string } | undefined,
  handle: RequestHandler,
  upgrade?: UpgradeHandler,
  timeouts: ListenerTimeouts = DEFAULT_LISTENER_TIMEOUTS,
): HttpListener {
  let draining = false;
  const handler: RequestHandler = (req, res) => {
    // Draining: each HTTP/1.1 response is the connection's last (HTTP/2 has GOAWAY for that).
    if (draining && req.httpVersionMajor === 1) res.setHeader('Connection', 'close');
    handle(req, res);
  };
  let server: http.Server | http2.Http2SecureServer;
  if (tls === undefined) {
    server = http.createServer(
      {
        headersTimeout: timeouts.headersMs,
        requestTimeout: timeouts.requestMs,
        keepAliveTimeout: timeouts.keepAliveMs,
        connectionsCheckingInterval: timeouts.checkIntervalMs,
      },
      handler as http.RequestListener,
    );
  } else {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(tls.cert);
      key = readFileSync(tls.key);
      server = http2.createSecureServer(
        {
          cert,
          key,
          allowHTTP1: true,
          handshakeTimeout: timeouts.tlsHandshakeMs,
          settings: { maxConcurrentStreams: HTTP2_MAX_CONCURRENT_STREAMS },
        },
        handler as never,
      );
      applyHttp1Timeouts(server, timeouts);
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
  // One listener for every socket ('close' comes once), not a closure and a once-wrapper each:
  // ~0.2 KB per idle subscriber.
  const forget = function (this: Socket): void {
    sockets.delete(this);
  };
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', forget);
  });
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // GOAWAY, not destroy: streams still open finish on their own (see HTTP2_IDLE_TIMEOUT_MS).
    session.setTimeout(timeouts.http2IdleMs, closeIdleSession);
  });
  let closed: Promise<void> | undefined;

  return {
    server,
    tls: tls !== undefined,
    listen(port, host, ownSocket) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, ...ownSocket }, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    stopAccepting() {
      draining = true;
      // `http.Server.close` also closes idle keep-alive connections at once (Node 19+): a publish a
      // client sends on one at that moment meets a reset, and the client cannot tell whether it
      // was taken. Closing only the listening socket keeps them until `finish`.
      closed ??= new Promise((resolve) =>
        server instanceof http.Server
          ? net.Server.prototype.close.call(server, () => resolve())
          : server.close(() => resolve()),
      );
    },
    async finish(graceMs) {
      this.stopAccepting();
      for (const session of sessions) session.close();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      if (server instanceof http.Server) server.closeIdleConnections();
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/**
 * The TLS listener's HTTP/1.1 side (`allowHTTP1`) is node:http's connection handling on the
 * Http2SecureServer, which reads these fields from the server; `createSecureServer` takes none of
 * them as options, and leaves the keep-alive timeout unset (no bound at all).
 */
function applyHttp1Timeouts(server: http2.Http2SecureServer, timeouts: ListenerTimeouts): void {
  const fields = server as unknown as {
    headersTimeout: number;
    requestTimeout: number;
    keepAliveTimeout: number;
    connectionsCheckingInterval: number;
  };
  fields.headersTimeout = timeouts.headersMs;
  fields.requestTimeout = timeouts.requestMs;
  fields.keepAliveTimeout = timeouts.keepAliveMs;
  fields.connectionsCheckingInterval = timeouts.checkIntervalMs;
}

function closeIdleSession(this: http2.ServerHttp2Session): void {
  if (!this.closed && !this.destroyed) this.close();
}

/** The URL people should open: `localhost` for a wildcard host, brackets around IPv6. */
export function publicUrl(tls: boolean, host: string | undefined, port: number): string {
  const name = host === undefined || host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return `${tls ? 'https' : 'http'}://${name.includes(':') ? `[${name}]` : name}:${port}`;
}
