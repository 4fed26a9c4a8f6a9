import type { Update } from '../update.js';

/**
 * The memory store's kept updates as bytes: each update's fields (all but its ID and time, which
 * the history index keeps) encoded into one record of a large Buffer, read back only when history
 * is read (resume, history pages).
 *
 * Why bytes: a kept update as objects (the update, its data string, its topics array) lives as long
 * as history keeps it, so the garbage collector copies it out of the young generation and marks it
 * again in every old-generation pass; with ~150,000 kept (the default 64 MiB) that was most of an
 * append's cost. A Buffer's contents are outside the JS heap and hold no pointers.
 *
 * Records are appended at the end; a freed record's bytes are reclaimed when the arena is full:
 * the live records move to a new arena at least twice as large as they need (O(1) amortized per
 * write), and the caller renumbers its offsets.
 *
 * Record: u32 length (whole record), u8 flags, u32 topic count, [f64 retry], then strings, each a
 * u32 byte length and its bytes: the topics, [type], [key], data. Strings are UTF-8, or UTF-16LE
 * for the whole record when one of them is not well-formed (a lone surrogate, which UTF-8 cannot
 * carry), so every string comes back exactly.
 */

const PRIVATE = 1;
const UTF16 = 2;
const HAS_TYPE = 4;
const HAS_KEY = 8;
const HAS_RETRY = 16;
// A field present with the value undefined (`{ type: undefined }`) comes back the same way.
const OWN_TYPE = 32;
const OWN_KEY = 64;
const OWN_RETRY = 128;

const HEADER = 9;
const MIN_CAPACITY = 64 * 1024;

export class UpdateArena {
  #bytes: Buffer = Buffer.allocUnsafeSlow(MIN_CAPACITY);
  /**
   * The buffer the last compaction moved out of, reused by the next one of the same size: a fresh
   * buffer of tens of MB costs more in page faults (the kernel zeroing its pages) than the copy.
   */
  #spare: Buffer | undefined;
  #end = 0;
  #live = 0;

  /** Bytes of the records not freed. */
  get liveBytes(): number {
    return this.#live;
  }

  /** Bytes the arena holds (live, freed and free). */
  get capacity(): number {
    return this.#bytes.length;
  }

