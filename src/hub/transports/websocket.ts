/**
 * WebSocket subscribers on the hub URL (`GET /.well-known/mercure` with `Upgrade: websocket`):
 * the same lifecycle as an event stream (subscription/lifecycle.ts: query, tokens, history, resume
 * and limits); only the stream differs, a herald/server stream over a {@link WebSocketSink}.
 *
 * ws checks the handshake (400/405 for a malformed one), then the hub's checks and the admission
 * run in ws's `verifyClient`, so a refused subscription is an HTTP error before any upgrade; once
 * upgraded, every end is a close frame whose code says why (ws-sink.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { SseServer, type StreamOptions } from '../../server/index.js';
import type { HubContext } from '../context.js';
import type { AttachableStream } from '../subscribers/subscriber.js';
import type { Admitted } from '../subscription/admission.js';
import { runSubscription } from '../subscription/lifecycle.js';
import { PING_FRAME, textFrame } from './ws-frame.js';
import { CloseCode, type ClosingState, WebSocketSink } from './ws-sink.js';

/**
 * Largest frame read from a client. Clients send no messages on this connection (a message closes
 * it with 1003), so anything bigger is closed with 1009 before it is buffered.
 */
export const WS_MAX_PAYLOAD = 1024;

/** How long a shutdown waits for clients to answer the close frame before cutting their sockets. */
const SHUTDOWN_GRACE_MS = 1000;

/** Reasons for the closes ws starts itself (it sends none): why the hub read no further. */
const RECEIVER_REASONS = new Map<number, string>([
  [1002, 'protocol error in a frame from the client'],
  [1007, 'invalid UTF-8 in a text frame from the client'],
  [CloseCode.tooBig, `frame over ${WS_MAX_PAYLOAD} bytes: clients send no messages on this connection`],
]);

/** ws's socket class, with reasons on the closes its receiver starts. */
class HubWebSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    super.close(code, data === undefined && code !== undefined ? RECEIVER_REASONS.get(code) : data);
  }
}

const kAdmitted = Symbol('herald.wsAdmitted');
const kStream = Symbol('herald.wsStream');
type UpgradeRequest = IncomingMessage & {
  [kAdmitted]?: Admitted | undefined;
  [kStream]?: AttachableStream | undefined;
};

/** How a refused upgrade is answered: an HTTP status, its message and any `WWW-Authenticate` challenge. */
export interface Refusal {
  status: number;
  message: string;
  challenge?: string;
}

/** Checks the hub makes before a subscription is admitted (path, shutdown, transport, origin, address). */
export type UpgradeGate = (req: IncomingMessage, socket: Duplex) => { ignoreCookie: boolean };

export class WebSocketTransport implements ClosingState {
  shutdown: { code: number; reason: string } | null = null;
  readonly closing = new Set<WebSocket>();
  /** The WebSocket streams: their heartbeat (a ping) and shutdown. */
  readonly server: SseServer;
  readonly #ctx: HubContext;
  readonly #wss: WebSocketServer;
  readonly #streamOptions: StreamOptions;
  readonly #gate: UpgradeGate;
  readonly #refusal: (error: unknown) => Refusal;

