/**
 * The event-stream bytes of a resumable stream: each chunk is one event whose ID is `<tag>.<n>`;
 * the last event is `end` (or `aborted`) with ID `<tag>.end`. Chunks are encoded a page at a time
 * into one buffer, shared by every reader that reads that page.
 */
import { formatEvent } from '../../protocol/index.js';
import { END_SUFFIX } from './event-id.js';
import type { StreamInfo } from './store.js';

/** The event type of a stream's last event when the producer ended it. */
export const END_EVENT = 'end';
/** The event type of a stream's last event when it was aborted. */
export const ABORTED_EVENT = 'aborted';

/** Chunks `first`, `first + 1`, ... as events, in one buffer. */
export function encodeChunks(tag: string, first: number, chunks: readonly string[]): Uint8Array {
  let text = '';
  for (let i = 0; i < chunks.length; i++) text += formatEvent({ id: `${tag}.${first + i}`, data: chunks[i] });
  return Buffer.from(text, 'utf8');
}

/** Chunk number `n` as one event. */
export function encodeChunk(tag: string, n: number, chunk: string): Uint8Array {
  return Buffer.from(formatEvent({ id: `${tag}.${n}`, data: chunk }), 'utf8');
}

/**
 * Most bytes one chunk of `chunkBytes` UTF-8 bytes can take as an event: each line break may grow
 * into a new `data: ` line (7 bytes for 1), plus the ID line and the framing.
 */
export function maxEncodedChunkBytes(chunkBytes: number): number {
  return 7 * chunkBytes + 64;
}

/**
 * The final event. Its data is JSON, `{"chunks":N}` or `{"chunks":N,"reason":"..."}`: never empty,
 * since readers drop events without data (WHATWG "dispatch the event", step 2).
 */
export function encodeFinal(info: StreamInfo): Uint8Array {
  const aborted = info.state === 'aborted';
  const data = aborted ? { chunks: info.count, reason: info.reason ?? 'aborted' } : { chunks: info.count };
  return Buffer.from(
    formatEvent({
      event: aborted ? ABORTED_EVENT : END_EVENT,
      id: `${info.tag}.${END_SUFFIX}`,
      data: JSON.stringify(data),
    }),
    'utf8',
  );
}
