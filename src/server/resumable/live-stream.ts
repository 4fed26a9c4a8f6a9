/**
 * One resumable stream as this process serves it: the readers attached to it, the chunks they
 * all have (`count`), and the encoded pages they share.
 *
 * The producer only appends to the store; it never waits for a reader. Readers that are caught up
 * ("live") get each newly stored run of chunks as one buffer, read from the store once and encoded
 * once for all of them. A reader that falls behind (its queue over half its bound) leaves the live
 * set and reads on from the store by sequence number at its own pace, a page per drain, then
 * rejoins: a slow reader costs only itself.
 *
 * Its life has explicit states (see {@link LiveState}). A reader first reserves it (`acquire`,
 * synchronously, in the same turn that found it), so it cannot be released between being found
 * and being attached to: once released it is never handed out again, and a new one is made.
 */
import type { SseStream } from '../sse-stream.js';
import { encodeChunk, encodeChunks, encodeFinal } from './frames.js';
import type { ResumableStore, StreamInfo } from './store.js';
import type { StreamReader } from './stream-reader.js';

/** Chunks per page: pages aligned on multiples of this are encoded once and shared. */
export const PAGE_CHUNKS = 256;
/**
 * A page stops growing past this many encoded bytes, or half a reader's queue when less (it always
 * holds at least one chunk). Room for a whole page of 1 KB chunks with their framing, so that
 * such pages are still cached and shared.
 */
export const PAGE_MAX_BYTES = 320 * 1024;
/** Encoded pages kept per stream while it has readers: late readers replay from memory. */
const CACHE_MAX_BYTES = 16 * 1024 * 1024;

/** A page of encoded chunks: `n` chunks after the reader's position. */
export interface Page {
  bytes: Uint8Array;
  n: number;
}

/**
 * - `following`: watching the store; chunks are pulled as they are stored.
 * - `finished`: the stream ended or was aborted and every chunk is in `count` (`finalFrame` is set).
 * - `gone`: the stream vanished from the store (expired): readers are closed without an end event.
 * - `released`: its last reader left (or it was never used); it is out of its owner's map and is
 *   never handed to a reader again. Final.
 */
export type LiveState = 'following' | 'finished' | 'gone' | 'released';

/** What a live stream tells the object that holds it. */
export interface LiveStreamOwner {
  /** Its last reader left, or the stream vanished from the store: forget it. */
  released(live: LiveStream): void;
  /** A store operation failed (reported, then retried on the next tick). */
  failed(live: LiveStream, error: unknown): void;
}

export class LiveStream {
  readonly id: string;
  readonly tag: string;
  /** Chunks every live reader has been given (or will be, queued); readers catch up to this. */
  count: number;
  /** The final event's bytes once the stream ended or was aborted and every chunk is in `count`. */
  finalFrame: Uint8Array | null = null;
  /** The info the final frame was made from. */
  finalInfo: StreamInfo | null = null;
  /** Where it is in its life; see {@link LiveState}. */
  state: LiveState = 'following';
  /** Readers that reserved it (`acquire`): attached ones, and ones being admitted. */
  readers = 0;
  /** When `count` (or a touch seen by the store) last moved, by this process's clock. */
  lastChange: number;

  readonly #store: ResumableStore;
  readonly #owner: LiveStreamOwner;
  readonly #live = new Set<StreamReader>();
  /** Every attached reader, live or catching up: all closed by `closeReaders`. */
  readonly #attached = new Set<StreamReader>();
  /** Largest encoded page: half a reader's queue, so a page always fits in it. */
  readonly #pageMaxBytes: number;
  #unwatch: (() => void) | null = null;
  #pulling = false;
  #again = false;
  readonly #pages = new Map<number, Page | Promise<Page>>();
  #cachedBytes = 0;

  constructor(
    store: ResumableStore,
    id: string,
    info: StreamInfo,
    owner: LiveStreamOwner,
    now: number,
    pageMaxBytes = PAGE_MAX_BYTES,
  ) {
    this.#store = store;
    this.#pageMaxBytes = pageMaxBytes;
    this.#owner = owner;
    this.id = id;
    this.tag = info.tag;
    this.count = info.count;
    this.lastChange = now;
    if (info.state !== 'open') this.#finish(info);
  }

  /** Starts following the store; `pull()` once after, to catch what was appended meanwhile. */
  watch(): void {
    if (this.finalFrame !== null || this.#unwatch !== null) return;
    this.#unwatch = this.#store.watch(this.id, () => this.pull());
  }

  /** True while the stream may still grow. */
  get open(): boolean {
    return this.state === 'following';
  }

  /** True once the stream vanished from the store. */
  get gone(): boolean {
    return this.state === 'gone';
  }

  /**
   * Reserves it for a reader being admitted; false when it is released or gone (look it up again).
   * Call in the same turn that got it; undo with `leave` (attached) or `unreserve` (not attached).
   */
  acquire(): boolean {
    if (this.state === 'released' || this.state === 'gone') return false;
    this.readers++;
    return true;
  }

  /** A reservation that was not attached to (the reader was refused, or answered 204). */
  unreserve(): void {
    if (--this.readers === 0) this.release();
  }

  /** Reads what was stored past `count` and hands it to the live readers. Calls made meanwhile coalesce. */
  pull(): void {
    if (!this.open) return;
    if (this.#pulling) {
      this.#again = true;
      return;
    }
    this.#pulling = true;
    this.#pullLoop().then(
      () => {
        this.#pulling = false;
      },
      (error: unknown) => {
        this.#pulling = false;
        this.#owner.failed(this, error);
      },
    );
  }

