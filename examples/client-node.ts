/**
 * herald/client in Node: an EventSource on the demo hub's stock ticker (`npm start` runs it), with
 * a token function called on every (re)connect, growing reconnect delays and a stall timeout.
 * It prints five batches of quotes, then leaves the loop, which closes the connection.
 *
 * Run: node --import tsx examples/client-node.ts [hub URL]    (default http://localhost:3000/.well-known/mercure)
 * HERALD_TOKEN, if set, is sent as a bearer token (the demo lets anonymous subscribers in).
 */
import { EventSource, EventSourceErrorEvent } from 'herald/client';

const hubUrl = process.argv[2] ?? process.env.HUB_URL ?? 'http://localhost:3000/.well-known/mercure';
const topic = 'https://example.com/demo/ticker'; // the demo publishes `quotes` events on it

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

let batches = 0;
for await (const event of source.events(['quotes'])) {
  const { quotes } = JSON.parse(event.data) as {
    quotes: Array<[symbol: string, price: number, change: number]>;
  };
  console.log(
    `quotes ${event.lastEventId}: ${quotes.map(([symbol, price]) => `${symbol} ${price}`).join(', ')}`,
  );
  if (++batches === 5) break; // break closes the source
}
