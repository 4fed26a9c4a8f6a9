// Shared by the demo pages: the hub's configuration and a subscription with a live status strip.
import { EventSource } from '/herald-client.js';

const STATES = ['CONNECTING', 'OPEN', 'CLOSED'];

/** The demo's hub path, topics and (in demo mode) the notifications publisher token. */
export async function loadConfig() {
  const response = await fetch('/demo/config.json');
  if (!response.ok) throw new Error(`demo config: HTTP ${response.status}`);
  return response.json();
}

/**
 * Subscribes to one topic (or an array of topics) through the hub and keeps the page's status strip
 * (`[data-status]`) true:
 * readyState, last event ID and how many times the connection was re-established.
 */
export function subscribe(config, topic, options = {}) {
  const url = new URL(config.hub, location.href);
  for (const one of Array.isArray(topic) ? topic : [topic]) url.searchParams.append('topic', one);
  // The ID goes in the query (Mercure's lastEventID) so a reconnect needs no CORS preflight.
  const source = new EventSource(url, { lastEventIdParam: 'lastEventID', backoff: true, ...options });
  const strip = document.querySelector('[data-status]');
  let opens = 0;
  const render = () => {
    if (!strip) return;
    const state = STATES[source.readyState];
    strip.querySelector('[data-state]').textContent = state;
    strip.dataset.readyState = state.toLowerCase();
    strip.querySelector('[data-last-id]').textContent = source.lastEventId || '–';
    strip.querySelector('[data-reconnects]').textContent = String(Math.max(0, opens - 1));
  };
  source.addEventListener('open', () => {
    opens++;
    render();
  });
  source.addEventListener('error', render);
  // Every event moves the last event ID; render after the page's own listeners ran.
  const tick = () => queueMicrotask(render);
  source.addEventListener('message', tick);
  for (const type of options.types ?? []) source.addEventListener(type, tick);
  render();
  return source;
}

/** The status strip's markup, shared by every page. */
export function statusStrip() {
  return `<span>readyState <strong data-state>–</strong></span>
    <span>last event ID <code data-last-id>–</code></span>
    <span>reconnects <strong data-reconnects>0</strong></span>`;
}

for (const strip of document.querySelectorAll('[data-status]')) strip.innerHTML = statusStrip();
