/**
 * One load-generator process: holds up to ~19,000 raw TCP subscribers (the open-files limit is
 * 20,000 per process), each bound to an explicit local port on its own 127.0.x.y source address (the
 * kernel's ephemeral port search slows down past ~14k connections from one address). It reads the
 * `#b<seq>.<µs>#` marker of each event straight from the socket bytes, checks the sequence per
 * subscriber and records publish-to-receive latency. Three wire protocols: an event stream, a
 * WebSocket (upgrade, then server frames read raw; pings answered with a pong), and long polling
 * (one keep-alive request after another, each naming the cursor of the answer before).
 * Driven over IPC:
 *   <- connect {host, port, paths, firstIndex, count, sourceAddress, protocol?}  -> connected {made, failed}
 *   <- expect {events}   -> complete once every subscriber has the last event
 *   <- report            -> report {received, lost, duplicates, lastUs, histogram}
 *   <- close             closes every socket and exits
 */
import net from 'node:net';
import { LatencyHistogram } from './histogram.js';
import { nowUs } from './payload.js';

/** How subscribers read: an event stream, a WebSocket, or long polling (`?transport=poll`). */
export type Protocol = 'sse' | 'ws' | 'poll';

type Message =
  | {
      type: 'connect';
      host: string;
      port: number;
      /** Request paths; subscriber i uses paths[i % paths.length] with `{i}` replaced by its index. */
      paths: string[];
      firstIndex: number;
      count: number;
      sourceAddress: string;
      /** Default `sse`. */
      protocol?: Protocol;
    }
  | { type: 'expect'; events: number }
  | { type: 'report' }
  | { type: 'close' };

