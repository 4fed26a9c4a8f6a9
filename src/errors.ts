/**
 * The root of every error Herald throws or reports.
 *
 * `code` is stable (`HERALD_ERR_*`) and meant for programs; `message` is for people and names the
 * rule, the value received and the fix. `instanceof` works across two copies of the package (a
 * bundled client next to an installed one) because it checks a registered symbol, not identity.
 */
const kHeraldError = Symbol.for('herald.error');

export class HeraldError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  get [kHeraldError](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === HeraldError) {
      return (
        typeof value === 'object' &&
        value !== null &&
        (value as Record<symbol, unknown>)[kHeraldError] === true
      );
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}
