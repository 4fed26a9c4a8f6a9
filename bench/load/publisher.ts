/**
 * The publishing side of the load generator, in its own process on the generator's core. Driven
 * over IPC:
 *   <- publish {target, events, rate, size}
 *        publishes `events` events at `rate` per second over ONE keep-alive connection, one request
 *        after the other (so events reach the server in order); each carries its sequence number and
 *        its due time, the time the schedule says it should leave. Latency is counted from the due
 *        time, so a server that makes publishers wait is charged for the wait (no coordinated
 *        omission).  -> published {firstDueUs, errors, stages}
 *   <- batch {target, events, rate, size, topics}
 *        `rate` batches per second, each a JSON batch publish of one update to each of `topics`
 *        topics (`<topicPrefix><i>`), so every topic gets `events` updates numbered 0..events-1. One
 *        keep-alive connection, requests pipelined at their due time without waiting for answers
 *        (the hub answers them in order, so each topic's updates stay in order).
 *        -> published {firstDueUs, errors, stages}
 *   <- throughput {target, requests, concurrency, keepAlive, size}
 *        as many publishes as the server takes, `concurrency` in flight, over keep-alive connections
 *        or a new connection per request.  -> throughput {ok, errors, wallMs}
 *
 * `stages` holds, per event (indexed by sequence number), its due time, the time its request was written to the
 * socket and the time its answer came back (CLOCK_MONOTONIC µs, 0 when it never did): the pacing lag
 * (written − due) and the publish round trip (answered − written) of the per-stage breakdown.
 */
import http from 'node:http';
import net from 'node:net';
import { nowUs, type PublishTarget, payload, publishBody } from './payload.js';

type BatchTarget = PublishTarget & { topicPrefix: string };

type Message =
  | { type: 'publish'; target: PublishTarget; events: number; rate: number; size: number }
  | { type: 'batch'; target: BatchTarget; events: number; rate: number; size: number; topics: number }
  | {
      type: 'throughput';
      target: PublishTarget;
      requests: number;
      concurrency: number;
      keepAlive: boolean;
      size: number;
    };

const send = (m: object): void => void process.send!(m);

/** When each event's request was written and its answer received, by sequence number (µs). */
export interface PublishStages {
  dueUs: number[];
  writtenUs: number[];
  answeredUs: number[];
}

/** `times`, when given, gets the request's written and answered times (µs). */
function post(
  agent: http.Agent,
  target: PublishTarget,
  data: string,
  keepAlive: boolean,
  times?: { writtenUs: number; answeredUs: number },
): Promise<boolean> {
  const { body, contentType } = publishBody(target, data);
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        host: target.host,
        port: target.port,
        path: target.path,
        method: 'POST',
        headers: {
          ...target.headers,
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          ...(keepAlive ? {} : { connection: 'close' }),
        },
      },
      (res) => {
        if (times) times.answeredUs = nowUs();
        const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
        if (!ok) console.error(`publish: HTTP ${res.statusCode}`);
        res.resume();
        res.on('end', () => resolve(ok));
        res.on('error', () => resolve(false));
      },
    );
    req.on('error', (error) => {
      console.error(`publish: ${error.message}`);
      resolve(false);
    });
    // 'finish': the whole request has been handed to the socket.
    if (times) req.once('finish', () => (times.writtenUs = nowUs()));
    req.end(body);
  });
}

async function publishAtRate(m: Extract<Message, { type: 'publish' }>): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const intervalUs = 1e6 / m.rate;
  const firstDueUs = nowUs() + 2000;
  let errors = 0;
  const stages: PublishStages = { dueUs: [], writtenUs: [], answeredUs: [] };
  for (let seq = 0; seq < m.events; seq++) {
    const due = Math.round(firstDueUs + seq * intervalUs);
    const wait = (due - nowUs()) / 1000;
    // Timers fire late by up to a millisecond or so; below that, send at once.
    if (wait >= 1) await new Promise((r) => setTimeout(r, Math.floor(wait)));
    const times = { writtenUs: 0, answeredUs: 0 };
    if (!(await post(agent, m.target, payload(seq, due, m.size), true, times))) errors++;
    stages.dueUs.push(due);
    stages.writtenUs.push(times.writtenUs);
    stages.answeredUs.push(times.answeredUs);
  }
  agent.destroy();
  send({ type: 'published', firstDueUs, errors, stages });
}

async function throughput(m: Extract<Message, { type: 'throughput' }>): Promise<void> {
  const agent = new http.Agent({ keepAlive: m.keepAlive, maxSockets: m.concurrency });
  let issued = 0;
  let ok = 0;
  let errors = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (issued < m.requests) {
      const seq = issued++;
      if (await post(agent, m.target, payload(seq, nowUs(), m.size), m.keepAlive)) ok++;
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: m.concurrency }, worker));
  const wallMs = performance.now() - start;
  agent.destroy();
  send({ type: 'throughput', ok, errors, wallMs });
}

async function publishBatches(m: Extract<Message, { type: 'batch' }>): Promise<void> {
  const { target } = m;
  const socket = net.connect(target.port, target.host);
  socket.setNoDelay(true);
  socket.on('error', (error) => console.error(`batch: ${error.message}`));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  // Answers come in order: count them by their status lines, skip each body by its Content-Length.
  let answered = 0;
  let errors = 0;
  let pending: Buffer = Buffer.alloc(0);
  let allAnswered: (() => void) | undefined;
  const stages: PublishStages = {
    dueUs: new Array(m.events).fill(0),
    writtenUs: new Array(m.events).fill(0),
    answeredUs: new Array(m.events).fill(0),
  };
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const head = pending.indexOf('\r\n\r\n');
      if (head === -1) return;
      const text = pending.subarray(0, head).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
      if (pending.length < head + 4 + length) return;
      if (!text.startsWith('HTTP/1.1 200')) {
        errors++;
        console.error(`batch: ${text.split('\r\n')[0]} ${pending.subarray(head + 4, head + 4 + length)}`);
      }
      pending = pending.subarray(head + 4 + length);
      stages.answeredUs[answered] = nowUs();
      if (++answered === m.events) allAnswered?.();
    }
  });
  const prefix = target.topicPrefix;
  const topics = Array.from({ length: m.topics }, (_, i) => JSON.stringify(prefix + i));
  const headers = Object.entries(target.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const intervalUs = 1e6 / m.rate;
  const firstDueUs = nowUs() + 2000;
  for (let seq = 0; seq < m.events; seq++) {
    const due = Math.round(firstDueUs + seq * intervalUs);
    const wait = (due - nowUs()) / 1000;
    if (wait >= 1) await new Promise((r) => setTimeout(r, Math.floor(wait)));
    // The data has no character JSON escapes: built by hand, it costs the generator little.
    const data = JSON.stringify(payload(seq, due, m.size));
    const body = `[${topics.map((t) => `{"topic":${t},"data":${data}}`).join(',')}]`;
    socket.write(
      `POST ${target.path} HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: application/json\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    stages.dueUs[seq] = due;
    stages.writtenUs[seq] = nowUs();
  }
  if (answered < m.events && !socket.destroyed) {
    await new Promise<void>((r) => {
      allAnswered = r;
      socket.once('close', r);
    });
  }
  socket.end();
  send({ type: 'published', firstDueUs, errors: errors + (m.events - answered), stages });
}

process.on('message', (m: Message) => {
  if (m.type === 'publish') void publishAtRate(m);
  else if (m.type === 'batch') void publishBatches(m);
  else void throughput(m);
});
process.on('disconnect', () => process.exit(0));
