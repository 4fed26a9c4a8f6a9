/**
 * Which subscribers an update goes to, without looking at every subscriber.
 *
 * Exact selectors (the common case: a resource IRI) sit in a Map from topic to subscribers. Pattern
 * selectors (URI templates, URL patterns) are compiled once and shared by every subscriber that
 * sends the same one (see `compileSelector`), so they sit in a Map from compiled selector to its
 * subscribers: an update runs each distinct selector once, then reaches its subscribers, however
 * many share it. `*` subscribers sit in a set of their own. Cost per update: one Map lookup per
 * topic, one evaluation per distinct pattern selector, plus the matching subscribers.
 */
import type { Update } from '../update.js';
import type { Subscriber, TopicMatcher } from './subscriber.js';

export class SubscriberIndex {
  readonly #exact = new Map<string, Set<Subscriber>>();
  readonly #patterns = new Map<TopicMatcher, Set<Subscriber>>();
  readonly #wildcard = new Set<Subscriber>();
  readonly #all = new Set<Subscriber>();
  #seq = 0;

  /** Connected subscribers. */
  get size(): number {
    return this.#all.size;
  }

  /** Distinct pattern selectors in use (each evaluated once per update). */
  get patternCount(): number {
    return this.#patterns.size;
  }

  /** Every subscriber (live view). */
  values(): IterableIterator<Subscriber> {
    return this.#all.values();
  }

  add(subscriber: Subscriber): void {
    this.#all.add(subscriber);
    for (const s of subscriber.selectors) {
      if (s.kind === 'wildcard') {
        this.#wildcard.add(subscriber);
        continue;
      }
      const map: Map<string | TopicMatcher, Set<Subscriber>> = s.kind === 'exact'
        ? this.#exact
        : this.#patterns;
      const key = s.kind === 'exact' ? s.source : s.matcher;
      let set = map.get(key);
      if (set === undefined) map.set(key, (set = new Set()));
      set.add(subscriber);
    }
  }

  remove(subscriber: Subscriber): void {
    if (!this.#all.delete(subscriber)) return;
    for (const s of subscriber.selectors) {
      if (s.kind === 'wildcard') {
        this.#wildcard.delete(subscriber);
        continue;
      }
      const map: Map<string | TopicMatcher, Set<Subscriber>> = s.kind === 'exact'
        ? this.#exact
        : this.#patterns;
      const key = s.kind === 'exact' ? s.source : s.matcher;
      const set = map.get(key);
      if (set === undefined) continue;
      set.delete(subscriber);
      if (set.size === 0) map.delete(key);
    }
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
      if (set !== undefined) take(set, seq, out);
    }
    if (this.#wildcard.size > 0) take(this.#wildcard, seq, out);
    // Checked first: iterating even an empty Map makes an iterator per update.
    if (this.#patterns.size === 0) return out;
    for (const [matcher, set] of this.#patterns) {
      for (let i = 0; i < topics.length; i++) {
        if (matcher.matches(topics[i]!)) {
          take(set, seq, out);
          break;
        }
      }
    }
    return out;
  }
}

function take(set: Set<Subscriber>, seq: number, out: Subscriber[]): void {
  for (const s of set) {
    if (s.mark === seq) continue;
    s.mark = seq;
    out.push(s);
  }
}
