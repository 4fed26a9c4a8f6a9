import { EventSource } from '/herald-client.js';
import { loadConfig, subscribe } from './demo.js';

const config = await loadConfig();
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** One pane: a table of quotes and a counter of updates received. */
function pane(tableId, counterId) {
  const body = document.querySelector(`#${tableId} tbody`);
  const counter = document.querySelector(`#${counterId}`);
  const rows = new Map();
  let updates = 0;

  function row(symbol) {
    let tr = rows.get(symbol);
    if (!tr) {
      tr = document.createElement('tr');
      tr.dataset.symbol = symbol;
      tr.innerHTML = '<th scope="row"></th><td class="price"></td><td class="change"></td>';
      tr.firstElementChild.textContent = symbol;
      body.append(tr);
      rows.set(symbol, tr);
    }
    return tr;
  }

  // The change shown is the move this pane's reader saw: its price against the one it showed
  // before. A rate-limited reader skips ticks, so the publisher's change (from the tick just
  // before) would colour a price up when it is below what the pane showed a second ago.
  function show([symbol, price], flash) {
    const tr = row(symbol);
    const before = tr.dataset.price === undefined ? price : Number(tr.dataset.price);
    const change = Math.round((price - before) * 100) / 100;
    tr.dataset.price = String(price);
    tr.dataset.change = String(change);
    tr.querySelector('.price').textContent = money.format(price);
    const cell = tr.querySelector('.change');
    cell.textContent = `${change > 0 ? '+' : ''}${money.format(change)}`;
    cell.className = `change ${change > 0 ? 'up' : change < 0 ? 'down' : ''}`;
    if (!flash || change === 0) return;
    tr.classList.remove('flash-up', 'flash-down');
    // Restart the animation even when the same row flashes twice in a row.
    void tr.offsetWidth;
    tr.classList.add(change > 0 ? 'flash-up' : 'flash-down');
  }

  return {
    show,
    received(quote) {
      show(quote, true);
      counter.textContent = String(++updates);
    },
  };
}

const full = pane('quotes', 'updates');
const limited = pane('quotes-limited', 'updates-limited');

const snapshot = await (await fetch('/demo/ticker.json')).json();
for (const quote of snapshot.quotes) {
  full.show(quote, false);
  limited.show(quote, false);
}

// The full-rate subscription drives the status strip; the limited one asks the hub for at most one
// send a second (`maxRate`, a Herald extension of the subscribe URL).
const source = subscribe(config, config.topics.ticker, { types: ['quote'] });
source.addEventListener('quote', (event) => full.received(JSON.parse(event.data)));

const url = new URL(config.hub, location.href);
url.searchParams.append('topic', config.topics.ticker);
url.searchParams.append('maxRate', '1');
const slow = new EventSource(url, { lastEventIdParam: 'lastEventID', backoff: true });
slow.addEventListener('quote', (event) => limited.received(JSON.parse(event.data)));
for (const [name, s] of [
  ['full', source],
  ['limited', slow],
]) {
  s.addEventListener('open', () => {
    document.querySelector(`[data-pane="${name}"]`).dataset.open = 'true';
  });
}
