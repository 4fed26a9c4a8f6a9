/**
 * Strict `application/x-www-form-urlencoded` parsing, for publish bodies and subscribe queries.
 *
 * The WHATWG parser behind `URLSearchParams` turns percent-escapes whose bytes are not UTF-8
 * (`%FF%FE`, a truncated `%E0%A4`, an encoded lone surrogate `%ED%A0%80`) into U+FFFD and carries
 * on: a topic or a payload would be silently corrupted. Here such a value is a 400 naming the field.
 *
 * Only escapes of bytes 0x80-0xFF can be invalid: literal characters are whole code points, and
 * the UTF-8 of a code point never starts with a continuation byte, so a run of consecutive escapes
 * is valid or not on its own.
 *
 * Bodies (`parseStrictForm`) are split and decoded here, as the WHATWG parser does, with
 * `decodeURIComponent`, which refuses exactly the escapes that are not UTF-8 once a `%` without two
 * hex digits after it (kept as it is by WHATWG) is escaped itself. It is V8's own code, several
 * times faster than `URLSearchParams`, whose decoding also mangles literal non-ASCII text in a
 * field that holds such a `%` (`%zz😀` reads `%zz=\0`: code units taken for bytes; Node 20-26). Queries come from the URL parser, which has
 * already escaped every non-ASCII character: `URLSearchParams` reads them, and `assertStrictForm`
 * walks their `%` signs, finding no escape of a high byte in the common case.
 */
import { badRequest, type HubHttpError } from './errors.js';

// A maximal run of escapes holding at least one high byte.
const ESCAPE_RUN = /(?:%[0-9a-fA-F]{2})*%[89a-fA-F][0-9a-fA-F](?:%[0-9a-fA-F]{2})*/g;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isValidRun(run: string): boolean {
  const bytes = new Uint8Array(run.length / 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The field a position of `text` belongs to, decoded leniently for the message. */
function fieldAt(text: string, index: number): { name: string; isName: boolean } {
  const start = text.lastIndexOf('&', index) + 1;
  const end = text.indexOf('&', index);
  const pair = text.slice(start, end === -1 ? text.length : end);
  const eq = pair.indexOf('=');
  const isName = eq === -1 || index - start < eq;
  const name = new URLSearchParams(`${eq === -1 ? pair : pair.slice(0, eq)}=`).keys().next().value ?? '';
  return { name, isName };
}

/** The error for an invalid run at `index` of `text`; `what` says where the text came from. */
function invalidUtf8(text: string, index: number, run: string, what: string): HubHttpError {
  const { name, isName } = fieldAt(text, index);
  const subject = isName ? `a ${what} parameter name (${JSON.stringify(name)})` : JSON.stringify(name);
  return badRequest(
    `${subject} is not valid UTF-8 after percent-decoding (${run} in the ${what}); ` +
      'percent-encode the UTF-8 bytes of the text',
    'HERALD_ERR_HUB_INVALID_UTF8',
  );
}

/** True when `text` holds an escape of a byte >= 0x80, the only kind that can break UTF-8. */
function hasHighEscape(text: string): boolean {
  for (let i = text.indexOf('%'); i !== -1; i = text.indexOf('%', i + 1)) {
    const c = text.charCodeAt(i + 1) | 0x20; // ASCII lower case
    if (c === 0x38 || c === 0x39 || (c >= 0x61 && c <= 0x66)) return true; // 8, 9, a-f
  }
  return false;
}

/**
 * Throws a 400 `HubHttpError` when a percent-escape run of `text` (a form body or a query string
 * without its `?`) does not decode to UTF-8, naming the field. `what` is `"query"` or `"body"`.
 */
export function assertStrictForm(text: string, what: string): void {
  if (!hasHighEscape(text)) return;
  ESCAPE_RUN.lastIndex = 0;
  for (let m = ESCAPE_RUN.exec(text); m !== null; m = ESCAPE_RUN.exec(text)) {
    if (!isValidRun(m[0])) throw invalidUtf8(text, m.index, m[0], what);
  }
}

/** What the hub reads of a form: `URLSearchParams`'s reading methods. */
export interface FormFields {
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string): boolean;
}

/** A form's fields in order, as two arrays: forms are short, a scan beats building an index. */
class FieldList implements FormFields {
  readonly #names: string[];
  readonly #values: string[];

  constructor(names: string[], values: string[]) {
    this.#names = names;
    this.#values = values;
  }

  get(name: string): string | null {
    const i = this.#names.indexOf(name);
    return i === -1 ? null : this.#values[i]!;
  }

  getAll(name: string): string[] {
    const found: string[] = [];
    for (let i = this.#names.indexOf(name); i !== -1; i = this.#names.indexOf(name, i + 1)) {
      found.push(this.#values[i]!);
    }
    return found;
  }

  has(name: string): boolean {
    return this.#names.includes(name);
  }
}

/** A `%` without two hex digits after it: WHATWG keeps it as it is. */
const BARE_PERCENT = /%(?![0-9A-Fa-f]{2})/g;

/**
 * A name or value of a form: `+` is a space, then percent-decoded as WHATWG does; undefined when an
 * escape run is not UTF-8.
 */
function decodeComponent(raw: string): string | undefined {
  const text = raw.includes('+') ? raw.replaceAll('+', ' ') : raw;
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {}
  // Either a bare `%` (escaped here, so that it decodes to itself) or bytes that are not UTF-8.
  try {
    return decodeURIComponent(text.replace(BARE_PERCENT, '%25'));
  } catch {
    return undefined;
  }
}

/**
 * The fields of a form body, read as the WHATWG parser reads them (split on `&`, then on the first
 * `=`, `+` as a space, percent-decoded), but a 400 naming the field where an escape run is not
 * UTF-8 once decoded. `what` names the text in the message (`"body"`).
 */
export function parseStrictForm(text: string, what: string): FormFields {
  const names: string[] = [];
  const values: string[] = [];
  for (let from = 0; from < text.length; ) {
    let amp = text.indexOf('&', from);
    if (amp === -1) amp = text.length;
    if (amp > from) {
      const pair = text.slice(from, amp);
      const eq = pair.indexOf('=');
      const name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
      const value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1));
      if (name === undefined || value === undefined) {
        assertStrictForm(text, what); // throws, naming the field and the run
        throw badRequest(
          `the ${what} is not valid UTF-8 after percent-decoding`,
          'HERALD_ERR_HUB_INVALID_UTF8',
        );
      }
      names.push(name);
      values.push(value);
    }
    from = amp + 1;
  }
  return new FieldList(names, values);
}
