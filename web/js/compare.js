// The transport comparison: one feed over SSE, WebSocket and long polling, each pane measuring
// what it receives; the hub's per-transport counters; the drop button; the six-connection test.
// `window.heraldCompare` exposes the figures (the Chromium test reads them).
import { EventSource } from '/herald-client.js';
import { groupedBars, horizontalBars } from './charts.js';
import { loadConfig, subscribe } from './demo.js';

const config = await loadConfig();
const STATES = ['CONNECTING', 'OPEN', 'CLOSED'];
/** Pane name (client transport) → the hub's name for the same transport in its counters. */
const PANES = { sse: 'sse', websocket: 'ws', poll: 'poll' };
const LATENCY_WINDOW = 100;
/**
 * One reconnect policy for the three panes. An event stream takes its reconnection time from the
 * hub's `retry:` (3 s by default), which a WebSocket or a long poll never receives: with each
 * client's default, the SSE pane would wait seconds after a drop while the others came back at
 * once, and the page would measure the policy, not the transport. So every pane starts from the
 * hub's announced time, without jitter: the same wait, then whatever the transport itself costs.
 */
const RETRY_MS = config.retryMs ?? 3000;
const BACKOFF = { initialMs: RETRY_MS, maxMs: 30_000, jitter: 'none' };
const LABELS = { sse: 'SSE', websocket: 'WebSocket', poll: 'Long polling' };
document.querySelector('#retry-ms').textContent = `${RETRY_MS} ms`;

const feedUrl = new URL(config.hub, location.href);
feedUrl.searchParams.append('topic', config.topics.compare);

/** Per pane: what it saw. */
const panes = {};
for (const name of Object.keys(PANES)) {
  panes[name] = {
    source: null,
    received: 0,
    gaps: 0,
    dups: 0,
    lastN: null,
    latencies: [],
    opens: 0,
    reconnects: 0,
    /** `Date.now()` of the last drop. */
    droppedAt: null,
    /** After the last drop: ms until reopened (or, polling, until the next update), what came first and what came before. */
    resume: null,
    /** Wire bytes per update, as shown, and as a number (null until measured). */
    wireText: null,
    wireBytesPerUpdate: null,
    polls: 0,
    newConnections: 0,
  };
}
window.heraldCompare = { panes, drops: 0, six: null, policy: BACKOFF, native: null, bench: null };

// The charts: redrawn with the figures (at most once a frame).
const LATENCY_BINS = [5, 10, 20, 50, 100, 200, 500, 1000, Infinity];
const binLabel = (i) =>
  LATENCY_BINS[i] === Infinity ? `> ${LATENCY_BINS[i - 1]} ms` : `≤ ${LATENCY_BINS[i]} ms`;
