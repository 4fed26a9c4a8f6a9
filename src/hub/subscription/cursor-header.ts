/**
 * Update IDs in HTTP header values (`Last-Event-ID`, `Mercure-Last-Event-ID`, the 1.0 `Link`
 * parameter). An ID may hold any character but control and invisible format characters
 * (publish-input.ts), while a header value is bytes. The rule is the one browsers follow for the
 * `Last-Event-ID` they send: a non-ASCII ID travels as its UTF-8 bytes, each byte one Latin-1
 * character of the value (docs/transports.md).
 * So an ID such as `ticket-✓-東京` never makes a response fail, and the cursor a client reads back
 * decodes to the ID it sent.
 */

const ASCII = /^[\x20-\x7e\t]*$/;
const LATIN1 = /^[\x00-\xff]*$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The header value carrying `id`: itself when ASCII, else its UTF-8 bytes as Latin-1 characters. */
export function encodeHeaderValue(id: string): string {
  if (ASCII.test(id)) return id;
  return Buffer.from(id, 'utf8').toString('latin1');
}

/**
 * Sets a subscription's cursor response header(s), those of the draft(s) its request spoke:
 * draft-07 `Last-Event-ID`, 1.0 `Mercure-Last-Event-ID`. Event streams and long polls alike.
 */
export function setCursorHeaders(
  res: { setHeader(name: string, value: string): unknown },
  subscription: { readonly cursor: string; readonly draft07: boolean; readonly v1: boolean },
): void {
  const value = encodeHeaderValue(subscription.cursor);
  if (subscription.draft07) res.setHeader('Last-Event-ID', value);
  if (subscription.v1) res.setHeader('Mercure-Last-Event-ID', value);
}

/**
 * The ID a header value carries (node:http reads header bytes as Latin-1): the UTF-8 text of those
 * bytes when they are valid UTF-8, else the value as read (an ID sent as Latin-1 by an older client).
 */
export function decodeHeaderValue(value: string): string {
  if (ASCII.test(value) || !LATIN1.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return value;
  }
}
