import type { Hub } from '../hub.js';
import { DEMO_TOPICS } from './topics.js';

/** The classic: the current time, every two seconds. */
export const CLOCK_INTERVAL_MS = 2_000;

/** Publishes the time on the clock topic until the returned function is called. */
export function startClock(hub: Hub, onError: (error: unknown) => void): () => void {
  const tick = () => {
    hub
      .publish({ topics: [DEMO_TOPICS.clock], data: JSON.stringify({ time: new Date().toISOString() }) })
      .catch(onError);
  };
  tick();
  const timer = setInterval(tick, CLOCK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
