import { readStream, StreamAbortedError } from '/herald-client.js';

const log = document.querySelector('#log');
const state = document.querySelector('#state');
const lines = document.querySelector('#lines');

async function follow() {
  const build = await (await fetch('/demo/build.json', { cache: 'no-store' })).json();
  if (build.url === null) {
    state.textContent = 'waiting for the first build';
    setTimeout(follow, 500);
    return;
  }
  document.querySelector('#build').textContent = String(build.build);
  state.textContent = 'building';
  log.textContent = '';
  let count = 0;
  try {
    // From the start every time: a reload shows the whole log, then follows it.
    for await (const chunk of readStream(build.url)) {
      log.append(chunk);
      lines.textContent = String(++count);
    }
    state.textContent = 'finished';
    state.dataset.end = 'ended';
  } catch (error) {
    state.dataset.end = 'aborted';
    state.textContent =
      error instanceof StreamAbortedError ? `aborted: ${error.reason}` : `failed: ${error.message}`;
  }
}

follow();
