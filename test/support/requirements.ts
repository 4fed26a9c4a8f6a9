/**
 * External parts a test may need (Redis, Chromium, nginx...). Outside CI a test that lacks one skips
 * and says why; under CI (`CI=true`) the same lack fails the test, so a green CI run proves the
 * real part was there.
 */
import type { TestContext } from 'node:test';

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Returns true when the test may go on. When `reason` is a string the part is missing: under CI this
 * throws, elsewhere it marks the test skipped with the reason and returns false.
 */
export function requirePart(t: TestContext, part: string, reason: string | null): boolean {
  if (reason === null) return true;
  const message = `${part} unavailable: ${reason}`;
  if (inCI) throw new Error(`${message} (required under CI)`);
  t.skip(message);
  return false;
}
