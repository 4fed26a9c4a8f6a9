/**
 * One subscription attempt over any transport, read to its end: what a client saw (status, cursor,
 * updates, the WebSocket close), for tests of how subscriptions end. The hub must end it (or the
 * test must, through the hub): `outcome` never settles for a subscription that stays open.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { openStream } from './hub.js';
import { openSocket, pollOnce, type TransportName, withQuery } from './transports.js';

export interface Outcome {
  /** HTTP status; 101 for an accepted WebSocket. */
  status: number;
  headers: IncomingHttpHeaders | Record<string, string>;
  /** The cursor told: the header (sse), the opening frame (ws), the answer's `lastEventID` (poll). */
  cursor: string | undefined;
  /** False when the hub said the resume was lossy (ws opening frame, poll answer). */
  resumed: boolean | undefined;
  /** IDs of the updates received, in order. */
  ids: string[];
  /** How a WebSocket closed. */
  close?: { code: number; reason: string };
  /** The body of a refusal. */
  text: string;
}

/** Opens a subscription over `transport` and resolves once the hub answered it whole (or closed it). */
export async function outcome(
  transport: TransportName,
  url: string,
  headers: Record<string, string> = {},
): Promise<Outcome> {
  if (transport === 'sse') {
    const s = await openStream(url, headers, false);
    await s.ended;
    const cursor = s.headers['last-event-id'] ?? s.headers['mercure-last-event-id'];
    return {
      status: s.status,
      headers: s.headers,
      cursor: typeof cursor === 'string' ? cursor : undefined,
      resumed: undefined,
      ids: s.events.map((e) => e.lastEventId),
      text: s.text,
    };
  }
  if (transport === 'ws') {
    const s = await openSocket(url, headers);
    if (!('ws' in s)) return { ...s, cursor: undefined, resumed: undefined, ids: [], text: s.body };
    const close = await s.closed;
    // Frames arrive before the close: an opening frame sent is in by now.
    const opening = await Promise.race([
      s.opening,
      Promise.resolve({ lastEventID: undefined, resumed: undefined }),
    ]);
    return {
      status: 101,
      headers: s.headers,
      cursor: opening.lastEventID,
      resumed: opening.resumed,
      ids: s.updates.map((u) => u.id),
      close,
      text: '',
    };
  }
  const answer = await pollOnce(withQuery(url, [['transport', 'poll']]), headers);
  return {
    status: answer.status,
    headers: Object.fromEntries(answer.headers),
    cursor: answer.body?.lastEventID,
    resumed: answer.body?.resumed,
    ids: answer.body?.updates.map((u) => u.id) ?? [],
    text: answer.text,
  };
}
