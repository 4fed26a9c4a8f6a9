/**
 * The subscriber side of the conflation benchmark: `fast` subscribers read everything as it comes;
 * `slow` ones read a fixed number of bytes every 100 ms (a tenth of the feed's byte rate), leaving
 * the rest in the kernel's socket buffers and the hub's queue, as a phone on a weak link would.
 * Each reads the `#b<seq>.<due µs>#` marker of every event it gets. Driven over IPC:
 *   <- connect {port, fast, slow, slowBytesPerSecond}  -> connected {made}
 *   <- start / stop                                     staleness sampling of slow ones while publishing
 *   <- report  -> report {...}
 */
import net from 'node:net';
import { LatencyHistogram } from '../load/histogram.js';
import { nowUs } from '../load/payload.js';

const send = (m: object): void => void process.send!(m);
const MARK = Buffer.from('#b');
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

class Reader {
  received = 0;
  bytes = 0;
  newestSeq = -1;
  newestDueUs = 0;
  open = true;
  carry: Buffer | undefined;
  socket!: net.Socket;
  constructor(
    readonly slow: boolean,
    readonly latency: LatencyHistogram | null,
  ) {}

  feed(chunk: Buffer): void {
    this.bytes += chunk.length;
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, buf]);
      this.carry = undefined;
    }
    const n = buf.length;
    let i = buf.indexOf(MARK);
    const at = nowUs();
    while (i !== -1) {
      let j = i + 2;
      let seq = 0;
      let c = 0;
      while (j < n && (c = buf[j]!) >= 48 && c <= 57) (seq = seq * 10 + c - 48), j++;
      j++;
      let due = 0;
      while (j < n && (c = buf[j]!) >= 48 && c <= 57) (due = due * 10 + c - 48), j++;
      if (j >= n) {
        this.carry = Buffer.from(buf.subarray(i));
        break;
      }
      this.received++;
      if (seq > this.newestSeq) {
        this.newestSeq = seq;
        this.newestDueUs = due;
      }
      this.latency?.record(at - due);
      i = buf.indexOf(MARK, j);
    }
    if (i === -1 && buf[n - 1] === 35) this.carry = Buffer.from('#');
  }
}

const readers: Reader[] = [];
const fastLatency = new LatencyHistogram();
const staleness = new LatencyHistogram();
let sampling = false;
let slowBudget = 0;
let slowQuery = '';

function connect(port: number, slow: boolean): Promise<boolean> {
  const reader = new Reader(slow, slow ? null : fastLatency);
  readers.push(reader);
  const path = slow
    ? `/.well-known/mercure?topic=ticker&topic=slow${slowQuery}`
    : '/.well-known/mercure?topic=ticker';
  return new Promise((resolve) => {
    // Fast readers read through one shared buffer (`onread`, no Buffer per read): the generator
    // must parse ~900k events/s on one core.
    const socket = slow
      ? net.connect({ port, host: '127.0.0.1' })
      : net.connect({
          port,
          host: '127.0.0.1',
          onread: {
            buffer: READ_BUFFER,
            callback: (length: number, buf: Uint8Array) => {
              if (!head) {
                head = true;
                resolve(true);
              }
              reader.feed((buf as Buffer).subarray(0, length));
              return true;
            },
          },
        });
    reader.socket = socket;
    let head = false;
    socket.on('error', () => {});
    socket.on('close', () => {
      reader.open = false;
      if (!head) resolve(false);
    });
    socket.once('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
    });
    if (slow) {
      socket.setNoDelay(true);
      // Paused: bytes are taken only by the 100 ms reading tick below.
      socket.once('readable', () => {
        head = true;
        resolve(true);
      });
    }
  });
}

let startUs = 0;
let slowBytesPerSecond = 0;

setInterval(() => {
  const now = nowUs();
  // What a slow reader may have read by now: a late tick (a busy generator) catches up.
  const allowed = startUs === 0 ? 0 : ((now - startUs) / 1e6) * slowBytesPerSecond;
  for (const r of readers) {
    if (!r.slow || !r.open) continue;
    let budget = Math.min(allowed - r.bytes, slowBudget * 10);
    while (budget > 0) {
      const n = Math.min(budget, r.socket.readableLength);
      if (n === 0) break;
      const chunk = r.socket.read(n) as Buffer | null;
      if (chunk === null) break;
      r.feed(chunk);
      budget -= chunk.length;
    }
    if (sampling && r.newestSeq >= 0) staleness.record(now - r.newestDueUs);
  }
}, 100).unref();

process.on(
  'message',
  async (m: {
    type: string;
    port: number;
    fast: number;
    slow: number;
    slowBytesPerSecond: number;
    slowQuery?: string;
  }) => {
    if (m.type === 'connect') {
      slowBudget = Math.max(1, Math.round(m.slowBytesPerSecond / 10));
      slowBytesPerSecond = m.slowBytesPerSecond;
      slowQuery = m.slowQuery ?? '';
      let made = 0;
      const total = m.fast + m.slow;
      // Slow subscribers spread among fast ones: every `stride`-th.
      const stride = Math.floor(total / Math.max(1, m.slow));
      const isSlow = (k: number) => m.slow > 0 && k % stride === stride - 1 && k < m.slow * stride;
      for (let i = 0; i < total; i += 50) {
        const batch = [];
        for (let k = i; k < Math.min(i + 50, total); k++) batch.push(connect(m.port, isSlow(k)));
        made += (await Promise.all(batch)).filter(Boolean).length;
      }
      send({ type: 'connected', made, slow: readers.filter((r) => r.slow).length });
    } else if (m.type === 'start') {
      sampling = true;
      startUs = nowUs();
      // Bytes read while connecting (the response head) do not count against the budget.
      for (const r of readers) if (r.slow) r.bytes = 0;
    } else if (m.type === 'stop') sampling = false;
    else if (m.type === 'report') {
      const fast = readers.filter((r) => !r.slow);
      const slow = readers.filter((r) => r.slow);
      send({
        type: 'report',
        fastReceived: fast.reduce((a, r) => a + r.received, 0),
        fastCount: fast.length,
        fastDisconnected: fast.filter((r) => !r.open).length,
        fastLatency: { p50: fastLatency.quantileUs(0.5), p99: fastLatency.quantileUs(0.99) },
        slowCount: slow.length,
        slowDisconnected: slow.filter((r) => !r.open).length,
        slowBytes: slow.reduce((a, r) => a + r.bytes, 0) / Math.max(1, slow.length),
        slowReceived: slow.reduce((a, r) => a + r.received, 0) / Math.max(1, slow.length),
        staleness: {
          p50: staleness.quantileUs(0.5),
          p99: staleness.quantileUs(0.99),
          samples: staleness.total,
        },
      });
    } else if (m.type === 'close') {
      for (const r of readers) r.socket.destroy();
      process.disconnect();
    }
  },
);
