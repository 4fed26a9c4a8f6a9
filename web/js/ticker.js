import { loadConfig, subscribe } from './demo.js';

const config = await loadConfig();
// Two tables side by side (one under the other on narrow screens), each with its own header.
const bodies = document.querySelectorAll('#quotes tbody');
const rows = new Map();
let half = Number.POSITIVE_INFINITY;
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function row(symbol) {
  let tr = rows.get(symbol);
  if (!tr) {
    tr = document.createElement('tr');
    tr.dataset.symbol = symbol;
    tr.innerHTML = '<th scope="row"></th><td class="price"></td><td class="change"></td>';
    tr.firstElementChild.textContent = symbol;
    // The snapshot lists every symbol first: the first half goes left, the rest right.
    bodies[rows.size < half ? 0 : 1].append(tr);
    rows.set(symbol, tr);
  }
  return tr;
}

function show([symbol, price, change], flash) {
  const tr = row(symbol);
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

const snapshot = await (await fetch('/demo/ticker.json')).json();
half = Math.ceil(snapshot.quotes.length / 2);
for (const quote of snapshot.quotes) show(quote, false);

let updates = 0;
const source = subscribe(config, config.topics.ticker, { types: ['quotes'] });
source.addEventListener('quotes', (event) => {
  const { quotes } = JSON.parse(event.data);
  for (const quote of quotes) show(quote, true);
  updates += quotes.length;
  document.querySelector('#updates').textContent = String(updates);
});