let chartsQueued = false;
function drawCharts() {
  if (chartsQueued) return;
  chartsQueued = true;
  requestAnimationFrame(() => {
    chartsQueued = false;
    const names = Object.keys(PANES);
    const histograms = names.map((name) => {
      const counts = LATENCY_BINS.map(() => 0);
      for (const ms of panes[name].latencies) counts[LATENCY_BINS.findIndex((edge) => ms <= edge)]++;
      return { name, label: LABELS[name], values: counts };
    });
    groupedBars(
      document.querySelector('#chart-latency'),
      LATENCY_BINS.map((_, i) => binLabel(i)),
      histograms,
    );
    horizontalBars(
      document.querySelector('#chart-bytes'),
      names.map((name) => {
        const value = panes[name].wireBytesPerUpdate;
        return { name, label: LABELS[name], value, text: value === null ? 'no figure yet' : `${value} B` };
      }),
    );
    const reconnect = (name, label, resume) => ({
      name,
      label,
      value: resume?.ms ?? null,
      text: resume === null ? 'no drop yet' : resume.ms === null ? 'coming back…' : `${resume.ms} ms`,
    });
    horizontalBars(document.querySelector('#chart-reconnect'), [
      ...names.map((name) => reconnect(name, `${LABELS[name]} (retry ${RETRY_MS} ms)`, panes[name].resume)),
      reconnect('native', "apart: browser's EventSource, its default", native.resume),
    ]);
    window.heraldCompare.charts = {
      latency: histograms,
      bytes: names.map((name) => panes[name].wireBytesPerUpdate),
    };
  });
}
function cell(name, field) {
  return document.querySelector(`[data-pane="${name}"][data-field="${field}"]`);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function render(name) {
  const pane = panes[name];
  const source = pane.source;
  const state = source === null ? 'PAUSED' : STATES[source.readyState];
  cell(name, 'state').textContent = state;
  cell(name, 'received').textContent = String(pane.received);
  cell(name, 'integrity').textContent = `${pane.gaps} / ${pane.dups}`;
  if (pane.latencies.length > 0) {
    const sorted = [...pane.latencies].sort((a, b) => a - b);
    cell(name, 'latency').textContent = `${percentile(sorted, 50)} ms / ${percentile(sorted, 95)} ms`;
  }
  if (pane.wireText !== null) cell(name, 'bytes').textContent = pane.wireText;
  const held = source !== null && source.readyState === 1 ? 1 : 0;
  const opened = name === 'poll' ? `${pane.newConnections} TCP, ${pane.polls} requests` : `${pane.opens}`;
  cell(name, 'connections').textContent = `${held} / ${opened}`;
  const resume = pane.resume;
  cell(name, 'resume').textContent =
    resume === null
      ? String(pane.reconnects)
      : `${pane.reconnects}; ${resume.ms === null ? 'coming back' : `back in ${resume.ms} ms`}${resume.firstN === null ? '' : `, resumed at #${resume.firstN} after #${resume.afterN}`}`;
  drawCharts();
}

function open(name) {
  const pane = panes[name];
  const options = { transport: name, backoff: BACKOFF, lastEventIdParam: 'lastEventID' };
  // Resume after what the pane saw before a pause.
  if (pane.source?.lastEventId) options.lastEventId = pane.source.lastEventId;
  else if (pane.lastEventId) options.lastEventId = pane.lastEventId;
  // The SSE pane is the one the status strip follows.
  const source =
    name === 'sse' ? subscribe(config, config.topics.compare, options) : new EventSource(feedUrl, options);
  pane.source = source;
  source.addEventListener('open', () => {
    pane.opens++;
    if (pane.opens > 1) pane.reconnects++;
    // The connection after a drop: resume figures count from here, not from what was in flight.
    if (pane.resume !== null && pane.resume.ms === null && pane.resume.dropped) {
      pane.resume.ms = Date.now() - pane.droppedAt;
      pane.resume.reopened = true;
      pane.resume.afterN = pane.lastN;
    }
    render(name);
  });
  source.addEventListener('error', () => render(name));
  source.addEventListener('message', (event) => {
    const { n, t } = JSON.parse(event.data);
    pane.lastEventId = event.lastEventId;
    if (pane.lastN !== null && n <= pane.lastN) {
      pane.dups++;
      render(name);
      return;
    }
    if (pane.lastN !== null && n > pane.lastN + 1) pane.gaps += n - pane.lastN - 1;
    // A long poll has no connection to lose: the hub answers the waiting poll and the next one
    // follows; its figure is the time to the first update after the drop.
    if (pane.resume?.reopened && pane.resume.firstN === null) {
      pane.resume.firstN = n;
      pane.resume.ms ??= Date.now() - pane.droppedAt;
    }
    pane.lastN = n;
    pane.received++;
    render(name);
    // Publish → render: after the browser painted the new figures.
    requestAnimationFrame(() => {
      pane.latencies.push(Date.now() - t);
      if (pane.latencies.length > LATENCY_WINDOW) pane.latencies.shift();
      drawCharts();
    });
  });
  render(name);
}

function pause(name) {
  const pane = panes[name];
  if (pane.source === null) return;
  pane.lastEventId = pane.source.lastEventId;
  pane.source.close();
  pane.source = null;
  render(name);
}

for (const name of Object.keys(PANES)) open(name);

// Apart from the panes: the browser's own EventSource, reconnecting by its default policy.
const native = { source: null, opens: 0, reconnects: 0, droppedAt: null, resume: null };
window.heraldCompare.native = native;
function openNative() {
  native.source = new window.EventSource(feedUrl);
  native.source.addEventListener('open', () => {
    native.opens++;
    if (native.opens > 1) native.reconnects++;
    if (native.resume?.dropped && native.resume.ms === null) native.resume.ms = Date.now() - native.droppedAt;
    document.querySelector('#native-reconnects').textContent = String(native.reconnects);
    if (native.resume?.ms != null) {
      document.querySelector('#native-resume').textContent =
        `back ${native.resume.ms} ms after the last drop`;
    }
    drawCharts();
  });
}
openNative();

// Long polling, seen from this page: each request, and whether it needed a new TCP connection.
new PerformanceObserver((list) => {
  const pane = panes.poll;
  for (const entry of list.getEntries()) {
    if (!entry.name.includes('transport=poll')) continue;
    pane.polls++;
    if (entry.connectEnd > entry.connectStart) pane.newConnections++;
  }
  performance.clearResourceTimings();
}).observe({ type: 'resource', buffered: true });

// The hub's counters: wire bytes per update, per transport, from the change between two reads.
// HTTP/2 streams share one socket, which says nothing of one stream: the hub meters HTTP/1.1 only.
const protocol = performance.getEntriesByType('navigation')[0]?.nextHopProtocol || 'unknown';
let previous = null;
let statsPaused = false;
async function readStats() {
  if (statsPaused) return;
  try {
    const response = await fetch('/demo/transports.json', { cache: 'no-store' });
    const { transports } = await response.json();
    if (previous !== null) {
      for (const [name, hubName] of Object.entries(PANES)) {
        const now = transports[hubName];
        const before = previous[hubName];
        const delivered = now.delivered - before.delivered;
        const wire = now.wireBytes - before.wireBytes;
        if (protocol === 'h2' && name !== 'websocket') {
          panes[name].wireText = 'not measured over HTTP/2';
        } else if (delivered > 0 && wire > 0) {
          panes[name].wireBytesPerUpdate = Math.round(wire / delivered);
          panes[name].wireText = `${panes[name].wireBytesPerUpdate} B (${now.connections} open)`;
        } else if (now.connections === 0) panes[name].wireText = 'no subscriber';
        render(name);
      }
    }
    previous = transports;
    drawCharts();
  } catch {
    // The next read tries again.
  }
}
setInterval(readStats, 2000);
readStats();

const dropResult = document.querySelector('#drop-result');
document.querySelector('#drop').addEventListener('click', async () => {
  const at = Date.now();
  const before = new Map();
  for (const pane of Object.values(panes)) before.set(pane, pane.resume);
  for (const pane of Object.values(panes)) {
    pane.droppedAt = at;
    pane.resume = { ms: null, firstN: null, afterN: pane.lastN, dropped: false, reopened: false };
  }
  const nativeBefore = native.resume;
  native.droppedAt = at;
  native.resume = { ms: null, dropped: false };
  const response = await fetch('/demo/drop', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
  });
  const body = await response.json();
  if (response.ok) {
    // The hub has ended every connection: what opens from now on is a reconnect. A long poll has
    // none (its waiting request was answered): it counts from its first update after the drop.
    for (const [name, pane] of Object.entries(panes)) {
      pane.resume.dropped = true;
      if (name === 'poll') {
        pane.resume.reopened = true;
        pane.resume.afterN = pane.lastN;
      }
    }
    native.resume.dropped = true;
    window.heraldCompare.drops++;
    dropResult.textContent = `The hub ended ${body.dropped} connection${body.dropped === 1 ? '' : 's'}.`;
  } else {
    for (const [pane, resume] of before) pane.resume = resume;
    native.resume = nativeBefore;
    dropResult.textContent = body.error;
  }
});

