import { loadConfig, subscribe } from './demo.js';

// The last notification this tab saw (kept across reloads and back/forward, per tab): a tab that comes
// back asks the hub for what it missed.
const STORAGE_KEY = 'herald-demo-notifications-last-id';

const config = await loadConfig();
const feed = document.querySelector('#feed');
const form = document.querySelector('#notify');
const seen = new Set();

function show(event) {
  if (seen.has(event.lastEventId)) return;
  seen.add(event.lastEventId);
  const { text, at } = JSON.parse(event.data);
  const item = document.createElement('li');
  item.dataset.id = event.lastEventId;
  const when = document.createElement('time');
  when.dateTime = at;
  when.textContent = new Date(at).toLocaleTimeString();
  const message = document.createElement('span');
  message.textContent = text;
  item.append(when, ' ', message);
  feed.prepend(item);
  sessionStorage.setItem(STORAGE_KEY, event.lastEventId);
}

// A new tab replays what the hub still keeps (`earliest`); a tab coming back gets only what it missed.
const source = subscribe(config, config.topics.notifications, {
  lastEventId: sessionStorage.getItem(STORAGE_KEY) ?? 'earliest',
});
source.addEventListener('message', show);

if (config.notifyToken) {
  form.addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const input = form.querySelector('input[name=text]');
    const text = input.value.trim();
    if (text === '') return;
    const status = form.querySelector('[data-result]');
    status.textContent = 'publishing…';
    const body = new URLSearchParams({
      topic: config.topics.notifications,
      data: JSON.stringify({ text, at: new Date().toISOString() }),
    });
    const response = await fetch(config.hub, {
      method: 'POST',
      headers: { Authorization: `Bearer ${config.notifyToken}` },
      body,
    });
    status.textContent = response.ok ? 'published' : `refused: ${response.status} ${await response.text()}`;
    if (response.ok) input.value = '';
  });
} else {
  form.querySelector('fieldset').disabled = true;
  form.querySelector('[data-result]').textContent = 'publishing needs the hub in demo mode with an HMAC key';
}
