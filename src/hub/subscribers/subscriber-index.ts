/**
 * Which subscribers an update goes to, without looking at every subscriber.
 *
 * Exact selectors (the common case: a resource IRI) sit in a Map from topic to subscribers;
 * templates, URL patterns and `*` sit in one list that every update walks. Cost per update:
 * one Map lookup per topic, plus the matching subscribers, plus the pattern subscribers.
 */
import type { Update } from '../update.js';
import type { Subscriber } from './subscriber.js';

export class SubscriberIndex {
  readonly #exact = new Map<string, Set<Subscriber>>();
  readonly #patterned = new Set<Subscriber>();
  readonly #all = new Set<Subscriber>();
  #seq = 0;

  /** Connected subscribers. */
  get size(): number {
    return this.#all.size;
  }

  /** Every subscriber (live view). */
  values(): IterableIterator<Subscriber> {
    return this.#all.values();
  }

  add(subscriber: Subscriber): void {
    this.#all.add(subscriber);
    for (const s of subscriber.selectors) {
      if (s.kind !== 'exact') continue;
      let set = this.#exact.get(s.source);
      if (set === undefined) this.#exact.set(s.source, (set = new Set()));
      set.add(subscriber);
    }
    if (subscriber.patterns.length > 0) this.#patterned.add(subscriber);
  }

  remove(subscriber: Subscriber): void {
    if (!this.#all.delete(subscriber)) return;
    for (const s of subscriber.selectors) {
      if (s.kind !== 'exact') continue;
      const set = this.#exact.get(s.source);
      if (set === undefined) continue;
      set.delete(subscriber);
      if (set.size === 0) this.#exact.delete(s.source);
    }
    this.#patterned.delete(subscriber);
  }

  /**
   * Fills `out` with the subscribers whose selectors route `update` to them, each once (privacy is
   * the caller's check). `out` is reused across calls to spare an allocation per update.
   */
  collect(update: Update, out: Subscriber[]): Subscriber[] {
    out.length = 0;
    const seq = ++this.#seq;
    const topics = update.topics;
    for (let i = 0; i < topics.length; i++) {
      const set = this.#exact.get(topics[i]!);
      if (set === undefined) continue;
      for (const s of set) {
        if (s.mark === seq) continue;
        s.mark = seq;
        out.push(s);
      }
    }
    for (const s of this.#patterned) {
      if (s.mark === seq) continue;
      if (s.matchesPattern(topics)) {
        s.mark = seq;
        out.push(s);
      }
    }
    return out;
  }
}