/** Local ports below Linux's ephemeral range (32768-60999), so no outgoing socket competes for them. */
const FIRST_LOCAL_PORT = 10_000;
const LAST_LOCAL_PORT = 32_000;
/** Connections being set up at once: enough to keep the server busy, few enough for its backlog. */
const CONNECT_WINDOW = 400;
/** A subscriber with no response head by then counts as failed (a server out of connection slots may accept and never answer). */
const HEAD_TIMEOUT_MS = 30_000;
const MARK = Buffer.from('#b');
const HTTP_200 = Buffer.from('HTTP/1.1 200');
const HTTP_101 = Buffer.from('HTTP/1.1 101');
const HEAD_END = Buffer.from('\r\n\r\n');
/** A client's empty pong: FIN + opcode 0xA, masked, zero length, zero mask (RFC 6455 5.5.3). */
const PONG = Buffer.from([0x8a, 0x80, 0, 0, 0, 0]);
const CURSOR = Buffer.from('{"lastEventID":');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;
/**
 * Every socket reads into this one buffer (`onread`), handled before the next read: no Buffer per
 * read and no stream events, which let one generator process keep up with ~2x the deliveries/s.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const send = (m: object): void => void process.send!(m);
const histogram = new LatencyHistogram();
const subscribers: Subscriber[] = [];
let expected = Number.POSITIVE_INFINITY;
let complete = 0;
let lastUs = 0;

class Subscriber {
  socket: net.Socket | undefined;
  open = false;
  next = 0;
  received = 0;
  lost = 0;
  duplicates = 0;
  carry: Buffer | undefined;
  // WebSocket: the frame walk, to find pings (markers are read from the raw bytes as for SSE).
  /** Payload bytes of the current frame still to pass over. */
  skip = 0;
  /** A frame header split across reads. */
  header: Buffer | undefined;
  // Long polling: the answer being read, and what to ask next.
  pollPath = '';
  pollHost = '';
  answer: Buffer | undefined;
  /** Body bytes the current answer still lacks; -1 while its head is being read. */
  bodyLeft = -1;

  /** WebSocket bytes after the handshake head: walks the frames, answering each ping. */
  walkFrames(buf: Buffer): void {
    if (this.header) {
      buf = Buffer.concat([this.header, buf]);
      this.header = undefined;
    }
    let i = 0;
    const n = buf.length;
    while (i < n) {
      if (this.skip > 0) {
        const step = Math.min(this.skip, n - i);
        this.skip -= step;
        i += step;
        continue;
      }
      if (n - i < 2) break;
      const opcode = buf[i]! & 0x0f;
      const len7 = buf[i + 1]! & 0x7f;
      const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      if (n - i < 2 + ext) break;
      const length =
        ext === 0 ? len7 : ext === 2 ? buf.readUInt16BE(i + 2) : Number(buf.readBigUInt64BE(i + 2));
      i += 2 + ext;
      if (opcode === 0x9) this.socket?.write(PONG);
      this.skip = length;
    }
    if (i < n) this.header = Buffer.from(buf.subarray(i));
  }

  /** Long-poll bytes: one answer after another on a keep-alive connection; asks again after each. */
  readAnswers(chunk: Buffer): void {
    this.answer = this.answer ? Buffer.concat([this.answer, chunk]) : Buffer.from(chunk);
    for (;;) {
      if (this.bodyLeft < 0) {
        const end = this.answer.indexOf(HEAD_END);
        if (end === -1) return;
        const head = this.answer.toString('latin1', 0, end);
        if (!head.startsWith('HTTP/1.1 200')) {
          console.error(`poll: ${head.split('\r\n')[0]}`);
          this.socket?.destroy();
          return;
        }
        this.bodyLeft = Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
        this.answer = this.answer.subarray(end + 4);
      }
      if (this.answer.length < this.bodyLeft) return;
      const body = this.answer.subarray(0, this.bodyLeft);
      this.answer = this.answer.subarray(this.bodyLeft);
      this.bodyLeft = -1;
      this.feed(body, body.length);
      // {"lastEventID":"<cursor>", ...}: the position to ask from next.
      const at = body.indexOf(CURSOR);
      const cursor =
        at === -1
          ? ''
          : (JSON.parse(body.toString('utf8', at + CURSOR.length, body.indexOf(',', at))) as string);
      this.ask(cursor);
      if (this.answer.length === 0) {
        this.answer = undefined;
        return;
      }
    }
  }

  ask(cursor: string): void {
    const after = cursor === '' ? '' : `&lastEventID=${encodeURIComponent(cursor)}`;
    this.socket?.write(
      `GET ${this.pollPath}${after} HTTP/1.1\r\nHost: ${this.pollHost}\r\nAccept: application/json\r\n\r\n`,
    );
  }

  /** Reads the markers in `chunk[0, length)`; the chunk is reused after this returns. */
  feed(chunk: Buffer, length: number): void {
    let buf = chunk.subarray(0, length);
    if (this.carry) {
      buf = Buffer.concat([this.carry, buf]);
      this.carry = undefined;
    }
    const n = buf.length;
    let at = 0;
    let i = buf.indexOf(MARK);
    while (i !== -1) {
      let j = i + 2;
      let seq = 0;
      let c = 0;
      while (j < n && (c = buf[j]!) >= 48 && c <= 57) {
        seq = seq * 10 + c - 48;
        j++;
      }
      j++; // the '.'
      let due = 0;
      while (j < n && (c = buf[j]!) >= 48 && c <= 57) {
        due = due * 10 + c - 48;
        j++;
      }
      if (j >= n) {
        // The marker runs past this read: keep it for the next one.
        this.carry = Buffer.from(buf.subarray(i));
        break;
      }
      if (at === 0) at = nowUs();
      this.#event(seq, at - due);
      i = buf.indexOf(MARK, j);
    }
    if (i === -1 && buf[n - 1] === 35 /* '#' */) this.carry = Buffer.from('#');
  }

  #event(seq: number, latencyUs: number): void {
    if (seq < this.next) {
      this.duplicates++;
      return;
    }
    this.lost += seq - this.next;
    this.next = seq + 1;
    this.received++;
    histogram.record(latencyUs);
    if (this.next === expected) {
      lastUs = nowUs();
      if (++complete === subscribers.length) send({ type: 'complete' });
    }
  }
}

