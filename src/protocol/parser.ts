/**
 * Streaming parser of the `text/event-stream` format, exact to the WHATWG "interpret an event stream"
 * algorithm (HTML, section 9.2.6): https://html.spec.whatwg.org/multipage/server-sent-events.html
 *
 * Bytes or text go in, in chunks split anywhere; events come out through callbacks. No I/O, no
 * timers, no Node APIs: the browser client uses the same code.
 */
import { BufferOverflowError } from './errors.js';

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
  /** Called for each valid `retry` field (ASCII digits only) with its value in milliseconds. */
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
const CR = 13;
const COLON = 58;
const SPACE = 32;

/**
 * Creates a streaming parser.
 *
 * @example
 * const parser = createParser({ onEvent: (e) => console.log(e.type, e.data) });
 * parser.feed('data: hello\n\n');
 */
export function createParser(handlers: ParserHandlers, options: ParserOptions = {}): EventStreamParser {
  const { onEvent, onRetry, onComment } = handlers;
  const maxBufferSize = options.maxBufferSize ?? Number.POSITIVE_INFINITY;

  let decoder: TextDecoder | undefined;
  let pending = ''; // an unfinished line carried over from the previous chunk
  let atStreamStart = true; // the next character may be the one BOM the stream may start with
  let skipLeadingLF = false; // the previous chunk ended with CR: an LF opening this one ends no line
  let generation = 0; // bumped by reset(), so a handler calling it stops the current chunk

  let data = '';
  let hasData = false;
  let eventType = '';
  let lastEventIdBuffer = options.lastEventId ?? '';
  let lastEventId = lastEventIdBuffer;

  function dispatch(): void {
    lastEventId = lastEventIdBuffer;
    if (!hasData) {
      eventType = '';
      return;
    }
    const event: ParsedEvent = { type: eventType === '' ? 'message' : eventType, data, lastEventId };
    data = '';
    hasData = false;
    eventType = '';
    onEvent?.(event);
  }

  function processField(field: string, value: string): void {
    switch (field) {
      case 'data':
        if (hasData) data += `\n${value}`;
        else {
          data = value;
          hasData = true;
        }
        if (data.length > maxBufferSize) overflow(data.length);
        break;
      case 'event':
        eventType = value;
        break;
      case 'id':
        if (value.indexOf('\0') === -1) lastEventIdBuffer = value;
        break;
      case 'retry':
        if (isAsciiDigits(value)) onRetry?.(Number.parseInt(value, 10));
        break;
      // Any other field is ignored.
    }
  }

  function processLine(line: string): void {
    const length = line.length;
    if (length === 0) {
      dispatch();
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) {
      if (onComment) onComment(line.charCodeAt(1) === SPACE ? line.slice(2) : line.slice(1));
      return;
    }
    if (colon === -1) {
      processField(line, '');
      return;
    }
    const valueStart = line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1;
    processField(line.slice(0, colon), line.slice(valueStart));
  }

  function overflow(size: number): never {
    const error = new BufferOverflowError(maxBufferSize, size);
    reset();
    throw error;
  }

  function feedText(chunk: string): void {
    if (chunk.length === 0) return;
    let start = 0;
    if (atStreamStart) {
      atStreamStart = false;
      if (chunk.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (skipLeadingLF) {
      skipLeadingLF = false;
      if (chunk.charCodeAt(start) === LF) start++;
    }
    const gen = generation;
    const length = chunk.length;
    // Positions of the next CR and LF; each is searched for again only once passed, so a stream
    // without CR costs one failed search per chunk.
    let nextCR = chunk.indexOf('\r', start);
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

      let line: string;
      if (pending.length > 0) {
        line = pending + chunk.slice(start, end);
        pending = '';
      } else line = chunk.slice(start, end);

      if (chunk.charCodeAt(end) === CR) {
        if (end + 1 === length)
          skipLeadingLF = true; // a CRLF may be split across chunks
        else if (chunk.charCodeAt(end + 1) === LF) end++;
      }
      start = end + 1;
      processLine(line);
      if (gen !== generation) return;
    }
    if (start < length) {
      const text = start === 0 ? chunk : chunk.slice(start);
      pending = pending.length > 0 ? pending + text : text;
      if (pending.length > maxBufferSize) overflow(pending.length);
    }
  }

  function reset(resetOptions?: { lastEventId?: string }): void {
    generation++;
    decoder = undefined;
    pending = '';
    atStreamStart = true;
    skipLeadingLF = false;
    data = '';
    hasData = false;
    eventType = '';
    if (resetOptions?.lastEventId !== undefined) {
      lastEventIdBuffer = resetOptions.lastEventId;
      lastEventId = resetOptions.lastEventId;
    } else lastEventIdBuffer = lastEventId;
  }

  return {
    feed(chunk: string | Uint8Array): void {
      if (typeof chunk === 'string') {
        feedText(chunk);
        return;
      }
      // ignoreBOM keeps a BOM in the text, so the one-BOM rule is applied in one place for both inputs.
      decoder ??= new TextDecoder('utf-8', { ignoreBOM: true });
      feedText(decoder.decode(chunk, { stream: true }));
    },
    reset,
    get lastEventId(): string {
      return lastEventId;
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
