/**
 * Streaming parser of the `text/event-stream` format, exact to the WHATWG "interpret an event stream"
 * algorithm (HTML, section 9.2.6): https://html.spec.whatwg.org/multipage/server-sent-events.html
 *
 * Bytes or text go in, in chunks split anywhere; events come out through callbacks. No I/O, no
 * timers, no Node APIs: the browser client uses the same code.
 */
import { BufferOverflowError } from './errors.js';
import { Utf8ChunkDecoder } from './utf8-chunk-decoder.js';

/** An event as the reader dispatches it. */
export interface ParsedEvent {
  /** The event type: the last `event` field, or `message`. */
  type: string;
  /** The `data` lines joined with LF. */
  data: string;
  /** The last event ID at dispatch time: it persists across events until the stream sets another. */
  lastEventId: string;
}

export interface ParserHandlers {
  /** Called for each dispatched event. */
  onEvent?: (event: ParsedEvent) => void;
  /**
   * Called for each valid `retry` field (ASCII digits only) with its value in milliseconds. The spec
   * sets no upper bound: a long run of digits gives a huge number (Infinity from 309 digits on), so
   * clamp it before handing it to a timer.
   */
  onRetry?: (retry: number) => void;
  /** Called for each comment line with the text after the colon (one leading space removed). */
  onComment?: (comment: string) => void;
}

export interface ParserOptions {
  /**
   * The most characters one unfinished line, or one event's data, may hold. Past it `feed` throws a
   * {@link BufferOverflowError} and the parser resets. Default: no limit.
   */
  maxBufferSize?: number;
  /** The last event ID to start from (a reader resuming a stream). Default: the empty string. */
  lastEventId?: string;
}

export interface EventStreamParser {
  /** Parses the next chunk of the stream. Bytes are decoded as UTF-8, even when split mid-character. */
  feed(chunk: string | Uint8Array): void;
  /**
   * Forgets any unfinished line and event and expects a new stream (with its own BOM). The last
   * event ID is set to `lastEventId` (default: kept). Calling it from a handler stops the parsing
   * of the rest of the current chunk.
   */
  reset(options?: { lastEventId?: string }): void;
  /** The last event ID string, as updated at each dispatch. */
  readonly lastEventId: string;
}

const LF = 10;
const SPACE = 32;
const COLON = 58;
const LOWER_A = 97;
const LOWER_D = 100;
const LOWER_E = 101;
const LOWER_I = 105;
const LOWER_N = 110;
const LOWER_T = 116;
const LOWER_V = 118;

/** Up to how many characters of an `id` value are scanned by hand for the line end (ids are short). */
const ID_SCAN = 24;

/**
 * The parser's state and code. A class, not closures: one set of methods shared by every parser
 * (one per connection) instead of a fresh set of closures each, and one object shape for V8.
 */
class StreamParser {
  readonly onEvent: ((event: ParsedEvent) => void) | undefined;
  readonly onRetry: ((retry: number) => void) | undefined;
  readonly onComment: ((comment: string) => void) | undefined;
  readonly maxBufferSize: number;

  decoder: Utf8ChunkDecoder | undefined = undefined;
  pending = ''; // an unfinished line carried over from the previous chunk
  atStreamStart = true; // the next character may be the one BOM the stream may start with
  skipLeadingLF = false; // the previous chunk ended with CR: an LF opening this one ends no line
  generation = 0; // bumped by reset(), so a handler calling it stops the current chunk

  data = '';
  hasData = false;
  // \`data\` ends with the LF that joins its last line to the next one, taken with that line's value
  // (one slice and one join per line instead of a join for the LF too); a dispatch drops it.
  dataEndsWithLF = false;
  eventType = '';
  lastType = ''; // the last value of an event field, kept to be reused
  lastEventIdBuffer: string;
  lastEventId: string;

  constructor(handlers: ParserHandlers, options: ParserOptions) {
    this.onEvent = handlers.onEvent;
    this.onRetry = handlers.onRetry;
    this.onComment = handlers.onComment;
    this.maxBufferSize = options.maxBufferSize ?? Number.POSITIVE_INFINITY;
    this.lastEventIdBuffer = options.lastEventId ?? '';
    this.lastEventId = this.lastEventIdBuffer;
  }

