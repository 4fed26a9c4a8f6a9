/**
 * herald/protocol alone: encode an event once, then parse it back from chunks split anywhere, as a
 * reader of a network stream gets them.
 *
 * Run: node --import tsx examples/protocol.ts
 */
import { createParser, encodeEvent } from 'herald/protocol';

const bytes = encodeEvent({ event: 'price', id: '42', data: '{"symbol":"ACME","price":12.5}' });
// write `bytes` to every subscriber: it is encoded once.
process.stdout.write(`encoded: ${JSON.stringify(new TextDecoder().decode(bytes))}\n`);

const parser = createParser({ onEvent: (e) => console.log('parsed:', e.type, e.data, e.lastEventId) });
// Chunks may be split anywhere, bytes or text: here one byte at a time.
for (let i = 0; i < bytes.length; i++) parser.feed(bytes.subarray(i, i + 1));