  async #pullLoop(): Promise<void> {
    do {
      this.#again = false;
      const { chunks, info } = await this.#store.read(this.id, this.count, PAGE_CHUNKS);
      if (!this.open) return;
      if (info === undefined || info.tag !== this.tag) {
        this.#vanish();
        return;
      }
      if (chunks.length > 0) {
        const first = this.count + 1;
        this.count += chunks.length;
        this.lastChange = Date.now();
        this.#deliver(encodeChunks(this.tag, first, chunks), first - 1, chunks);
      }
      if (info.count > this.count) this.#again = true;
      else if (info.state !== 'open') this.#finish(info);
    } while (this.#again && this.open);
  }

  /** Writes new chunks to every live reader; one that cannot take them now reads on by itself. */
  #deliver(bytes: Uint8Array, before: number, chunks: readonly string[]): void {
    const after = before + chunks.length;
    for (const reader of this.#live) {
      let out = bytes;
      if (reader.after > before) {
        // It resumed here from an ID this process had not pulled yet (another process served it
        // that far): send only what follows it.
        if (reader.after >= after) continue;
        out = encodeChunks(this.tag, reader.after + 1, chunks.slice(reader.after - before));
      }
      const stream = reader.stream;
      if (stream.queuedBytes + out.byteLength <= stream.config.maxQueueBytes / 2 && stream.write(out)) {
        reader.after = after;
      } else if (!stream.closed) {
        this.#live.delete(reader);
        reader.after = Math.max(reader.after, before);
        reader.catchUp();
      }
    }
  }

  #finish(info: StreamInfo): void {
    if (this.state === 'following') this.state = 'finished';
    this.finalInfo = info;
    this.finalFrame = encodeFinal(info);
    this.#stopWatching();
    for (const reader of this.#live) reader.stream.close(this.finalFrame);
    this.#live.clear();
  }

  #vanish(): void {
    this.state = 'gone';
    this.#stopWatching();
    for (const reader of this.#live) reader.stream.close();
    this.#live.clear();
    this.#owner.released(this);
  }

  #stopWatching(): void {
    this.#unwatch?.();
    this.#unwatch = null;
  }

  /** A reader at `count`: it gets what follows with everyone else. */
  join(reader: StreamReader): void {
    this.#live.add(reader);
  }

  /** A reserved reader starts: it is closed with the others by `closeReaders`. */
  attached(reader: StreamReader): void {
    this.#attached.add(reader);
  }

  /** A reader's stream closed. */
  leave(reader: StreamReader): void {
    this.#live.delete(reader);
    this.#attached.delete(reader);
    if (--this.readers === 0) this.release();
  }

  /** Forgets every cached page and stops watching; it is never handed out again. */
  release(): void {
    if (this.state === 'released') return;
    if (this.state !== 'gone') this.state = 'released';
    this.#stopWatching();
    this.#pages.clear();
    this.#cachedBytes = 0;
    this.#owner.released(this);
  }

  /**
   * The chunks after the first `after` (which is below `count`), encoded: a whole aligned page from
   * the cache when the reader is at a page boundary, else up to the next boundary.
   */
  page(after: number): Promise<Page> {
    const index = Math.floor(after / PAGE_CHUNKS);
    const aligned = after % PAGE_CHUNKS === 0 && (index + 1) * PAGE_CHUNKS <= this.count;
    if (!aligned) {
      const limit = Math.min(PAGE_CHUNKS - (after % PAGE_CHUNKS), this.count - after);
      return this.#readPage(after, limit);
    }
    const cached = this.#pages.get(index);
    if (cached !== undefined) return cached instanceof Promise ? cached : Promise.resolve(cached);
    const reading = this.#readPage(after, PAGE_CHUNKS).then(
      (page) => {
        if (page.n === PAGE_CHUNKS && this.#cachedBytes + page.bytes.byteLength <= CACHE_MAX_BYTES) {
          this.#pages.set(index, page);
          this.#cachedBytes += page.bytes.byteLength;
        } else {
          this.#pages.delete(index);
        }
        return page;
      },
      (error: unknown) => {
        this.#pages.delete(index);
        throw error;
      },
    );
    this.#pages.set(index, reading);
    return reading;
  }

  async #readPage(after: number, limit: number): Promise<Page> {
    const { chunks, info } = await this.#store.read(this.id, after, limit);
    if (info === undefined || info.tag !== this.tag || chunks.length === 0) {
      throw new Error(`resumable stream ${JSON.stringify(this.id)} vanished from the store while being read`);
    }
    // Bounded by encoded bytes (line breaks grow into "data: " lines), not by chunk length: a page
    // must fit in a reader's queue, or a 'close' policy would close it on every retry.
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for (let i = 0; i < chunks.length; i++) {
      const part = encodeChunk(this.tag, after + 1 + i, chunks[i]!);
      if (i > 0 && bytes + part.byteLength > this.#pageMaxBytes) break;
      parts.push(part);
      bytes += part.byteLength;
    }
    return { bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes), n: parts.length };
  }

  /** Closes every reader, live or catching up, without an end event (shutdown): they reconnect and resume. */
  closeReaders(): void {
    for (const reader of [...this.#attached]) reader.stream.close();
    this.#live.clear();
  }
}

export type { SseStream };
