/**
 * One flush pass per event-loop turn for every stream that has queued bytes.
 *
 * Streams with new bytes put themselves on one list; a single `setImmediate` callback then writes each
 * stream's queue as one buffer. `setImmediate` rather than `process.nextTick`: it runs after the poll
 * phase, so events published by several requests handled in the same turn, or across `await`s, still
 * share one socket write per stream; the delay is at most the rest of the current turn.
 */

import { forgetFrame } from './chunked-frame.js';
import { forgetJoin } from './coalesce.js';

/** What the scheduler needs of a stream. */
export interface Flushable {
  flush(): void;
}

let dirty: Flushable[] = [];
let spare: Flushable[] = [];
let scheduled = false;

function flushAll(): void {
  // Swap lists first: flushes may queue more (a close listener writing elsewhere); those go to the
  // next pass instead of growing the list being walked.
  const list = dirty;
  dirty = spare;
  spare = list;
  scheduled = false;
  for (let i = 0; i < list.length; i++) list[i]!.flush();
  list.length = 0;
  forgetJoin();
  forgetFrame();
}

/** Queues `stream.flush()` for the next pass; the caller makes sure it is queued once per pass. */
export function scheduleFlush(stream: Flushable): void {
  dirty.push(stream);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}
