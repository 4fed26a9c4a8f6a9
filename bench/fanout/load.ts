/**
 * The load generator, in its own process (pinned to the other core): opens N raw TCP subscribers,
 * counts events per subscriber from the bytes, and reports when every subscriber has every event.
 *   <- { type: 'connect', port, subscribers, events }  -> { type: 'connected' } once all sent requests
 *   -> { type: 'done', received, lost, duplicates } when all events arrived (or on { type: 'report' })
 */
import net from 'node:net';
import { EventCounter } from './event-counter.js';

type Message = { type: 'connect'; port: number; subscribers: number; events: number } | { type: 'report' };

const send = (m: object): void => void process.send!(m);
const counters: EventCounter[] = [];
const sockets: net.Socket[] = [];
let complete = 0;
let events = 0;
let reported = false;

function report(): void {
  if (reported) return;
  reported = true;
  let received = 0;
  let lost = 0;
  let duplicates = 0;
  for (const c of counters) {
    received += c.received;
    duplicates += c.duplicates;
    lost += c.lost + (events - c.next);
  }
  send({ type: 'done', received, lost, duplicates });
  for (const s of sockets) s.destroy();
  process.disconnect();
}

process.on('message', (m: Message) => {
  if (m.type === 'report') return report();
  events = m.events;
  let opened = 0;
  for (let i = 0; i < m.subscribers; i++) {
    const counter = new EventCounter();
    counters.push(counter);
    const socket = net.connect(m.port, '127.0.0.1', () => {
      socket.write('GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n');
      if (++opened === m.subscribers) send({ type: 'connected' });
    });
    sockets.push(socket);
    socket.on('data', (buf: Buffer) => {
      const before = counter.next;
      counter.feed(buf);
      if (before < events && counter.next >= events && ++complete === m.subscribers) report();
    });
    socket.on('error', (error) => {
      console.error(`subscriber ${i}: ${error.message}`);
    });
  }
});
