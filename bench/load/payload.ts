/**
 * What each benchmark event carries in its data: `#b<sequence>.<due time in µs>#`, padded with `x` to
 * the event size. Every system under test passes the data through untouched, so the subscriber side
 * can find the marker in the raw socket bytes (whatever the framing: ids, chunked encoding) without
 * parsing the event stream, and the generator stays cheaper than any server it measures.
 */

/** A monotonic clock shared by every process of the machine (CLOCK_MONOTONIC), in µs. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function payload(sequence: number, dueUs: number, size: number): string {
  const head = `#b${sequence}.${dueUs}#`;
  return head.length >= size ? head : head + 'x'.repeat(size - head.length);
}

/** How a system takes a publish: a Mercure form, the payload as the body, or Pushpin's JSON items. */
export type PublishFormat = 'mercure' | 'raw' | 'pushpin';

/** Where and how to publish to one system. */
export interface PublishTarget {
  host: string;
  port: number;
  path: string;
  format: PublishFormat;
  /** The topic or channel every benchmark event goes to. */
  topic: string;
  headers: Record<string, string>;
}

/** The request body and its type for one event. */
export function publishBody(target: PublishTarget, data: string): { body: string; contentType: string } {
  switch (target.format) {
    case 'mercure':
      return {
        body: `topic=${encodeURIComponent(target.topic)}&data=${encodeURIComponent(data)}`,
        contentType: 'application/x-www-form-urlencoded',
      };
    case 'raw':
      return { body: data, contentType: 'text/plain' };
    case 'pushpin':
      return {
        body: JSON.stringify({
          items: [{ channel: target.topic, formats: { 'http-stream': { content: `data: ${data}\n\n` } } }],
        }),
        contentType: 'application/json',
      };
  }
}
