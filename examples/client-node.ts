/**
 * herald/client in Node: an EventSource on the demo hub's stock ticker (`npm start` runs it), with
 * a token function called on every (re)connect, growing reconnect delays and a stall timeout.
 * It prints five quotes, then leaves the loop, which closes the connection.
 *
 * Run: node --import tsx examples/client-node.ts [hub URL]    (default http://localhost:3000/.well-known/mercure)
 * HERALD_TOKEN, if set, is sent as a bearer token (the demo lets anonymous subscribers in).
 */
import { EventSource, EventSourceErrorEvent } from 'herald/client';

const hubUrl = process.argv[2] ?? process.env.HUB_URL ?? 'http://localhost:3000/.well-known/mercure';
const topic = 'https://example.com/demo/ticker'; // the demo publishes `quote` events on it, one per symbol

async function getToken(): Promise<string | undefined> {
  return process.env.HERALD_TOKEN; // fetch a fresh one from your auth service here
}

const source = new EventSource(`${hubUrl}?topic=${encodeURIComponent(topic)}`, {
  headers: async (): Promise<Record<string, string>> => {
    const token = await getToken();
    return token === undefined ? {} : { Authorization: `Bearer ${token}` }; // called on every (re)connect
  },
  backoff: { initialMs: 1000, maxMs: 30_000, jitter: 'full', maxRetries: 20 },
  stallTimeoutMs: 45_000, // no byte for 45 s, heartbeats included: reconnect
});
source.onerror = (event) => {
  if (event instanceof EventSourceErrorEvent) console.warn(event.code, event.status, event.retryDelayMs);
};

let quotes = 0;
for await (const event of source.events(['quote'])) {
  const [symbol, price, change] = JSON.parse(event.data) as [symbol: string, price: number, change: number];
  console.log(`quote ${event.lastEventId}: ${symbol} ${price} (${change >= 0 ? '+' : ''}${change})`);
  if (++quotes === 5) break; // break closes the source
}
