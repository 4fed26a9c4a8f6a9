/**
 * Reads `herald serve`'s options from flags, `HERALD_*` variables and an optional JSON config file,
 * in that order of precedence (flag > env > file > default), and checks each value once, here,
 * before anything is opened. Every refusal is a `UsageError` naming the source (`--port`,
 * `HERALD_PORT`, `"port" in herald.json`), the value received and the fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AuthConfigError,
  checkJwtKey,
  isPemKey,
  ORIGIN_RULE,
  parseOrigin,
  parseStoreSpec,
} from '../hub/index.js';
import { parseDuration } from './duration.js';
import {
  CONFIG_FLAG,
  OPTION_SPECS,
  type OptionSpec,
  SERVE_DEFAULTS,
  type ServeConfig,
} from './serve-options.js';
import { UsageError } from './usage-error.js';

/** What `resolveServeConfig` reads; passed in so tests and the cluster can supply their own. */
export interface ConfigSources {
  /** Arguments after the command name (`serve`). */
  argv: readonly string[];
  env: Record<string, string | undefined>;
  /** Directory relative paths given as flags or variables are resolved against. */
  cwd: string;
}

/** What the command line asked for: run, or print help. */
export type ServeRequest = { help: true } | { help: false; config: ServeConfig };

/** A raw value and where it came from, for messages. */
interface Raw {
  value: unknown;
  source: string;
  /** Directory relative paths in this value are resolved against. */
  baseDir: string;
}

const SPEC_BY_FLAG = new Map(OPTION_SPECS.map((spec) => [spec.flag, spec]));
/** Config-file keys are the flags in camelCase: `--history-max-age` is `historyMaxAge`. */
const SPEC_BY_FILE_KEY = new Map(OPTION_SPECS.map((spec) => [fileKey(spec), spec]));

function fileKey(spec: OptionSpec): string {
  return spec.flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** Reads and checks every option. Throws `UsageError` on the first problem found. */
export function resolveServeConfig(sources: ConfigSources): ServeRequest {
  const flags = readFlags(sources.argv, sources.cwd);
  if (flags.help) return { help: true };

  const configPath =
    (flags.values.get(CONFIG_FLAG.flag)?.value as string | undefined) ??
    nonEmpty(sources.env[CONFIG_FLAG.env]);
  const file =
    configPath === undefined ? new Map<string, Raw>() : readConfigFile(resolve(sources.cwd, configPath));

  const config = { ...SERVE_DEFAULTS } as Record<keyof ServeConfig, unknown>;
  for (const spec of OPTION_SPECS) {
    const envValue = nonEmpty(sources.env[spec.env]);
    const raw: Raw | undefined =
      flags.values.get(spec.flag) ??
      (envValue === undefined ? undefined : { value: envValue, source: spec.env, baseDir: sources.cwd }) ??
      file.get(fileKey(spec));
    if (raw !== undefined) config[spec.key] = readValue(spec, raw);
  }
  const checked = config as unknown as ServeConfig;
  checkCombinations(checked);
  return { help: false, config: checked };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function readFlags(argv: readonly string[], cwd: string): { help: boolean; values: Map<string, Raw> } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    [CONFIG_FLAG.flag]: { type: 'string' },
  };
  for (const spec of OPTION_SPECS)
    options[spec.flag] = { type: spec.kind === 'boolean' ? 'boolean' : 'string' };
  // strict: false so that unknown flags and missing values reach the checks below, which word the
  // messages for people ("did you mean --port?") rather than for programs.
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values = new Map<string, Raw>();
  let help = false;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      throw new UsageError(
        `herald serve takes no arguments, only options (got "${token.value}"); run "herald serve --help"`,
      );
    }
    if (token.kind !== 'option') continue;
    const name = token.name;
    if (name === 'help' || name === 'h') {
      help = true;
      continue;
    }
    const negated = name.startsWith('no-') ? SPEC_BY_FLAG.get(name.slice(3)) : undefined;
    if (negated?.kind === 'boolean') {
      values.set(negated.flag, { value: false, source: `--${name}`, baseDir: cwd });
      continue;
    }
    const spec = SPEC_BY_FLAG.get(name);
    if (spec === undefined && name !== CONFIG_FLAG.flag) {
      throw new UsageError(`unknown option ${token.rawName}${suggest(name)}; run "herald serve --help"`);
    }
    if (spec?.kind === 'boolean') {
      values.set(name, { value: token.value ?? true, source: token.rawName, baseDir: cwd });
      continue;
    }
    if (token.value === undefined || token.value === '') {
      throw new UsageError(`${token.rawName} needs a value, as in --${name} ${spec?.value ?? '<file>'}`);
    }
    values.set(name, { value: token.value, source: token.rawName, baseDir: cwd });
  }
  return { help, values };
}

