/**
 * Parses a batch body (a JSON array) without turning the whole body into one string.
 *
 * Why: V8 puts a string over 128 KiB in its large-object space, one mapping of its own per string,
 * and on these machines making one cost ~0.7 ms (a 150 KB batch of 1,000 updates: 0.7 µs per
 * update, more than decoding and checking the items; bench/results/publish-path). So a large body
 * is cut between its top-level items into pieces of at most `PIECE_BYTES`, each parsed as an array
 * of its own. The result is the same as `JSON.parse(body.toString('utf8'))`: a body the cutter
 * does not follow (not an array, unbalanced, a stray comma) is parsed whole, so that the error is
 * `JSON.parse`'s own.
 */

/** Bodies up to this size are parsed whole: their string stays in the ordinary heap. */
const WHOLE_BYTES = 96 * 1024;
/** Most bytes parsed at once when a body is cut. */
const PIECE_BYTES = 64 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** The JSON value of a UTF-8 body (a byte-order mark at its start is skipped); throws `SyntaxError`. */
export function parseBatchJson(body: Buffer): unknown {
  const start = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  if (body.length - start > WHOLE_BYTES) {
    const cuts = itemEnds(body, start);
    if (cuts !== undefined) {
      const items = parsePieces(body, cuts);
      if (items !== undefined) return items;
    }
  }
  return JSON.parse(body.toString('utf8', start));
}

/**
 * Where each top-level item of the array at `from` ends: the offsets of the commas between items,
 * then of the closing bracket, after the opening bracket's offset. Undefined when the body is not
 * one array followed by nothing but whitespace. Exported for its tests.
 */
export function itemEnds(body: Buffer, from = 0): number[] | undefined {
  let i = skipSpace(body, from);
  if (body[i] !== OPEN_ARRAY) return undefined;
  const cuts = [i];
  let depth = 0;
  for (i++; i < body.length; i++) {
    const byte = body[i];
    if (byte === QUOTE) {
      // Jump to the closing quote: one not preceded by an odd number of backslashes.
      let end = body.indexOf(QUOTE, i + 1);
      while (end !== -1 && escaped(body, end)) end = body.indexOf(QUOTE, end + 1);
      if (end === -1) return undefined;
      i = end;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth++;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      if (depth === 0) {
        if (byte !== CLOSE_ARRAY) return undefined;
        cuts.push(i);
        return skipSpace(body, i + 1) === body.length ? cuts : undefined;
      }
      depth--;
    } else if (byte === COMMA && depth === 0) {
      cuts.push(i);
    }
  }
  return undefined;
}

/** Parses the items between `cuts` a piece at a time; undefined when a piece does not parse. */
function parsePieces(body: Buffer, cuts: number[]): unknown[] | undefined {
  const items: unknown[] = [];
  let first = 0;
  while (first < cuts.length - 1) {
    // Take items while the piece stays under PIECE_BYTES (one larger item is a piece of its own).
    let last = first + 1;
    while (last < cuts.length - 1 && cuts[last + 1]! - cuts[first]! <= PIECE_BYTES) last++;
    let piece: unknown;
    try {
      piece = JSON.parse(`[${body.toString('utf8', cuts[first]! + 1, cuts[last])}]`);
    } catch {
      return undefined;
    }
    const values = piece as unknown[];
    // A piece reads as as many items as it spans, or the body had an empty item (`[1,,2]`).
    if (values.length !== last - first) return undefined;
    for (let k = 0; k < values.length; k++) items.push(values[k]);
    first = last;
  }
  return items;
}

function escaped(body: Buffer, quote: number): boolean {
  let backslashes = 0;
  for (let k = quote - 1; body[k] === BACKSLASH; k--) backslashes++;
  return backslashes % 2 === 1;
}

function skipSpace(body: Buffer, from: number): number {
  let i = from;
  while (i < body.length) {
    const byte = body[i];
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) break;
    i++;
  }
  return i;
}
