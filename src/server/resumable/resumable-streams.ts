/**
 * Finite resumable streams (a build log, generated text token by token): one producer appends
 * chunks to a store; any number of readers attach at any time, get every chunk from the start (or
 * from their `Last-Event-ID`), then the live tail, then an `end` event, and the response closes.
 *
 * Ending, as readers see it (WHATWG HTML 9.2): the last event is `end` (or `aborted`) with ID
 * `<tag>.end`; the server then closes the response. A client that reconnects anyway sends that ID
 * and gets `204 No Content`, which makes an `EventSource` stop reconnecting for good.
 */

import { InvalidServerOptionError } from '../errors.js';
import { defaultServer } from '../index.js';
import { pickLastEventId } from '../last-event-id.js';
import type { StreamOptions } from '../options.js';
import type { FetchStream, NodeRequest, NodeServerResponse, SseServer } from '../sse-server.js';
import type { SseStream } from '../sse-stream.js';
import {
  ForeignLastEventIdError,
  InvalidStreamIdError,
  ResumableStreamError,
  StreamNotFoundError,
  StreamTooLargeError,
} from './errors.js';
import { newTag, parseResumePoint } from './event-id.js';
import { maxEncodedChunkBytes } from './frames.js';
import { LiveStream, type LiveStreamOwner, PAGE_MAX_BYTES } from './live-stream.js';
import { createMemoryResumableStore } from './memory-store.js';
import type { ResumableStore, StoreLimits, StreamInfo } from './store.js';
import { StreamReader } from './stream-reader.js';
import { StreamWriter, type WriterOwner } from './stream-writer.js';

/** Largest chunk by default: a long log line or a paragraph of generated text fits many times over. */
export const DEFAULT_MAX_CHUNK_BYTES = 256 * 1024;
/** Largest stream by default. Streams are kept whole until they end, so this bounds memory per stream. */
export const DEFAULT_MAX_STREAM_BYTES = 64 * 1024 * 1024;
/** How long a finished stream stays readable: long enough for a reload, a second tab, a flaky phone. */
export const DEFAULT_EXPIRE_AFTER_MS = 10 * 60_000;
/**
 * A stream with no append for this long is aborted (its producer died, or lost its way), and its
 * readers get an `aborted` event instead of waiting forever. A local writer that is merely quiet
 * (a model thinking) keeps its stream alive by itself.
 */
export const DEFAULT_ABORT_AFTER_MS = 30_000;
/** Most streams open at once in a store by default (each costs a few KB even when empty). */
export const DEFAULT_MAX_OPEN_STREAMS = 10_000;
/** Most chunk bytes all kept streams of a store may hold by default: eight full-size streams. */
export const DEFAULT_MAX_HELD_BYTES = 512 * 1024 * 1024;
/** Longest stream ID, in UTF-16 units: IDs go into store keys and URLs. */
export const MAX_STREAM_ID_LENGTH = 512;

/** Options of {@link createResumableStreams}. */
export interface ResumableStreamsOptions {
  /** Where chunks are kept (default: a new memory store, closed with these streams). */
  store?: ResumableStore;
  /** The registry readers' event streams join (heartbeat, `closeAll`); default herald/server's shared one. */
  server?: SseServer;
  /** Options of the readers' event streams (retry hint, logger...). */
  streamOptions?: StreamOptions;
  /** Largest chunk in UTF-8 bytes (default {@link DEFAULT_MAX_CHUNK_BYTES}); past it, 413. */
  maxChunkBytes?: number;
  /** Largest stream in UTF-8 bytes (default {@link DEFAULT_MAX_STREAM_BYTES}); past it, 413. */
  maxStreamBytes?: number;
  /** Finished streams are deleted this long after they end (default {@link DEFAULT_EXPIRE_AFTER_MS}). */
  expireAfterMs?: number;
  /** An open stream with no append for this long is aborted (default {@link DEFAULT_ABORT_AFTER_MS}). */
  abortAfterMs?: number;
  /**
   * Most streams open at once in the store (default {@link DEFAULT_MAX_OPEN_STREAMS}); past it a
   * start fails with `StreamCapacityError` (503). 0: no limit. Checked by the memory and SQLite
   * stores (for every process sharing them); Redis leaves it to Redis's own memory limit.
   */
  maxOpenStreams?: number;
  /**
   * Most chunk bytes held by every stream kept in the store (default {@link DEFAULT_MAX_HELD_BYTES});
   * past it a start or an append fails with `StreamCapacityError` (503). 0: no limit. As `maxOpenStreams`.
   */
  maxHeldBytes?: number;
}