  dispatch(): void {
    this.lastEventId = this.lastEventIdBuffer;
    if (!this.hasData) {
      this.eventType = '';
      return;
    }
    const data = this.dataEndsWithLF ? this.data.slice(0, -1) : this.data;
    const event: ParsedEvent = {
      type: this.eventType === '' ? 'message' : this.eventType,
      data,
      lastEventId: this.lastEventId,
    };
    this.data = '';
    this.hasData = false;
    this.dataEndsWithLF = false;
    this.eventType = '';
    const onEvent = this.onEvent;
    if (onEvent !== undefined) onEvent(event);
  }

  appendData(value: string): void {
    if (this.hasData) this.data = this.dataEndsWithLF ? this.data + value : `${this.data}\n${value}`;
    else {
      this.data = value;
      this.hasData = true;
    }
    this.dataEndsWithLF = false;
    if (this.data.length > this.maxBufferSize) this.overflow(this.data.length);
  }

  setId(value: string): void {
    // An id holding NUL is ignored (WHATWG 9.2.6): it could not be sent back in Last-Event-ID.
    if (value.indexOf('\0') === -1) this.lastEventIdBuffer = value;
  }

  processField(field: string, value: string): void {
    switch (field) {
      case 'data':
        this.appendData(value);
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        this.setId(value);
        break;
      case 'retry':
        if (isAsciiDigits(value)) this.onRetry?.call(undefined, Number.parseInt(value, 10));
        break;
      // Any other field is ignored.
    }
  }

  /**
   * Handles the non-empty line `text[start, end)`. The line is not sliced out first: `data:`, `id:`,
   * `event:` and comments, nearly every line of real streams, are recognised in place and only their
   * value is sliced. A look past `end` reads the CR or LF that ends the line (or NaN past the end of
   * `text`), which matches none of the characters compared, so no bounds check is needed.
   */
  processLine(text: string, start: number, end: number): void {
    const c0 = text.charCodeAt(start);
    if (c0 === LOWER_D) {
      if (
        text.charCodeAt(start + 1) === LOWER_A &&
        text.charCodeAt(start + 2) === LOWER_T &&
        text.charCodeAt(start + 3) === LOWER_A
      ) {
        const c4 = text.charCodeAt(start + 4);
        if (c4 === COLON) {
          this.appendData(text.slice(text.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, end));
          return;
        }
        if (start + 4 === end) {
          this.appendData('');
          return;
        }
      }
    } else if (c0 === COLON) {
      const onComment = this.onComment;
      if (onComment) onComment(text.slice(text.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1, end));
      return;
    } else if (c0 === LOWER_I) {
      if (text.charCodeAt(start + 1) === LOWER_D && text.charCodeAt(start + 2) === COLON) {
        this.setId(text.slice(text.charCodeAt(start + 3) === SPACE ? start + 4 : start + 3, end));
        return;
      }
    } else if (c0 === LOWER_E) {
      if (
        text.charCodeAt(start + 1) === LOWER_V &&
        text.charCodeAt(start + 2) === LOWER_E &&
        text.charCodeAt(start + 3) === LOWER_N &&
        text.charCodeAt(start + 4) === LOWER_T &&
        text.charCodeAt(start + 5) === COLON
      ) {
        const valueStart = text.charCodeAt(start + 6) === SPACE ? start + 7 : start + 6;
        // Streams repeat a few types: reuse the string of the last one rather than copy it again.
        if (end - valueStart !== this.lastType.length || !text.startsWith(this.lastType, valueStart)) {
          this.lastType = text.slice(valueStart, end);
        }
        this.eventType = this.lastType;
        return;
      }
    }
    // Anything else, the slow and general way.
    const line = start === 0 && end === text.length ? text : text.slice(start, end);
    const colon = line.indexOf(':');
    if (colon === -1) {
      this.processField(line, '');
      return;
    }
    const valueStart = line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1;
    this.processField(line.slice(0, colon), line.slice(valueStart));
  }

  overflow(size: number): never {
    const error = new BufferOverflowError(this.maxBufferSize, size);
    this.reset();
    throw error;
  }