  /**
   * Encodes an update's fields; returns its record's offset. When the arena is full, calls
   * `compact` with a function that moves a record (old offset -> new offset): the caller passes
   * each offset it keeps through it, then this record is written.
   */
  write(update: Update, compact: (move: (offset: number) => number) => void): number {
    const { topics, type, key, retry, data } = update;
    let flags = update.private ? PRIVATE : 0;
    let wellFormed = isWellFormed(data);
    for (let i = 0; i < topics.length; i++) wellFormed &&= isWellFormed(topics[i]);
    if (type !== undefined) {
      flags |= HAS_TYPE;
      wellFormed &&= isWellFormed(type);
    } else if ('type' in update) flags |= OWN_TYPE;
    if (key !== undefined) {
      flags |= HAS_KEY;
      wellFormed &&= isWellFormed(key);
    } else if ('key' in update) flags |= OWN_KEY;
    if (retry !== undefined) flags |= HAS_RETRY;
    else if ('retry' in update) flags |= OWN_RETRY;
    const encoding: BufferEncoding = wellFormed ? 'utf8' : 'utf16le';
    if (!wellFormed) flags |= UTF16;
    // An upper bound first (3 UTF-8 bytes per UTF-16 unit), so that nothing is measured twice.
    let bound = HEADER + (retry !== undefined ? 8 : 0) + 4 * (topics.length + 3) + 3 * data.length;
    for (let i = 0; i < topics.length; i++) bound += 3 * topics[i].length;
    if (type !== undefined) bound += 3 * type.length;
    if (key !== undefined) bound += 3 * key.length;
    if (this.#end + bound > this.#bytes.length) this.#compact(bound, compact);
    const bytes = this.#bytes;
    const start = this.#end;
    let at = start + HEADER;
    bytes[start + 4] = flags;
    bytes.writeUInt32LE(topics.length, start + 5);
    if (retry !== undefined) at = bytes.writeDoubleLE(retry, at);
    for (let i = 0; i < topics.length; i++) at = writeString(bytes, at, topics[i], encoding);
    if (type !== undefined) at = writeString(bytes, at, type, encoding);
    if (key !== undefined) at = writeString(bytes, at, key, encoding);
    at = writeString(bytes, at, data, encoding);
    bytes.writeUInt32LE(at - start, start);
    this.#end = at;
    this.#live += at - start;
    return start;
  }

  /** The update whose record is at `offset`, with the ID and time the index keeps. */
  read(offset: number, id: string, time: number): Update {
    const bytes = this.#bytes;
    const flags = bytes[offset + 4];
    const encoding: BufferEncoding = flags & UTF16 ? 'utf16le' : 'utf8';
    const topicCount = bytes.readUInt32LE(offset + 5);
    let at = offset + HEADER;
    let retry: number | undefined;
    if (flags & HAS_RETRY) {
      retry = bytes.readDoubleLE(at);
      at += 8;
    }
    const topics: string[] = new Array(topicCount);
    for (let i = 0; i < topicCount; i++) {
      const length = bytes.readUInt32LE(at);
      topics[i] = bytes.toString(encoding, at + 4, at + 4 + length);
      at += 4 + length;
    }
    let type: string | undefined;
    if (flags & HAS_TYPE) {
      const length = bytes.readUInt32LE(at);
      type = bytes.toString(encoding, at + 4, at + 4 + length);
      at += 4 + length;
    }
    let key: string | undefined;
    if (flags & HAS_KEY) {
      const length = bytes.readUInt32LE(at);
      key = bytes.toString(encoding, at + 4, at + 4 + length);
      at += 4 + length;
    }
    const length = bytes.readUInt32LE(at);
    const data = bytes.toString(encoding, at + 4, at + 4 + length);
    const update: Update = { id, topics, private: (flags & PRIVATE) !== 0, data, time };
    if (flags & (HAS_TYPE | OWN_TYPE)) update.type = type;
    if (flags & (HAS_RETRY | OWN_RETRY)) update.retry = retry;
    if (flags & (HAS_KEY | OWN_KEY)) update.key = key;
    return update;
  }

  /** Frees the record at `offset` (its bytes are reclaimed at the next compaction). */
  free(offset: number): void {
    this.#live -= this.#bytes.readUInt32LE(offset);
  }

  /** Frees every record at once. */
  clear(): void {
    this.#bytes = Buffer.allocUnsafeSlow(MIN_CAPACITY);
    this.#spare = undefined;
    this.#end = 0;
    this.#live = 0;
  }

  #compact(need: number, compact: (move: (offset: number) => number) => void): void {
    let capacity = MIN_CAPACITY;
    while (capacity < (this.#live + need) * 2) capacity *= 2;
    const from = this.#bytes;
    const to = this.#spare?.length === capacity ? this.#spare : Buffer.allocUnsafeSlow(capacity);
    let end = 0;
    // Live records mostly sit in long runs (evictions take the oldest first): each run is copied
    // in one call, not record by record.
    let runStart = 0;
    let runEnd = 0;
    compact((offset) => {
      if (offset !== runEnd) {
        if (runEnd > runStart) from.copy(to, end - (runEnd - runStart), runStart, runEnd);
        runStart = runEnd = offset;
      }
      const length = from.readUInt32LE(offset);
      runEnd += length;
      end += length;
      return end - length;
    });
    if (runEnd > runStart) from.copy(to, end - (runEnd - runStart), runStart, runEnd);
    this.#spare = from.length === capacity ? from : undefined;
    this.#bytes = to;
    this.#end = end;
  }
}

function writeString(bytes: Buffer, at: number, value: string, encoding: BufferEncoding): number {
  const length = bytes.write(value, at + 4, encoding);
  bytes.writeUInt32LE(length, at);
  return at + 4 + length;
}

const LONE_SURROGATE = /\p{Cs}/u;
/** `String.prototype.isWellFormed` where the runtime has it (Node 20), else the same test by regex. */
const isWellFormed: (value: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (value) => (value as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (value) => !LONE_SURROGATE.test(value);