/** A reader ready to be attached to an event stream; see {@link ResumableStreams.open}. */
export interface ReaderStart {
  /** The stream's info when the reader was admitted. */
  readonly info: StreamInfo;
  /** Starts writing to `stream`: replay, live tail, final event, close. Call once. */
  attach(stream: SseStream): void;
  /** Gives the reservation back when no stream will be attached (the request failed meanwhile). */
  cancel(): void;
}

/** What to tell a reader's request: `null` when it already has everything (answer 204). */
export type OpenResult = ReaderStart | null;

function checkMs(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidServerOptionError(
      name,
      `${name} must be an integer of at least ${min} (got ${String(value)}); e.g. ${fallback}`,
    );
  }
  return value;
}

/** Checks a stream ID: 1 to 512 characters, none of them control characters. */
export function checkStreamId(streamId: string): string {
  if (typeof streamId !== 'string' || streamId === '' || streamId.length > MAX_STREAM_ID_LENGTH) {
    throw new InvalidStreamIdError(String(streamId), `strings of 1 to ${MAX_STREAM_ID_LENGTH} characters`);
  }
  if (/[\u0000-\u001f\u007f]/.test(streamId)) {
    throw new InvalidStreamIdError(streamId, 'free of control characters');
  }
  return streamId;
}

/**
 * Makes a set of resumable streams over a store.
 *
 * @example
 * const streams = createResumableStreams();
 * app.post('/generate', async (req, res) => {
 *   const id = crypto.randomUUID();
 *   streams.produce(id, model.generate(req.body.prompt)); // not awaited: runs on its own
 *   res.json({ id });
 * });
 * app.get('/generate/:id', (req, res) => streams.respond(req.params.id, req, res));
 */
export function createResumableStreams(options: ResumableStreamsOptions = {}): ResumableStreams {
  return new ResumableStreams(options);
}

