/**
 * Records everything a parser reports, in order, so a test can compare one list: events, retries and
 * comments interleaved as the stream produced them.
 */
import { createParser, type EventStreamParser, type ParserOptions } from '../../src/protocol/index.js';

export type Output =
  | { kind: 'event'; type: string; data: string; lastEventId: string }
  | { kind: 'retry'; retry: number }
  | { kind: 'comment'; comment: string };

export interface Recorder {
  parser: EventStreamParser;
  outputs: Output[];
}

/** A parser whose every callback appends to `outputs`. */
export function record(options?: ParserOptions): Recorder {
  const outputs: Output[] = [];
  const parser = createParser(
    {
      onEvent: (e) => outputs.push({ kind: 'event', type: e.type, data: e.data, lastEventId: e.lastEventId }),
      onRetry: (retry) => outputs.push({ kind: 'retry', retry }),
      onComment: (comment) => outputs.push({ kind: 'comment', comment }),
    },
    options,
  );
  return { parser, outputs };
}

/** Feeds `chunks` to a fresh recording parser and returns what it reported. */
export function parse(chunks: ReadonlyArray<string | Uint8Array>, options?: ParserOptions): Output[] {
  const { parser, outputs } = record(options);
  for (const chunk of chunks) parser.feed(chunk);
  return outputs;
}

/** Events only, as `[type, data, lastEventId]` triples: the shortest readable expectation. */
export function events(outputs: Output[]): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (const o of outputs) if (o.kind === 'event') out.push([o.type, o.data, o.lastEventId]);
  return out;
}

/** `text` as UTF-8 bytes. */
export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** `text` as UTF-8 bytes cut into pieces at every one of `cuts` (byte offsets). */
export function splitBytes(text: string, cuts: number[]): Uint8Array[] {
  const all = bytes(text);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    pieces.push(all.subarray(start, cut));
    start = cut;
  }
  pieces.push(all.subarray(start));
  return pieces;
}
