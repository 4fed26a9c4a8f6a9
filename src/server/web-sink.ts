/**
 * A sink that feeds a web `ReadableStream`, the body of a Fetch `Response` (Hono, Bun- and Deno-style
 * handlers, @hono/node-server). The reader pulling is the drain; cancelling it or aborting the request
 * is the disconnect.
 */
import type { Sink, SinkOwner } from './sink.js';

/**
 * Bytes the `ReadableStream` holds before `write` reports backpressure; matches the 64 KiB that
 * node:net streams use by default, so both paths hand a slow reader the same slack.
 */
export const WEB_HIGH_WATER_MARK = 64 * 1024;

const byteLength = (chunk: Uint8Array): number => chunk.byteLength;

export class WebSink implements Sink, UnderlyingDefaultSource<Uint8Array> {
  readonly readable: ReadableStream<Uint8Array>;
  #owner: SinkOwner | null;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #signal: AbortSignal | null;
  #done = false;

  constructor(owner: SinkOwner, signal: AbortSignal | null) {
    this.#owner = owner;
    this.#signal = signal;
    this.readable = new ReadableStream<Uint8Array>(this, {
      highWaterMark: WEB_HIGH_WATER_MARK,
      size: byteLength,
    });
    signal?.addEventListener('abort', this);
  }

  // UnderlyingDefaultSource
  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller;
  }

  pull(): void {
    this.#owner?.drained();
  }

  cancel(): void {
    this.#done = true;
    this.#owner?.lost();
  }

  /** The request's `abort` event: the client went away. */
  handleEvent(): void {
    this.#owner?.lost();
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done) return true;
    this.#controller.enqueue(chunk);
    return (this.#controller.desiredSize ?? 0) > 0;
  }

  buffered(): number {
    return this.#done ? 0 : WEB_HIGH_WATER_MARK - (this.#controller.desiredSize ?? 0);
  }

  end(chunk: Uint8Array | null): void {
    if (this.#done) return;
    this.#done = true;
    if (chunk !== null) this.#controller.enqueue(chunk);
    this.#controller.close();
  }

  destroy(reason: Error): void {
    if (this.#done) return;
    this.#done = true;
    // Erroring releases the queued chunks now; the server reading the body then drops the connection.
    this.#controller.error(reason);
  }

  detach(): void {
    this.#owner = null;
    this.#signal?.removeEventListener('abort', this);
    this.#signal = null;
  }
}
