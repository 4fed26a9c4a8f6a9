// The build log: follows the demo's current build (a resumable stream), from its first line, then the
// next build when it starts. The status strip tells the reading's state: readyState (CONNECTING until
// the first chunk, OPEN while reading, CLOSED once the build ended), the last event ID, reconnects.
import { readStream, StreamAbortedError } from '/herald-client.js';
import './demo.js'; // the status strip's markup

const log = document.querySelector('#log');
const state = document.querySelector('#state');
const lines = document.querySelector('#lines');
const strip = document.querySelector('[data-status]');
/** How often the page asks whether the next build started. */
const NEXT_BUILD_POLL_MS = 1000;

function showStrip(readyState, lastEventId, attempts) {
  strip.dataset.readyState = readyState.toLowerCase();
  strip.querySelector('[data-state]').textContent = readyState;
  strip.querySelector('[data-last-id]').textContent = lastEventId || '–';
  strip.querySelector('[data-reconnects]').textContent = String(Math.max(0, attempts - 1));
}

async function currentBuild() {
  return (await fetch('/demo/build.json', { cache: 'no-store' })).json();
}

/** Reads one build to its end; resolves with its number. */
async function follow(build) {
  document.querySelector('#build').textContent = String(build.build);
  state.textContent = 'building';
  delete state.dataset.end;
  log.textContent = '';
  lines.textContent = '0';
  let count = 0;
  let attempts = 0;
  let lastEventId = '';
  showStrip('CONNECTING', lastEventId, attempts);
  // Every request readStream makes is a connection attempt: the first, then each reconnect.
  const counting = (input, init) => {
    attempts++;
    showStrip('CONNECTING', lastEventId, attempts);
    return fetch(input, init);
  };
  try {
    // From the start every time: a reload shows the whole log, then follows it.
    const chunks = readStream(build.url, {
      fetch: counting,
      onEventId: (id) => {
        lastEventId = id;
      },
    });
    for await (const chunk of chunks) {
      log.append(chunk);
      lines.textContent = String(++count);
      showStrip('OPEN', lastEventId, attempts);
    }
    state.textContent = 'finished';
    state.dataset.end = 'ended';
  } catch (error) {
    state.dataset.end = 'aborted';
    state.textContent =
      error instanceof StreamAbortedError ? `aborted: ${error.reason}` : `failed: ${error.message}`;
  }
  showStrip('CLOSED', lastEventId, attempts);
}

/** Follows the build running now, then each one after it. */
async function run() {
  let last = null;
  for (;;) {
    let build;
    try {
      build = await currentBuild();
    } catch {
      build = { url: null };
    }
    if (build.url === null || build.build === last) {
      // After a build, its state stays on show until the next one starts.
      if (last === null) state.textContent = 'waiting for the first build';
      await new Promise((resolve) => setTimeout(resolve, NEXT_BUILD_POLL_MS));
      continue;
    }
    last = build.build;
    await follow(build);
  }
}

run();
