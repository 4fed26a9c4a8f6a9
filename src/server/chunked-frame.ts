/**
 * HTTP/1.1 chunked framing (RFC 9112 §7.1) of one buffer, built as ONE buffer: size line, data, CRLF.
 *
 * `ServerResponse.write` sends each chunk as three buffers (size line, data, CRLF) through a cork
 * and a `writev` on the next tick; a CPU profile of the fan-out bench put ~70% of the server's time
 * in that path. Writing one framed buffer straight to the socket is a single `write` per flush.
 *
 * In a broadcast every stream of a flush pass writes the very same buffer (one encoded event, or
 * the join shared by coalesce.ts), so the last framing is remembered by reference and reused; the
 * flush pass forgets it when it ends. Buffers handed to a stream are never changed afterwards
 * (documented on `SseStream.write`), so the same reference means the same bytes.
 */

const CR = 13;
const LF = 10;

let lastChunk: Uint8Array | null = null;
let lastFrame: Buffer | null = null;

/** `chunk` (not empty: an empty chunk is the end-of-body marker) framed as one HTTP/1.1 chunk. */
export function frameChunk(chunk: Uint8Array): Buffer {
  if (chunk === lastChunk) return lastFrame!;
  const size = chunk.byteLength;
  const sizeLine = `${size.toString(16)}\r\n`;
  const frame = Buffer.allocUnsafe(sizeLine.length + size + 2);
  const at = frame.write(sizeLine, 0, 'latin1');
  frame.set(chunk, at);
  frame[at + size] = CR;
  frame[at + size + 1] = LF;
  lastChunk = chunk;
  lastFrame = frame;
  return frame;
}

/** Drops the remembered framing (end of a flush pass), so it holds no memory between passes. */
export function forgetFrame(): void {
  lastChunk = null;
  lastFrame = null;
}
