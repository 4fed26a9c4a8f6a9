/**
 * What every hardening test checks after an attack: the hub still answers, and a subscriber on an
 * unrelated topic still receives each event published to it, in order, nothing else.
 *
 * @example
 * const canary = await openCanary(hub);
 * t.after(() => canary.close());
 * // ... attack ...
 * await canary.check();
 */
import assert from 'node:assert/strict';
import { type OpenStream, openStream, publish, signDraft07, type TestHub } from '../support/hub.js';

export const CANARY_TOPIC = 'https://canary.example/heartbeat';

export interface Canary {
  /** Publishes one event to the canary topic and asserts it is the next (and only new) event seen. */
  check(): Promise<void>;
  close(): void;
}

export async function openCanary(hub: TestHub): Promise<Canary> {
  const token = await signDraft07({ subscribe: [CANARY_TOPIC], publish: [CANARY_TOPIC] });
  const stream: OpenStream = await openStream(`${hub.hubUrl}?topic=${encodeURIComponent(CANARY_TOPIC)}`, {
    authorization: `Bearer ${token}`,
  });
  assert.equal(stream.status, 200);
  let sequence = 0;
  return {
    async check() {
      sequence++;
      const health = await fetch(`${hub.origin}/healthz`);
      assert.equal(health.status, 200, 'the hub answers /healthz');
      await health.text();
      const sent = await publish(hub, { topic: CANARY_TOPIC, data: `canary ${sequence}` }, token);
      assert.equal(sent.status, 200, `canary publish: ${sent.body}`);
      const event = await stream.next();
      assert.equal(event.data, `canary ${sequence}`, 'the canary receives its events in order');
      assert.equal(stream.events.length, sequence, 'the canary receives nothing else');
    },
    close() {
      stream.close();
    },
  };
}
