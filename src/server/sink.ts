/**
 * Where a stream's bytes go: a node:http response, a node:http2 stream, or a web `ReadableStream`.
 * The stream owns a sink; the sink reports drain and close back to it.
 */
export interface Sink {
  /** Writes one buffer; false when the transport is over its high-water mark (wait for a drain). */
  write(chunk: Uint8Array): boolean;
  /** Bytes the transport holds and has not handed to the kernel (or the reader). */
  buffered(): number;
  /** Writes `chunk` if given, then ends the response gracefully. */
  end(chunk: Uint8Array | null): void;
  /** Ends the response at once, dropping what is buffered (a slow consumer). */
  destroy(reason: Error): void;
  /** Removes every listener the sink placed on the transport. */
  detach(): void;
}

/** What a sink calls back on its stream. */
export interface SinkOwner {
  /** The transport can take more bytes. */
  drained(): void;
  /** The peer went away, or the transport failed. */
  lost(): void;
}
