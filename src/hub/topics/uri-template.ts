/**
 * RFC 6570 URI Templates (levels 1 to 4) compiled to a regular expression that matches exactly the
 * strings the template can expand to, for some values of its variables. Mercure draft-07 topic
 * selectors use them: `https://example.com/books/{id}` matches `https://example.com/books/1`.
 *
 * Libraries for URI templates expand; few match, and those that do disagree on operators and
 * explode modifiers. The grammar is small, so it is compiled here, clause by clause, and the output
 * is run by a linear-time engine (see `pattern-engine.ts`), never by backtracking `RegExp`.
 */

/** RFC 6570 §3.2.1, Table in Appendix A: how each operator joins and names its values. */
interface OperatorRule {
  /** Written before the first defined variable. */
  first: string;
  /** Written between defined variables (and between exploded items). */
  sep: string;
  /** `;`, `?` and `&` write `name=value`. */
  named: boolean;
  /** What a named variable with an empty value expands to after its name (`;x` vs `?x=`). */
  ifemp: '' | '=';
  /** `+` and `#` let reserved characters through unencoded. */
  reserved: boolean;
}

const OPERATORS: Record<string, OperatorRule> = {
  '': { first: '', sep: ',', named: false, ifemp: '', reserved: false },
  '+': { first: '', sep: ',', named: false, ifemp: '', reserved: true },
  '#': { first: '#', sep: ',', named: false, ifemp: '', reserved: true },
  '.': { first: '.', sep: '.', named: false, ifemp: '', reserved: false },
  '/': { first: '/', sep: '/', named: false, ifemp: '', reserved: false },
  ';': { first: ';', sep: ';', named: true, ifemp: '', reserved: false },
  '?': { first: '?', sep: '&', named: true, ifemp: '=', reserved: false },
  '&': { first: '&', sep: '&', named: true, ifemp: '=', reserved: false },
};

interface VarSpec {
  name: string;
  /** Prefix modifier `:N` (1..9999), or 0 for none. */
  prefix: number;
  explode: boolean;
}

type TemplatePart = { literal: string } | { operator: string; vars: VarSpec[] };

/*
 * One character of an expanded value. Unreserved characters and percent-encoded octets always;
 * reserved characters for `+` and `#`. Expansion percent-encodes everything else, but topics are
 * IRIs (Mercure: "It is RECOMMENDED to use an IRI"), so non-ASCII characters (RFC 3987 ucschar and
 * iprivate, all >= U+00A0) are accepted as they appear in an IRI rather than only percent-encoded.
 */
const PCT = '%[0-9A-Fa-f]{2}';
const IRI_CHARS = '\\x{A0}-\\x{D7FF}\\x{E000}-\\x{10FFFF}';
const UNRESERVED_UNIT = `(?:[A-Za-z0-9._~${IRI_CHARS}-]|${PCT})`;
const RESERVED_UNIT = `(?:[A-Za-z0-9._~:/?#\\[\\]@!$&'()*+,;=${IRI_CHARS}-]|${PCT})`;

/*
 * Under a prefix modifier a unit is one character before encoding (RFC 6570 §2.4.1: "the number of
 * Unicode characters"), so the percent-encoded UTF-8 bytes of one character count once.
 */
const CONT = '%[89ABab][0-9A-Fa-f]';
const PCT_CHAR = `(?:%[0-7][0-9A-Fa-f]|%[CDcd][0-9A-Fa-f]${CONT}|%[Ee][0-9A-Fa-f]${CONT}${CONT}|%[Ff][0-7]${CONT}${CONT}${CONT})`;
const UNRESERVED_CHAR = `(?:[A-Za-z0-9._~${IRI_CHARS}-]|${PCT_CHAR})`;
const RESERVED_CHAR = `(?:[A-Za-z0-9._~:/?#\\[\\]@!$&'()*+,;=${IRI_CHARS}-]|${PCT_CHAR})`;

/** RE2 refuses repetition counts above 1000; a longer prefix is matched as unbounded. */
const MAX_REPEAT = 1000;

/**
 * Parses `source` as an RFC 6570 template. Returns `undefined` when it is not a valid template (an
 * unclosed brace, a reserved operator, a character literals may not hold), in which case Mercure
 * treats the selector as a plain string.
 */
export function parseUriTemplate(source: string): TemplatePart[] | undefined {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '{') {
      const end = source.indexOf('}', i + 1);
      if (end === -1) return undefined;
      const expression = parseExpression(source.slice(i + 1, end));
      if (expression === undefined) return undefined;
      if (literal !== '') parts.push({ literal });
      literal = '';
      parts.push(expression);
      i = end + 1;
      continue;
    }
    if (ch === '%') {
      if (!/^%[0-9A-Fa-f]{2}/.test(source.slice(i, i + 3))) return undefined;
      literal += source.slice(i, i + 3);
      i += 3;
      continue;
    }
    const cp = source.codePointAt(i)!;
    if (!isLiteralCodePoint(cp)) return undefined;
    const width = cp > 0xffff ? 2 : 1;
    literal += source.slice(i, i + width);
    i += width;
  }
  if (literal !== '') parts.push({ literal });
  return parts;
}

