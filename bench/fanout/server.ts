/**
 * The server under test, in its own process (pinned to one core by index.ts). argv[2] names the
 * implementation: `herald` (herald/server Channel, each event encoded once) or `better-sse` (its
 * Channel.broadcast, the library's own fan-out path). Driven over IPC:
 *   -> { type: 'ready', port }        listening
 *   <- { type: 'wait', subscribers }  -> { type: 'subscribed' } once that many streams are open
 *   <- { type: 'publish', events, rate, size }  starts publishing (rate 0: all at once)
 *   <- { type: 'stop' }              -> { type: 'cpu', micros, userMicros, published } CPU since publish began
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Channel as BetterChannel, createSession } from 'better-sse';
import { encodeEvent } from '../../src/protocol/index.js';
import { Channel, SseServer } from '../../src/server/index.js';

type Message =
  | { type: 'wait'; subscribers: number }
  | { type: 'publish'; events: number; rate: number; size: number }
  | { type: 'stop' };

const impl = process.argv[2];
if (impl !== 'herald' && impl !== 'better-sse') throw new Error(`unknown implementation ${impl}`);
const send = (m: object): void => void process.send!(m);

let subscribers = 0;
let waitFor = -1;
let publish: (id: number, data: string) => void;
let handler: http.RequestListener;

if (impl === 'herald') {
  // Heartbeats off in both: the run is shorter than any interval anyway.
  const sse = new SseServer({ heartbeatMs: 0 });
  const channel = new Channel();
  handler = (req, res) => {
    channel.add(sse.stream(req, res));
    subscribed();
  };
  publish = (id, data) => {
    channel.broadcast(encodeEvent({ id: String(id), data }));
  };
} else {
  const channel = new BetterChannel();
  // The data is already a JSON string: an identity serializer keeps better-sse from quoting it again,
  // so both sides send the same bytes and the run measures the transport, not JSON.stringify.
  const options = { keepAlive: null, serializer: (d: unknown) => d as string, retry: 3000 };
  handler = (req, res) => {
    createSession(req, res, options).then((session) => {
      channel.register(session);
      subscribed();
    });
  };
  publish = (id, data) => {
    channel.broadcast(data, 'message', { eventId: String(id) });
  };
}

function subscribed(): void {
  subscribers++;
  if (subscribers === waitFor) send({ type: 'subscribed' });
}

const server = http.createServer(handler);
server.listen(0, '127.0.0.1', () => send({ type: 'ready', port: (server.address() as AddressInfo).port }));

let cpuStart: NodeJS.CpuUsage | undefined;
let published = 0;

process.on('message', (m: Message) => {
  if (m.type === 'wait') {
    waitFor = m.subscribers;
    if (subscribers >= waitFor) send({ type: 'subscribed' });
  } else if (m.type === 'publish') {
    const data = JSON.stringify({ symbol: 'ACME', price: 12.5, note: 'x'.repeat(Math.max(0, m.size - 40)) });
    cpuStart = process.cpuUsage();
    if (m.rate === 0) {
      for (let i = 0; i < m.events; i++) publish(i, data);
      published = m.events;
      return;
    }
    // Fixed rate: every millisecond, publish what is due by the clock (one event per turn when on time).
    const start = performance.now();
    const timer = setInterval(() => {
      const due = Math.min(m.events, Math.floor(((performance.now() - start) * m.rate) / 1000) + 1);
      while (published < due) publish(published++, data);
      if (published === m.events) clearInterval(timer);
    }, 1);
  } else if (m.type === 'stop') {
    const cpu = process.cpuUsage(cpuStart);
    send({ type: 'cpu', micros: cpu.user + cpu.system, userMicros: cpu.user, published });
    server.closeAllConnections();
    server.close();
    process.disconnect();
  }
});
