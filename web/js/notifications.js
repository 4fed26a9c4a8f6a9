import { loadConfig, subscribe } from './demo.js';

// What this tab has shown, newest last (bounded), kept for the tab's life (sessionStorage: across
// reloads, back and forward, not shared with other tabs, which each have their own): a tab that
// comes back shows it at once and asks the hub only for what came after.
const HISTORY_KEY = 'herald-demo-notifications';
const HISTORY_MAX = 50;
// How long "published" stays under the form.
const RESULT_MS = 3_000;

const config = await loadConfig();
const feed = document.querySelector('#feed');
const form = document.querySelector('#notify');
const input = form.querySelector('input[name=text]');
const result = form.querySelector('[data-result]');
const seen = new Set();

function readHistory() {
  try {
    const items = JSON.parse(sessionStorage.getItem(HISTORY_KEY) ?? '[]');
    return Array.isArray(items) ? items : [];
  } catch {
    return [];
  }
}

function remember(item) {
  const history = readHistory().filter((kept) => kept.id !== item.id);
  history.push(item);
  sessionStorage.setItem(HISTORY_KEY, JSON.stringify(history.slice(-HISTORY_MAX)));
}

function render({ id, text, at }, missed) {
  if (seen.has(id)) return false;
  seen.add(id);
  const item = document.createElement('li');
  item.dataset.id = id;
  if (missed) item.classList.add('missed');
  const when = document.createElement('time');
  when.dateTime = at;
  when.textContent = new Date(at).toLocaleTimeString();
  const message = document.createElement('span');
  message.textContent = text;
  item.append(when, ' ', message);
  feed.prepend(item);
  return true;
}

const history = readHistory();
for (const item of history) render(item, false);
const resumeFrom = history.at(-1)?.id;

// Coming back: what the hub replays was published before this connection opened. It is marked, and
// counted in a "caught up" line, so the reader sees what arrived while the tab was away.
let openedAt = Number.POSITIVE_INFINITY;
let missed = 0;
let caughtUp = null;
function markCaughtUp() {
  caughtUp ??= document.createElement('li');
  caughtUp.className = 'caught-up';
  caughtUp.textContent = `caught up: ${missed} missed`;
  // Under the newest missed item, above what was already shown.
  const last = [...feed.querySelectorAll('li.missed')].at(-1);
  last.after(caughtUp);
}

// A new tab replays what the hub still keeps (`earliest`); a tab with history resumes after it.
function connect(lastEventId) {
  const source = subscribe(config, config.topics.notifications, { lastEventId });
  source.addEventListener('open', () => {
    openedAt = Math.min(openedAt, Date.now());
  });
  // The hub no longer keeps the last notification shown here (the tab was away longer than its
  // history lasts): some in between may be missing. Say so, and fetch again all the hub still
  // keeps; what is shown already is not shown twice.
  source.addEventListener('gap', () => {
    showGap();
    source.close();
    connect('earliest');
  });
  source.addEventListener('message', (event) => {
    const { text, at } = JSON.parse(event.data);
    const item = { id: event.lastEventId, text, at };
    const wasMissed = resumeFrom !== undefined && Date.parse(at) < openedAt;
    if (!render(item, wasMissed)) return;
    remember(item);
    if (wasMissed) {
      missed++;
      markCaughtUp();
    }
  });
  return source;
}

function showGap() {
  if (feed.querySelector('li.gap')) return;
  const notice = document.createElement('li');
  notice.className = 'gap';
  notice.setAttribute('role', 'status');
  notice.textContent =
    'Some notifications may be missing: the hub no longer keeps all that came while this tab was away. Showing all it still has.';
  feed.prepend(notice);
}

connect(resumeFrom ?? 'earliest');

let clearResult;
function say(message, { invalid = false, fleeting = false } = {}) {
  clearTimeout(clearResult);
  result.textContent = message;
  result.classList.toggle('invalid', invalid);
  input.setAttribute('aria-invalid', String(invalid));
  if (fleeting) clearResult = setTimeout(() => say(''), RESULT_MS);
}

if (config.notifyToken) {
  form.noValidate = true; // the page explains what is wrong itself
  input.addEventListener('input', () => {
    if (result.textContent !== 'publishing…') say('');
  });
  form.addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const text = input.value.trim();
    if (text === '') {
      say('Write something first: an empty notification is not published.', { invalid: true });
      input.focus();
      return;
    }
    say('publishing…');
    const body = new URLSearchParams({
      topic: config.topics.notifications,
      data: JSON.stringify({ text, at: new Date().toISOString() }),
    });
    try {
      const response = await fetch(config.hub, {
        method: 'POST',
        headers: { Authorization: `Bearer ${config.notifyToken}` },
        body,
      });
      if (response.ok) {
        input.value = '';
        say('published', { fleeting: true });
      } else {
        say(`refused: ${response.status} ${await response.text()}`, { invalid: true });
      }
    } catch (error) {
      say(`not sent: ${error.message}`, { invalid: true });
    }
  });
} else {
  form.querySelector('fieldset').disabled = true;
  say('publishing needs the hub in demo mode with an HMAC key');
}
