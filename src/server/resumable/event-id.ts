/**
 * Event IDs of resumable streams: `<tag>.<n>` where `n` is the number of chunks the reader has
 * (the n-th chunk carries `<tag>.<n>`), and `<tag>.end` on the final event. The tag is random per
 * stream, chosen when it starts, so a `Last-Event-ID` from another stream (or from an earlier
 * stream that had the same ID and expired) is recognised instead of resuming at a wrong place.
 */

/** The suffix of the final (end or aborted) event's ID. */
export const END_SUFFIX = 'end';

/** A new stream tag: 8 base-36 characters, ~41 bits, plenty to tell streams with one ID apart. */
export function newTag(): string {
  let tag = '';
  for (let i = 0; i < 8; i++) tag += ((Math.random() * 36) | 0).toString(36);
  return tag;
}

/** Where a `Last-Event-ID` says the reader is: after `n` chunks, after the end, or not this stream's. */
export type ResumePoint = { kind: 'chunks'; count: number } | { kind: 'end' } | { kind: 'foreign' };

const DIGITS = /^(0|[1-9][0-9]{0,15})$/;

/** Reads a `Last-Event-ID` against a stream's tag; `null` (none sent) means from the start. */
export function parseResumePoint(lastEventId: string | null, tag: string): ResumePoint {
  if (lastEventId === null || lastEventId === '') return { kind: 'chunks', count: 0 };
  const dot = lastEventId.lastIndexOf('.');
  if (dot === -1 || lastEventId.slice(0, dot) !== tag) return { kind: 'foreign' };
  const rest = lastEventId.slice(dot + 1);
  if (rest === END_SUFFIX) return { kind: 'end' };
  if (!DIGITS.test(rest)) return { kind: 'foreign' };
  return { kind: 'chunks', count: Number(rest) };
}
