import type { Update } from '../update.js';

/**
 * The compact text form of an update's body (everything but `id` and `time`, which stores keep in
 * their own columns or fields so they can index and trim on them). One-letter keys keep Redis
 * entries and SQLite rows small: `t` topics, `p` private (1 when true, absent otherwise), `e` event
 * type, `r` retry, `d` data, `k` conflation key. Entries written before keys existed have no `k`. Absent optional fields stay absent after a round trip.
 */
interface Body {
  t: string[];
  p?: 1;
  e?: string;
  r?: number;
  d: string;
  k?: string;
}

export function encodeBody(update: Update): string {
  const body: Body = { t: update.topics, d: update.data };
  if (update.private) body.p = 1;
  if (update.type !== undefined) body.e = update.type;
  if (update.retry !== undefined) body.r = update.retry;
  if (update.key !== undefined) body.k = update.key;
  return JSON.stringify(body);
}

export function decodeUpdate(id: string, time: number, text: string): Update {
  const body = JSON.parse(text) as Body;
  const update: Update = { id, topics: body.t, private: body.p === 1, data: body.d, time };
  if (body.e !== undefined) update.type = body.e;
  if (body.r !== undefined) update.retry = body.r;
  if (body.k !== undefined) update.key = body.k;
  return update;
}
