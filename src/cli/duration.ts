/**
 * Durations as people write them in flags and config files: `500ms`, `15s`, `2m`, `1h`, `1d`, or a
 * sum such as `1m30s`. `0` alone is accepted (it means "off" wherever the option allows it); any
 * other bare number is refused, because `--heartbeat 15` could mean seconds or milliseconds.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Returns the duration in whole milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const source = text.trim();
  if (source === '0') return 0;
  if (source === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < source.length) {
    const start = PART.lastIndex;
    const match = PART.exec(source);
    if (match === null || match.index !== start) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return Math.round(total);
}

/** Writes milliseconds back in the largest unit that divides them (`15000` → `15s`), for help texts. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}
