/**
 * Encoder of the `text/event-stream` format (WHATWG HTML, "Server-sent events", section 9.2.5).
 *
 * Events are turned into bytes once; the same bytes can then be written to every subscriber. Values
 * that would alter framing are refused with an {@link InvalidEventError} rather than rewritten.
 */
import { InvalidEventError } from './errors.js';

/** One event as a server sends it. Every field is optional; an empty object encodes to a bare dispatch. */
export interface EventInit {
  /** The payload. CR, LF and CRLF become line breaks between `data:` lines; the reader sees LF. */
  data?: string;
  /** The event type; the reader's default is `message`. Must not contain CR or LF. */
  event?: string;
  /** Sets the reader's last event ID. Must not contain CR, LF or NUL. The empty string resets it. */
  id?: string;
  /** Reconnection time in milliseconds for the reader: a non-negative integer. */
  retry?: number;
  /** A comment line written before the fields; ignored by readers, useful for debugging. */
  comment?: string;
}

const utf8 = new TextEncoder();
const LINE_BREAK = /\r\n|\r|\n/;
const LINE_BREAKS = /\r\n|\r|\n/g;

function hasLineBreak(value: string): boolean {
  return value.indexOf('\n') !== -1 || value.indexOf('\r') !== -1;
}

/** Checks an event type; throws {@link InvalidEventError} when it would break framing. */
export function assertEventType(event: string): void {
  if (typeof event !== 'string')
    throw new InvalidEventError('event', `event must be a string (got ${typeof event})`);
  if (hasLineBreak(event)) {
    throw new InvalidEventError('event', `event must not contain CR or LF (got ${JSON.stringify(event)})`);
  }
}

/** Checks an event ID; throws {@link InvalidEventError} when it would break framing or be ignored. */
export function assertEventId(id: string): void {
  if (typeof id !== 'string') throw new InvalidEventError('id', `id must be a string (got ${typeof id})`);
  if (hasLineBreak(id))
    throw new InvalidEventError('id', `id must not contain CR or LF (got ${JSON.stringify(id)})`);
  // Readers ignore an id holding NUL (WHATWG), so it would silently not be the event's id.
  if (id.indexOf('\0') !== -1)
    throw new InvalidEventError('id', `id must not contain NUL (got ${JSON.stringify(id)})`);
}

/** Checks a reconnection time; throws {@link InvalidEventError} unless it is a non-negative safe integer. */
export function assertRetry(retry: number): void {
  if (typeof retry !== 'number' || !Number.isSafeInteger(retry) || retry < 0) {
    throw new InvalidEventError(
      'retry',
      `retry must be a non-negative integer of milliseconds (got ${String(retry)})`,
    );
  }
}

function commentLines(text: string): string {
  // A comment may span lines: each becomes its own comment line, so it can never start a field.
  return LINE_BREAK.test(text) ? `: ${text.replace(LINE_BREAKS, '\n: ')}\n` : `: ${text}\n`;
}

/**
 * Formats an event as text, ending with the blank line that dispatches it. Prefer
 * {@link encodeEvent} when writing to sockets: it returns bytes ready to share.
 *
 * @example formatEvent({ event: 'price', id: '42', data: '{"p":1}' }) // "event: price\nid: 42\ndata: {\"p\":1}\n\n"
 */
export function formatEvent(init: EventInit): string {
  let out = '';
  if (init.comment !== undefined) out += commentLines(init.comment);
  if (init.event !== undefined) {
    assertEventType(init.event);
    out += `event: ${init.event}\n`;
  }
  if (init.id !== undefined) {
    assertEventId(init.id);
    out += init.id === '' ? 'id\n' : `id: ${init.id}\n`;
  }
  if (init.retry !== undefined) {
    assertRetry(init.retry);
    out += `retry: ${init.retry}\n`;
  }
  if (init.data !== undefined) {
    const data = init.data;
    if (typeof data !== 'string')
      throw new InvalidEventError('data', `data must be a string (got ${typeof data})`);
    // The space after the colon is part of the framing: readers strip exactly one, so a value that
    // itself starts with a space keeps it.
    out += hasLineBreak(data) ? `data: ${data.replace(LINE_BREAKS, '\ndata: ')}\n` : `data: ${data}\n`;
  }
  return `${out}\n`;
}

/** Encodes an event to UTF-8 bytes, once, to be written to any number of streams. */
export function encodeEvent(init: EventInit): Uint8Array {
  return utf8.encode(formatEvent(init));
}

/** Encodes a comment (a heartbeat, a note): `: text` lines, which readers ignore. */
export function encodeComment(text = ''): Uint8Array {
  return utf8.encode(commentLines(text));
}

/** Encodes a bare reconnection-time hint (`retry: N`) followed by a blank line. */
export function encodeRetry(retry: number): Uint8Array {
  assertRetry(retry);
  return utf8.encode(`retry: ${retry}\n\n`);
}