  feedText(chunk: string): void {
    const length = chunk.length;
    if (length === 0) return;
    let start = 0;
    if (this.atStreamStart) {
      this.atStreamStart = false;
      if (chunk.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (this.skipLeadingLF) {
      this.skipLeadingLF = false;
      if (chunk.charCodeAt(start) === LF) start++;
    }
    const gen = this.generation;
    let nextCR = chunk.indexOf('\r', start);

    if (this.pending.length > 0) {
      // Finish the line the previous chunk left open.
      const nextLF = chunk.indexOf('\n', start);
      const end = nextCR === -1 ? nextLF : nextLF === -1 || nextCR < nextLF ? nextCR : nextLF;
      if (end === -1) {
        this.pending += start === 0 ? chunk : chunk.slice(start);
        if (this.pending.length > this.maxBufferSize) this.overflow(this.pending.length);
        return;
      }
      const line = this.pending + chunk.slice(start, end);
      this.pending = '';
      start = end + 1;
      if (end === nextCR) {
        if (start === length) this.skipLeadingLF = true;
        else if (chunk.charCodeAt(start) === LF) start++;
        nextCR = chunk.indexOf('\r', start);
      }
      this.processLine(line, 0, line.length);
      if (gen !== this.generation) return;
    }

    if (nextCR === -1) {
      // No CR in the rest of the chunk, the common case: LF is the only line end. The line's first
      // character picks the path; `data:`, `id:` and `event:` lines are handled here, inline.
      // Every read is checked against the length first: a read past the end makes V8 throw away the
      // optimised code of this function (measured: a 5x slowdown on 1 KB chunks).
      while (start < length) {
        const c0 = chunk.charCodeAt(start);
        if (c0 === LF) {
          // A blank line: dispatch.
          this.dispatch();
          if (gen !== this.generation) return;
          start++;
          continue;
        }
        if (
          c0 === LOWER_D &&
          start + 5 <= length &&
          chunk.charCodeAt(start + 1) === LOWER_A &&
          chunk.charCodeAt(start + 2) === LOWER_T &&
          chunk.charCodeAt(start + 3) === LOWER_A &&
          chunk.charCodeAt(start + 4) === COLON
        ) {
          const valueStart =
            start + 5 < length && chunk.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5;
          const end = chunk.indexOf('\n', valueStart);
          if (end === -1) break;
          start = end + 1;
          const next = start < length ? chunk.charCodeAt(start) : LF;
          if (!this.hasData && next === LF && start < length) {
            // A one-line event ending here, the most common shape: dispatch it without storing it.
            const value = end === valueStart ? '' : chunk.slice(valueStart, end);
            start++;
            this.lastEventId = this.lastEventIdBuffer;
            const type = this.eventType === '' ? 'message' : this.eventType;
            this.eventType = '';
            if (value.length > this.maxBufferSize) this.overflow(value.length);
            const onEvent = this.onEvent;
            if (onEvent !== undefined) {
              onEvent({ type, data: value, lastEventId: this.lastEventId });
              if (gen !== this.generation) return;
            }
            continue;
          }
          // When the next line opens like a data line, keep this line's LF with its value.
          const keepLF = next === LOWER_D;
          const value = keepLF
            ? chunk.slice(valueStart, start)
            : end === valueStart
              ? ''
              : chunk.slice(valueStart, end);
          if (!this.hasData) {
            this.data = value;
            this.hasData = true;
          } else this.data = this.dataEndsWithLF ? this.data + value : `${this.data}\n${value}`;
          this.dataEndsWithLF = keepLF;
          const size = keepLF ? this.data.length - 1 : this.data.length;
          if (size > this.maxBufferSize) this.overflow(size);
          continue;
        }
        if (
          c0 === LOWER_I &&
          start + 3 <= length &&
          chunk.charCodeAt(start + 1) === LOWER_D &&
          chunk.charCodeAt(start + 2) === COLON
        ) {
          const valueStart =
            start + 3 < length && chunk.charCodeAt(start + 3) === SPACE ? start + 4 : start + 3;
          // IDs are short: a scan by hand up to ID_SCAN characters beats a call to indexOf.
          let end = valueStart;
          let hasNul = false;
          const scanEnd = Math.min(length, valueStart + ID_SCAN);
          for (let c = 0; end < scanEnd; end++) {
            c = chunk.charCodeAt(end);
            if (c === LF) break;
            if (c === 0) hasNul = true;
          }
          if (end === scanEnd) end = chunk.indexOf('\n', end); // a long id, or the end of the chunk
          if (end === -1) break;
          const value = end === valueStart ? '' : chunk.slice(valueStart, end);
          // An id holding NUL is ignored (WHATWG 9.2.6): it could not be sent back in Last-Event-ID.
          if (!hasNul && (end - valueStart <= ID_SCAN || value.indexOf('\0') === -1))
            this.lastEventIdBuffer = value;
          start = end + 1;
          continue;
        }
        if (
          c0 === LOWER_E &&
          start + 6 <= length &&
          chunk.charCodeAt(start + 1) === LOWER_V &&
          chunk.charCodeAt(start + 2) === LOWER_E &&
          chunk.charCodeAt(start + 3) === LOWER_N &&
          chunk.charCodeAt(start + 4) === LOWER_T &&
          chunk.charCodeAt(start + 5) === COLON
        ) {
          const valueStart =
            start + 6 < length && chunk.charCodeAt(start + 6) === SPACE ? start + 7 : start + 6;
          // Streams repeat a few types: when the line holds the last one again, compare it by hand
          // and find the line end without a search or a copy.
          const lastType = this.lastType;
          let end = valueStart + lastType.length;
          if (!(end < length && chunk.charCodeAt(end) === LF && chunk.startsWith(lastType, valueStart))) {
            end = chunk.indexOf('\n', valueStart);
            if (end === -1) break;
            this.lastType = chunk.slice(valueStart, end);
          }
          this.eventType = this.lastType;
          start = end + 1;
          continue;
        }
        const end = chunk.indexOf('\n', start);
        if (end === -1) break;
        this.processLine(chunk, start, end);
        if (gen !== this.generation) return;
        start = end + 1;
      }
    } else {
      // Positions of the next CR and LF; each is searched for again only once passed.
      let nextLF = chunk.indexOf('\n', start);
      while (start < length) {
        if (nextCR !== -1 && nextCR < start) nextCR = chunk.indexOf('\r', start);
        if (nextLF !== -1 && nextLF < start) nextLF = chunk.indexOf('\n', start);
        let end: number;
        if (nextCR === -1) {
          if (nextLF === -1) break;
          end = nextLF;
        } else if (nextLF === -1 || nextCR < nextLF) end = nextCR;
        else end = nextLF;
        const lineStart = start;
        start = end + 1;
        if (end === nextCR) {
          // A CR ending the chunk dispatches now; an LF opening the next chunk belongs to it.
          if (start === length) this.skipLeadingLF = true;
          else if (chunk.charCodeAt(start) === LF) start++;
        }
        if (end === lineStart) this.dispatch();
        else this.processLine(chunk, lineStart, end);
        if (gen !== this.generation) return;
      }
    }
    if (start < length) {
      this.pending = start === 0 ? chunk : chunk.slice(start);
      if (this.pending.length > this.maxBufferSize) this.overflow(this.pending.length);
    }
  }

  reset(resetOptions?: { lastEventId?: string }): void {
    this.generation++;
    this.decoder = undefined;
    this.pending = '';
    this.atStreamStart = true;
    this.skipLeadingLF = false;
    this.data = '';
    this.hasData = false;
    this.dataEndsWithLF = false;
    this.eventType = '';
    if (resetOptions?.lastEventId !== undefined) {
      this.lastEventIdBuffer = resetOptions.lastEventId;
      this.lastEventId = resetOptions.lastEventId;
    } else this.lastEventIdBuffer = this.lastEventId;
  }
}

/**
 * Creates a streaming parser.
 *
 * @example
 * const parser = createParser({ onEvent: (e) => console.log(e.type, e.data) });
 * parser.feed('data: hello\n\n');
 */
export function createParser(handlers: ParserHandlers, options: ParserOptions = {}): EventStreamParser {
  const parser = new StreamParser(handlers, options);
  return {
    feed(chunk: string | Uint8Array): void {
      if (typeof chunk === 'string') parser.feedText(chunk);
      else parser.feedText((parser.decoder ??= new Utf8ChunkDecoder()).decode(chunk));
    },
    reset(resetOptions?: { lastEventId?: string }): void {
      parser.reset(resetOptions);
    },
    get lastEventId(): string {
      return parser.lastEventId;
    },
  };
}

function isAsciiDigits(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