/** " (did you mean --port?)" when a known flag is one or two edits away, else "". */
function suggest(name: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const flag of [...SPEC_BY_FLAG.keys(), CONFIG_FLAG.flag]) {
    const distance = editDistance(name, flag);
    if (distance < bestDistance) {
      best = flag;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` (did you mean --${best}?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function readConfigFile(path: string): Map<string, Raw> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read the config file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); ` +
        'check --config / HERALD_CONFIG',
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the config file ${path} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UsageError(`the config file ${path} must hold a JSON object such as {"port": 3000}`);
  }
  const values = new Map<string, Raw>();
  for (const [key, value] of Object.entries(data)) {
    if (!SPEC_BY_FILE_KEY.has(key)) {
      const known = [...SPEC_BY_FILE_KEY.keys()];
      const near = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
      throw new UsageError(
        `unknown key "${key}" in ${path}${near === undefined ? '' : ` (did you mean "${near}"?)`}; ` +
          `keys are the camelCase flag names: ${known.join(', ')}`,
      );
    }
    values.set(key, { value, source: `"${key}" in ${path}`, baseDir: dirname(path) });
  }
  return values;
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** Converts one raw value according to its option's kind. */
function readValue(spec: OptionSpec, raw: Raw): unknown {
  const { value, source } = raw;
  const text = typeof value === 'string' ? value.trim() : undefined;
  switch (spec.kind) {
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (text !== undefined && TRUE_WORDS.has(text.toLowerCase())) return true;
      if (text !== undefined && FALSE_WORDS.has(text.toLowerCase())) return false;
      throw invalid(source, value, 'must be true or false (also 1/0, yes/no, on/off)');
    }
    case 'integer': {
      const n =
        typeof value === 'number' ? value : text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
      const min = spec.min ?? 0;
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        throw invalid(source, value, `must be a whole number from ${min} to ${max}`);
      }
      return n;
    }
    case 'rate': {
      const n =
        typeof value === 'number'
          ? value
          : text !== undefined && /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(text)
            ? Number(text)
            : Number.NaN;
      if (!Number.isFinite(n) || n <= 0) {
        throw invalid(source, value, 'must be a positive number of sends per second, such as 1 or 0.5');
      }
      return n;
    }
    case 'duration': {
      const ms = value === 0 ? 0 : text === undefined ? undefined : parseDuration(text);
      if (ms === undefined)
        throw invalid(source, value, 'must be a duration with a unit, such as 500ms, 15s, 2m or 1h');
      return ms;
    }
    case 'list': {
      const items = Array.isArray(value) ? value : text !== undefined ? text.split(',') : undefined;
      if (items === undefined || items.some((item) => typeof item !== 'string')) {
        throw invalid(
          source,
          value,
          'must be a comma-separated list (or, in the config file, an array of strings)',
        );
      }
      const list = (items as string[]).map((item) => item.trim()).filter((item) => item !== '');
      if (spec.choices !== undefined) {
        const bad = list.find((item) => !spec.choices!.includes(item));
        if (bad !== undefined || list.length === 0) {
          throw invalid(source, value, `must list one or more of ${spec.choices.join(', ')}`);
        }
        return list;
      }
      return list.map((origin) => checkOrigin(source, origin));
    }
    case 'string': {
      if (text === undefined || text === '') throw invalid(source, value, 'must be a non-empty string');
      if (spec.choices !== undefined && !spec.choices.includes(text)) {
        throw invalid(source, value, `must be one of ${spec.choices.join(', ')}`);
      }
      if (spec.key === 'jwksUrl') checkHttpUrl(source, text);
      return text;
    }
    case 'key':
      return readKey(source, value, raw.baseDir);
    case 'path': {
      if (text === undefined || text === '') throw invalid(source, value, 'must be a file path');
      const path = resolve(raw.baseDir, text);
      if (!existsSync(path)) throw invalid(source, value, `names a file that does not exist (${path})`);
      return path;
    }
    case 'store':
      return readStore(source, value, raw.baseDir);
  }
}

