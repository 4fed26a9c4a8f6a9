import { RE2JS } from 're2js';

/**
 * A regular expression run in time linear in its input. Selectors come from clients (subscription
 * parameters, token claims), and a backtracking `RegExp` takes seconds on `^(.*)a(.*)a(.*)b$`
 * against 400 characters. Mercure 1.0 ("URL Pattern") requires a linear-time engine or an
 * evaluation cost limit; RE2 (here its JavaScript port) is the former.
 */
export interface LinearRegExp {
  readonly source: string;
  test(input: string): boolean;
}

/**
 * Compiles `source`, written in JavaScript `u`-mode syntax, for RE2. The two share their syntax but
 * for lookaround and backreferences, which RE2 refuses (they cannot run in linear time: the engine's
 * syntax error is thrown), and the JavaScript-only classes `[^]` (any character) and `[]` (none).
 */
export function compileLinearRegExp(source: string): LinearRegExp {
  const re = RE2JS.compile(toRe2Syntax(source));
  return { source, test: (input) => re.test(input) };
}

function toRe2Syntax(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      out += source.slice(i, i + 2);
      i++;
    } else if (ch === '[' && source.startsWith('[^]', i)) {
      out += '[\\x{0}-\\x{10FFFF}]';
      i += 2;
    } else if (ch === '[' && source.startsWith('[]', i)) {
      out += '[^\\x{0}-\\x{10FFFF}]';
      i += 1;
    } else if (ch === '[') {
      // Copy the class whole so that a `[` inside it is not read as a new class.
      let j = i + 1;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j;
    } else {
      out += ch;
    }
  }
  return out;
}
