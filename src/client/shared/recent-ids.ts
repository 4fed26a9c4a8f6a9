/**
 * The event IDs a tab delivered most recently, to drop the ones a new leader replays after a
 * handover. Bounded: a replay only ever repeats the few events between the last ID the new leader saw
 * and the last one the old leader relayed, so a window of {@link DEFAULT_RECENT_IDS} is ample.
 */
export const DEFAULT_RECENT_IDS = 1024;

export class RecentIds {
  readonly #max: number;
  readonly #ids = new Set<string>();

  constructor(max = DEFAULT_RECENT_IDS) {
    this.#max = max;
  }

  /** Whether `id` was recorded (among the most recent ones). */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Records `id`; returns false when it was already recorded (a duplicate). */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    // A Set iterates in insertion order, so its first entry is the oldest.
    if (this.#ids.size > this.#max) this.#ids.delete(this.#ids.values().next().value as string);
    return true;
  }
}