// The six-connection limit, live on the protocol this page came over.
document.querySelector('#protocol').textContent = protocol === 'h2' ? 'HTTP/2' : protocol.toUpperCase();
document.querySelector('#six-other').textContent =
  protocol === 'h2'
    ? 'Over HTTP/1.1 the same test opens six streams and leaves the other four waiting until one closes.'
    : 'Over HTTP/2 (a hub with TLS) the same test opens all ten at once, on one connection.';
const STREAMS = 10;
const WAIT_MS = 4000;
document.querySelector('#six-run').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  statsPaused = true;
  pause('sse');
  pause('poll');
  native.source?.close();
  native.source = null;
  const list = document.querySelector('#six-streams');
  list.replaceChildren();
  const started = performance.now();
  const opened = new Array(STREAMS).fill(null);
  const sources = [];
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, WAIT_MS);
    for (let i = 0; i < STREAMS; i++) {
      const li = document.createElement('li');
      li.textContent = `stream ${i + 1}: waiting`;
      list.append(li);
      const url = new URL(feedUrl);
      url.searchParams.set('stream', String(i + 1));
      const source = new EventSource(url);
      sources.push(source);
      source.addEventListener('open', () => {
        opened[i] = Math.round(performance.now() - started);
        li.textContent = `stream ${i + 1}: open after ${opened[i]} ms`;
        li.className = 'open';
        if (opened.every((ms) => ms !== null)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
  for (const source of sources) source.close();
  const count = opened.filter((ms) => ms !== null).length;
  window.heraldCompare.six = { protocol, opened: count, streams: STREAMS };
  document.querySelector('#six-result').textContent =
    count === STREAMS
      ? `All ${STREAMS} streams opened (${protocol}).`
      : `${count} of ${STREAMS} opened within ${WAIT_MS / 1000} s over ${protocol}; stream ${count + 1} stalled behind the per-host limit.`;
  open('sse');
  open('poll');
  openNative();
  statsPaused = false;
  button.disabled = false;
});

// Cost on the server: the latest transports benchmark, read from its results file by the hub.
const SYSTEMS = ['herald', 'herald-ws', 'herald-poll', 'ws'];
async function showBench() {
  const runText = document.querySelector('#bench-run');
  const response = await fetch('/demo/bench.json', { cache: 'no-store' });
  const bench = await response.json();
  if (!response.ok) {
    runText.textContent = bench.error;
    return;
  }
  window.heraldCompare.bench = bench;
  const load =
    bench.loadAverageAtEnd === null ? '' : `, load average at the end ${bench.loadAverageAtEnd.join(' / ')}`;
  runText.textContent = `run of ${bench.started} to ${bench.finished}${load}${bench.command ? ` (\`${bench.command}\`)` : ''}.`;
  const body = document.querySelector('#bench-table tbody');
  body.replaceChildren();
  const row = (label, cells) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = label;
    tr.append(th);
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  };
  const figure = (scenario, system) =>
    bench.figures.find((f) => f.scenario === scenario && f.system === system);
  for (const { key, title } of bench.scenarios) {
    row(
      `${title}: CPU per delivery`,
      SYSTEMS.map((s) => {
        const f = figure(key, s);
        return f ? `${f.cpuMicrosPerDelivery.toFixed(2)} µs` : '–';
      }),
    );
  }
  for (const { key, title } of bench.scenarios) {
    row(
      `${title}: memory per idle connection`,
      SYSTEMS.map((s) => {
        const f = figure(key, s);
        return f ? `${(f.memoryPerSubscriberBytes / 1024).toFixed(1)} KB` : '–';
      }),
    );
  }
}
showBench().catch((error) => {
  document.querySelector('#bench-run').textContent = `could not load: ${error.message}`;
});
