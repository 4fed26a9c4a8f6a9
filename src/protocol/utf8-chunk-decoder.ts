/**
 * UTF-8 decoding of a byte stream that arrives in chunks split anywhere.
 *
 * `TextDecoder#decode(chunk, { stream: true })` does this, but in Node it leaves the fast (SIMD) path
 * for good once `stream` is used, and is then several times slower on ASCII chunks of a few KB. Here each
 * chunk is decoded in one call, up to the start of a character it does not finish; the 1 to 3 bytes
 * of that character are kept and decoded with the next chunk.
 *
 * The result is the same as one decode of the whole stream: a cut is only made before a byte that is
 * not a continuation byte (0b10xxxxxx), where the decoder is always back in its initial state (a
 * lead byte ends any malformed sequence before it, WHATWG Encoding, "UTF-8 decoder"). Malformed
 * sequences become U+FFFD exactly as they would have; a kept malformed prefix only makes its
 * U+FFFD appear with the next chunk, before any line end that chunk holds.
 */

// ignoreBOM keeps a leading U+FEFF in the text: the parser applies the one-BOM rule itself, once per
// stream. This decoder is shared by every stream: it is never called with `stream`, so it holds no
// state between calls, and Node keeps its SIMD path for it.
const ascii = new TextDecoder('utf-8', { ignoreBOM: true });

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** How many bytes the sequence a byte starts spans; 1 for ASCII and bytes that cannot start one. */
function sequenceLength(byte: number): number {
  if (byte < 0xc2) return 1; // ASCII, a stray continuation byte, or C0/C1 (never valid)
  if (byte < 0xe0) return 2;
  if (byte < 0xf0) return 3;
  if (byte < 0xf5) return 4;
  return 1; // F5..FF are never valid
}

/** Where an unfinished sequence at the end of `bytes` begins, or `bytes.length` if there is none. */
function unfinishedStart(bytes: Uint8Array): number {
  const length = bytes.length;
  // A sequence is at most 4 bytes: a lead byte more than 3 bytes back is finished, one way or the other.
  const stop = Math.max(0, length - 3);
  for (let i = length - 1; i >= stop; i--) {
    const byte = bytes[i];
    if (!isContinuation(byte)) return length - i < sequenceLength(byte) ? i : length;
  }
  return length;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Decodes successive chunks of one UTF-8 stream; create one per stream. */
export class Utf8ChunkDecoder {
  /** The 1 to 3 bytes of a character the previous chunk did not finish (a copy: callers reuse buffers). */
  private tail: Uint8Array | undefined = undefined;
  /**
   * Once the stream has shown text that is not ASCII, a streaming decoder of its own: on such text
   * Node's fast path is slower than the general one (measured on Node 20, bench/parser).
   */
  private general: TextDecoder | undefined = undefined;

  /** Decodes `chunk`, holding back a character it leaves unfinished for the next call. */
  decode(chunk: Uint8Array): string {
    if (this.general !== undefined) return this.general.decode(chunk, { stream: true });
    // With a kept tail, decode tail and chunk together: one flat string is cheaper for the parser to
    // scan than a short head joined to a long body, and the copy is a memcpy.
    const bytes = this.tail === undefined ? chunk : concat(this.tail, chunk);
    const end = unfinishedStart(bytes);
    const text = end === 0 ? '' : ascii.decode(end === bytes.length ? bytes : bytes.subarray(0, end));
    this.tail = end < bytes.length ? bytes.slice(end) : undefined;
    if (text.length !== end) {
      // Fewer characters than bytes: multi-byte characters. Hand over to a streaming decoder, which
      // starts clean (the cut above is between characters) and takes the kept tail now.
      this.general = new TextDecoder('utf-8', { ignoreBOM: true });
      if (this.tail !== undefined) {
        this.general.decode(this.tail, { stream: true }); // holds it, returns ''
        this.tail = undefined;
      }
    }
    return text;
  }
}
