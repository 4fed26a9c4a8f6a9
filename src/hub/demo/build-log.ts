import type { Hub } from '../hub.js';
import { DEMO_TOPICS } from './topics.js';

/** Pace of the simulated build: a line every `lineMs`, `lines` lines, then a pause before the next build. */
export interface BuildLogPace {
  lineMs: number;
  lines: number;
  pauseMs: number;
}

export const DEFAULT_BUILD_LOG_PACE: BuildLogPace = { lineMs: 250, lines: 80, pauseMs: 8000 };

const STEPS = ['resolve', 'fetch', 'compile', 'link', 'test', 'bundle', 'sign', 'upload'];

/** The text of line `i` (1-based) of build `n`: numbered, so a gap or a repeat shows at once. */
export function buildLogLine(n: number, i: number, total: number): string {
  const step = STEPS[Math.floor(((i - 1) / total) * STEPS.length)]!;
  return `#${String(i).padStart(3, '0')} [build ${n}] ${step}: ${'▮'.repeat(1 + (i % 7))} ok\n`;
}

/** The current build, for the log page to find. */
export interface BuildLogState {
  topic: string | null;
  build: number;
}

/**
 * Runs one simulated build after another as resumable streams on the hub (topic
 * `<builds>/<n>`), a line at a time, each ended; `state` names the latest. Stops when the returned
 * function is called (a build in progress is aborted).
 */
export function startBuildLog(
  hub: Hub,
  state: BuildLogState,
  pace: BuildLogPace,
  onError: (error: unknown) => void,
): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });
  const run = async () => {
    for (let n = 1; !stopped; n++) {
      const topic = `${DEMO_TOPICS.builds}/${Date.now().toString(36)}-${n}`;
      const writer = await hub.streams.writer(topic);
      state.topic = topic;
      state.build = n;
      for (let i = 1; i <= pace.lines && !stopped; i++) {
        writer.write(buildLogLine(n, i, pace.lines));
        await wait(pace.lineMs);
      }
      if (stopped) {
        await writer.abort('the demo stopped');
        return;
      }
      await writer.end();
      await wait(pace.pauseMs);
    }
  };
  run().catch((error: unknown) => {
    if (!stopped) onError(error);
  });
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}
