/**
 * The history's ID map: update ID -> position, as an open-addressing hash table in two typed arrays.
 *
 * Why not a `Map<string, number>`: with the default retention a busy hub keeps ~150,000 updates,
 * and every publish costs a look-up, an insert and a delete (the evicted update) in that map. In a
 * V8 Map each is a walk through a bucket chain spread over the heap, ~400 ns apiece at that size;
 * the batch publish profile put 20% of the hub's time there (bench/results/publish-path). Here a
 * slot is two 32-bit integers side by side (the position and the ID's hash), probed linearly, so a
 * look-up reads one or two cache lines and compares strings only when the hashes agree. The table
 * holds no pointer at all, so the garbage collector never looks at it.
 *
 * The IDs themselves are not stored: the table asks its owner for the ID at a position
 * (`idAt`), which the history keeps anyway. Deletion shifts the following slots back (no
 * tombstones), so probe runs stay short however many updates come and go.
 *
 * The hash is FNV-1a with a per-process random seed: publishers choose IDs, and a fixed hash would
 * let one pick IDs that all land in the same run of slots.
 */
import { randomInt } from 'node:crypto';

/** Empty slots hold 0; a slot holds its position + 1. */
const EMPTY = 0;
const MIN_SLOTS = 64;
const SEED = randomInt(2 ** 31) | 0;

/** A 32-bit hash of `id`, never 0 (so that 0 cannot be mistaken for a missing hash). */
function hashOf(id: string): number {
  let h = SEED ^ 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  return h | 1;
}

export class IdTable {
  readonly #idAt: (position: number) => string | undefined;
  #slots: Int32Array;
  #hashes: Int32Array;
  #mask: number;
  #size = 0;

  /** `idAt(position)` is the ID of the update at a position the table holds. */
  constructor(idAt: (position: number) => string | undefined, expected = 0) {
    this.#idAt = idAt;
    this.#mask = slotsFor(expected) - 1;
    this.#slots = new Int32Array(this.#mask + 1);
    this.#hashes = new Int32Array(this.#mask + 1);
  }

  /** IDs held. */
  get size(): number {
    return this.#size;
  }

  /** The position of `id`, or -1. */
  get(id: string): number {
    const hash = hashOf(id);
    const mask = this.#mask;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = this.#slots[i]!;
      if (slot === EMPTY) return -1;
      if (this.#hashes[i] === hash && this.#idAt(slot - 1) === id) return slot - 1;
    }
  }

  /** Adds `id` at `position`, unless `id` is held already: false then, and nothing changes. */
  add(id: string, position: number): boolean {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#resize(slotsFor(this.#size + 1));
    const hash = hashOf(id);
    const mask = this.#mask;
    let i = hash & mask;
    for (let slot = this.#slots[i]!; slot !== EMPTY; slot = this.#slots[i]!) {
      if (this.#hashes[i] === hash && this.#idAt(slot - 1) === id) return false;
      i = (i + 1) & mask;
    }
    this.#slots[i] = position + 1;
    this.#hashes[i] = hash;
    this.#size++;
    return true;
  }

  /** Removes `id`, held at `position`. */
  delete(id: string, position: number): void {
    const mask = this.#mask;
    const slots = this.#slots;
    const hashes = this.#hashes;
    let i = hashOf(id) & mask;
    // Positions are unique: the slot holding this one is the entry, no string to compare.
    while (slots[i] !== position + 1) {
      if (slots[i] === EMPTY) return;
      i = (i + 1) & mask;
    }
    // Backward shift: move each following entry of the run into the hole when its home slot is
    // not after the hole (cyclically), so that every entry stays reachable from its home.
    for (let j = (i + 1) & mask; slots[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        slots[i] = slots[j]!;
        hashes[i] = hashes[j]!;
        i = j;
      }
    }
    slots[i] = EMPTY;
    hashes[i] = 0;
    this.#size--;
  }

  /**
   * Empties the table, sized for `expected` IDs; the owner adds them back (after renumbering its
   * positions). Also how the table shrinks after the history it indexes did.
   */
  reset(expected: number): void {
    this.#mask = slotsFor(expected) - 1;
    this.#slots = new Int32Array(this.#mask + 1);
    this.#hashes = new Int32Array(this.#mask + 1);
    this.#size = 0;
  }

  #resize(slots: number): void {
    const oldSlots = this.#slots;
    const oldHashes = this.#hashes;
    this.#mask = slots - 1;
    this.#slots = new Int32Array(slots);
    this.#hashes = new Int32Array(slots);
    const mask = this.#mask;
    for (let k = 0; k < oldSlots.length; k++) {
      if (oldSlots[k] === EMPTY) continue;
      let i = oldHashes[k]! & mask;
      while (this.#slots[i] !== EMPTY) i = (i + 1) & mask;
      this.#slots[i] = oldSlots[k]!;
      this.#hashes[i] = oldHashes[k]!;
    }
  }
}

/** Slots for `count` IDs at a load of at most a half, grown in doublings. */
function slotsFor(count: number): number {
  let slots = MIN_SLOTS;
  while (slots < count * 2) slots *= 2;
  return slots;
}
