import type { Hub } from '../hub.js';
import { DEMO_TOPICS } from './topics.js';

/** A simulated market: ~50 symbols on a random walk. */
export const TICKER_SYMBOLS = [
  'ACME',
  'AERO',
  'ALPH',
  'ARGO',
  'ATLS',
  'BEAC',
  'BOLT',
  'BRIX',
  'CEDR',
  'CIRC',
  'COMT',
  'CORE',
  'CRST',
  'DELT',
  'DUNE',
  'ECHO',
  'EMBR',
  'FERN',
  'FLUX',
  'GALE',
  'GLYF',
  'HALO',
  'HELX',
  'IONX',
  'JADE',
  'KILN',
  'LARK',
  'LUMN',
  'MAPL',
  'MESA',
  'NOVA',
  'OAKR',
  'ONYX',
  'OPAL',
  'ORCA',
  'PEAK',
  'PIXL',
  'QUAR',
  'RIDG',
  'SAGE',
  'SOLR',
  'SPRK',
  'TIDE',
  'TRIO',
  'UMBR',
  'VALE',
  'VRTX',
  'WAVE',
  'XENO',
  'ZEST',
] as const;

/**
 * Twenty ticks a second, each moving ten symbols: 200 updates a second, one per symbol moved, keyed
 * by symbol (`herald.key`). Fast enough that a subscriber limited to one send a second (`maxRate=1`)
 * visibly gets fewer, newer prices: at most one per symbol a second, ~50 instead of ~200.
 */
export const TICKER_INTERVAL_MS = 50;
const MOVERS_PER_TICK = 10;

/** One symbol's state: last price and change since the previous one. */
export type Quote = [symbol: string, price: number, change: number];

export class Ticker {
  readonly #prices = new Map<string, number>();
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
    for (const symbol of TICKER_SYMBOLS) this.#prices.set(symbol, round(20 + this.#random() * 480));
  }

  /** Every symbol's current price (change 0): what a page shows before the first batch. */
  snapshot(): Quote[] {
    return [...this.#prices].map(([symbol, price]) => [symbol, price, 0]);
  }

  /** Moves a random handful of symbols by up to ±1% and returns them. */
  step(): Quote[] {
    const moved: Quote[] = [];
    const seen = new Set<string>();
    while (moved.length < MOVERS_PER_TICK) {
      const symbol = TICKER_SYMBOLS[Math.floor(this.#random() * TICKER_SYMBOLS.length)]!;
      if (seen.has(symbol)) continue;
      seen.add(symbol);
      const before = this.#prices.get(symbol)!;
      let after = round(before * (1 + (this.#random() - 0.5) * 0.02));
      if (after === before) after = round(before + (this.#random() < 0.5 ? -0.01 : 0.01));
      this.#prices.set(symbol, Math.max(0.01, after));
      moved.push([symbol, after, round(after - before)]);
    }
    return moved;
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Publishes one tick: an update per symbol moved, type `quote`, data `[symbol, price, change]`,
 * conflation key the symbol (a subscriber behind gets each symbol's latest price, not every one).
 */
export function publishTick(hub: Hub, ticker: Ticker): Promise<unknown> {
  return Promise.all(
    ticker.step().map((quote) =>
      hub.publish({
        topics: [DEMO_TOPICS.ticker],
        type: 'quote',
        key: quote[0],
        data: JSON.stringify(quote),
      }),
    ),
  );
}

/** Publishes ticks on the ticker topic until the returned function is called. */
export function startTicker(hub: Hub, ticker: Ticker, onError: (error: unknown) => void): () => void {
  const timer = setInterval(() => {
    publishTick(hub, ticker).catch(onError);
  }, TICKER_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
