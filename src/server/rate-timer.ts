/**
 * One timer for every rate-limited stream (`maxRate`): a stream that may not send yet parks here
 * until its next send time, and goes back to the flush pass when it is due.
 *
 * A timer per stream would cost a `Timeout` object and a closure per subscriber, and tens of
 * thousands of them on a busy ticker. Instead streams wait in buckets of {@link RATE_TICK_MS}, and
 * one interval, running only while some stream waits, moves each due bucket to the flush pass.
 * Due streams of one tick flush in the same pass, so those with the same queue still share one
 * joined buffer (see coalesce.ts).
 */
import { type Flushable, scheduleFlush } from './flush-scheduler.js';

/**
 * Resolution of rate limits. 10 ms is finer than any rate a client asks to be slowed to (a few
 * updates per second) and wakes the process at most 100 times a second, whatever the stream count.
 */
export const RATE_TICK_MS = 10;

const buckets = new Map<number, Flushable[]>();
let waiting = 0;
let timer: NodeJS.Timeout | null = null;
/** The first tick not yet moved to the flush pass. */
let nextTick = 0;

/** The clock of rate limits, in ms (monotonic). */
export const rateClock: () => number = () => performance.now();

/** Flushes `stream` once the clock reaches `at` (a {@link rateClock} time in the future). */
export function flushAt(stream: Flushable, at: number): void {
  // `at` is after now, so its tick is after every tick already moved: the stream is not missed.
  const tick = Math.ceil(at / RATE_TICK_MS);
  const bucket = buckets.get(tick);
  if (bucket === undefined) buckets.set(tick, [stream]);
  else bucket.push(stream);
  waiting++;
  if (timer === null) {
    nextTick = Math.floor(rateClock() / RATE_TICK_MS);
    timer = setInterval(moveDue, RATE_TICK_MS);
    // Open sockets keep the process alive; this timer alone should not.
    timer.unref();
  }
}

function moveDue(): void {
  const now = Math.floor(rateClock() / RATE_TICK_MS);
  for (; nextTick <= now; nextTick++) {
    const bucket = buckets.get(nextTick);
    if (bucket === undefined) continue;
    buckets.delete(nextTick);
    waiting -= bucket.length;
    for (let i = 0; i < bucket.length; i++) scheduleFlush(bucket[i]!);
  }
  if (waiting === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}

/** Streams waiting for their next send (for tests and metrics). */
export function rateLimitedWaiting(): number {
  return waiting;
}