function invalid(source: string, value: unknown, rule: string): UsageError {
  return new UsageError(`${source} ${rule} (got ${JSON.stringify(value)})`);
}

function checkOrigin(source: string, origin: string): string {
  const parsed = parseOrigin(origin);
  if (parsed === undefined)
    throw new UsageError(`${source}: each origin ${ORIGIN_RULE} (got ${JSON.stringify(origin)})`);
  return parsed;
}

function checkHttpUrl(source: string, text: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw invalid(
      source,
      text,
      'must be an http(s) URL, such as https://auth.example.com/.well-known/jwks.json',
    );
  }
}

/** A key as given, or the contents of `@path`. PEM keys passed through env often carry literal "\n". */
function readKey(source: string, value: unknown, baseDir: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalid(source, value, 'must be an HMAC secret, a PEM public key, or @file');
  }
  let key = value;
  if (value.startsWith('@')) {
    const path = resolve(baseDir, value.slice(1));
    try {
      key = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(
        `${source} names the key file ${path}, which cannot be read (${(error as NodeJS.ErrnoException).code})`,
      );
    }
    // Files usually end with a newline that is not part of an HMAC secret.
    if (!isPemKey(key)) key = key.replace(/\r?\n$/, '');
    if (key === '') throw new UsageError(`${source} names the key file ${path}, which is empty`);
  }
  if (isPemKey(key) && !key.includes('\n')) key = key.replaceAll('\\n', '\n');
  return key;
}

/** A store spec, checked by the stores' own parser; a relative sqlite path is made absolute here. */
function readStore(source: string, value: unknown, baseDir: string): string {
  if (typeof value !== 'string') {
    throw invalid(
      source,
      value,
      'must be memory, sqlite:PATH (such as sqlite:herald.db) or redis://HOST:PORT',
    );
  }
  try {
    const location = parseStoreSpec(value, baseDir);
    return location.kind === 'sqlite' ? `sqlite:${location.path}` : value.trim();
  } catch (error) {
    throw new UsageError(`${source}: ${(error as Error).message}`);
  }
}

/** Rules that involve two options or more. */
function checkCombinations(config: ServeConfig): void {
  if (
    config.defaultMaxRate !== undefined &&
    config.maxRateCap !== undefined &&
    config.defaultMaxRate > config.maxRateCap
  ) {
    throw new UsageError(
      `--max-rate (${config.defaultMaxRate}) must not exceed --max-rate-cap (${config.maxRateCap}): lower one or raise the other`,
    );
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new UsageError(
      '--tls-cert and --tls-key go together: give both to serve HTTPS, or neither for HTTP',
    );
  }
  const publisherKey = config.publisherJwtKey ?? config.jwtKey;
  if (publisherKey === undefined && config.jwksUrl === undefined && !config.demo) {
    throw new UsageError(
      'the hub needs a way to verify publisher tokens: set --publisher-jwt-key (or --jwt-key, or --jwks-url), ' +
        'or try it out with --demo',
    );
  }
  checkKey('publisher', publisherKey, config.publisherJwtAlgorithm ?? config.jwtAlgorithm);
  checkKey(
    'subscriber',
    config.subscriberJwtKey ?? config.jwtKey,
    config.subscriberJwtAlgorithm ?? config.jwtAlgorithm,
  );
}

/** The hub's own key check (PEM, algorithm fit, HMAC length), with the role the message names. */
function checkKey(role: string, key: string | undefined, algorithm: string | undefined): void {
  if (key === undefined) return;
  try {
    checkJwtKey({ key, ...(algorithm !== undefined && { algorithm }) });
  } catch (error) {
    if (!(error instanceof AuthConfigError)) throw error;
    throw new UsageError(
      `the ${role} key (--${role}-jwt-key or --jwt-key): ${error.message.replace(/^key\.key /, '')}`,
    );
  }
}
