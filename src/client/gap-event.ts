/**
 * The `gap` event: the server's answer to a resume shows that updates between the ID the source
 * asked for and what comes next may be missing (the ID was past the hub's history, or unknown).
 * It fires before the first update of that answer, so a page can say so and refetch what it shows.
 * A `MessageEvent` so that code written for named events keeps working: `lastEventId` is the ID the
 * source asked to resume after, `data` the cursor the server answered.
 */

export interface GapEventInit {
  /** The last event ID the source asked to resume after. */
  requested: string;
  /**
   * Where the server said the subscription stands: its cursor (`Last-Event-ID` or
   * `Mercure-Last-Event-ID` response header, the WebSocket open frame's `lastEventID`); `earliest`
   * when it resumed from the oldest update it still holds. Over long polling, the answer's
   * `lastEventID`: where the reader stands after that answer's updates. Empty when it named none.
   */
  cursor: string;
}

export class GapEvent extends MessageEvent<string> {
  /** The last event ID the source asked to resume after (also `lastEventId`). */
  readonly requested: string;
  /** The cursor the server answered (also `data`); `earliest` when it replays all it holds. */
  readonly cursor: string;

  constructor(init: GapEventInit) {
    super('gap', { data: init.cursor, lastEventId: init.requested });
    this.requested = init.requested;
    this.cursor = init.cursor;
  }
}

/** Whether a resume after `requested` that the server answered with `cursor` may have skipped updates. */
export function isGap(requested: string, cursor: string | null | undefined): boolean {
  if (requested === '' || requested === EARLIEST) return false;
  return typeof cursor === 'string' && cursor !== '' && cursor !== requested;
}

/** Mercure's name for "before the first update": asking for it never skips anything. */
export const EARLIEST = 'earliest';
