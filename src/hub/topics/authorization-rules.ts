import type { Update } from '../update.js';
import type { SelectorSet } from './selector-set.js';

/**
 * May a publisher holding these grants publish an update with these topics?
 *
 * Both drafts (draft-07 "Publishers", 1.0 "Publishers"): every topic of the update, canonical and
 * alternate alike, must be matched by at least one of the token's publish selectors; no publish
 * selectors (an absent or empty claim) means no right to publish at all, and an update allowed for
 * only some of its topics is refused whole (the hub answers 403 `insufficient_scope`).
 *
 * @param topics the update's topics (canonical first); an empty list is never allowed.
 * @param claimSelectors the token's publish grants (`Claims.publishSelectors`), `undefined` for none.
 */
export function canPublish(topics: readonly string[], claimSelectors: SelectorSet | undefined): boolean {
  return claimSelectors?.matchesEvery(topics) === true;
}

/**
 * Does this subscriber receive this update?
 *
 * Routing: one of the subscriber's own selectors (its `topic=` / `match*=` parameters) matches one
 * of the update's topics. Authorization (draft-07 and 1.0 "Subscribers"): a private update also
 * needs one of the token's subscribe selectors to match at least one of its topics, canonical or
 * alternate; the routing selectors never widen what a subscriber may read, and a subscriber without
 * a token receives public updates only.
 *
 * @param update the published update (only `topics` and `private` are read).
 * @param subscribedSelectors the selectors the subscriber asked for.
 * @param claimSelectors the token's subscribe grants (`Claims.subscribeSelectors`), `undefined` when
 *   the subscriber presented no token.
 */
export function canReceive(
  update: Pick<Update, 'topics' | 'private'>,
  subscribedSelectors: SelectorSet,
  claimSelectors: SelectorSet | undefined,
): boolean {
  if (!subscribedSelectors.matchesAny(update.topics)) return false;
  if (!update.private) return true;
  return claimSelectors?.matchesAny(update.topics) === true;
}