function connectAll(m: Extract<Message, { type: 'connect' }>): void {
  let started = 0;
  let settled = 0;
  let made = 0;
  let failed = 0;
  let nextPort = FIRST_LOCAL_PORT;
  const settle = (ok: boolean): void => {
    if (ok) made++;
    else failed++;
    if (++settled === m.count) send({ type: 'connected', made, failed });
    else if (started < m.count) start(started++);
  };
  const start = (k: number, attempts = 0): void => {
    const index = m.firstIndex + k;
    const sub = subscribers[k]!;
    const path = m.paths[index % m.paths.length]!.replaceAll('{i}', String(index));
    const localPort = nextPort++;
    if (nextPort > LAST_LOCAL_PORT) nextPort = FIRST_LOCAL_PORT;
    const protocol = m.protocol ?? 'sse';
    let settled = false;
    let headSeen = protocol === 'poll';
    const onHead = (head: Buffer): void => {
      socket.setTimeout(0);
      if (settled) return;
      settled = true;
      const expected = protocol === 'ws' ? HTTP_101 : HTTP_200;
      const ok = head.subarray(0, expected.length).equals(expected);
      if (!ok) console.error(`subscriber ${index}: ${head.toString('latin1', 0, 80).split('\r\n')[0]}`);
      sub.open = ok;
      settle(ok);
    };
    const socket = net.connect({
      host: m.host,
      port: m.port,
      localAddress: m.sourceAddress,
      localPort,
      onread: {
        buffer: READ_BUFFER,
        callback: (length: number, buf: Uint8Array) => {
          const bytes = buf as Buffer;
          if (protocol === 'poll') {
            sub.readAnswers(bytes.subarray(0, length));
            return true;
          }
          let from = 0;
          if (!headSeen) {
            headSeen = true;
            onHead(bytes.subarray(0, length));
            if (protocol === 'ws') from = bytes.subarray(0, length).indexOf(HEAD_END) + 4;
          }
          if (protocol === 'ws' && from < length) sub.walkFrames(bytes.subarray(from, length));
          sub.feed(bytes, length);
          return true;
        },
      },
    });
    sub.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(HEAD_TIMEOUT_MS, () => {
      if (settled) return;
      settled = true;
      console.error(`subscriber ${index}: no response within ${HEAD_TIMEOUT_MS} ms`);
      socket.destroy();
      settle(false);
    });
    socket.once('connect', () => {
      const host = `${m.host}:${m.port}`;
      if (protocol === 'poll') {
        // A long poll answers only when there is something: connected once the first request is out.
        sub.pollPath = path;
        sub.pollHost = host;
        sub.ask('');
        socket.setTimeout(0);
        settled = true;
        sub.open = true;
        settle(true);
      } else if (protocol === 'ws') {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: aGVyYWxkLWJlbmNoLWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      } else socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\n\r\n`);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      // Another program holds this port on all addresses: try the next one.
      if (error.code === 'EADDRINUSE' && attempts < 50) return start(k, attempts + 1);
      console.error(`subscriber ${index}: ${error.message}`);
      sub.open = false;
      settle(false);
    });
    socket.on('close', () => {
      sub.open = false;
      if (settled) return;
      settled = true;
      console.error(`subscriber ${index}: closed before a response`);
      settle(false);
    });
  };
  for (let k = 0; k < m.count; k++) subscribers.push(new Subscriber());
  while (started < Math.min(CONNECT_WINDOW, m.count)) start(started++);
  if (m.count === 0) send({ type: 'connected', made: 0, failed: 0 });
}

process.on('message', (m: Message) => {
  switch (m.type) {
    case 'connect':
      return connectAll(m);
    case 'expect':
      expected = m.events;
      if (expected === 0) send({ type: 'complete' });
      return;
    case 'report': {
      let received = 0;
      let lost = 0;
      let duplicates = 0;
      for (const s of subscribers) {
        received += s.received;
        duplicates += s.duplicates;
        lost += s.lost + Math.max(0, expected - s.next);
      }
      return send({ type: 'report', received, lost, duplicates, lastUs, histogram: histogram.toJSON() });
    }
    case 'close':
      for (const s of subscribers) s.socket?.destroy();
      process.disconnect();
      return;
  }
});
