/**
 * Random `urn:uuid:` IRIs (RFC 9562 version 4): the IDs the hub gives updates that came without
 * one, and subscribers' IRIs.
 *
 * Why not `urn:uuid:${randomUUID()}`: Node builds `randomUUID()`'s text by joining 16 two-digit hex
 * pieces with `+`, which V8 keeps as a rope of cons strings (~500 bytes). Each ID is then flattened
 * on its first hash (the history's ID map, the subscriber registry) or kept as a rope for as long
 * as it lives. The batch publish bench spent ~1.5 µs per update there (bench/results/publish-path).
 * Here the 45 characters are written into one buffer and read back as one flat string.
 */
import { randomFillSync } from 'node:crypto';

const PREFIX = 'urn:uuid:';
const TEMPLATE = `${PREFIX}00000000-0000-4000-8000-000000000000`;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Where each of the 16 random bytes goes in the text (two hex digits each), dashes skipped. */
const OFFSETS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34].map((o) => o + PREFIX.length);

/** Random bytes drawn 4 KiB at a time: one `getrandom` per 256 IDs instead of one each. */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;
const text = Buffer.from(TEMPLATE, 'latin1');

/** A new random `urn:uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` (lowercase, version 4, variant 10). */
export function randomUrnUuid(): string {
  if (used + 16 > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  for (let i = 0; i < 16; i++) {
    let byte = pool[used + i]!;
    if (i === 6)
      byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // variant 10
    const at = OFFSETS[i]!;
    text[at] = HEX_DIGITS[byte >> 4]!;
    text[at + 1] = HEX_DIGITS[byte & 0x0f]!;
  }
  used += 16;
  return text.toString('latin1');
}
