/**
 * The producer's side of a resumable stream. `write()` never waits for readers: chunks go to the
 * store in batches (everything written while one append is in flight goes in the next), so a
 * producer writing at full speed costs one store round trip per batch, not per chunk.
 */
import { StreamEndedError, StreamTooLargeError } from './errors.js';
import type { ResumableStore, StoreLimits, StreamInfo } from './store.js';

/** What a writer needs from the object that made it. */
export interface WriterOwner {
  readonly store: ResumableStore;
  readonly maxChunkBytes: number;
  readonly maxStreamBytes: number;
  readonly expireAfterMs: number;
  /** Store limits (held bytes) every append carries. */
  readonly limits: StoreLimits;
  /** The writer finished (ended, aborted or failed): stop touching its stream. */
  writerDone(writer: StreamWriter): void;
}

/** Bytes buffered in the writer before `write()` returns false: the store is the bottleneck then. */
export const WRITER_HIGH_WATER_BYTES = 1024 * 1024;

const utf8 = new TextEncoder();

/**
 * Writes one resumable stream. Get one from `streams.writer(id)`; `end()` or `abort()` it.
 *
 * @example
 * const writer = await streams.writer('build-42');
 * child.stdout.on('data', (bytes) => writer.write(bytes));
 * child.on('exit', (code) => (code === 0 ? writer.end() : writer.abort(`exit code ${code}`)));
 */
export class StreamWriter {
  readonly streamId: string;
  /** The stream's tag (its event IDs are `<tag>.<n>`). */
  readonly tag: string;
  /** When the last chunk went to the store, in ms since the epoch (to keep an idle stream alive). */
  lastAppend = Date.now();

  readonly #owner: WriterOwner;
  #batch: string[] = [];
  #batchBytes = 0;
  #inFlight: Promise<void> | null = null;
  #error: unknown = undefined;
  #done = false;
  #count = 0;
  #decoder: TextDecoder | null = null;
  #drainWaiters: (() => void)[] = [];
  /** The abort that followed a failed append, once started. */
  #aborting: Promise<void> | null = null;

  /** @internal Made by `ResumableStreams.writer()` once the stream exists. */
  constructor(owner: WriterOwner, streamId: string, tag: string) {
    this.#owner = owner;
    this.streamId = streamId;
    this.tag = tag;
  }

  /** Chunks written so far (stored or on their way). */
  get count(): number {
    return this.#count;
  }