export class ResumableStreams implements LiveStreamOwner, WriterOwner {
  readonly store: ResumableStore;
  readonly maxChunkBytes: number;
  readonly maxStreamBytes: number;
  readonly expireAfterMs: number;
  readonly abortAfterMs: number;
  /** The store limits every create and append carries (none when 0). */
  readonly limits: StoreLimits;
  readonly #ownsStore: boolean;
  readonly #server: SseServer | undefined;
  readonly #streamOptions: StreamOptions;
  readonly #lives = new Map<string, LiveStream>();
  readonly #opening = new Map<string, Promise<LiveStream | undefined>>();
  readonly #writers = new Set<StreamWriter>();
  /**
   * Open streams started or appended to through `start`/`append` (producers outside this process,
   * over HTTP), by when this process last saw them move: checked for idleness on the timer even
   * when no reader watches them.
   */
  readonly #produced = new Map<string, number>();
  readonly #checking = new Set<string>();
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: ResumableStreamsOptions = {}) {
    this.maxChunkBytes = checkMs('maxChunkBytes', options.maxChunkBytes, DEFAULT_MAX_CHUNK_BYTES);
    this.maxStreamBytes = checkMs('maxStreamBytes', options.maxStreamBytes, DEFAULT_MAX_STREAM_BYTES);
    this.expireAfterMs = checkMs('expireAfterMs', options.expireAfterMs, DEFAULT_EXPIRE_AFTER_MS, 0);
    this.abortAfterMs = checkMs('abortAfterMs', options.abortAfterMs, DEFAULT_ABORT_AFTER_MS);
    const maxOpen = checkMs('maxOpenStreams', options.maxOpenStreams, DEFAULT_MAX_OPEN_STREAMS, 0);
    const maxHeld = checkMs('maxHeldBytes', options.maxHeldBytes, DEFAULT_MAX_HELD_BYTES, 0);
    this.limits = {
      ...(maxOpen > 0 && { maxOpenStreams: maxOpen }),
      ...(maxHeld > 0 && { maxHeldBytes: maxHeld }),
    };
    this.#ownsStore = options.store === undefined;
    this.store = options.store ?? createMemoryResumableStore();
    this.#server = options.server;
    // A reader's queue must hold a whole chunk as encoded (line breaks grow), or a single large
    // chunk would close its stream on every retry.
    const base = options.streamOptions ?? {};
    const minQueue = 2 * maxEncodedChunkBytes(this.maxChunkBytes) + 64 * 1024;
    this.#streamOptions =
      base.maxQueueBytes !== undefined && base.maxQueueBytes >= minQueue
        ? base
        : { ...base, maxQueueBytes: Math.max(base.maxQueueBytes ?? 1024 * 1024, minQueue) };
    // One timer for every stream and writer: idle checks, keep-alive touches, a poll in case a
    // store notification was lost.
    this.#tickMs = Math.max(20, Math.min(1000, Math.floor(this.abortAfterMs / 4)));
  }

  /** Stream options the readers' event streams use. */
  get streamOptions(): StreamOptions {
    return this.#streamOptions;
  }

  /**
   * Starts a stream and returns its writer. Rejects with `StreamExistsError` (409) when the ID is
   * in use, `InvalidStreamIdError` (400) for an ID that cannot be one.
   */
  async writer(streamId: string): Promise<StreamWriter> {
    checkStreamId(streamId);
    const info = await this.store.create(streamId, newTag(), this.limits);
    const writer = new StreamWriter(this, streamId, info.tag);
    this.#writers.add(writer);
    this.#startTimer();
    return writer;
  }

  /**
   * Turns an (async) iterable of chunks into a stream: each chunk is appended as it comes, then the
   * end marker. If the iterable throws, the stream is aborted with the error's message and the
   * returned promise rejects with the error. Resolves with the final info.
   */
  async produce(
    streamId: string,
    source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  ): Promise<StreamInfo> {
    const writer = await this.writer(streamId);
    try {
      for await (const chunk of source) {
        if (!writer.write(chunk)) await writer.drained();
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      await writer.abort(reason || 'the producer failed').catch(() => {});
      throw error;
    }
    return writer.end();
  }

  /**
   * For producers outside this process's control (an HTTP route): starts a stream with a new tag,
   * and its first `chunks` in the same step (empty ones skipped). Rejects, creating nothing, with
   * `StreamExistsError` (409) when the ID is in use, `StreamTooLargeError` (413) for a chunk over
   * `maxChunkBytes` or chunks over `maxStreamBytes`, `StreamCapacityError` (503) past a store limit.
   * The stream is aborted if nothing is appended to it for `abortAfterMs`.
   */
  async start(streamId: string, chunks: readonly string[] = []): Promise<StreamInfo> {
    checkStreamId(streamId);
    const { kept, bytes } = this.#checkChunks(streamId, chunks);
    const info = await this.store.create(streamId, newTag(), {
      ...this.limits,
      chunks: kept,
      bytes,
      maxStreamBytes: this.maxStreamBytes,
    });
    this.#track(streamId);
    return info;
  }

  /**
   * Appends chunks to a started stream, all or none; empty ones are skipped. With `after` (the
   * chunks the producer saw stored: the `n` of the last ID it was answered) a retry is harmless:
   * see `AppendOptions.after`. Rejects with `StreamTooLargeError` (413) for a chunk over
   * `maxChunkBytes` (the stream is unchanged) or a stream over `maxStreamBytes` (the stream is
   * aborted: it can never be whole), `StreamNotFoundError` (404), `StreamEndedError` (409),
   * `StreamSequenceError` (409), `StreamCapacityError` (503). Resolves with the stream's chunk count.
   */
  async append(
    streamId: string,
    chunks: readonly string[],
    options: { after?: number } = {},
  ): Promise<number> {
    checkStreamId(streamId);
    const { kept, bytes } = this.#checkChunks(streamId, chunks);
    if (kept.length === 0) {
      await this.store.touch(streamId);
      const { info } = await this.store.read(streamId, 0, 0);
      if (info === undefined) throw new StreamNotFoundError(streamId);
      if (info.state === 'open') this.#track(streamId);
      return info.count;
    }
    try {
      const count = await this.store.append(streamId, kept, bytes, this.maxStreamBytes, {
        ...(options.after !== undefined && { after: options.after }),
        ...(this.limits.maxHeldBytes !== undefined && { maxHeldBytes: this.limits.maxHeldBytes }),
      });
      this.#track(streamId);
      return count;
    } catch (error) {
      if (error instanceof StreamTooLargeError && error.limit === 'maxStreamBytes') {
        // Streams are kept whole: one that cannot take its next chunk can never be complete. Abort
        // it now, so readers learn why instead of waiting for abortAfterMs.
        this.#produced.delete(streamId);
        await this.store.finish(streamId, 'aborted', error.message, this.expireAfterMs).catch(() => {});
      }
      throw error;
    }
  }

  /** Non-empty chunks and their UTF-8 size; `StreamTooLargeError` for one over `maxChunkBytes`. */
  #checkChunks(streamId: string, chunks: readonly string[]): { kept: string[]; bytes: number } {
    const kept: string[] = [];
    let bytes = 0;
    for (const chunk of chunks) {
      if (chunk === '') continue;
      const size = Buffer.byteLength(chunk, 'utf8');
      if (size > this.maxChunkBytes) {
        throw new StreamTooLargeError(streamId, 'maxChunkBytes', size, this.maxChunkBytes);
      }
      kept.push(chunk);
      bytes += size;
    }
    return { kept, bytes };
  }

  /** Watches an open stream written from outside for idleness (see `#produced`). */
  #track(streamId: string): void {
    if (this.#closed) return;
    this.#produced.set(streamId, Date.now());
    this.#startTimer();
  }

  /** Ends a started stream (`ended`), or aborts it with `reason`. Rejects with 404 or 409 errors. */
  finish(streamId: string, state: 'ended' | 'aborted', reason?: string): Promise<StreamInfo> {
    checkStreamId(streamId);
    this.#produced.delete(streamId);
    return this.store.finish(streamId, state, reason, this.expireAfterMs);
  }

  /** The stream's info, or undefined when it does not exist. */
  info(streamId: string): Promise<StreamInfo | undefined> {
    return this.store.read(checkStreamId(streamId), 0, 0).then((page) => page.info);
  }

  /**
   * Admits a reader: resolves with a {@link ReaderStart} to attach to an event stream, or `null`
   * when `lastEventId` says the reader already got the final event (answer 204). Rejects with
   * `StreamNotFoundError` (404) or `ForeignLastEventIdError` (400). For servers that open their
   * event streams themselves (the hub); `respond` and `response` do all of it.
   */
  async open(streamId: string, lastEventId: string | null): Promise<OpenResult> {
    checkStreamId(streamId);
    const live = await this.#acquire(streamId);
    // Reserved from here: every path below either attaches a reader or gives the reservation back.
    try {
      let point = parseResumePoint(lastEventId, live.tag);
      if (point.kind === 'chunks' && point.count > live.count) {
        // The reader may know of chunks this process has not pulled yet: look again, once.
        const { info } = await this.store.read(streamId, 0, 0);
        if (info === undefined || info.tag !== live.tag || point.count > info.count)
          point = { kind: 'foreign' };
      }
      if (point.kind === 'end') {
        if (live.finalFrame !== null) {
          live.unreserve();
          return null;
        }
        point = { kind: 'foreign' };
      }
      if (point.kind === 'foreign')
        throw new ForeignLastEventIdError(streamId, lastEventId ?? '', `${live.tag}.1`);
      const after = point.count;
      const info = live.finalInfo ?? { tag: live.tag, state: 'open' as const, count: live.count, bytes: 0 };
      let used = false;
      return {
        info,
        attach: (stream: SseStream) => {
          if (used) throw new Error('a ReaderStart attaches one stream, once');
          used = true;
          const reader = new StreamReader(live, stream, after);
          live.attached(reader);
          stream.hold(reader);
          if (!stream.closed) reader.catchUp();
        },
        cancel: () => {
          if (used) return;
          used = true;
          live.unreserve();
        },
      };
    } catch (error) {
      live.unreserve();
      throw error;
    }
  }

  /**
   * The live stream of `streamId`, reserved for one reader (see `LiveStream.acquire`); rejects with
   * `StreamNotFoundError` when the store has no such stream.
   */
  async #acquire(streamId: string): Promise<LiveStream> {
    for (;;) {
      if (this.#closed) throw new Error('these resumable streams are closed (the server is shutting down)');
      const live = await this.#live(streamId);
      if (live === undefined) throw new StreamNotFoundError(streamId);
      // Same turn as the lookup: nothing can release it in between. A released (or vanished) one
      // is out of the map already, so the next lookup makes or finds another.
      if (live.acquire()) return live;
    }
  }

  /**
   * Serves a reader on node:http (or Express, which passes node's objects): 404, 400 or 204 as
   * plain text, else an event stream. Resolves once the response started.
   */
  async respond(streamId: string, req: NodeRequest, res: NodeServerResponse): Promise<void> {
    let start: OpenResult;
    try {
      start = await this.open(streamId, this.#lastEventId(req.headers['last-event-id'], req.url));
    } catch (error) {
      const status = error instanceof ResumableStreamError ? error.status : 503;
      const body = `${error instanceof ResumableStreamError ? error.message : 'the stream store is unavailable; retry later'}\n`;
      (res as import('node:http').ServerResponse).writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      });
      res.end(body);
      return;
    }
    if (start === null) {
      (res as import('node:http').ServerResponse).writeHead(204, { 'Cache-Control': 'no-store' });
      res.end();
      return;
    }
    const server = this.#server ?? defaultServer();
    start.attach(server.stream(req, res, this.#streamOptions));
  }

  /**
   * Serves a reader as a Fetch `Response` (Hono, Next.js route handlers, Bun, Deno): 404, 400 or
   * 204, else an event stream.
   */
  async response(streamId: string, request: Request): Promise<Response> {
    let start: OpenResult;
    try {
      start = await this.open(streamId, this.#lastEventId(request.headers.get('last-event-id'), request.url));
    } catch (error) {
      const status = error instanceof ResumableStreamError ? error.status : 503;
      const body = `${error instanceof ResumableStreamError ? error.message : 'the stream store is unavailable; retry later'}\n`;
      return new Response(body, {
        status,
        headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
      });
    }
    if (start === null) return new Response(null, { status: 204, headers: { 'Cache-Control': 'no-store' } });
    const server = this.#server ?? defaultServer();
    const fetched: FetchStream = server.fetch(request, this.#streamOptions);
    start.attach(fetched.stream);
    return fetched.response;
  }

  #lastEventId(header: string | string[] | null | undefined, url: string | undefined): string | null {
    return pickLastEventId(header, url, this.#streamOptions.lastEventIdParams ?? ['lastEventId']);
  }

  /**
   * Stops the timer and closes every reader this object attached, without an end event (they
   * reconnect, to this process once restarted or another one). Closes the store if it made it.
   * Writers are left as they are: end or abort them first.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#produced.clear();
    for (const live of [...this.#lives.values()]) {
      live.closeReaders();
      live.release();
    }
    // Lookups in flight find a released stream and look again: none is made any more.
    this.#lives.clear();
    if (this.#ownsStore) await this.store.close();
  }

  /** The live stream of `streamId`, made on first use; undefined when the store has no such stream. */
  #live(streamId: string): Promise<LiveStream | undefined> {
    const existing = this.#lives.get(streamId);
    if (existing !== undefined) return Promise.resolve(existing);
    let opening = this.#opening.get(streamId);
    if (opening === undefined) {
      opening = this.store.read(streamId, 0, 0).then(
        ({ info }) => {
          this.#opening.delete(streamId);
          if (info === undefined) return undefined;
          // At most half a reader's queue (a page written below its catch-up budget always fits).
          const pageMaxBytes = Math.min(
            PAGE_MAX_BYTES,
            Math.floor((this.#streamOptions.maxQueueBytes ?? 0) / 2),
          );
          const live = new LiveStream(this.store, streamId, info, this, Date.now(), pageMaxBytes);
          this.#lives.set(streamId, live);
          live.watch();
          live.pull();
          this.#startTimer();
          return live;
        },
        (error: unknown) => {
          this.#opening.delete(streamId);
          throw error;
        },
      );
      this.#opening.set(streamId, opening);
    }
    return opening;
  }

  /** @internal */
  released(live: LiveStream): void {
    if (this.#lives.get(live.id) === live) this.#lives.delete(live.id);
  }

  /** @internal */
  failed(live: LiveStream, error: unknown): void {
    // Retried on the next tick; a store that stays down leaves readers waiting for it, not hung:
    // their heartbeats go on and they resume when it is back.
    this.#streamOptions.logger?.warn(
      { err: error, streamId: live.id },
      'resumable stream: store read failed; retrying',
    );
  }

  /** @internal */
  writerDone(writer: StreamWriter): void {
    this.#writers.delete(writer);
  }

  /**
   * A stream written from outside saw nothing here for `abortAfterMs`: abort it if the store saw
   * nothing either (an append through another process counts), else look again later.
   */
  #checkIdle(streamId: string, now: number): void {
    this.#checking.add(streamId);
    const reason = `no chunk for ${this.abortAfterMs} ms: the producer stopped without ending the stream`;
    this.store
      .abortIfIdle(streamId, this.abortAfterMs, reason, this.expireAfterMs)
      .then(async (aborted) => {
        if (aborted) return false;
        const { info } = await this.store.read(streamId, 0, 0);
        return info?.state === 'open';
      })
      .then(
        (stillOpen) => {
          this.#checking.delete(streamId);
          if (!stillOpen) this.#produced.delete(streamId);
          else if (this.#produced.has(streamId)) this.#produced.set(streamId, now);
        },
        () => {
          // The store is down: try again on a later tick.
          this.#checking.delete(streamId);
        },
      );
  }

  #startTimer(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setInterval(tick, this.#tickMs, this);
    this.#timer.unref();
  }

  /** @internal One tick of the shared timer. */
  tick(): void {
    const now = Date.now();
    for (const writer of this.#writers) {
      if (now - writer.lastAppend >= this.abortAfterMs / 3) {
        writer.lastAppend = now;
        this.store.touch(writer.streamId).catch(() => {});
      }
    }
    for (const live of this.#lives.values()) {
      if (!live.open) continue;
      live.pull();
      if (now - live.lastChange >= this.abortAfterMs) {
        live.lastChange = now;
        const reason = `no chunk for ${this.abortAfterMs} ms: the producer stopped without ending the stream`;
        this.store.abortIfIdle(live.id, this.abortAfterMs, reason, this.expireAfterMs).then(
          (aborted) => {
            if (aborted) live.pull();
          },
          () => {},
        );
      }
    }
    for (const [streamId, seen] of this.#produced) {
      if (now - seen < this.abortAfterMs || this.#checking.has(streamId)) continue;
      this.#checkIdle(streamId, now);
    }
    if (
      this.#writers.size === 0 &&
      this.#lives.size === 0 &&
      this.#produced.size === 0 &&
      this.#timer !== null
    ) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}

function tick(streams: ResumableStreams): void {
  streams.tick();
}
