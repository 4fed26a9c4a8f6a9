/**
 * Publishers without node:http: a connection whose first request is a plain publish is read by
 * this small HTTP/1.1 reader instead, and anything it does not take is handed back to node:http
 * untouched. Keep-alive publishers gain the most; a publisher that opens a connection per request
 * (`Connection: close`) is answered here too, and the connection closed after the answer.
 *
 * node:http costs a publish several times what the publish itself costs (a profile of a keep-alive
 * publisher put 41% of the hub's CPU in node:http's JavaScript: an IncomingMessage and a
 * ServerResponse per request, their streams, header objects, timers). A publisher's requests are all
 * alike, so this reads exactly that shape and nothing more:
 *
 *   POST /.well-known/mercure HTTP/1.1, a Content-Length within maxBodyBytes, a form or batch
 *   Content-Type, and no header outside Host, Content-Type, Content-Length, Authorization,
 *   Connection (keep-alive or close), User-Agent, Accept and Accept-Encoding.
 *
 * Any other request (another path or method, a cookie or an Origin, which bring CSRF and CORS
 * rules, chunked bodies, Expect, anything malformed) and any request the hub would refuse (bad
 * token, bad update: node:http's path has every error answer with its headers), is handed back
 * before anything of it is stored or answered: its bytes go back in front of the socket
 * (`unshift`) and node:http's own connection listener takes the connection from there, as if it
 * had just been accepted. Only failures of the store itself (409 duplicate ID, 503) are answered
 * here, since by then the update was tried.
 *
 * The first bytes of every connection are looked at once: a subscriber's `GET` goes to node:http
 * at once, one event-loop turn later than it would have.
 */
import { isUtf8 } from 'node:buffer';
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { HubContext } from '../context.js';
import { HUB_PATH } from '../options.js';
import type { SelectorSet } from '../topics/index.js';
import type { Update } from '../update.js';
import { describeError } from './errors.js';
import { mediaType } from './form-body.js';
import { appendBatch, checkBatch, formUpdate } from './publish.js';
import { BATCH_CONTENT_TYPE } from './publish-batch.js';
import { STREAM_FIELD } from './streams.js';
import { parseStrictForm } from './strict-form.js';

const REQUEST_LINE = `POST ${HUB_PATH} HTTP/1.1\r\n`;
const REQUEST_LINE_BYTES = Buffer.from(REQUEST_LINE, 'latin1');
const FORM_TYPE = 'application/x-www-form-urlencoded';
const TEXT_TYPE = 'text/plain; charset=utf-8';
/** Headers read here (lower case); any other sends the request to node:http. */
const KNOWN = [
  'host',
  'content-type',
  'content-length',
  'authorization',
  'connection',
  'user-agent',
  'accept',
  'accept-encoding',
];
/** Longest header section read here (node:http's own limit is 16 KiB). */
const MAX_HEAD_BYTES = 8192;
/** node:http's default keep-alive timeout: an idle publisher connection closes after it. */
const KEEP_ALIVE_MS = 5000;
/** The whole of a request must arrive within this (`herald serve`'s requestTimeout). */
const REQUEST_TIMEOUT_MS = 30_000;
const PUBLISH_URL = new URL(`http://hub.invalid${HUB_PATH}`);
const DIGITS = /^[0-9]{1,10}$/;
const NOTHING = Buffer.alloc(0);
/** `#serveNow`'s answer when the publish must wait (`#serve`). */
const LATER = Symbol('later');

/** One request read off the wire. */
interface Head {
  /** Bytes of the request line and headers, with the blank line. */
  size: number;
  contentLength: number;
  contentType: string;
  authorization: string | undefined;
  /** `Connection: close`: the connection ends after the answer, and nothing after it is read. */
  close: boolean;
}

/**
 * Takes over the connection listener of `server` (plain HTTP/1.1: a TLS listener is left alone)
 * so that keep-alive publishers are read here; every other connection goes to node:http.
 */
