/**
 * A stream that refuses a write without closing itself (herald/server's 'drop' policy does, and so
 * may any stream the registry is given) ends its subscriber, whether the refusal comes in history
 * replay or as the subscriber goes live: a subscriber kept live past a refused update would never
 * get it, and its client would never know.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HubMetrics } from '../../../src/hub/metrics/hub-metrics.js';
import { SubscriberRegistry } from '../../../src/hub/subscribers/registry.js';
import {
  type AttachableStream,
  NO_PRIVATE_ACCESS,
  Subscriber,
} from '../../../src/hub/subscribers/subscriber.js';
import type { Update } from '../../../src/hub/update.js';

/** Takes `room` writes, then refuses every write and stays open, as a 'drop' stream does. */
class RefusingStream implements AttachableStream {
  closed = false;
  readonly queuedBytes = 0;
  readonly written: string[] = [];
  #room: number;
  #holder: Subscriber | null = null;

  constructor(room: number) {
    this.#room = room;
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.#room === 0) return false;
    this.#room--;
    this.written.push(Buffer.from(chunk).toString());
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#holder?.release();
  }

  whenDrained(): Promise<void> {
    return Promise.resolve();
  }

  hold(holder: Subscriber): void {
    this.#holder = holder;
  }

  on(): this {
    return this;
  }
}

function update(id: string): Update {
  return { id, topics: ['t'], private: false, data: id, time: Date.now() };
}

function replayingSubscriber(registry: SubscriberRegistry, stream: RefusingStream): Subscriber {
  const selector = {
    source: 't',
    syntax: 'topic',
    kind: 'exact',
    matcher: { matches: (t: string) => t === 't' },
  } as const;
  const subscriber = new Subscriber('s', [selector], NO_PRIVATE_ACCESS, undefined, undefined);
  registry.add(subscriber);
  registry.attach(subscriber, stream);
  return subscriber;
}

test('a refused write as the subscriber goes live ends it as slow, not live past the refused update', () => {
  const registry = new SubscriberRegistry(new HubMetrics(false), undefined, 1 << 20, () => {});
  const stream = new RefusingStream(1);
  const subscriber = replayingSubscriber(registry, stream);
  // Delivered while it replays: they wait in its pending list.
  for (const id of ['p1', 'p2', 'p3']) registry.deliver(update(id));
  registry.goLive(subscriber, new Set());
  assert.equal(stream.written.length, 1);
  assert.equal(subscriber.state, 'closed');
  assert.equal(subscriber.endReason, 'slow');
  assert.equal(stream.closed, true, 'its stream is closed: the client resumes after p1');
  registry.close();
});

test('a refused write in history replay ends the subscriber as slow', async () => {
  const registry = new SubscriberRegistry(new HubMetrics(false), undefined, 1 << 20, () => {});
  const stream = new RefusingStream(1);
  const subscriber = replayingSubscriber(registry, stream);
  const sent = new Set<string>();
  assert.equal(await registry.replay(subscriber, [update('h1'), update('h2')], sent), false);
  assert.deepEqual([...sent], ['h1']);
  assert.equal(subscriber.state, 'closed');
  assert.equal(subscriber.endReason, 'slow');
  assert.equal(stream.closed, true);
  registry.close();
});
