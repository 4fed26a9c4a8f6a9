import type { Store } from './store.js';

/** Updates per `after` page when a store has no `newestPublicId` of its own. */
const FALLBACK_PAGE = 1000;
/** Pages read at most that way: a store keeping more is answered with the newest public one met. */
const FALLBACK_MAX_PAGES = 100;

/**
 * The ID of the newest kept public update of `store`, or undefined when it keeps none: the resume
 * cursor a hub gives subscribers before it has delivered a public update itself (after a restart on
 * a durable store). Uses the store's own `newestPublicId` when it has one; else reads history
 * forward through `after`, at most FALLBACK_MAX_PAGES pages, and past that bound answers with the
 * newest public update it met, an older cursor (a resume from it replays more, never less).
 */
export async function newestPublicId(store: Store): Promise<string | undefined> {
  if (store.newestPublicId !== undefined) return store.newestPublicId();
  let from = 'earliest';
  let newest: string | undefined;
  for (let pages = 0; pages < FALLBACK_MAX_PAGES; pages++) {
    const { found, updates } = await store.after(from, FALLBACK_PAGE);
    // `from` evicted meanwhile: what was met so far is still kept or older, so still a safe cursor.
    if (!found) break;
    for (const update of updates) if (!update.private) newest = update.id;
    if (updates.length < FALLBACK_PAGE) break;
    from = updates[updates.length - 1].id;
  }
  return newest;
}