export function servePublishConnections(server: http.Server, ctx: HubContext): boolean {
  // node:http's own listener, added by its constructor before anyone else's.
  const nodeListener = server.listeners('connection')[0] as ((socket: Socket) => void) | undefined;
  if (nodeListener?.name !== 'connectionListener') return false;
  server.removeListener('connection', nodeListener);
  const handBack = (socket: Socket, pending: Buffer | undefined): void => {
    socket.pause();
    if (pending !== undefined && pending.length > 0) socket.unshift(pending);
    nodeListener.call(server, socket);
    socket.resume();
  };
  server.prependListener('connection', (socket: Socket) => {
    socket.once('data', (first: Buffer) => {
      if (!startsLikePublish(first)) handBack(socket, first);
      else new PublishConnection(socket, ctx, handBack).feed(first);
    });
  });
  return true;
}

/** True when the bytes may be the start of a publish (the whole request line, or a prefix of it). */
function startsLikePublish(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, REQUEST_LINE_BYTES.length);
  return bytes.compare(REQUEST_LINE_BYTES, 0, n, 0, n) === 0;
}

class PublishConnection {
  readonly #socket: Socket;
  readonly #ctx: HubContext;
  readonly #handBack: (socket: Socket, pending: Buffer | undefined) => void;
  #buffer: Buffer = NOTHING;
  /** When the request partly in `#buffer` started to arrive (0: none pending). */
  #partialSince = 0;
  #busy = false;
  /** Closed, or handed to node:http: nothing more is read or written here. */
  #done = false;
  readonly #onData = (chunk: Buffer): void => this.feed(chunk);
  readonly #onTimeout = (): void => {
    if (!this.#busy) this.#socket.destroy();
  };
  readonly #onEnd = (): void => {
    // A peer that half-closes gets its answers, then the connection ends (as with node:http).
    if (!this.#busy) this.#socket.end();
  };
  readonly #onClose = (): void => {
    this.#done = true;
  };

  constructor(
    socket: Socket,
    ctx: HubContext,
    handBack: (socket: Socket, pending: Buffer | undefined) => void,
  ) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#handBack = handBack;
    socket.on('data', this.#onData);
    socket.on('timeout', this.#onTimeout);
    socket.setTimeout(KEEP_ALIVE_MS);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
  }

  feed(chunk: Buffer): void {
    if (this.#done) return; // closed after a `Connection: close` answer: the rest is not read
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    // A request trickled in byte by byte must still arrive whole within node:http's bound.
    if (this.#partialSince !== 0 && Date.now() - this.#partialSince > REQUEST_TIMEOUT_MS) {
      this.#socket.destroy();
      return;
    }
    if (!this.#busy) this.#next();
  }

  /**
   * Serves the requests buffered, one after the other (pipelined ones in order). A publish that can
   * be served at once (see `#serveNow`) is answered in this turn; one that must wait (a token not
   * verified yet, a batch, a store with I/O) holds the connection until its answer is written.
   */
  #next(): void {
    while (!this.#done) {
      const buffer = this.#buffer;
      if (buffer.length === 0) break;
      if (!startsLikePublish(buffer)) {
        this.#giveUp();
        return;
      }
      const head = readHead(buffer);
      if (head === 'more') {
        if (buffer.length > MAX_HEAD_BYTES) {
          this.#giveUp();
          return;
        }
        break;
      }
      if (head === 'other' || head.contentLength > this.#ctx.options.maxBodyBytes || this.#ctx.closing) {
        this.#giveUp();
        return;
      }
      const end = head.size + head.contentLength;
      if (buffer.length < end) break;
      const body = buffer.subarray(head.size, end);
      const answer = this.#serveNow(head, body);
      if (answer === LATER) {
        this.#busy = true;
        this.#serve(head, body).then(
          (later) => {
            this.#busy = false;
            if (this.#answer(later, end, head.close)) this.#next();
          },
          () => this.#socket.destroy(),
        );
        return;
      }
      if (!this.#answer(answer, end, head.close)) return;
    }
    this.#partialSince = this.#buffer.length === 0 ? 0 : this.#partialSince || Date.now();
    if (this.#socket.readableEnded && this.#buffer.length === 0) this.#socket.end();
  }

  /**
   * Writes the answer to the request that ends at `end` of the buffer; false when the connection is
   * no longer read here (closed meanwhile, handed to node:http for want of an answer, or ended
   * after it as the request asked).
   */
  #answer(answer: string | undefined, end: number, close: boolean): boolean {
    if (this.#done) return false;
    if (answer === undefined) {
      this.#giveUp();
      return false;
    }
    if (close) {
      // As node:http does: the answer, then the end of the connection; pipelined requests after
      // this one are not read.
      this.#done = true;
      this.#buffer = NOTHING;
      this.#socket.end(answer);
      return false;
    }
    // Mostly the whole buffer was that one request: no view of nothing to make then.
    this.#buffer = end === this.#buffer.length ? NOTHING : this.#buffer.subarray(end);
    this.#socket.write(answer);
    return true;
  }

  /** node:http takes the connection from the first request not served here, bytes and all. */
  #giveUp(): void {
    this.#done = true;
    const socket = this.#socket;
    socket.off('data', this.#onData);
    socket.off('timeout', this.#onTimeout);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onClose);
    socket.setTimeout(0);
    this.#handBack(socket, this.#buffer);
  }

  /**
   * The response to a form publish that needs no waiting: its token verified before (and still
   * valid), and a store that appends at once (memory). `LATER` when `#serve` must do it; undefined
   * to leave the request to node:http, as `#serve` would. Nothing is stored unless it is answered.
   */
  #serveNow(head: Head, body: Buffer): string | undefined | typeof LATER {
    const ctx = this.#ctx;
    const store = ctx.store;
    // Publishers send the type as written here, mostly: one comparison then, no string made.
    const form = head.contentType === FORM_TYPE || mediaType(head.contentType) === FORM_TYPE;
    if (store.appendNow === undefined || !form) return LATER;
    const claims = ctx.auth.publisherNow(head.authorization);
    if (claims === undefined) return LATER;
    if (!isUtf8(body)) return undefined;
    let update: Update | undefined;
    try {
      update = formBodyUpdate(ctx, body, claims.publishSelectors);
    } catch {
      return undefined;
    }
    if (update === undefined) return undefined;
    try {
      store.appendNow(update);
    } catch (error) {
      return refused(ctx, error, head.close);
    }
    ctx.metrics.published++;
    // The update's time was read from the clock a moment ago: the Date header needs no other read.
    return response(200, TEXT_TYPE, update.id, head.close, update.time);
  }

  /**
   * The response to one publish, or undefined to leave the request to node:http (nothing of it is
   * stored then).
   */
  async #serve(head: Head, body: Buffer): Promise<string | undefined> {
    const ctx = this.#ctx;
    const type = mediaType(head.contentType);
    if (type !== FORM_TYPE && type !== BATCH_CONTENT_TYPE) return undefined;
    if (!isUtf8(body)) return undefined;
    let updates: Update[];
    let batch: boolean;
    try {
      const headers = head.authorization === undefined ? {} : { authorization: head.authorization };
      const { claims } = await ctx.auth.publisher(headers, PUBLISH_URL);
      if (type === FORM_TYPE) {
        const update = formBodyUpdate(ctx, body, claims.publishSelectors);
        if (update === undefined) return undefined;
        updates = [update];
        batch = false;
      } else {
        // The bytes, not one string: a large batch is parsed a piece at a time (batch-json.ts).
        updates = await checkBatch(ctx, body, claims.publishSelectors);
        batch = true;
      }
    } catch {
      // Refused: node:http's path answers with the status, message and challenge.
      return undefined;
    }
    if (ctx.closing) return undefined;
    try {
      if (batch) await appendBatch(ctx, updates);
      else await ctx.append(updates[0]!);
    } catch (error) {
      return refused(ctx, error, head.close);
    }
    return batch
      ? response(200, 'application/json', JSON.stringify(updates.map((u) => u.id)), head.close)
      : response(200, TEXT_TYPE, updates[0]!.id, head.close);
  }
}

/**
 * The answer to a publish the store refused (409 duplicate ID, 503), counted; a failure of the
 * store itself is logged as node:http's routes log it.
 */
function refused(ctx: HubContext, error: unknown, close: boolean): string {
  ctx.metrics.publishRejected++;
  const { status, message } = describeError(error);
  if (status >= 500) ctx.requestFailed(error, HUB_PATH);
  return response(status, TEXT_TYPE, `${message}\n`, close);
}

/**
 * The update of a form publish's body, checked and granted by `selectors` (else the refusal is
 * thrown), or undefined for a resumable-stream publish, which node:http's path serves.
 */
function formBodyUpdate(
  ctx: HubContext,
  body: Buffer,
  selectors: SelectorSet | undefined,
): Update | undefined {
  const form = parseStrictForm(body.toString('utf8'), 'body');
  return form.has(STREAM_FIELD) ? undefined : formUpdate(ctx, form, selectors);
}

/** No bare CR or LF and no NUL anywhere in a head (node:http refuses them with its own answer). */
const FORBIDDEN = /\0|\r(?!\n)|(?<!\r)\n/;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/**
 * The request line and headers at the start of `buffer`: `more` when they are not all in yet,
 * `other` for anything this reader leaves to node:http. Only the values it needs become strings:
 * this runs once per publish.
 */
function readHead(buffer: Buffer): Head | 'more' | 'other' {
  const end = buffer.indexOf(HEAD_END, REQUEST_LINE_BYTES.length - 2);
  if (end === -1) return 'more';
  const text = buffer.toString('latin1', REQUEST_LINE_BYTES.length, end + 2);
  if (FORBIDDEN.test(text)) return 'other';
  let contentLength: number | undefined;
  let contentType: string | undefined;
  let authorization: string | undefined;
  let close = false;
  for (let from = 0; from < text.length; ) {
    const eol = text.indexOf('\r\n', from);
    const colon = text.indexOf(':', from);
    if (colon <= from || colon > eol) return 'other';
    const name = knownName(text, from, colon);
    if (name === undefined) return 'other';
    if (name === 'content-length') {
      const value = text.slice(colon + 1, eol).trim();
      if (contentLength !== undefined || !DIGITS.test(value)) return 'other';
      contentLength = Number(value);
    } else if (name === 'content-type') {
      if (contentType !== undefined) return 'other';
      contentType = text.slice(colon + 1, eol).trim();
    } else if (name === 'authorization') {
      if (authorization !== undefined) return 'other';
      authorization = text.slice(colon + 1, eol).trim();
    } else if (name === 'connection') {
      const value = text
        .slice(colon + 1, eol)
        .trim()
        .toLowerCase();
      if (value === 'close') close = true;
      else if (value !== 'keep-alive') return 'other';
    }
    from = eol + 2;
  }
  if (contentLength === undefined || contentType === undefined) return 'other';
  return { size: end + 4, contentLength, contentType, authorization, close };
}

/** The known header named by `text[from, to)`, compared without case and without a copy. */
function knownName(text: string, from: number, to: number): string | undefined {
  const length = to - from;
  next: for (const name of KNOWN) {
    if (name.length !== length) continue;
    for (let i = 0; i < length; i++) {
      const want = name.charCodeAt(i);
      const got = text.charCodeAt(from + i);
      // Names are letters and '-': a letter may come in upper case (want - 32).
      if (got !== want && !(want >= 0x61 && got === want - 0x20)) continue next;
    }
    return name;
  }
  return undefined;
}

let dateText = '';
let dateSecond = -1;
/** The Date header's value at `now`, formatted once a second (as node:http does). */
function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  409: 'Conflict',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const KEEP_ALIVE = `Connection: keep-alive\r\nKeep-Alive: timeout=${KEEP_ALIVE_MS / 1000}\r\n`;

function response(status: number, type: string, body: string, close: boolean, now = Date.now()): string {
  return (
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: ${type}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nDate: ${httpDate(now)}\r\n` +
    `${close ? 'Connection: close\r\n' : KEEP_ALIVE}\r\n${body}`
  );
}
