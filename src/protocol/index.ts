/**
 * herald/protocol: the `text/event-stream` format, with no I/O. Encode once, write everywhere; parse
 * exactly as browsers do.
 */
export {
  assertEventId,
  assertEventType,
  assertRetry,
  type EventInit,
  encodeComment,
  encodeEvent,
  encodeRetry,
  formatEvent,
} from './encoder.js';
export { BufferOverflowError, InvalidEventError } from './errors.js';
export {
  createParser,
  type EventStreamParser,
  type ParsedEvent,
  type ParserHandlers,
  type ParserOptions,
} from './parser.js';