/**
 * Compiles a URI template to the source of an anchored regular expression (RE2 syntax), or
 * `undefined` when `source` is not a template, or is ASCII text without expressions: such a template
 * expands to itself only, so it is matched as a plain string.
 */
export function uriTemplateToRegExpSource(source: string): string | undefined {
  const parts = parseUriTemplate(source);
  if (parts === undefined) return undefined;
  if (parts.every((p) => 'literal' in p) && !/[^\x00-\x7f]/.test(source)) return undefined;
  let out = '^';
  for (const part of parts) {
    out += 'literal' in part ? literalPattern(part.literal) : expressionPattern(part.operator, part.vars);
  }
  return `${out}$`;
}

function parseExpression(body: string): TemplatePart | undefined {
  let operator = '';
  const head = body[0];
  if (head !== undefined && '+#./;?&'.includes(head)) {
    operator = head;
    body = body.slice(1);
  }
  // `=`, `,`, `!`, `@`, `|` are reserved for future extensions (RFC 6570 §2.2): not a template.
  const vars: VarSpec[] = [];
  for (const spec of body.split(',')) {
    const m =
      /^((?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+(?:\.(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+)*)(?::([1-9][0-9]{0,3})|(\*))?$/.exec(
        spec,
      );
    if (m === null) return undefined;
    vars.push({ name: m[1]!, prefix: m[2] === undefined ? 0 : Number(m[2]), explode: m[3] === '*' });
  }
  return { operator, vars };
}

/** RFC 6570 §2.1 `literals`: any character but CTL, SP, DQUOTE, ', %, <, >, \, ^, `, {, |, }. */
function isLiteralCodePoint(cp: number): boolean {
  if (cp < 0x80) {
    return cp > 0x20 && !'"\'%<>\\^`{|}'.includes(String.fromCharCode(cp)) && cp !== 0x7f;
  }
  if (cp < 0xa0 || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  // ucschar and iprivate: everything from U+00A0 up but the non-characters.
  if (cp >= 0xfdd0 && cp <= 0xfdef) return false;
  return (cp & 0xfffe) !== 0xfffe && !(cp >= 0xfff0 && cp <= 0xffff);
}

function expressionPattern(operator: string, vars: VarSpec[]): string {
  const rule = OPERATORS[operator]!;
  const values = vars.map((v) => varPattern(v, rule));
  // A variable may be undefined (then it expands to nothing, separator included). The first defined
  // variable is preceded by `first`, every later one by `sep`: one alternative per choice of the
  // first defined variable, each followed by the optional rest, plus the empty expansion.
  const sep = escapeRegExp(rule.sep);
  const alternatives = values.map((value, k) => {
    let alt = escapeRegExp(rule.first) + value;
    for (let j = k + 1; j < values.length; j++) alt += `(?:${sep}${values[j]})?`;
    return alt;
  });
  alternatives.push('');
  return `(?:${alternatives.join('|')})`;
}

function varPattern(v: VarSpec, rule: OperatorRule): string {
  const unit = rule.reserved ? RESERVED_UNIT : UNRESERVED_UNIT;
  const text = `${unit}*`;
  const sep = escapeRegExp(rule.sep);
  // A prefix applies to string values only (§2.4.1): at most N characters, a triplet counting as one.
  const char = rule.reserved ? RESERVED_CHAR : UNRESERVED_CHAR;
  const prefixed = v.prefix > 0 ? (v.prefix <= MAX_REPEAT ? `${char}{0,${v.prefix}}` : text) : undefined;
  if (!rule.named) {
    if (prefixed !== undefined) return prefixed;
    // Lists join with `,` (explode: with `sep`); associative arrays write key,value or key=value.
    if (!v.explode) return `${text}(?:,${text})*`;
    const item = `${text}(?:=${text})?`;
    return `${item}(?:${sep}${item})*`;
  }
  const name = escapeRegExp(v.name);
  if (!v.explode) {
    const value = prefixed ?? `${text}(?:,${text})*`;
    // `;x` for an empty value (ifemp ""), `?x=` (ifemp "="): the `=` is optional only for `;`.
    return rule.ifemp === '' ? `${name}(?:=${value})?` : `${name}=${value}`;
  }
  // Exploded lists repeat the name (`;x=a;x=b`); exploded associative arrays name each key.
  const item = rule.ifemp === '' ? `${unit}+(?:=${text})?` : `${unit}+=${text}`;
  return `${item}(?:${sep}${item})*`;
}

/**
 * Literal text. RFC 6570 §3.1 percent-encodes, on expansion, literal characters that URIs do not
 * allow, so `é` in a template expands to `%C3%A9`; an IRI topic holds it as is. Both match.
 */
function literalPattern(text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) out += escapeRegExp(ch);
    else out += `(?:${escapeRegExp(ch)}|${encodeURIComponent(ch)})`;
  }
  return out;
}

/** Escapes every character RE2 could read as syntax. */
export function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}
