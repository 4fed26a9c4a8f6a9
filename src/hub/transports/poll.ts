/**
 * Long polling, for clients behind proxies that buffer streamed responses:
 * `GET /.well-known/mercure?topic=…&transport=poll[&lastEventID=…]`.
 *
 * A poll is a subscriber like any other (same lifecycle: admission, authorization, history and
 * go-live, see subscription/lifecycle.ts), whose stream is the response: the first updates written to it are answered at the
 * end of that event-loop turn, as one JSON document with the new cursor. A poll with nothing to
 * send waits, up to `pollTimeoutMs`, through the registry's shared expiry queue (one timer for every
 * waiting poll and token), then answers an empty list. Polls are requests, not connections: they are
 * not announced (no subscription events, not in the subscriptions API).
 */
import type { ServerResponse } from 'node:http';
import type { HubContext, Req, Res } from '../context.js';
import type { AttachableStream, Subscriber } from '../subscribers/subscriber.js';
import type { Admitted } from '../subscription/admission.js';
import { setCursorHeaders } from '../subscription/cursor-header.js';
import { runSubscription } from '../subscription/lifecycle.js';

const kPoll = Symbol('herald.poll');
type TaggedResponse = ServerResponse & { [kPoll]?: PollStream | undefined };

const PREFIX = Buffer.from('{"lastEventID":');
const UPDATES = Buffer.from(',"updates":[');
const COMMA = Buffer.from(',');
const SUFFIX = Buffer.from(']}');
const NOT_RESUMED = Buffer.from(',"resumed":false');

function onResponseClose(this: TaggedResponse): void {
  this[kPoll]?.lost();
}

function respondNow(stream: PollStream): void {
  stream.close();
}

/** One long-poll response as a subscriber stream: collects updates (poll-format JSON) and answers once. */
export class PollStream implements AttachableStream {
  closed = false;
  /** Nothing waits on a socket: the answer goes out whole, bounded by `maxBytes`. */
  readonly queuedBytes = 0;
  readonly #res: TaggedResponse;
  readonly #maxBytes: number;
  readonly #resumed: boolean;
  readonly #draft07: boolean;
  readonly #v1: boolean;
  #cursor: string;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;
  #holder: Subscriber | null = null;

  /** Answers `res` for an admitted poll, with at most `maxBytes` of updates. */
  constructor(res: Res, admitted: Admitted, maxBytes: number) {
    this.#res = res as TaggedResponse;
    this.#cursor = admitted.cursor;
    this.#resumed = admitted.resumed;
    this.#draft07 = admitted.draft07;
    this.#v1 = admitted.v1;
    this.#maxBytes = maxBytes;
    this.#res[kPoll] = this;
    res.once('close', onResponseClose);
  }

  hold(holder: Subscriber): void {
    if (this.closed) holder.release();
    else this.#holder = holder;
  }

  /** A poll is never slow: a full answer is sent, and the rest comes with the next poll. */
  on(_event: 'slow', _listener: () => void): this {
    return this;
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.#chunks.length > 0 && this.#bytes + chunk.byteLength > this.#maxBytes) {
      // Full: answer now; what did not fit comes with the next poll, from the new cursor.
      this.close();
      return false;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    if (!this.#scheduled) {
      // Answer at the end of this turn: updates delivered together go out together.
      this.#scheduled = true;
      process.nextTick(respondNow, this);
    }
    return true;
  }

  whenDrained(): Promise<void> {
    return Promise.resolve();
  }

  /** Answers with what was collected (the `final` bytes of other transports do not apply). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const res = this.#res;
    res[kPoll] = undefined;
    res.removeListener('close', onResponseClose);
    const chunks = this.#chunks;
    this.#chunks = [];
    try {
      this.#answer(res, chunks);
    } catch {
      // A poll is a request: it always gets an answer. An answer that cannot be built (nothing
      // valid does this today) is a 500, and the next poll resumes from the cursor the client had.
      if (!res.destroyed && !res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end('internal error\n');
      } else res.destroy();
    } finally {
      this.#release();
    }
  }

  #answer(res: TaggedResponse, chunks: Uint8Array[]): void {
    // The new cursor is the last update's ID: parsing one object per answer is cheaper than
    // keeping an ID beside every chunk.
    if (chunks.length > 0)
      this.#cursor = (JSON.parse(Buffer.from(chunks.at(-1)!).toString()) as { id: string }).id;
    const parts: Uint8Array[] = [PREFIX, Buffer.from(JSON.stringify(this.#cursor))];
    if (!this.#resumed) parts.push(NOT_RESUMED);
    parts.push(UPDATES);
    for (let i = 0; i < chunks.length; i++) {
      if (i > 0) parts.push(COMMA);
      parts.push(chunks[i]!);
    }
    parts.push(SUFFIX);
    const body = Buffer.concat(parts);
    if (!res.destroyed && !res.headersSent) {
      setCursorHeaders(res, { cursor: this.#cursor, draft07: this.#draft07, v1: this.#v1 });
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': body.byteLength,
        'Cache-Control': 'no-store',
      });
      res.end(body);
    }
  }

  /** The client went away before the answer. */
  lost(): void {
    if (this.closed) return;
    this.closed = true;
    this.#chunks = [];
    this.#res[kPoll] = undefined;
    this.#release();
  }

  #release(): void {
    const holder = this.#holder;
    this.#holder = null;
    holder?.release();
  }
}

/**
 * `GET /.well-known/mercure?transport=poll`: answers at once with what follows the cursor, or waits.
 * Every end is an answer: a poll ended by expiry, shutdown or a history failure answers what it
 * collected with the cursor of the last update in it.
 */
export function handlePoll(ctx: HubContext, req: Req, res: Res, url: URL): Promise<void> {
  return runSubscription(ctx, req, url, {
    format: 'poll',
    announce: false,
    headOnly: req.method === 'HEAD',
    open(admitted) {
      const stream = new PollStream(res, admitted, ctx.options.maxQueuedBytes);
      if (res.destroyed) stream.lost();
      return stream;
    },
  });
}