  /** `refusal`: the hub's HTTP answer to an error thrown by the gate or the admission. */
  constructor(ctx: HubContext, gate: UpgradeGate, refusal: (error: unknown) => Refusal) {
    this.#ctx = ctx;
    this.#gate = gate;
    this.#refusal = refusal;
    this.server = new SseServer({ heartbeatMs: ctx.options.heartbeatMs });
    this.#streamOptions = {
      ...ctx.streamOptions,
      openBytes: new Uint8Array(0),
      heartbeatBytes: PING_FRAME,
      detachConnections: false,
    };
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: WS_MAX_PAYLOAD,
      // Streams are tracked by `server`; ws's own set would add a closure per socket.
      clientTracking: false,
      WebSocket: HubWebSocket,
      verifyClient: (info, done) => {
        this.#verify(info.req as UpgradeRequest, done);
      },
    });
    this.#wss.on('headers', (headers: string[], req: UpgradeRequest) => {
      const admitted = req[kAdmitted];
      if (admitted === undefined) return;
      // IDs hold no CR, LF or NUL (publish-input.ts). ws writes these lines as UTF-8: a non-ASCII
      // ID goes as its UTF-8 bytes, as cursor-header.ts's rule asks.
      if (admitted.draft07) headers.push(`Last-Event-ID: ${admitted.cursor}`);
      if (admitted.v1) headers.push(`Mercure-Last-Event-ID: ${admitted.cursor}`);
    });
  }

  /** Serves an HTTP `upgrade` event (node:http, https, or http2 with `allowHTTP1`). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws, request) => this.#open(ws, request as UpgradeRequest));
  }

  async #verify(
    req: UpgradeRequest,
    done: (ok: boolean, status?: number, message?: string, headers?: Record<string, string>) => void,
  ): Promise<void> {
    const ctx = this.#ctx;
    let upgraded = false;
    try {
      const { ignoreCookie } = this.#gate(req, req.socket);
      const url = new URL(req.url ?? '/', 'http://hub.invalid');
      await runSubscription(
        ctx,
        req,
        url,
        {
          format: 'ws',
          announce: true,
          headOnly: false,
          open: (admitted) => {
            upgraded = true;
            return this.#upgrade(req, admitted, done);
          },
        },
        { ignoreCookie },
      );
    } catch (error) {
      if (upgraded) {
        // Opening the stream itself failed after ws wrote the 101: nothing to refuse any more.
        ctx.logger?.error({ err: error, url: req.url }, 'WebSocket subscription failed');
        return;
      }
      ctx.metrics.subscribeRejected++;
      const { status, message, challenge } = this.#refusal(error);
      if (status >= 500) ctx.logger?.error({ err: error, url: req.url }, 'WebSocket subscription failed');
      const headers: Record<string, string> = {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
      };
      if (challenge !== undefined) headers['WWW-Authenticate'] = challenge;
      if (status === 429 || status === 503) headers['Retry-After'] = '1';
      done(false, status, `${message}\n`, headers);
    }
  }

  /**
   * Completes the upgrade of an admitted subscription: ws writes the 101 (with the cursor headers)
   * and calls #open synchronously, which opens the stream. Null when the client left before it (ws
   * destroyed the socket and calls nothing).
   */
  #upgrade(req: UpgradeRequest, admitted: Admitted, done: (ok: boolean) => void): AttachableStream | null {
    req[kAdmitted] = admitted;
    done(true);
    req[kAdmitted] = undefined;
    const stream = req[kStream] ?? null;
    req[kStream] = undefined;
    return stream;
  }

  #open(ws: WebSocket, req: UpgradeRequest): void {
    const admitted = req[kAdmitted]!;
    const socket = req.socket;
    // As for event streams: Nagle's algorithm batches frames that follow one another closely (ws
    // turns it off on every socket it accepts).
    if (!this.#ctx.options.tcpNoDelay) socket.setNoDelay(false);
    const stream = this.server.open(
      (owner) => new WebSocketSink(ws, socket, owner, this, admitted.subscriber),
      this.#streamOptions,
    );
    // The first frame tells the client where it resumes from (browsers cannot read the headers).
    stream.write(openFrame(admitted));
    req[kStream] = stream;
  }

  /**
   * Ends every WebSocket stream with 1012 (`retryMs` in the reason when given), waits a moment for
   * the closing handshakes, then cuts the sockets that did not answer.
   */
  async close(retryMs?: number): Promise<void> {
    const when = retryMs === undefined ? '' : ` in ${Math.round(retryMs)} ms`;
    this.shutdown = {
      code: CloseCode.serviceRestart,
      reason: `hub shutting down: reconnect${when} with lastEventID`,
    };
    this.server.closeAll();
    const closing = this.closing;
    if (closing.size > 0) {
      const deadline = Date.now() + SHUTDOWN_GRACE_MS;
      while (closing.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const ws of closing) ws.terminate();
    }
    this.#wss.close();
  }
}

/**
 * `{"herald":"open","lastEventID":…}`: the frame every WebSocket subscription starts with, giving
 * its resume cursor (and `"resumed":false` after a lossy resume: updates may be missing).
 */
function openFrame(admitted: Admitted): Buffer {
  const body: { herald: 'open'; lastEventID: string; resumed?: false } = {
    herald: 'open',
    lastEventID: admitted.cursor,
  };
  if (!admitted.resumed) body.resumed = false;
  return textFrame(Buffer.from(JSON.stringify(body)));
}
