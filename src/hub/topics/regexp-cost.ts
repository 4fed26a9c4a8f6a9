/**
 * What compiling a regular expression will cost, read from its source before the engine sees it.
 *
 * RE2 runs in time linear in its input, but its compiled program is not linear in its source:
 * `(?:ab|cd|ef|gh){1,1000}` (25 characters) expands to 12,003 instructions, and compiling it took
 * ~50 ms and ~7 MB (measured, re2js 2.10 on Node 20). A URL pattern or a URI template with a prefix
 * modifier (`{id:1000}`, 33,027 instructions) comes from clients, so the hub must know the price
 * before paying it. This is the size the parser itself estimates (re2js `Parser.calcSize`, which
 * the package does not export), computed in one pass over the source: within a few percent of
 * the program's instruction count, and an upper bound of the repetition the simplifier expands.
 */

/**
 * The estimated instruction count of `source` (RE2 syntax) once compiled; at least 1. Syntax the
 * engine would refuse is not checked here: it is priced as plain characters and refused by the
 * engine afterwards, at no more cost than its length.
 */
export function estimateRegExpCost(source: string): number {
  // One frame per open group: the alternatives closed so far, the one being read, and the size of
  // its last atom (which a quantifier that follows multiplies).
  const stack: Frame[] = [];
  let frame: Frame = { closed: 0, alternatives: 0, current: 0, last: 0, capture: false };
  let i = 0;
  const atom = (size: number): void => {
    frame.current += size;
    frame.last = size;
  };
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '\\') {
      i = skipEscape(source, i);
      atom(1);
    } else if (ch === '[') {
      i = skipClass(source, i);
      atom(1);
    } else if (ch === '(') {
      let capture = true;
      if (source[i + 1] === '?') {
        // `(?:`, `(?i)`, `(?i:` group without capture; `(?P<name>` and `(?<name>` capture.
        capture =
          source[i + 2] === 'P' || (source[i + 2] === '<' && source[i + 3] !== '=' && source[i + 3] !== '!');
        const close = source.indexOf(capture ? '>' : ':', i);
        const flagsOnly = source.indexOf(')', i);
        if (!capture && flagsOnly !== -1 && (close === -1 || flagsOnly < close)) {
          i = flagsOnly + 1; // `(?i)`: flags for the rest of the group, no group of its own
          continue;
        }
        i = close === -1 ? source.length : close + 1;
      } else {
        i++;
      }
      stack.push(frame);
      frame = { closed: 0, alternatives: 0, current: 0, last: 0, capture };
    } else if (ch === '|') {
      frame.closed += frame.current;
      frame.alternatives++;
      frame.current = 0;
      frame.last = 0;
      i++;
    } else if (ch === ')' && stack.length > 0) {
      const size = groupSize(frame);
      frame = stack.pop()!;
      atom(size);
      i++;
    } else if (ch === '*' || ch === '+' || ch === '?') {
      const sub = frame.last;
      const size = ch === '*' ? 2 + sub : 1 + sub;
      frame.current += size - sub;
      frame.last = size;
      i += source[i + 1] === '?' ? 2 : 1;
    } else if (ch === '{') {
      const repeat = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i, i + 16));
      if (repeat === null) {
        atom(1);
        i++;
        continue;
      }
      const min = Number(repeat[1]);
      const max = repeat[2] === undefined ? min : repeat[3] === '' ? -1 : Number(repeat[3]);
      const sub = frame.last;
      const size = max === -1 ? (min === 0 ? 2 + sub : 1 + min * sub) : max * sub + Math.max(0, max - min);
      frame.current += Math.max(1, size) - sub;
      frame.last = Math.max(1, size);
      i += repeat[0].length;
      if (source[i] === '?') i++;
    } else {
      // A literal, `.`, `^` or `$`; a surrogate pair counts once, as one rune.
      const cp = source.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      atom(1);
    }
  }
  while (stack.length > 0) {
    const size = groupSize(frame);
    frame = stack.pop()!;
    atom(size);
  }
  return Math.max(1, groupSize({ ...frame, capture: false }));
}

interface Frame {
  /** Summed size of the alternatives before the current one. */
  closed: number;
  /** How many `|` were read in this group. */
  alternatives: number;
  current: number;
  last: number;
  capture: boolean;
}

/** An alternation costs one split per `|`; a capture, two save instructions. */
function groupSize(frame: Frame): number {
  return frame.closed + frame.current + frame.alternatives + (frame.capture ? 2 : 0);
}

/** The index after the escape at `i`: `\x{…}`, `\p{…}`, `\Q…\E`, or a backslash and one character. */
function skipEscape(source: string, i: number): number {
  const next = source[i + 1];
  if ((next === 'x' || next === 'p' || next === 'P') && source[i + 2] === '{') {
    const end = source.indexOf('}', i + 3);
    return end === -1 ? source.length : end + 1;
  }
  if (next === 'Q') {
    const end = source.indexOf('\\E', i + 2);
    return end === -1 ? source.length : end + 2;
  }
  return Math.min(source.length, i + 2);
}

/** The index after the character class opening at `i` (`]` first in a class is a literal). */
function skipClass(source: string, i: number): number {
  let j = i + 1;
  if (source[j] === '^') j++;
  if (source[j] === ']') j++;
  while (j < source.length && source[j] !== ']') {
    if (source[j] === '\\') j = skipEscape(source, j);
    else if (source.startsWith('[:', j)) {
      const end = source.indexOf(':]', j + 2);
      j = end === -1 ? j + 1 : end + 2;
    } else j++;
  }
  return j + 1;
}