  /** True once `end()` or `abort()` was called, or an append failed. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Queues a chunk for the store. Text is taken as is; bytes are decoded as UTF-8 (a character split
   * across two writes is kept whole). Empty chunks are skipped: an event with no data is never
   * dispatched by readers. Throws `StreamTooLargeError` for a chunk over `maxChunkBytes` (the stream
   * is unchanged), `StreamEndedError` after `end()`, or the error a previous append failed with.
   * Returns false while more than 1 MiB waits for the store: `await writer.drained()` then.
   */
  write(chunk: string | Uint8Array): boolean {
    if (this.#error !== undefined) throw this.#error;
    if (this.#done) throw new StreamEndedError(this.streamId, 'ended');
    let text: string;
    if (typeof chunk === 'string') text = chunk;
    else {
      this.#decoder ??= new TextDecoder('utf-8', { fatal: false });
      text = this.#decoder.decode(chunk, { stream: true });
    }
    return this.#push(text);
  }

  #push(text: string): boolean {
    if (text === '') return this.#batchBytes < WRITER_HIGH_WATER_BYTES;
    // UTF-16 length bounds UTF-8 length from below (x1) and above (x3): count exactly only when needed.
    const max = this.#owner.maxChunkBytes;
    const bytes = text.length * 3 <= max ? utf8ByteLength(text) : utf8.encode(text).byteLength;
    if (bytes > max) throw new StreamTooLargeError(this.streamId, 'maxChunkBytes', bytes, max);
    this.#batch.push(text);
    this.#batchBytes += bytes;
    this.#count++;
    if (this.#inFlight === null) this.#flushSoon();
    return this.#batchBytes < WRITER_HIGH_WATER_BYTES;
  }

  /** Resolves once fewer than 1 MiB of written chunks wait for the store; rejects if an append failed. */
  drained(): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#batchBytes < WRITER_HIGH_WATER_BYTES) return Promise.resolve();
    return new Promise<void>((resolve) => this.#drainWaiters.push(resolve)).then(() => {
      if (this.#error !== undefined) throw this.#error;
    });
  }

  /** Resolves once every chunk written so far is in the store; rejects with the append error if one failed. */
  async flushed(): Promise<void> {
    while (this.#inFlight !== null) await this.#inFlight;
    if (this.#batch.length > 0 && this.#error === undefined) {
      this.#flushNow();
      while (this.#inFlight !== null) await this.#inFlight;
    }
    if (this.#error !== undefined) throw this.#error;
  }

  /** Stores what is written, then the end marker: readers get every chunk, then the `end` event. */
  async end(): Promise<StreamInfo> {
    if (this.#error !== undefined) {
      await this.#aborting;
      throw this.#error;
    }
    if (this.#done) throw new StreamEndedError(this.streamId, 'ended');
    this.#flushDecoder();
    this.#done = true;
    try {
      await this.flushed();
      return await this.#owner.store.finish(this.streamId, 'ended', undefined, this.#owner.expireAfterMs);
    } catch (error) {
      await this.#aborting;
      throw error;
    } finally {
      this.#owner.writerDone(this);
    }
  }

  /**
   * Stores what is written, then aborts the stream: readers get those chunks, then an `aborted`
   * event with `reason`. Resolves false when the stream had already finished.
   */
  async abort(reason = 'the producer aborted the stream'): Promise<boolean> {
    if (this.#aborting !== null) {
      await this.#aborting;
      return false;
    }
    this.#done = true;
    try {
      this.#flushDecoder();
      await this.flushed().catch(() => {});
      if (this.#aborting !== null) {
        await this.#aborting;
        return false;
      }
      await this.#owner.store.finish(this.streamId, 'aborted', reason, this.#owner.expireAfterMs);
      return true;
    } catch (error) {
      if (error instanceof StreamEndedError) return false;
      throw error;
    } finally {
      this.#owner.writerDone(this);
    }
  }

  #flushDecoder(): void {
    if (this.#decoder === null || this.#error !== undefined) return;
    const rest = this.#decoder.decode();
    this.#decoder = null;
    if (rest !== '') this.#push(rest);
  }

  #flushSoon(): void {
    // Writes made in this turn of the event loop join the first batch.
    this.#inFlight = Promise.resolve().then(() => this.#append());
  }

  #flushNow(): void {
    this.#inFlight = this.#append();
  }

  async #append(): Promise<void> {
    const batch = this.#batch;
    const bytes = this.#batchBytes;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#wakeDrainWaiters();
    try {
      if (batch.length > 0) {
        const owner = this.#owner;
        const held = owner.limits.maxHeldBytes;
        await owner.store.append(
          this.streamId,
          batch,
          bytes,
          owner.maxStreamBytes,
          held === undefined ? undefined : { maxHeldBytes: held },
        );
        this.lastAppend = Date.now();
      }
    } catch (error) {
      this.#error = error;
      this.#batch = [];
      this.#batchBytes = 0;
      this.#wakeDrainWaiters();
      // The stream cannot be completed any more (too large, or the store lost it): abort it now, so
      // readers learn why at once instead of after abortAfterMs.
      this.#done = true;
      const reason = error instanceof Error ? error.message : String(error);
      this.#aborting = this.#owner.store
        .finish(this.streamId, 'aborted', reason, this.#owner.expireAfterMs)
        .then(
          () => {},
          () => {},
        );
      this.#owner.writerDone(this);
    }
    if (this.#batch.length > 0 && this.#error === undefined) this.#inFlight = this.#append();
    else this.#inFlight = null;
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** UTF-8 length of a string without encoding it. */
function utf8ByteLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2;
        i++;
        continue;
      }
      n += 2;
    } else n += 2;
  }
  return n;
}
