/**
 * One update's bytes in every wire format, each built on first use and then shared: a fan-out to
 * 10,000 subscribers encodes an update once per format in use, not once per subscriber.
 */
import { eventBytes } from '../../server/event-bytes.js';
import { textFrame } from '../transports/ws-frame.js';
import type { Update } from '../update.js';
import type { WireFormat } from './wire-format.js';

/** The event-stream bytes of an update. */
export function encodeUpdate(update: Update): Uint8Array {
  return eventBytes({ id: update.id, event: update.type, retry: update.retry, data: update.data });
}

/**
 * The JSON object of an update, as WebSocket frames and long-poll responses carry it:
 * `{"id":…,"type":…,"data":…,"retry":…}`, `type` and `retry` only when set (docs/transports.md).
 */
export function updateJson(update: Update): string {
  const object: { id: string; type?: string; data?: string; retry?: number } = { id: update.id };
  if (update.type !== undefined) object.type = update.type;
  object.data = update.data;
  if (update.retry !== undefined) object.retry = update.retry;
  return JSON.stringify(object);
}

/**
 * The key a stream conflates an update under: its canonical topic and its key, so that the same
 * key on two topics (`/prices/EURUSD` and `/trades/EURUSD`, both keyed `EURUSD`) never replace
 * each other. Topics cannot contain a line feed (publish-input.ts), so the joined form is unambiguous.
 */
export function streamKey(update: Update): string | undefined {
  return update.key === undefined ? undefined : `${update.topics[0]}\n${update.key}`;
}

export class UpdateFrames {
  readonly update: Update;
  /** {@link streamKey}, computed once for every subscriber; undefined for a keyless update. */
  readonly streamKey: string | undefined;
  #sse: Uint8Array | undefined;
  #json: Buffer | undefined;
  #ws: Buffer | undefined;

  constructor(update: Update) {
    this.update = update;
    this.streamKey = update.key === undefined ? undefined : streamKey(update);
  }

  /** The bytes to write to a stream of this format; the same buffer on every call. May throw (SSE field rules). */
  get(format: WireFormat): Uint8Array {
    if (format === 'sse') return (this.#sse ??= encodeUpdate(this.update));
    if (format === 'ws') return (this.#ws ??= textFrame(this.json()));
    return this.json();
  }

  /** The update's JSON object as UTF-8 bytes (the `poll` format, and the WebSocket frame's payload). */
  json(): Buffer {
    return (this.#json ??= Buffer.from(updateJson(this.update)));
  }
}
